"""The search helpers: space, random and halving searches, progress, backends."""

import csv
import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingRandomSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.fixes import parse_version
from threadpoolctl import threadpool_info

from sklmlp import TwoLayerClassifier
from sklmlp._progress import _Handle, _Run, _send, _unreachable
from sklmlp.search import (
    SearchProgress,
    default_search_space,
    expected_epochs,
    expected_fits,
    format_cv_results,
    make_search,
    parallel_backend,
    search_progress,
    write_cv_results,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Read from scikit-learn, not from sklmlp: sklearn.callback arrived in 1.9.
SKLEARN_HAS_CALLBACKS = parse_version(
    parse_version(sklearn.__version__).base_version
) >= parse_version("1.9")
needs_callbacks = pytest.mark.skipif(
    not SKLEARN_HAS_CALLBACKS, reason="sklearn.callback needs scikit-learn >= 1.9"
)


@pytest.fixture(scope="module")
def digits_small():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:500] / 16.0, y[:500]


@pytest.mark.parametrize("prefix", ["", "clf", "clf__"])
def test_default_search_space(prefix):
    space = default_search_space(prefix)
    start = "clf__" if prefix else ""
    names = ("hidden_size", "learning_rate", "learning_rate_decay", "reg")
    assert sorted(space) == [f"{start}{k}" for k in names]
    rng = np.random.RandomState(0)
    hidden = space[f"{start}hidden_size"].rvs(size=500, random_state=rng)
    rates = space[f"{start}learning_rate"].rvs(size=500, random_state=rng)
    regs = space[f"{start}reg"].rvs(size=500, random_state=rng)
    decays = space[f"{start}learning_rate_decay"].rvs(size=500, random_state=rng)
    assert hidden.min() >= 64 and hidden.max() <= 768
    assert 2e-4 <= rates.min() and rates.max() <= 5e-3
    assert 1e-6 <= regs.min() and regs.max() <= 1e-3
    assert 0.9 <= decays.min() and decays.max() <= 1.0
    # log-uniform: about half of the draws fall below the geometric middle
    assert 0.4 < np.mean(rates < np.sqrt(2e-4 * 5e-3)) < 0.6


def test_default_space_drives_a_pipeline_search(digits_small):
    X, y = digits_small
    pipe = make_pipeline(
        StandardScaler(), TwoLayerClassifier(max_iter=30, random_state=0)
    )
    search = RandomizedSearchCV(
        pipe,
        default_search_space("twolayerclassifier"),
        n_iter=3,
        cv=2,
        random_state=0,
        error_score="raise",
    ).fit(X, y)
    for params in search.cv_results_["params"]:
        assert sorted(params) == [
            "twolayerclassifier__hidden_size",
            "twolayerclassifier__learning_rate",
            "twolayerclassifier__learning_rate_decay",
            "twolayerclassifier__reg",
        ]
    assert (
        search.best_estimator_[-1].hidden_size
        == search.best_params_["twolayerclassifier__hidden_size"]
    )
    assert search.best_score_ > 0.7


@pytest.mark.parametrize("kind", ["random", "halving"])
def test_make_search_and_expected_fits(digits_small, kind):
    X, y = digits_small
    clf = TwoLayerClassifier(random_state=0)
    search = make_search(clf, search=kind, n_iter=5, cv=2, max_iter=9, random_state=0)
    assert clf.max_iter == 200  # the caller's estimator is not modified
    expected = RandomizedSearchCV if kind == "random" else HalvingRandomSearchCV
    assert isinstance(search, expected)
    search.fit(X, y)
    n_fits = len(search.cv_results_["params"]) * 2
    assert expected_fits(search, 2) == n_fits
    if kind == "halving":
        # epochs are the resource: 5 candidates on 3 epochs, the best 2 on 9
        assert search.n_resources_ == [3, 9]
        assert search.n_candidates_ == [5, 2]
        assert search.best_params_["max_iter"] == 9
    else:
        assert {p["reg"] for p in search.cv_results_["params"]}.__len__() == 5


def test_make_search_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match="'random' or 'halving'"):
        make_search(TwoLayerClassifier(), search="grid")


