"""
=======================================
Training curves and learning-rate decay
=======================================

``learning_rate_decay`` multiplies the step after every epoch, as the
exercise's schedule did. With plain SGD, a step that is right early on is too
large late in training; decaying it lets the loss settle lower. With early
stopping the model also keeps a validation loss and accuracy per epoch.
"""

# %%
# Each model trains for exactly 60 epochs: ``n_iter_no_change=60`` keeps early
# stopping from ending a run sooner, so that the three curves cover the same
# span. A run that does not stop by itself is what scikit-learn calls not
# converging; the :class:`~sklearn.exceptions.ConvergenceWarning` that says
# so is expected here, and silenced around the ``fit`` alone.
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sklmlp import TwoLayerClassifier
from sklmlp.plotting import TrainingCurveDisplay

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)

fig, axes = plt.subplots(1, 3, figsize=(13, 4))
for ax, decay in zip(axes, [1.0, 0.95, 0.8], strict=True):
    clf = TwoLayerClassifier(
        solver="sgd",
        learning_rate=0.1,
        learning_rate_decay=decay,
        momentum=0.9,
        early_stopping=True,
        max_iter=60,
        n_iter_no_change=60,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        clf.fit(X, y)
    display = TrainingCurveDisplay.from_estimator(clf, ax=ax)
    display.ax_.set_title(f"learning_rate_decay={decay}")
    print(
        f"decay {decay}: final loss {clf.loss_:.4f}, best validation accuracy "
        f"{clf.best_validation_score_:.4f}, final step {clf.learning_rate_:.2g}"
    )
fig.tight_layout()
plt.show()
