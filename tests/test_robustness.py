"""Data larger than memory, awkward numerics, and reproducibility."""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split

from sklmlp import TwoLayerClassifier


def _fit(clf, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y, **kwargs)


def test_fit_on_a_memmap_gathers_batches_without_copying(tmp_path):
    rng = np.random.RandomState(0)
    X_mem = np.lib.format.open_memmap(
        tmp_path / "X.npy", "w+", np.float32, (30_000, 100)
    )
    X_mem[:] = rng.rand(30_000, 100)
    y = (X_mem[:, 0] > 0.5).astype(int)
    X_mem.flush()
    X = np.load(tmp_path / "X.npy", mmap_mode="r")  # read-only, on disk

    clf = TwoLayerClassifier(hidden_size=32, max_iter=2, random_state=0)
    tracemalloc.start()
    try:
        _fit(clf, X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.2 * X.nbytes  # 12 MB of data; no copy of it was made
    assert clf.coefs_[0].dtype == np.float32
    in_memory = _fit(
        TwoLayerClassifier(hidden_size=32, max_iter=2, random_state=0),
        np.asarray(X).copy(),
        y,
    )
    np.testing.assert_array_equal(clf.coefs_[0], in_memory.coefs_[0])


def test_sparse_input_stays_sparse_through_fit(monkeypatch):
    rng = np.random.RandomState(0)
    X = sp.random(
        2_000, 5_000, density=0.001, format="csr", random_state=rng, dtype=np.float32
    )
    y = rng.randint(0, 2, 2_000)
    tracemalloc.start()
    try:
        _fit(TwoLayerClassifier(hidden_size=8, max_iter=2, random_state=0), X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    dense_bytes = 2_000 * 5_000 * 4  # 40 MB if it were densified
    assert peak < dense_bytes / 4


def test_unscaled_features_train_or_fail_clearly():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 5)) * 1e6
    y = (X[:, 0] > 0).astype(int)
    adam = _fit(TwoLayerClassifier(random_state=0), X, y)
    assert adam.score(X, y) > 0.9
    assert all(np.isfinite(W).all() for W in adam.coefs_)
    sgd = TwoLayerClassifier(solver="sgd", learning_rate=0.1, random_state=0)
    with pytest.raises(ValueError, match="learning_rate"):
        _fit(sgd, X, y)
    assert all(np.isfinite(W).all() for W in sgd.coefs_)


def test_constant_features_and_duplicated_rows():
    rng = np.random.RandomState(0)
    informative = rng.normal(size=(100, 3))
    X = np.hstack([informative, np.ones((100, 4)), np.zeros((100, 2))])
    X = np.vstack([X, X, X])  # every row three times
    y = np.tile((informative[:, 0] + informative[:, 1] > 0).astype(int), 3)
    clf = _fit(TwoLayerClassifier(random_state=0), X, y)
    assert clf.score(X, y) > 0.95
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)


@pytest.mark.parametrize("class_weight", [None, "balanced"])
def test_extremely_imbalanced_classes(class_weight):
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(size=(1980, 4)), rng.normal(2.0, size=(20, 4))])
    y = np.r_[np.zeros(1980, int), np.ones(20, int)]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, stratify=y, test_size=0.5, random_state=0
    )
    clf = _fit(
        TwoLayerClassifier(class_weight=class_weight, random_state=0),
        X_train,
        y_train,
    )
    assert np.isfinite(clf.predict_proba(X_test)).all()
    score = balanced_accuracy_score(y_test, clf.predict(X_test))
    # without weights the minority is mostly ignored; with them it is found
    assert score > (0.85 if class_weight else 0.5)


def test_only_read_only_memmaps_have_their_pages_released(tmp_path):
    from sklmlp._batches import read_only_mapping

    np.save(tmp_path / "a.npy", np.zeros((4, 3), np.float32))
    read_only = np.load(tmp_path / "a.npy", mmap_mode="r")
    assert read_only_mapping(read_only) is not None
    assert read_only_mapping(np.asarray(read_only)[1:]) is not None  # a view
    for mode in ("r+", "c"):
        assert read_only_mapping(np.load(tmp_path / "a.npy", mmap_mode=mode)) is None
    assert read_only_mapping(np.zeros(3)) is None


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_memmap_with_nan_or_infinity_is_refused(tmp_path, bad):
    X = np.ones((100, 3), np.float32)
    X[57, 1] = bad
    np.save(tmp_path / "X.npy", X)
    X = np.load(tmp_path / "X.npy", mmap_mode="r")
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        TwoLayerClassifier().fit(X, np.arange(100) % 2)