NOTE = "live progress needs scikit-learn >= 1.9"


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _counts(lines):
    """The epochs done of each progress line (``label: done/total epochs, ...``)."""
    return [int(line.split()[1].split("/")[0]) for line in lines]


@needs_callbacks
def test_progress_lines_on_a_plain_stream(digits_small):
    X, y = digits_small
    search = make_search(
        TwoLayerClassifier(random_state=0), n_iter=5, cv=2, max_iter=5, n_jobs=2
    )
    stream = io.StringIO()
    with search_progress(search, "tune", stream=stream) as progress:
        assert isinstance(progress, SearchProgress)
        search.fit(X, y)
    lines = stream.getvalue().splitlines()
    assert lines[-1].startswith("tune: 55/55 epochs, ")  # 5 x 2 x 5 and a refit
    assert "\r" not in stream.getvalue()
    # the epochs of the fits in the worker processes reach this one as they
    # end: a line per tenth, not one when the search is over
    assert 5 <= len(lines) <= 11
    assert _counts(lines) == sorted(set(_counts(lines)))
    assert not hasattr(search, "_skl_callbacks")  # cleared after the block


def test_a_plain_stream_gets_a_line_at_least_every_minute(monkeypatch):
    # between two tenths of the work, a line (with its ETA) once the interval
    # has passed, so a log shows an estimate from the first minute
    import sklmlp._progress as module

    stream = io.StringIO()
    line = module.ProgressLine(1000, "tune", stream=stream)
    line.update(1)
    line.update(2)
    assert stream.getvalue() == ""  # under a tenth, within the minute
    monkeypatch.setattr(module, "PLAIN_INTERVAL", 0.0)
    line.update(3)
    assert stream.getvalue().startswith("tune: 3/1000 epochs, ")
    assert ", ETA " in stream.getvalue()


@pytest.mark.skipif(SKLEARN_HAS_CALLBACKS, reason="the fallback of scikit-learn < 1.9")
@pytest.mark.parametrize("terminal", [False, True], ids=["plain", "terminal"])
def test_without_callbacks_progress_is_the_final_count_and_a_note(
    digits_small, terminal
):
    X, y = digits_small
    search = make_search(TwoLayerClassifier(random_state=0), n_iter=3, cv=2, max_iter=5)
    stream = _Terminal() if terminal else io.StringIO()
    with search_progress(search, "tune", stream=stream) as progress:
        assert progress is None
        # a terminal has the note at once; a log nothing until the end
        assert stream.getvalue() == ("\rtune: " + NOTE if terminal else "")
        search.fit(X, y)
    text = stream.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    final = text.split("\r")[-1].removesuffix("\n").removesuffix("\033[K")
    assert final.startswith("tune: 35/35 epochs, ") and final.endswith(f"({NOTE})")


def test_search_progress_patches_nothing(digits_small):
    X, y = digits_small
    search = make_search(TwoLayerClassifier(random_state=0), n_iter=2, cv=2, max_iter=2)
    before = dict(vars(joblib.Parallel))
    with search_progress(search, stream=io.StringIO()):
        assert dict(vars(joblib.Parallel)) == before
        search.fit(X, y)
        assert dict(vars(joblib.Parallel)) == before


@needs_callbacks
def test_progress_line_is_live_on_a_terminal(digits_small):
    X, y = digits_small
    search = make_search(TwoLayerClassifier(random_state=0), n_iter=3, cv=2, max_iter=3)
    stream = _Terminal()
    with search_progress(search, "tune", stream=stream):
        search.fit(X, y)
    text = stream.getvalue()
    # one line, rewritten in place, ended once
    assert text.startswith("\rtune: ") and text.count("\n") == 1
    assert text.endswith("\n")
    shown = [part.removesuffix("\033[K") for part in text.strip().split("\r")]
    assert shown[-1].startswith("tune: 21/21 epochs, ")
    assert all(part.startswith("tune: ") for part in shown)


