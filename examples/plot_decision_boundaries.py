"""
========================================
Decision boundaries: hidden size and reg
========================================

On two-dimensional data the decision function can be drawn directly with
scikit-learn's :class:`~sklearn.inspection.DecisionBoundaryDisplay`. More
hidden units allow more bends; a larger ``reg`` smooths them away.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import make_moons
from sklearn.inspection import DecisionBoundaryDisplay

from sklmlp import TwoLayerClassifier

X, y = make_moons(n_samples=300, noise=0.25, random_state=0)
fig, axes = plt.subplots(2, 3, figsize=(12, 7), sharex=True, sharey=True)
for row, reg in zip(axes, [1e-4, 3e-3], strict=True):
    for ax, hidden in zip(row, [2, 8, 64], strict=True):
        clf = TwoLayerClassifier(
            hidden_size=hidden,
            reg=reg,
            learning_rate=0.01,
            max_iter=500,
            random_state=0,
        ).fit(X, y)
        DecisionBoundaryDisplay.from_estimator(
            clf, X, response_method="predict_proba", ax=ax, alpha=0.6, cmap="RdBu"
        )
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu", edgecolors="k", s=12)
        ax.set_title(
            f"hidden_size={hidden}, reg={reg:g}\naccuracy {clf.score(X, y):.2f}"
        )
fig.tight_layout()
plt.show()
