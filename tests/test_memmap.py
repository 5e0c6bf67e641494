"""Read-only memmaps: no copy and no pile-up of mapped pages, in every path.

A read-only memmap (``np.load(path, mmap_mode="r")``) is how data larger than
memory reaches fit and predict. Each test measures what the process holds:
Python-level allocations with tracemalloc, and the file pages mapped into the
process from /proc/self/status (RssFile + RssShmem: a file on tmpfs counts as
shared memory).
"""

import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklmlp import TwoLayerClassifier


def _memmap(path, n_samples, n_features, seed=0):
    rng = np.random.RandomState(seed)
    X = np.lib.format.open_memmap(path, "w+", np.float32, (n_samples, n_features))
    for start in range(0, n_samples, 8_000):
        stop = min(start + 8_000, n_samples)
        X[start:stop] = rng.rand(stop - start, n_features)
    y = (X[:, 0] + X[:, 1] > 1.0).astype(int)
    del X
    return np.load(path, mmap_mode="r"), y


def _fit(clf, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y)


def test_early_stopping_on_a_memmap_copies_no_data(tmp_path):
    X, y = _memmap(tmp_path / "X.npy", 20_000, 500)  # 40 MB
    params = dict(hidden_size=32, max_iter=3, early_stopping=True, random_state=0)
    tracemalloc.start()
    try:
        clf = _fit(TwoLayerClassifier(**params), X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # a copy of the training part alone would be 0.9 * X.nbytes
    assert peak < 0.2 * X.nbytes
    assert clf.t_ == clf.n_iter_ * 18_000  # 10 % held out
    in_memory = _fit(TwoLayerClassifier(**params), np.array(X), y)
    np.testing.assert_array_equal(clf.coefs_[0], in_memory.coefs_[0])
    assert clf.validation_scores_ == in_memory.validation_scores_


@pytest.mark.parametrize("early_stopping", [False, True])
def test_fit_on_a_memmap_keeps_mapped_pages_bounded(
    tmp_path, mapped_file_mib, early_stopping
):
    X, y = _memmap(tmp_path / "X.npy", 64_000, 784)  # 191 MiB
    file_mib = X.nbytes / 2**20
    # control: the measurement sees a pass over the file that releases nothing
    # (on tmpfs the pages count as RssShmem, which an RssFile-only check misses)
    control = np.load(tmp_path / "X.npy", mmap_mode="r")
    before = mapped_file_mib()
    float(np.asarray(control).sum())
    assert mapped_file_mib() - before > 0.75 * file_mib
    del control

    before = mapped_file_mib()
    clf = TwoLayerClassifier(
        hidden_size=4, max_iter=1, early_stopping=early_stopping, random_state=0
    )
    _fit(clf, X, y)
    assert mapped_file_mib() - before < 0.25 * file_mib


def test_predict_on_a_memmap_keeps_mapped_pages_bounded(tmp_path, mapped_file_mib):
    X, y = _memmap(tmp_path / "X.npy", 64_000, 784)
    clf = _fit(TwoLayerClassifier(hidden_size=4, max_iter=1, random_state=0), X, y)
    file_mib = X.nbytes / 2**20
    X = np.load(tmp_path / "X.npy", mmap_mode="r")  # no page mapped yet
    before = mapped_file_mib()
    proba = clf.predict_proba(X)
    # without chunked checks and releases: the whole file (finite check, forward)
    assert mapped_file_mib() - before < 0.25 * file_mib
    assert proba.shape == (64_000, 2)
    np.testing.assert_array_equal(clf.predict(X), clf.predict(np.array(X)))


@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_predict_on_a_memmap_with_nan_or_infinity_is_refused(tmp_path, method, bad):
    rng = np.random.RandomState(0)
    X = rng.rand(100, 3).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    clf = _fit(TwoLayerClassifier(max_iter=2, random_state=0), X, y)
    X[57, 1] = bad
    np.save(tmp_path / "X.npy", X)
    X = np.load(tmp_path / "X.npy", mmap_mode="r")
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        getattr(clf, method)(X)
