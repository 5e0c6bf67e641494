"""Gradient checks of the whole network, and the seed's three bugs."""

import numpy as np
import pytest

from sklmlp._layers import l2_penalty, softmax_cross_entropy
from sklmlp._network import forward, init_params, loss_and_grads

MAX_RELATIVE_ERROR = 1e-7
PARAM_NAMES = ["W1", "b1", "W2", "b2"]


def _tiny_network(seed=0):
    rng = np.random.RandomState(seed)
    params = init_params(4, 6, 3, rng)
    # Non-zero biases, so that their gradients are checked away from 0.
    params[1] += rng.uniform(-0.5, 0.5, size=params[1].shape)
    params[3] += rng.uniform(-0.5, 0.5, size=params[3].shape)
    X = rng.randn(7, 4)
    y = rng.randint(3, size=7)
    sample_weight = rng.uniform(0.2, 3.0, size=7)
    return params, X, y, sample_weight


@pytest.mark.parametrize("name", PARAM_NAMES)
@pytest.mark.parametrize(
    "reg, weighted",
    [(0.0, False), (0.05, False), (0.05, True)],
    ids=["reg0", "reg", "reg-weighted"],
)
def test_network_gradients(numerical_gradient, relative_error, name, reg, weighted):
    params, X, y, sample_weight = _tiny_network()
    sample_weight = sample_weight if weighted else None
    _, grads = loss_and_grads(params, X, y, reg, sample_weight)
    index = PARAM_NAMES.index(name)

    def f():
        return loss_and_grads(params, X, y, reg, sample_weight)[0]

    numerical = numerical_gradient(f, params[index])
    assert grads[index].shape == params[index].shape
    assert relative_error(grads[index], numerical) < MAX_RELATIVE_ERROR


def _float32_and_float64(params, X, sample_weight):
    """The arguments in float32, and the same float32 values upcast to float64."""
    single = [p.astype(np.float32) for p in (*params, X, sample_weight)]
    double = [a.astype(np.float64) for a in single]
    return single, double


def test_float32_loss_and_gradients_match_float64(relative_error):
    # float32 goes through other BLAS routines (sgemm) and other
    # casts than the float64 path that test_network_gradients checks; both see
    # the same values here, so they may differ only by float32 rounding.
    params, X, y, sample_weight = _tiny_network()
    single, double = _float32_and_float64(params, X, sample_weight)
    loss32, grads32 = loss_and_grads(single[:4], single[4], y, 0.05, single[5])
    loss64, grads64 = loss_and_grads(double[:4], double[4], y, 0.05, double[5])
    assert loss32 == pytest.approx(loss64, rel=1e-6)
    for name, g32, g64 in zip(PARAM_NAMES, grads32, grads64, strict=True):
        assert g32.dtype == np.float32, name
        assert relative_error(g32.astype(np.float64), g64) < 1e-4, name


@pytest.mark.parametrize("name", PARAM_NAMES)
def test_float32_network_gradients(numerical_gradient, relative_error, name):
    # A float32 loss is exact to about 1e-7, so the step is 1e-2 instead of
    # 1e-5 and the tolerance 1e-2 instead of 1e-7. No step moves a
    # pre-activation of this draw across the ReLU kink.
    params, X, y, sample_weight = _tiny_network()
    single, _ = _float32_and_float64(params, X, sample_weight)
    params, X, sample_weight = single[:4], single[4], single[5]
    _, grads = loss_and_grads(params, X, y, 0.05, sample_weight)
    index = PARAM_NAMES.index(name)

    def f():
        return loss_and_grads(params, X, y, 0.05, sample_weight)[0]

    numerical = numerical_gradient(f, params[index], h=1e-2)
    assert grads[index].dtype == np.float32
    assert relative_error(grads[index], numerical) < 1e-2


def test_loss_is_data_loss_plus_sum_of_penalties():
    params, X, y, sample_weight = _tiny_network()
    loss, _ = loss_and_grads(params, X, y, 0.1, sample_weight)
    data_loss, _ = softmax_cross_entropy(forward(params, X), y, sample_weight)
    W1, _, W2, _ = params
    expected = data_loss + 0.1 * (np.sum(W1**2) + np.sum(W2**2))
    assert loss == pytest.approx(expected, rel=1e-12)
    assert l2_penalty([W1, W2], 0.1)[0] == pytest.approx(expected - data_loss)


def test_bias_gradients_do_not_overwrite_weight_gradients():
    # Regression: the seed assigned db over dW. Recompute both by hand.
    params, X, y, _ = _tiny_network()
    W1, b1, W2, b2 = params
    _, (dW1, db1, dW2, db2) = loss_and_grads(params, X, y, reg=0.0)

    pre_hidden = X @ W1 + b1
    hidden = np.maximum(pre_hidden, 0)
    _, d_scores = softmax_cross_entropy(hidden @ W2 + b2, y)
    d_pre_hidden = (d_scores @ W2.T) * (pre_hidden > 0)
    np.testing.assert_allclose(dW2, hidden.T @ d_scores, rtol=1e-12)
    np.testing.assert_allclose(db2, d_scores.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(dW1, X.T @ d_pre_hidden, rtol=1e-12)
    np.testing.assert_allclose(db1, d_pre_hidden.sum(axis=0), rtol=1e-12)


def test_each_weight_gets_its_own_penalty_gradient():
    # Regression: the seed added W2's penalty gradient to dW1.
    params, X, y, _ = _tiny_network()
    _, plain = loss_and_grads(params, X, y, reg=0.0)
    _, regularised = loss_and_grads(params, X, y, reg=0.3)
    W1, b1, W2, b2 = params
    np.testing.assert_allclose(regularised[0] - plain[0], 0.6 * W1, atol=1e-12)
    np.testing.assert_allclose(regularised[2] - plain[2], 0.6 * W2, atol=1e-12)
    # Biases are not penalised.
    np.testing.assert_array_equal(regularised[1], plain[1])
    np.testing.assert_array_equal(regularised[3], plain[3])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_network_keeps_the_dtype(dtype):
    rng = np.random.RandomState(0)
    params = init_params(4, 6, 3, rng, dtype=dtype)
    X = rng.randn(5, 4).astype(dtype)
    loss, grads = loss_and_grads(params, X, np.array([0, 1, 2, 0, 1]), 0.1)
    assert all(p.dtype == dtype for p in params)
    assert all(g.dtype == dtype for g in grads)
    assert forward(params, X).dtype == dtype
    assert np.isfinite(loss)


def test_init_params_is_fan_in_scaled():
    params = init_params(400, 300, 10, np.random.RandomState(0))
    W1, b1, W2, b2 = params
    assert W1.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert W2.std() == pytest.approx(np.sqrt(1 / 300), rel=0.05)
    assert not b1.any() and not b2.any()


def test_sparse_input_matches_dense():
    import scipy.sparse as sp

    params, X, y, sample_weight = _tiny_network()
    X[X < 0.3] = 0.0
    dense_loss, dense_grads = loss_and_grads(params, X, y, 0.1, sample_weight)
    sparse_loss, sparse_grads = loss_and_grads(
        params, sp.csr_matrix(X), y, 0.1, sample_weight
    )
    assert sparse_loss == pytest.approx(dense_loss, rel=1e-12)
    for dense, sparse in zip(dense_grads, sparse_grads, strict=True):
        assert isinstance(sparse, np.ndarray)
        np.testing.assert_allclose(sparse, dense, rtol=1e-10, atol=1e-14)
