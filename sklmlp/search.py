"""Hyper-parameter search for TwoLayerClassifier: the space, the search, the table.

These replace the exercise's hand-written tuning loop (draw a hidden size, a
learning rate and a regularisation strength, train, keep the best by hand)
with scikit-learn's searches, run in parallel with joblib on one machine or on
a Dask cluster through joblib's dask backend.
"""

import csv
from contextlib import ExitStack, contextmanager
from numbers import Integral

import joblib
import numpy as np
from scipy.stats import loguniform, randint, rankdata, uniform
from sklearn.base import clone
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    HalvingRandomSearchCV,
    RandomizedSearchCV,
)
from threadpoolctl import threadpool_limits

from ._classifier import TwoLayerClassifier
from ._progress import ProgressLine, SearchProgress, _n_sampled, search_rounds

__all__ = [
    "check_search_data",
    "default_search_space",
    "expected_epochs",
    "expected_fits",
    "format_cv_results",
    "make_search",
    "parallel_backend",
    "search_progress",
    "SearchProgress",
    "write_cv_results",
]


def default_search_space(prefix=""):
    """Distributions over the exercise's four knobs, for ``param_distributions``.

    ``hidden_size`` is uniform on [64, 768]; ``learning_rate`` log-uniform on
    [2e-4, 5e-3] (around Adam's usual 1e-3) and ``reg`` log-uniform on
    [1e-6, 1e-3], because a step size and a penalty matter by their order of
    magnitude; ``learning_rate_decay``, the exercise's fourth knob, uniform on
    [0.9, 1.0]. The ranges are where Fashion-MNIST's good models lie: in a
    24-candidate search over an earlier, wider space (hidden sizes from 32 to
    512, steps up to 3e-2, penalties up to 1e-1, no decay) half of the
    candidates had steps too large for Adam or penalties too strong, and the
    chosen model reached 0.884 test accuracy.

    Parameters
    ----------
    prefix : str, default=""
        Name of the Pipeline step that holds the classifier (with or without
        the trailing ``"__"``), e.g. ``"twolayerclassifier"``.

    Returns
    -------
    param_distributions : dict
        ``{name: scipy.stats distribution}``, ready for
        :class:`~sklearn.model_selection.RandomizedSearchCV`.

    Examples
    --------
    >>> from sklmlp.search import default_search_space
    >>> sorted(default_search_space("clf"))
    ['clf__hidden_size', 'clf__learning_rate', 'clf__learning_rate_decay', 'clf__reg']
    """
    prefix = _step_prefix(prefix)
    return {
        f"{prefix}hidden_size": randint(64, 769),
        f"{prefix}learning_rate": loguniform(2e-4, 5e-3),
        f"{prefix}reg": loguniform(1e-6, 1e-3),
        f"{prefix}learning_rate_decay": uniform(0.9, 0.1),
    }


