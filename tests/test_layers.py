"""Gradient checks and oracles for the layers in sklmlp._layers."""

import numpy as np
import pytest
from sklearn.metrics import log_loss

from sklmlp._layers import (
    affine_backward,
    affine_forward,
    l2_penalty,
    log_softmax,
    relu_backward,
    relu_forward,
    softmax,
    softmax_cross_entropy,
)

MAX_RELATIVE_ERROR = 1e-7


def test_affine_gradients(numerical_gradient, relative_error):
    rng = np.random.RandomState(0)
    X, W, b = rng.randn(4, 5), rng.randn(5, 3), rng.randn(3)
    d_out = rng.randn(4, 3)

    def f():
        return np.sum(affine_forward(X, W, b)[0] * d_out)

    _, cache = affine_forward(X, W, b)
    dX, dW, db = affine_backward(d_out, cache)
    assert relative_error(dX, numerical_gradient(f, X)) < MAX_RELATIVE_ERROR
    assert relative_error(dW, numerical_gradient(f, W)) < MAX_RELATIVE_ERROR
    assert relative_error(db, numerical_gradient(f, b)) < MAX_RELATIVE_ERROR


def test_affine_backward_without_the_input_gradient():
    rng = np.random.RandomState(1)
    X, W, b = rng.randn(4, 5), rng.randn(5, 3), rng.randn(3)
    d_out = rng.randn(4, 3)
    _, cache = affine_forward(X, W, b)
    dX, dW, db = affine_backward(d_out, cache)
    none, dW_only, db_only = affine_backward(d_out, cache, input_grad=False)
    assert none is None and dX.shape == X.shape
    np.testing.assert_array_equal(dW_only, dW)
    np.testing.assert_array_equal(db_only, db)


def test_relu_gradient(numerical_gradient, relative_error):
    rng = np.random.RandomState(0)
    # Keep inputs away from the kink at 0, where the derivative is undefined.
    X = rng.choice([-1, 1], size=(4, 6)) * rng.uniform(0.1, 2.0, size=(4, 6))
    d_out = rng.randn(4, 6)

    def f():
        return np.sum(relu_forward(X)[0] * d_out)

    _, cache = relu_forward(X)
    dX = relu_backward(d_out, cache)
    assert relative_error(dX, numerical_gradient(f, X)) < MAX_RELATIVE_ERROR


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_softmax_cross_entropy_gradient(numerical_gradient, relative_error, weighted):
    rng = np.random.RandomState(0)
    scores = rng.randn(6, 4)
    y = rng.randint(4, size=6)
    sample_weight = rng.uniform(0.1, 3.0, size=6) if weighted else None

    def f():
        return softmax_cross_entropy(scores, y, sample_weight)[0]

    _, d_scores = softmax_cross_entropy(scores, y, sample_weight)
    numerical = numerical_gradient(f, scores)
    assert relative_error(d_scores, numerical) < MAX_RELATIVE_ERROR


def test_l2_penalty_gradient(numerical_gradient, relative_error):
    rng = np.random.RandomState(0)
    W1, W2 = rng.randn(5, 4), rng.randn(4, 3)

    def f():
        return l2_penalty([W1, W2], reg=0.3)[0]

    _, (dW1, dW2) = l2_penalty([W1, W2], reg=0.3)
    assert relative_error(dW1, numerical_gradient(f, W1)) < MAX_RELATIVE_ERROR
    assert relative_error(dW2, numerical_gradient(f, W2)) < MAX_RELATIVE_ERROR


def _layer_inputs(layer, rng):
    """Float64 inputs of one layer's forward and backward pass."""
    if layer == "affine":  # X, W, b, d_out
        shapes = [(4, 5), (5, 3), (3,), (4, 3)]
        return [rng.randn(*shape) for shape in shapes]
    if layer == "relu":
        X = rng.choice([-1, 1], size=(4, 6)) * rng.uniform(0.1, 2.0, size=(4, 6))
        return X, rng.randn(4, 6)
    if layer == "softmax_cross_entropy":
        return rng.randn(6, 4), rng.uniform(0.1, 3.0, size=6)
    # l2_penalty: W1, W2
    return rng.randn(5, 4), rng.randn(4, 3)


