"""
==============================================
Successive halving with epochs as the resource
==============================================

:func:`~sklmlp.search.make_search` with ``search="halving"`` trains every
candidate for a few epochs, keeps the best third, trains those three times as
long, and so on up to ``max_iter``. Bad candidates are dropped after little
work.
"""

# %%
# Stopping candidates early is the method: a fit cut off after 5 or 15 epochs,
# or at the 45-epoch limit, has not converged, and the classifier says so with
# a :class:`~sklearn.exceptions.ConvergenceWarning`. That warning, and only
# that one, is silenced around the search's ``fit``.
import time
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklmlp import TwoLayerClassifier
from sklmlp.plotting import SearchResultsDisplay
from sklmlp.search import format_cv_results, make_search

X, y = load_digits(return_X_y=True)
model = make_pipeline(StandardScaler(), TwoLayerClassifier(random_state=0))
search = make_search(
    model,
    search="halving",
    n_iter=9,
    cv=3,
    n_jobs=-1,
    max_iter=45,
    prefix="twolayerclassifier",
    random_state=0,
)
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    search.fit(X, y)
print(f"{time.perf_counter() - start:.1f} s; epochs per round: {search.n_resources_}")
print(format_cv_results(search.cv_results_, prefix="twolayerclassifier"))

# %%
# Larger markers are candidates that earned more epochs.
SearchResultsDisplay.from_search(search)
plt.show()