@needs_callbacks
def test_fits_that_stop_early_count_their_remaining_epochs(digits_small):
    X, y = digits_small
    # tol is out of reach: every fit stops after 2 of its epochs
    clf = TwoLayerClassifier(tol=1e9, n_iter_no_change=1, random_state=0)
    search = make_search(
        clf, search="halving", n_iter=9, cv=2, max_iter=27, n_jobs=2, random_state=0
    )
    total = expected_epochs(search, 2)
    stream = io.StringIO()
    with search_progress(search, "tune", stream=stream):
        search.fit(X, y)
    assert search.best_estimator_.n_iter_ == 2
    assert search.n_resources_ == [3, 9, 27]
    # rounds of 9 x 2 fits of 3 epochs, 3 x 2 of 9, 1 x 2 of 27, a refit of 27
    assert total == 54 + 54 + 54 + 27
    # the refit, which runs here after the rounds, ends the count exactly
    assert stream.getvalue().splitlines()[-1].startswith(f"tune: {total}/{total} ")


def _search_run(stream):
    """A run as SearchProgress.setup starts it, told of a 2-round search."""
    run = _Run("tune", stream)
    run.rounds, run.refit = [40, 60], 10
    run.line.total = 110
    return run


@needs_callbacks
def test_the_ledger_credits_ended_fits_once():
    run = _search_run(io.StringIO())
    try:
        fit = (0, 0, 0, 3)  # root, search, round 0, fit 3
        run.receive(("begin", fit, 10))
        for _ in range(4):
            run.receive(("epoch", fit))
        assert run.done == 4
        run.receive(("end", fit))  # stopped early: 6 more epochs done
        assert run.done == 10
        run.receive(("end", (0, 0, 0)))  # its round ends: nothing to add
        assert run.done == 10
        run.rounds_ended(1)  # fits unheard of (remote Dask workers) count too
        assert run.done == 40
        run.receive(("begin", (0, 0, 1, 0), 30))
        run.receive(("end", (0,)))  # a whole search ended: its fits too
        assert run.done == 70
    finally:
        run.close()


@needs_callbacks
def test_events_reach_the_run_from_worker_processes():
    # the round trip a loky worker makes, one event at a time, in order
    run = _search_run(io.StringIO())
    try:
        with joblib.parallel_config(backend="loky"):
            for event in [("begin", (0, 5), 20), ("epoch", (0, 5)), ("end", (0,))]:
                joblib.Parallel(n_jobs=2)([joblib.delayed(_send)(run.handle, event)])
        assert run.done == 20
    finally:
        run.close()


def test_an_unreachable_run_drops_events_quietly():
    # a Dask worker on another machine cannot reach this machine's socket
    handle = _Handle("/nonexistent/sklmlp-progress", b"key")
    _send(handle, ("epoch", (0, 1)))
    assert handle.address in _unreachable
    _send(handle, ("epoch", (0, 1)))  # no second try


def test_a_copy_of_the_callback_leaves_its_stream_behind():
    progress = SearchProgress("tune", stream=io.StringIO())  # not picklable
    copy = pickle.loads(pickle.dumps(progress))
    assert copy.label == "tune" and copy.stream is None


@needs_callbacks
@pytest.mark.timeout(180)
def test_progress_from_dask_workers(digits_small, dask_cluster):
    X, y = digits_small
    search = make_search(
        TwoLayerClassifier(random_state=0), n_iter=4, cv=2, max_iter=5, n_jobs=2
    )
    stream = io.StringIO()
    with parallel_backend(scheduler=dask_cluster.scheduler_address):
        with search_progress(search, "tune", stream=stream):
            search.fit(X, y)
    lines = stream.getvalue().splitlines()
    assert lines[-1].startswith("tune: 45/45 epochs, ")
    # the workers' epochs arrived while the search ran, not only at its end
    assert len(lines) >= 5


