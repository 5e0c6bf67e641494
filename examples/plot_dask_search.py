"""
================================
A search on a local Dask cluster
================================

:func:`~sklmlp.search.parallel_backend` runs a search's fits through joblib's
Dask backend. Here a two-worker ``LocalCluster`` starts on 127.0.0.1; point
``scheduler=`` at ``tcp://HOST:8786`` to use a real cluster instead (see the
user guide). With an integer ``random_state`` the results equal a local run's.
Needs ``pip install 'sklmlp[dask]'``.
"""

# %%
# Each fit gets at most 30 epochs, a budget that keeps the two searches to
# seconds. Most candidates are still improving when it runs out, and the
# classifier says so with a :class:`~sklearn.exceptions.ConvergenceWarning`
# per fit. Stopping at the budget is the point of a search budget, so that
# warning, and only that one, is silenced around each search's ``fit``.
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklmlp import TwoLayerClassifier
from sklmlp.plotting import SearchResultsDisplay
from sklmlp.search import make_search, parallel_backend

X, y = load_digits(return_X_y=True)


def fit_search(X, y):
    """Fit a new search, whose 30-epoch fits stop before converging."""
    search = make_search(
        make_pipeline(StandardScaler(), TwoLayerClassifier(random_state=0)),
        n_iter=4,
        cv=3,
        n_jobs=2,
        max_iter=30,
        prefix="twolayerclassifier",
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        return search.fit(X, y)


# The guard matters in scripts: worker processes import the main module.
if __name__ == "__main__":
    with parallel_backend("dask", n_workers=2) as client:
        print(f"Dask workers: {len(client.scheduler_info()['workers'])}")
        on_dask = fit_search(X, y)
    with parallel_backend("loky"):
        on_loky = fit_search(X, y)
    same = all(
        (on_dask.cv_results_[k] == on_loky.cv_results_[k]).all()
        for k in ("split0_test_score", "split1_test_score", "split2_test_score")
    )
    print(f"best CV accuracy on Dask: {on_dask.best_score_:.4f}; same as loky: {same}")
    SearchResultsDisplay.from_search(on_dask)
    plt.show()
