"""scikit-learn's callback API (sklearn.callback, scikit-learn >= 1.9)."""

import importlib.util
import io
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.fixes import parse_version

from sklmlp import TwoLayerClassifier
from sklmlp.search import SearchProgress, make_search

from _extras import importorskip

# Read from scikit-learn, not from sklmlp: sklearn.callback arrived in 1.9
# (the base version, so that a 1.9 development version counts).
SKLEARN_HAS_CALLBACKS = parse_version(
    parse_version(sklearn.__version__).base_version
) >= parse_version("1.9")
needs_callbacks = pytest.mark.skipif(
    not SKLEARN_HAS_CALLBACKS, reason="sklearn.callback needs scikit-learn >= 1.9"
)


class StopAfter:
    """A FitCallback that asks to stop after a given number of epochs."""

    def __init__(self, n_epochs):
        self.n_epochs = n_epochs
        self.events = []

    def setup(self, estimator, context):
        self.events.append("setup")

    def teardown(self, estimator, context):
        self.events.append("teardown")

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None):
        self.events.append(f"begin {context.task_name}")

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None, y=None):
        self.events.append(f"end {context.task_name}")
        if context.task_name == "epoch":
            assert set(np.unique(y)) <= set(estimator.classes_)
            # a snapshot of this epoch's weights, not the live arrays
            assert fitted_estimator.coefs_[0] is not estimator.coefs_[0]
            np.testing.assert_array_equal(
                fitted_estimator.coefs_[0], estimator.coefs_[0]
            )
            return context.task_id + 1 >= self.n_epochs
        return False


def test_set_callbacks_exists_where_scikit_learn_has_callbacks(small_problem):
    has_module = importlib.util.find_spec("sklearn.callback") is not None
    assert has_module == SKLEARN_HAS_CALLBACKS
    X, y = small_problem
    clf = TwoLayerClassifier(random_state=0)
    assert hasattr(clf, "set_callbacks") == SKLEARN_HAS_CALLBACKS
    clf.fit(X, y)  # with or without callback support
    assert clf.score(X, y) > 0.9


@needs_callbacks
def test_a_callback_sees_every_epoch_and_can_stop_the_fit(small_problem):
    X, y = small_problem
    callback = StopAfter(3)
    clf = TwoLayerClassifier(max_iter=50, random_state=0).set_callbacks(callback)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.n_iter_ == 3
    epochs = ["begin epoch", "end epoch"] * 3
    assert callback.events == ["setup", "begin fit", *epochs, "end fit", "teardown"]


@needs_callbacks
def test_scoring_monitor_records_one_score_per_epoch(small_problem):
    from sklearn.callback import ScoringMonitor

    X, y = small_problem
    monitor = ScoringMonitor(scoring="accuracy")
    clf = TwoLayerClassifier(max_iter=8, random_state=0).set_callbacks(monitor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    rows = [r for r in monitor.get_logs().data if r["task_name"] == "epoch"]
    assert len(rows) == clf.n_iter_ == 8
    scores = [row["accuracy"] for row in rows]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[-1] == pytest.approx(clf.score(X, y))


@needs_callbacks
def test_progress_bar_reaches_the_classifier_inside_a_parallel_search(
    small_problem, capsys
):
    importorskip("rich", extra="test")
    from sklearn.callback import ProgressBar

    X, y = small_problem
    search = RandomizedSearchCV(
        make_pipeline(StandardScaler(), TwoLayerClassifier(max_iter=5, random_state=0)),
        {"twolayerclassifier__reg": [1e-4, 1e-3]},
        n_iter=2,
        cv=2,
        n_jobs=2,
        random_state=0,
    ).set_callbacks(ProgressBar(max_propagation_depth=None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    out = capsys.readouterr().out
    assert out.count("TwoLayerClassifier - fit") == 5  # 4 CV fits and the refit
    assert "100%" in out


@needs_callbacks
def test_progress_bar_on_a_single_fit(small_problem, capsys):
    importorskip("rich", extra="test")
    from sklearn.callback import ProgressBar

    X, y = small_problem
    clf = TwoLayerClassifier(max_iter=5, random_state=0).set_callbacks(ProgressBar())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    out = capsys.readouterr().out
    assert out.count("TwoLayerClassifier - fit") == 1 and "100%" in out


@needs_callbacks
def test_progress_bar_and_search_progress_follow_a_halving_search(
    small_problem, capsys, monkeypatch
):
    importorskip("rich", extra="test")
    from sklearn.callback import ProgressBar

    monkeypatch.setenv("COLUMNS", "200")  # rich cuts lines to the width
    X, y = small_problem
    search = make_search(
        TwoLayerClassifier(random_state=0),
        search="halving",
        n_iter=3,
        cv=2,
        max_iter=6,
        n_jobs=2,
        random_state=0,
    )
    stream = io.StringIO()
    progress = SearchProgress("tune", stream=stream)
    search.set_callbacks(ProgressBar(max_propagation_depth=None), progress)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    out = capsys.readouterr().out
    n_fits = 2 * sum(search.n_candidates_) + 1  # and the refit
    assert out.count("TwoLayerClassifier - fit") == n_fits
    assert "halving-iteration" in out and "100%" in out
    # both callbacks saw every epoch: 3 x 2 fits of 2, 1 x 2 of 6, a refit of 6
    assert stream.getvalue().splitlines()[-1].startswith("tune: 30/30 epochs, ")
