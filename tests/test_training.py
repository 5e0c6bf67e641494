"""The pieces of the epoch loop: one epoch, the batch source, patience, divergence."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from sklmlp._batches import BatchSource
from sklmlp._layers import l2_penalty
from sklmlp._network import init_params, loss_and_grads
from sklmlp._optim import make_optimizer
from sklmlp._training import Checkpoint, EarlyStopping, diverged, train_epoch


def _data(n_samples=50, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n_samples, 5)
    y = rng.randint(3, size=n_samples)
    return X, y, rng.uniform(0.1, 2.0, size=n_samples)


def _textbook_gradient(params, X, y, reg, sample_weight):
    """loss_and_grads, shaped like the fast path: data loss and gradients."""
    loss, grads = loss_and_grads(params, X, y, reg, sample_weight)
    return loss - l2_penalty([params[0], params[2]], reg)[0], grads


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_an_epoch_on_the_fast_path_equals_textbook_updates(solver, weighted):
    # Three epochs of minibatch updates, once through the fast path and once
    # through the textbook loss_and_grads: the same weights and losses.
    X, y, sample_weight = _data()
    sample_weight = sample_weight if weighted else None
    results = []
    for gradient_kind in ("fast", "textbook"):
        params = init_params(5, 7, 3, np.random.RandomState(1))
        optimizer = make_optimizer(solver, params, 0.05, momentum=0.9, nesterov=True)
        batches = BatchSource(X, y, sample_weight, np.arange(len(y)), 16)
        gradient = None if gradient_kind == "fast" else _textbook_gradient
        rng = np.random.RandomState(2)
        losses = [
            train_epoch(params, optimizer, batches, 0.01, rng, gradient)
            for _ in range(3)
        ]
        results.append((losses, params))
    (fast_losses, fast_params), (slow_losses, slow_params) = results
    np.testing.assert_allclose(fast_losses, slow_losses, rtol=1e-12)
    for fast, slow in zip(fast_params, slow_params, strict=True):
        np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-15)


def test_the_epoch_loss_is_weighted_by_minibatch_weight():
    # Two minibatches of different total weight and no updates (a zero step):
    # the epoch loss is the weighted mean of their losses.
    X, y, sample_weight = _data(n_samples=30)
    params = init_params(5, 7, 3, np.random.RandomState(1))
    optimizer = make_optimizer("sgd", params, 1e-300, momentum=0.0, nesterov=False)
    batches = BatchSource(X, y, sample_weight, np.arange(30), 20)
    loss = train_epoch(params, optimizer, batches, 0.0, gradient=_textbook_gradient)
    first, _ = _textbook_gradient(params, X[:20], y[:20], 0.0, sample_weight[:20])
    second, _ = _textbook_gradient(params, X[20:], y[20:], 0.0, sample_weight[20:])
    w1, w2 = sample_weight[:20].sum(), sample_weight[20:].sum()
    assert loss == pytest.approx((first * w1 + second * w2) / (w1 + w2), rel=1e-12)


@pytest.mark.parametrize("kind", ["dense", "csr", "memmap"])
def test_batch_source_visits_each_of_its_rows_once_per_epoch(kind, tmp_path):
    X, y, sample_weight = _data(n_samples=23)
    X[:, 0] = np.arange(23)  # the row id
    if kind == "csr":
        X = sp.csr_matrix(X)
    elif kind == "memmap":
        np.save(tmp_path / "X.npy", X)
        X = np.load(tmp_path / "X.npy", mmap_mode="r")
    rows = np.array([3, 4, 8, 9, 10, 15, 16, 17, 20, 22])  # e.g. a training part
    batches = BatchSource(X, y, sample_weight, rows, 4)
    rng = np.random.RandomState(0)
    for _ in range(2):
        seen = []
        for X_batch, y_batch, w_batch in batches.minibatches(rng):
            dense = X_batch.toarray() if sp.issparse(X_batch) else X_batch
            ids = dense[:, 0].astype(int)
            np.testing.assert_array_equal(y_batch, y[ids])
            np.testing.assert_array_equal(w_batch, sample_weight[ids])
            seen.append(ids)
        assert [len(s) for s in seen] == [4, 4, 2]
        np.testing.assert_array_equal(np.sort(np.concatenate(seen)), rows)
    # without an rng, the given order
    order = [b[1] for b in batches.minibatches()]
    np.testing.assert_array_equal(np.concatenate(order), y[rows])


def test_batch_source_gathers_dense_rows_into_one_buffer():
    X, y, _ = _data(n_samples=20)
    batches = BatchSource(X, y, None, np.arange(20), 8)
    addresses = {
        X_batch.__array_interface__["data"][0]
        for X_batch, _, _ in batches.minibatches(np.random.RandomState(0))
    }
    assert len(addresses) == 1
    assert batches.batch_size == 8
    assert BatchSource(X, y, None, np.arange(5), 8).batch_size == 5


def test_batch_source_draws_the_order_from_the_rng():
    X, y, _ = _data(n_samples=20)
    batches = BatchSource(X, y, None, np.arange(20), 20)
    first = next(batches.minibatches(np.random.RandomState(0)))[1].copy()
    again = next(batches.minibatches(np.random.RandomState(0)))[1].copy()
    other = next(batches.minibatches(np.random.RandomState(1)))[1].copy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_early_stopping_counts_epochs_without_an_improvement_of_tol():
    stopping = EarlyStopping(tol=0.1, n_iter_no_change=2, keep_best=False)
    params = [np.zeros(2)]
    assert not stopping.update(1.0, params)  # best 1.0
    assert not stopping.update(1.05, params)  # better, but not by tol: 1
    assert stopping.best_score == 1.05
    assert not stopping.update(1.2, params)  # improvement of 0.15: reset
    assert not stopping.update(1.2, params)  # 1
    assert stopping.update(0.0, params)  # 2: patience ran out
    assert not stopping.restore_best(params)  # nothing kept


def test_early_stopping_restores_the_best_epochs_weights():
    stopping = EarlyStopping(tol=0.0, n_iter_no_change=5, keep_best=True)
    params = [np.zeros(3)]
    for score, value in [(0.5, 1.0), (0.9, 2.0), (0.7, 3.0)]:
        params[0][...] = value
        stopping.update(score, params)
    assert stopping.restore_best(params)
    np.testing.assert_array_equal(params[0], 2.0)
    assert stopping.best_score == 0.9


def test_checkpoint_restores_the_weights_it_copied():
    params = [np.arange(3.0), np.ones((2, 2))]
    checkpoint = Checkpoint(params)
    for p in params:
        p += 7
    checkpoint.restore(params)
    np.testing.assert_array_equal(params[0], np.arange(3.0))
    np.testing.assert_array_equal(params[1], np.ones((2, 2)))


@pytest.mark.parametrize(
    "loss, data_loss, weight, expected",
    [
        (1.0, 0.9, 1.0, False),
        (1.0, 0.9, np.nan, True),
        (math.inf, 0.9, 1.0, True),
        (50.0, 50.0, 1.0, True),  # over the limit of 10
        (10.5, 10.0, 1.0, False),  # at the limit: the penalty does not count
    ],
)
def test_diverged(loss, data_loss, weight, expected):
    params = [np.array([1.0, weight])]
    assert diverged(loss, data_loss, params, limit=10.0) is expected