def test_format_and_write_cv_results(digits_small, tmp_path):
    X, y = digits_small
    search = make_search(
        make_pipeline(StandardScaler(), TwoLayerClassifier(random_state=0)),
        n_iter=4,
        cv=2,
        max_iter=10,
        prefix="twolayerclassifier",
        random_state=0,
    ).fit(X, y)
    table = format_cv_results(search.cv_results_, prefix="twolayerclassifier")
    lines = table.splitlines()
    names = ["rank", "hidden_size", "learning_rate", "learning_rate_decay", "reg"]
    assert lines[0].split()[:5] == names
    ranks = [int(line.split()[0]) for line in lines[2:]]
    assert ranks == sorted(ranks) and len(ranks) == 4

    write_cv_results(search.cv_results_, tmp_path / "cv.csv")
    with open(tmp_path / "cv.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4
    assert (
        float(rows[0]["split1_test_score"])
        == search.cv_results_["split1_test_score"][0]
    )


def _blas_threads_scorer(estimator, X, y):
    """A 'score' that reports how many BLAS threads the worker runs."""
    return float(
        max(
            info["num_threads"]
            for info in threadpool_info()
            if info["user_api"] == "blas"
        )
    )


@pytest.mark.parametrize(
    "pin, blas_threads",
    [({}, 1), ({"blas_threads": 2}, 2)],
    ids=["default", "blas_threads=2"],
)
def test_loky_workers_run_the_pinned_number_of_blas_threads(
    digits_small, pin, blas_threads
):
    # Unpinned, loky would give each of the 2 workers cpu_count() // 2
    # threads: on any core count, one of the two cases would then fail.
    if blas_threads > joblib.cpu_count(only_physical_cores=False):
        pytest.skip(f"BLAS runs at most one thread per core: {blas_threads} > cores")
    X, y = digits_small
    search = RandomizedSearchCV(
        TwoLayerClassifier(max_iter=2, random_state=0),
        {"reg": [1e-4, 1e-3]},
        n_iter=2,
        cv=2,
        n_jobs=2,
        random_state=0,
        scoring=_blas_threads_scorer,
    )
    with parallel_backend("loky", **pin):
        search.fit(X, y)
    reported = [search.cv_results_[f"split{i}_test_score"] for i in range(2)]
    assert set(np.concatenate(reported)) == {blas_threads}


def _search_results(search, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    keys = ["params"] + [f"split{i}_test_score" for i in range(3)]
    return {key: list(search.cv_results_[key]) for key in keys}


@pytest.mark.timeout(180)
def test_cv_results_are_identical_for_any_n_jobs_and_on_dask(dask_cluster):
    from distributed import Client

    # 784 features and hundreds of hidden units: where OpenBLAS rounds
    # differently with 1 and 2 threads. The log loss shows any difference.
    rng = np.random.RandomState(0)
    X = rng.rand(600, 784).astype(np.float32)
    y = (X[:, :10].sum(axis=1) > 5).astype(int) + (X[:, 10:20].sum(axis=1) > 5)

    def new_search(n_jobs):
        search = make_search(
            TwoLayerClassifier(random_state=0),
            {"hidden_size": [300, 400], "reg": [1e-4, 1e-3]},
            n_iter=4,
            cv=3,
            n_jobs=n_jobs,
            max_iter=5,
            random_state=0,
        )
        return search.set_params(scoring="neg_log_loss")

    with parallel_backend("loky"):
        one_job = _search_results(new_search(1), X, y)
        two_jobs = _search_results(new_search(2), X, y)
    with parallel_backend(scheduler=dask_cluster.scheduler_address):
        on_dask = _search_results(new_search(2), X, y)
    assert one_job == two_jobs == on_dask

    with Client(dask_cluster.scheduler_address, timeout="30s") as client:
        threads = client.run(
            lambda: max(
                i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"
            )
        )
    assert set(threads.values()) == {1}


def test_without_the_pin_this_process_keeps_its_blas_threads():
    before = max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
    with parallel_backend("loky"):
        inside = {
            i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"
        }
    with parallel_backend("loky", blas_threads=None):
        unpinned = max(
            i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"
        )
    assert inside == {1}
    assert unpinned == before


class _Instant(ClassifierMixin, BaseEstimator):
    """A classifier that fits instantly, with the search space's parameters."""

    def __init__(
        self,
        hidden_size=1,
        learning_rate=1.0,
        learning_rate_decay=1.0,
        reg=0.0,
        max_iter=1,
    ):
        self.hidden_size = hidden_size
        self.learning_rate = learning_rate
        self.learning_rate_decay = learning_rate_decay
        self.reg = reg
        self.max_iter = max_iter

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        # a different score for each candidate, so that rounds select
        seed = int(self.hidden_size * 1000 + self.learning_rate * 1e6) % 2**31
        rng = np.random.RandomState(seed)
        return rng.choice(self.classes_, size=len(X))


@pytest.mark.parametrize(
    "n_iter, max_iter, factor",
    [
        (20, 5, 3),  # rounds capped by the epochs: 20 + 7 candidates, not 20 + 7 + 3
        (20, 100, 3),
        (1, 10, 3),
        (2, 1, 2),
        (3, 3, 3),
        (9, 9, 3),
        (27, 27, 3),
        (243, 243, 3),  # log(243, 3) rounds to 4.999...: scikit-learn floors it
        (8, 100, 2),
        (50, 10, 4),
        (81, 2, 3),
    ],
)
def test_expected_fits_mirrors_scikit_learns_rounds(n_iter, max_iter, factor):
    X = np.arange(40, dtype=float).reshape(20, 2)
    y = np.arange(20) % 2
    search = make_search(
        _Instant(),
        search="halving",
        n_iter=n_iter,
        cv=2,
        max_iter=max_iter,
        factor=factor,
        random_state=0,
    )
    predicted = expected_fits(search, 2)
    epochs = expected_epochs(search, 2)
    search.fit(X, y)
    assert predicted == 2 * sum(search.n_candidates_)
    assert predicted == 2 * len(search.cv_results_["params"])
    rounds = zip(search.n_candidates_, search.n_resources_, strict=True)
    refit = search.best_params_["max_iter"]
    assert epochs == 2 * sum(n * r for n, r in rounds) + refit


def test_expected_fits_of_a_small_grid_counts_what_is_drawn():
    search = make_search(
        _Instant(), {"reg": [0.1, 0.2]}, search="random", n_iter=10, cv=2
    )
    assert expected_fits(search, 2) == 4  # the grid has only two candidates


def test_expected_epochs_of_a_random_search():
    clf = make_pipeline(StandardScaler(), _Instant())
    search = make_search(clf, n_iter=3, cv=2, max_iter=7, prefix="_instant")
    assert expected_epochs(search, 2) == 3 * 2 * 7 + 7  # the refit last
    search.set_params(refit=False)
    assert expected_epochs(search, 5) == 3 * 5 * 7
    searched = {"_instant__max_iter": [3, 7], "_instant__reg": [0.1, 0.2]}
    search.set_params(param_distributions=searched)
    with pytest.raises(ValueError, match="one fixed max_iter"):
        expected_epochs(search, 2)


def test_the_table_puts_halvings_chosen_candidate_first(digits_small):
    X, y = digits_small
    search = make_search(
        TwoLayerClassifier(random_state=0),
        search="halving",
        n_iter=9,
        cv=2,
        max_iter=9,
        random_state=0,
    ).fit(X, y)
    table = format_cv_results(search.cv_results_, best_index=search.best_index_)
    rows = table.splitlines()[2:-1]
    assert rows[0].startswith("*") and sum(r.startswith("*") for r in rows) == 1
    best = search.cv_results_["params"][search.best_index_]
    header = table.splitlines()[0].split()
    names = header[: header.index("mean")]
    first = dict(zip(names, rows[0].lstrip("*").split()[: len(names)], strict=True))
    assert int(first["hidden_size"]) == best["hidden_size"]
    assert first["iter"] == str(search.n_iterations_ - 1) and first["rank"] == "1"
    assert table.splitlines()[-1].startswith("* the candidate the search chose")
    # every round has its own ranks 1..n
    for r, n in enumerate(search.n_candidates_):
        ranks = [
            int(row.lstrip("*").split()[0])
            for row in rows
            if row.lstrip("*").split()[1] == str(r)
        ]
        assert sorted(ranks)[0] == 1 and len(ranks) == n
