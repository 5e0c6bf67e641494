"""
==============================================
From a hand-written loop to RandomizedSearchCV
==============================================

The exercise this package descends from tuned its network by hand: draw a
hidden size, a learning rate and a regularisation strength, train on the
training set, score on a validation set, keep the best. With a scikit-learn
estimator the same search is :class:`~sklearn.model_selection.RandomizedSearchCV`:
cross-validated, parallel, and with every candidate's result kept.
"""

# %%
# The manual loop
# ---------------
# Every candidate gets the same budget of 50 epochs, as in the exercise's
# loop, and most are still improving when it runs out: the classifier then
# warns with a :class:`~sklearn.exceptions.ConvergenceWarning`. In a search
# that is expected, so that warning, and only that one, is silenced around
# the fits here and around the search's ``fit`` below.
import time
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import (
    ParameterSampler,
    RandomizedSearchCV,
    train_test_split,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklmlp import TwoLayerClassifier
from sklmlp.plotting import SearchResultsDisplay
from sklmlp.search import default_search_space

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
X_fit, X_val, y_fit, y_val = train_test_split(
    X_train, y_train, test_size=0.25, stratify=y_train, random_state=0
)
scaler = StandardScaler().fit(X_fit)

start = time.perf_counter()
best_val, best_params = -1.0, None
for params in ParameterSampler(default_search_space(), n_iter=8, random_state=0):
    net = TwoLayerClassifier(max_iter=50, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        net.fit(scaler.transform(X_fit), y_fit)
    val = net.score(scaler.transform(X_val), y_val)
    if val > best_val:
        best_val, best_params = val, params
shown = ", ".join(f"{name}={value:.3g}" for name, value in best_params.items())
print(f"manual loop: best validation accuracy {best_val:.4f} with {shown}")
print(f"  ({time.perf_counter() - start:.1f} s)")

# %%
# The same search, as an estimator
# --------------------------------
# The space is :func:`~sklmlp.search.default_search_space`, prefixed with the
# Pipeline step's name; ``n_jobs=-1`` uses every core.
model = make_pipeline(StandardScaler(), TwoLayerClassifier(max_iter=50, random_state=0))
search = RandomizedSearchCV(
    model,
    default_search_space("twolayerclassifier"),
    n_iter=8,
    cv=3,
    n_jobs=-1,
    random_state=0,
)
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    search.fit(X_train, y_train)
print(f"RandomizedSearchCV: best CV accuracy {search.best_score_:.4f}")
print(
    f"  ({time.perf_counter() - start:.1f} s), test accuracy "
    f"{search.score(X_test, y_test):.4f}"
)

# %%
# Every candidate at a glance
# ---------------------------
SearchResultsDisplay.from_search(search)
plt.show()
