"""
=============================
First-layer weights as images
=============================

Each hidden unit of the first layer has one weight per pixel, so its weights
can be shown as an image of the input's shape: the pattern the unit responds
to. This is the third picture of the exercise, here for 8 x 8 digits, with
one grey scale for all units: mid grey is a zero weight, and a flat grey tile
is a unit that never switched on, whose weights the ``reg`` penalty wore away.
"""

# %%
# With ``reg=1e-3`` the training loss settles after a few hundred epochs;
# ``max_iter=500`` leaves room for that, so training stops by itself.
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from sklmlp import TwoLayerClassifier
from sklmlp.plotting import WeightImageDisplay

X, y = load_digits(return_X_y=True)
clf = TwoLayerClassifier(hidden_size=36, reg=1e-3, max_iter=500, random_state=0)
clf.fit(X / 16, y)
print(f"epochs: {clf.n_iter_}, training accuracy: {clf.score(X / 16, y):.4f}")
WeightImageDisplay.from_estimator(clf, (8, 8), units=36)
plt.show()