def make_search(
    estimator,
    param_distributions=None,
    *,
    search="random",
    n_iter=20,
    cv=3,
    n_jobs=None,
    max_iter=100,
    prefix="",
    random_state=None,
    factor=3,
):
    """A random or successive-halving search over a TwoLayerClassifier.

    Parameters
    ----------
    estimator : estimator
        A TwoLayerClassifier, or a Pipeline whose step ``prefix`` is one.
    param_distributions : dict, default=None
        The space; None means :func:`default_search_space` ``(prefix)``.
    search : {'random', 'halving'}, default='random'
        'random' is :class:`~sklearn.model_selection.RandomizedSearchCV` with
        ``max_iter`` epochs per fit. 'halving' is
        :class:`~sklearn.model_selection.HalvingRandomSearchCV` with epochs as
        the resource: all ``n_iter`` candidates train a few epochs, the best
        ``1/factor`` of them ``factor`` times as many, and so on up to
        ``max_iter``.
    n_iter : int, default=20
        Number of candidates drawn.
    cv : int or cross-validation generator, default=3
        Folds.
    n_jobs : int, default=None
        Parallel fits (joblib); -1 for all cores or all Dask workers.
    max_iter : int, default=100
        Epochs per fit (the most any candidate gets with 'halving').
    prefix : str, default=""
        Pipeline step name of the classifier.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws of the candidates.
    factor : int, default=3
        Halving rate of 'halving'.

    Returns
    -------
    search : RandomizedSearchCV or HalvingRandomSearchCV
        Unfitted; ``refit=True``, NaN scores for candidates that fail (e.g.
        diverge).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklmlp import TwoLayerClassifier
    >>> from sklmlp.search import make_search
    >>> X, y = load_digits(return_X_y=True)
    >>> search = make_search(TwoLayerClassifier(random_state=0), search="halving",
    ...                      n_iter=4, cv=2, max_iter=8, random_state=0)
    >>> search.fit(X / 16, y).n_resources_
    [2, 6]
    >>> bool(search.best_score_ > 0.8)
    True
    """
    prefix = _step_prefix(prefix)
    if param_distributions is None:
        param_distributions = default_search_space(prefix)
    estimator = clone(estimator).set_params(**{f"{prefix}max_iter": max_iter})
    if search == "random":
        return RandomizedSearchCV(
            estimator,
            param_distributions,
            n_iter=n_iter,
            cv=cv,
            n_jobs=n_jobs,
            random_state=random_state,
        )
    if search == "halving":
        return HalvingRandomSearchCV(
            estimator,
            param_distributions,
            n_candidates=n_iter,
            resource=f"{prefix}max_iter",
            max_resources=max_iter,
            min_resources="exhaust",
            factor=factor,
            cv=cv,
            n_jobs=n_jobs,
            random_state=random_state,
        )
    raise ValueError(f"search must be 'random' or 'halving', got {search!r}.")


def expected_fits(search, n_splits):
    """How many fits ``search`` will run (before its refit).

    Mirrors scikit-learn's own count: for a successive-halving search, the
    number of rounds is capped both by the candidates (``1 + floor(log(n,
    factor))``) and by the resource (``1 + floor(log(max // min, factor))``),
    exactly as :class:`~sklearn.model_selection.HalvingRandomSearchCV` computes
    them, so ``expected_fits(search, k) == k * sum(search.n_candidates_)``
    after the fit.

    Parameters
    ----------
    search : RandomizedSearchCV or HalvingRandomSearchCV
        An unfitted search whose resource, for halving, is not ``n_samples``
        (as with :func:`make_search`).
    n_splits : int
        Number of cross-validation folds.

    Returns
    -------
    n_fits : int
        Fits over all rounds and folds, without the final refit.
    """
    if isinstance(search, RandomizedSearchCV):
        return _n_sampled(search, search.n_iter) * n_splits
    return sum(n_fits for n_fits, _ in search_rounds(search, n_splits))


def expected_epochs(search, n_splits):
    """How many epochs ``search`` will train, its refit included, for progress.

    The sum over the rounds of candidates x folds x epochs per fit, plus the
    refit's epochs: the work :class:`SearchProgress` counts. For a random
    search every fit has the estimator's ``max_iter`` epochs; for a halving
    search with epochs as the resource, each round has its own.

    Parameters
    ----------
    search : RandomizedSearchCV or HalvingRandomSearchCV
        An unfitted search, as :func:`make_search` builds; a random search's
        estimator has one ``max_iter`` that is not searched over.
    n_splits : int
        Number of cross-validation folds.

    Returns
    -------
    n_epochs : int
        Epochs over all rounds, folds and the refit.

    Examples
    --------
    >>> from sklmlp import TwoLayerClassifier
    >>> from sklmlp.search import expected_epochs, make_search
    >>> search = make_search(TwoLayerClassifier(), search="halving", n_iter=4,
    ...                      cv=2, max_iter=8, random_state=0)
    >>> expected_epochs(search, 2)  # 4 x 2 fits of 2 epochs, 2 x 2 of 6, refit 6
    46
    """
    rounds = search_rounds(search, n_splits)
    refit = rounds[-1][1] if search.refit else 0
    return sum(n_fits * epochs for n_fits, epochs in rounds) + refit


