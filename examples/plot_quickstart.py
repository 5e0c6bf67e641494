"""
===========
Quick start
===========

Train :class:`~sklmlp.TwoLayerClassifier` on scikit-learn's digits inside a
:class:`~sklearn.pipeline.Pipeline` that standardises the pixels first, score
it on a held-out quarter, and look at its training curve.
"""

# %%
# Fit and score
# -------------
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklmlp import TwoLayerClassifier
from sklmlp.plotting import TrainingCurveDisplay

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
model = make_pipeline(StandardScaler(), TwoLayerClassifier(random_state=0))
model.fit(X_train, y_train)
print(f"test accuracy: {model.score(X_test, y_test):.4f}")
print(f"epochs: {model[-1].n_iter_}, final training loss: {model[-1].loss_:.4f}")

# %%
# The training curve
# ------------------
# Training stopped when the loss had not improved by ``tol`` for
# ``n_iter_no_change`` epochs.
TrainingCurveDisplay.from_estimator(model)
plt.show()