def _layer_gradients(layer, inputs):
    """The gradients the layer's backward pass computes from ``inputs``."""
    if layer == "affine":
        X, W, b, d_out = inputs
        out, cache = affine_forward(X, W, b)
        return [out, *affine_backward(d_out, cache)]
    if layer == "relu":
        X, d_out = inputs
        return [relu_backward(d_out, relu_forward(X)[1])]
    if layer == "softmax_cross_entropy":
        scores, sample_weight = inputs
        y = np.array([0, 3, 1, 1, 2, 0])
        return [softmax_cross_entropy(scores, y, sample_weight)[1]]
    W1, W2 = inputs
    return l2_penalty([W1, W2], reg=0.3)[1]


@pytest.mark.parametrize(
    "layer", ["affine", "relu", "softmax_cross_entropy", "l2_penalty"]
)
def test_float32_gradients_match_float64(relative_error, layer):
    # float32 takes other BLAS routines (sgemm) and casts than
    # the float64 path checked above against central differences. From the
    # same values, the two may differ only by float32 rounding.
    inputs = _layer_inputs(layer, np.random.RandomState(0))
    single = [a.astype(np.float32) for a in inputs]
    double = [a.astype(np.float64) for a in single]
    grads32 = _layer_gradients(layer, single)
    grads64 = _layer_gradients(layer, double)
    assert len(grads32) == len(grads64)
    for g32, g64 in zip(grads32, grads64, strict=True):
        assert g32.dtype == np.float32
        assert relative_error(g32.astype(np.float64), g64) < 1e-4


def test_l2_penalty_is_a_sum_not_a_product():
    # Regression: the seed computed reg * sum(W1**2) * sum(W2**2).
    W1, W2 = np.full((2, 2), 2.0), np.full((2, 3), 3.0)
    penalty, _ = l2_penalty([W1, W2], reg=0.5)
    assert penalty == pytest.approx(0.5 * (16.0 + 54.0))
    penalty_with_zero_W2, _ = l2_penalty([W1, np.zeros_like(W2)], reg=0.5)
    assert penalty_with_zero_W2 == pytest.approx(0.5 * 16.0)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_loss_equals_sklearn_log_loss(weighted):
    rng = np.random.RandomState(1)
    scores = rng.randn(20, 3) * 3
    y = rng.randint(3, size=20)
    sample_weight = rng.uniform(0.0, 2.0, size=20) if weighted else None
    loss, _ = softmax_cross_entropy(scores, y, sample_weight)
    expected = log_loss(
        y, softmax(scores), labels=[0, 1, 2], sample_weight=sample_weight
    )
    assert loss == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_is_finite_for_huge_scores(dtype):
    scores = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype=dtype)
    y = np.array([1, 0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, d_scores = softmax_cross_entropy(scores, y)
        log_probs = log_softmax(scores)
        probs = softmax(scores)
    assert np.isfinite(loss) and loss == pytest.approx(2e4 + np.log(2) / 2, rel=1e-6)
    assert np.all(np.isfinite(d_scores)) and d_scores.dtype == dtype
    assert np.all(np.isfinite(log_probs))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_rows_sum_to_one_and_match_log_softmax(dtype):
    scores = np.random.RandomState(0).randn(50, 7).astype(dtype) * 10
    probs = softmax(scores)
    assert probs.dtype == dtype
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.exp(log_softmax(scores)), probs, rtol=1e-5)


def test_zero_total_weight_gives_zero_loss_and_gradient():
    scores = np.random.RandomState(0).randn(3, 2)
    loss, d_scores = softmax_cross_entropy(scores, np.array([0, 1, 1]), np.zeros(3))
    assert loss == 0.0
    assert not d_scores.any()


def test_layers_do_not_modify_their_inputs():
    rng = np.random.RandomState(0)
    X, W, b = rng.randn(4, 5), rng.randn(5, 3), rng.randn(3)
    scores, y, weight = rng.randn(4, 3), np.array([0, 1, 2, 0]), rng.rand(4)
    originals = [a.copy() for a in (X, W, b, scores, weight)]
    out, cache = affine_forward(X, W, b)
    affine_backward(np.ones_like(out), cache)
    relu_backward(np.ones_like(X), relu_forward(X)[1])
    softmax_cross_entropy(scores, y, weight)
    softmax(scores)
    log_softmax(scores)
    l2_penalty([W], 0.1)
    for original, array in zip(originals, (X, W, b, scores, weight), strict=True):
        np.testing.assert_array_equal(original, array)
