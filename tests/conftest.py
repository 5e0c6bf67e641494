"""Shared fixtures for the sklmlp test suite."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from _extras import importorskip


def _numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of the scalar function ``f()`` w.r.t. ``x``.

    ``x`` is perturbed in place, one entry at a time, and restored.
    """
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + h
        f_plus = f()
        x[index] = saved - h
        f_minus = f()
        x[index] = saved
        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad


def _relative_error(a, b):
    """Largest element-wise relative error, as in the CS231n gradient checks."""
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


@pytest.fixture
def numerical_gradient():
    return _numerical_gradient


@pytest.fixture
def relative_error():
    return _relative_error


@pytest.fixture(scope="session")
def digits_split():
    """Standardised digits with a 25 % stratified hold-out."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.fixture
def small_problem():
    """A small, well separated three-class problem (60 x 5, float64)."""
    rng = np.random.RandomState(0)
    centers = rng.normal(scale=3.0, size=(3, 5))
    y = np.repeat(np.arange(3), 20)
    X = centers[y] + rng.normal(size=(60, 5))
    return X, y


@pytest.fixture(scope="session")
def dask_cluster():
    """A loopback Dask cluster shared by the session: 2 workers x 1 thread.

    Single-threaded worker processes, no dashboard, only 127.0.0.1, and
    timeouts on start-up and shutdown so that a broken cluster fails fast.
    """
    distributed = importorskip("distributed", extra="dask")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        timeout="60s",
    )
    try:
        yield cluster
    finally:
        cluster.close(timeout=30)


def _mapped_file_mib():
    """Resident memory of this process's file mappings, in MiB.

    A mapped file's pages count as ``RssFile`` when the file is on disk and as
    ``RssShmem`` when it is on tmpfs (a /tmp or /dev/shm held in memory).
    """
    kib = {}
    with open("/proc/self/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("RssFile", "RssShmem"):
                kib[name] = int(value.split()[0])
    return sum(kib.values()) / 1024


@pytest.fixture
def mapped_file_mib():
    """A function measuring the file pages mapped into this process (Linux)."""
    return _mapped_file_mib