def check_search_data(X, y, cv=3):
    """Validate a search's data up front, as TwoLayerClassifier.fit does.

    A search would otherwise start every fit on data that each one then
    rejects (NaN, one class, too few samples per fold) and report it only
    after all of them failed. This runs fit's own validation once, and checks
    that every class has at least one sample per stratified fold.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training data.
    y : array-like of shape (n_samples,)
        Class labels.
    cv : int or cross-validation generator, default=3
        The search's folds; an int means stratified folds, as in scikit-learn.

    Raises
    ------
    ValueError
        Naming the problem, as fit would, or the class with too few samples.
    """
    clf = TwoLayerClassifier()
    _, y_idx, _ = clf._prepare_data(X, y, None, classes=None, first_call=True)
    if isinstance(cv, Integral):
        counts = np.bincount(y_idx)
        if counts.min() < cv:
            label = clf.classes_[counts.argmin()].tolist()  # a plain repr
            raise ValueError(
                f"class {label!r} has only {counts.min()} sample(s), fewer than "
                f"the {cv} cross-validation folds: every fold needs each class. "
                "Use fewer folds or more data."
            )


@contextmanager
def search_progress(search, label="search", stream=None):
    """Show epochs done / total, elapsed time and ETA while ``search`` fits.

    On scikit-learn >= 1.9 this sets a :class:`SearchProgress` callback on
    ``search`` for the block (replacing the search's other callbacks, and
    clearing them after it): the line follows every epoch of every fit, in
    any process, with the loky backend or a Dask cluster on this machine. On
    a terminal it is rewritten in place; otherwise a plain line is written
    every tenth of the way. The total is :func:`expected_epochs`.

    Older scikit-learn has no callback API: there the count is written once,
    when the search ends, with a note that live progress needs scikit-learn
    >= 1.9 (on a terminal the note shows at once, then turns into the count).
    Nothing is patched on either path.

    Parameters
    ----------
    search : RandomizedSearchCV or HalvingRandomSearchCV
        The search about to be fitted inside the block.
    label : str, default="search"
        Start of the line.
    stream : file-like, default=None
        Where to write; None means ``sys.stderr``.

    Yields
    ------
    progress : SearchProgress or None
        The callback, or None on scikit-learn < 1.9.
    """
    if hasattr(search, "set_callbacks"):
        progress = SearchProgress(label, stream)
        search.set_callbacks(progress)
        try:
            yield progress
        finally:
            search.set_callbacks()
        return
    # the fallback: a note at once on a terminal, the count when it is over
    note = "live progress needs scikit-learn >= 1.9"
    line = ProgressLine(None, label, stream)
    if line.live:
        line._write(f"\r{label}: {note}")
    try:
        yield None
    except BaseException:
        if line.live:
            line._write("\n")
        raise
    line.total = line.done = expected_epochs(search, search.n_splits_)
    text = f"{line.text()} ({note})"
    line._write(f"\r{text}\033[K\n" if line.live else text + "\n")


@contextmanager
def parallel_backend(
    backend="loky", scheduler=None, n_workers=None, blas_threads=1, timeout=30
):
    """Run the joblib work inside the block on loky or on a Dask cluster.

    Every fit runs with ``blas_threads`` BLAS threads, in this process and in
    every worker, so that results do not depend on ``n_jobs``, the backend or
    the machine's core count: OpenBLAS rounds differently with different
    thread counts. One thread per fit is also the fast setting when the fits
    themselves run in parallel.

    Parameters
    ----------
    backend : {'loky', 'dask'}, default='loky'
        'loky' uses local processes. With 'dask' and no ``scheduler``, a
        ``LocalCluster`` of ``n_workers`` single-threaded worker processes
        starts on 127.0.0.1.
    scheduler : str, default=None
        Address of a running Dask scheduler (``tcp://HOST:PORT``); implies
        'dask'.
    n_workers : int, default=None
        Workers of that local cluster (None: one per core).
    blas_threads : int or None, default=1
        BLAS threads per fit; None leaves the libraries' defaults (faster for
        a single job, but results then depend on the thread count).
    timeout : float, default=30
        Seconds to wait for the connection to ``scheduler``; past them an
        ``OSError`` is raised.

    Yields
    ------
    client : distributed.Client or None
        The Dask client, or None with loky.
    """
    with ExitStack() as stack:
        if blas_threads is not None:
            stack.enter_context(threadpool_limits(limits=blas_threads))
        if scheduler is None and backend == "loky":
            stack.enter_context(
                joblib.parallel_config(
                    backend="loky", inner_max_num_threads=blas_threads
                )
            )
            yield None
            return
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ImportError(
                "The Dask backend needs dask and distributed: "
                "pip install 'sklmlp[dask]'."
            ) from exc
        if scheduler is not None:
            client = stack.enter_context(Client(scheduler, timeout=f"{timeout}s"))
        else:
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=n_workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                )
            )
            client = stack.enter_context(Client(cluster))
        if blas_threads is not None:
            client.run(_limit_blas_threads, blas_threads)
        stack.enter_context(joblib.parallel_config(backend="dask"))
        yield client


def _limit_blas_threads(n_threads):
    """Limit this (worker) process's BLAS threads for the rest of its life."""
    threadpool_limits(limits=n_threads)


def format_cv_results(cv_results, prefix="", best_index=None):
    """A ranked text table of a search's ``cv_results_``.

    Parameters
    ----------
    cv_results : dict
        The ``cv_results_`` of a fitted search.
    prefix : str, default=""
        Pipeline step prefix to strip from the parameter names.
    best_index : int, default=None
        The search's ``best_index_``: that row comes first, marked ``*``.

    Returns
    -------
    table : str
        One row per candidate (per round, for halving): the chosen candidate
        first, then the last round's candidates by rank, then the earlier
        rounds'. Rank, the parameters, mean and std of the test accuracy,
        mean fit seconds. For halving, ``rank`` is the rank within the round
        (only the last round's candidates compete for the refit).
    """
    prefix = _step_prefix(prefix)
    params = [k for k in cv_results if k.startswith("param_")]
    names = [k.removeprefix("param_").removeprefix(prefix) for k in params]
    extra = [k for k in ("iter", "n_resources") if k in cv_results]
    header = ["", "rank"] + extra + names + ["mean acc", "std acc", "fit s"]
    n_rows = len(cv_results["params"])
    rounds = np.asarray(cv_results.get("iter", np.zeros(n_rows, dtype=int)))
    ranks = _ranks_within_rounds(cv_results["mean_test_score"], rounds)
    chosen = np.zeros(n_rows, dtype=bool)
    if best_index is not None:
        chosen[best_index] = True
    rows = []
    for i in np.lexsort((ranks, -rounds, ~chosen)):
        rows.append(
            ["*" if chosen[i] else "", str(ranks[i])]
            + [str(cv_results[k][i]) for k in extra]
            + [_format_value(cv_results[k][i]) for k in params]
            + [
                _format_value(cv_results["mean_test_score"][i], "{:.4f}"),
                _format_value(cv_results["std_test_score"][i], "{:.4f}"),
                f"{cv_results['mean_fit_time'][i]:.2f}",
            ]
        )
    widths = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("-" * len(lines[0]))
    lines += [
        "  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) for row in rows
    ]
    if best_index is not None:
        lines.append("* the candidate the search chose and refit")
    return "\n".join(lines)


def _ranks_within_rounds(scores, rounds):
    """Rank 1 = best mean score within each round; failed (NaN) fits last."""
    scores = np.asarray(scores, dtype=float)
    ranks = np.empty(len(scores), dtype=int)
    for r in np.unique(rounds):
        members = np.flatnonzero(rounds == r)
        # NaN scores rank after every finite one
        keys = np.where(np.isnan(scores[members]), np.inf, -scores[members])
        ranks[members] = rankdata(keys, method="min").astype(int)
    return ranks


def write_cv_results(cv_results, path):
    """Write ``cv_results_`` to a CSV file, one row per candidate.

    Parameters
    ----------
    cv_results : dict
        The ``cv_results_`` of a fitted search.
    path : str or path-like
        The CSV file to write.
    """
    columns = [k for k in cv_results if k != "params"]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for i in range(len(cv_results["params"])):
            writer.writerow([_plain(cv_results[k][i]) for k in columns])


def _step_prefix(prefix):
    return prefix if not prefix or prefix.endswith("__") else prefix + "__"


def _format_value(value, float_format="{:.3g}"):
    if isinstance(value, (float, np.floating)):
        return "nan" if np.isnan(value) else float_format.format(value)
    return str(value)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
