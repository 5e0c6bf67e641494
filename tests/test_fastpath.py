"""The training loop's fast gradient against the textbook loss_and_grads."""

import numpy as np
import pytest
import scipy.sparse as sp

from sklmlp._fastpath import fused_loss_and_grads
from sklmlp._layers import l2_penalty
from sklmlp._network import init_params, loss_and_grads

PARAM_NAMES = ["W1", "b1", "W2", "b2"]


def _problem(dtype=np.float64, n_samples=9, seed=0):
    rng = np.random.RandomState(seed)
    params = init_params(6, 8, 4, rng, dtype=dtype)
    params[1] += rng.uniform(-0.5, 0.5, size=8).astype(dtype)
    params[3] += rng.uniform(-0.5, 0.5, size=4).astype(dtype)
    X = rng.randn(n_samples, 6).astype(dtype)
    y = rng.randint(4, size=n_samples)
    sample_weight = rng.uniform(0.0, 3.0, size=n_samples).astype(dtype)
    return params, X, y, sample_weight


def _textbook(params, X, y, reg, sample_weight):
    """Data loss and gradients from the textbook function."""
    loss, grads = loss_and_grads(params, X, y, reg, sample_weight)
    return loss - l2_penalty([params[0], params[2]], reg)[0], grads


@pytest.mark.parametrize("reg", [0.0, 0.1], ids=["reg0", "reg"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_the_fast_path_matches_the_textbook(reg, weighted, sparse):
    params, X, y, sample_weight = _problem()
    X[X < 0.2] = 0.0
    sample_weight = sample_weight if weighted else None
    X_in = sp.csr_matrix(X) if sparse else X
    loss, grads = fused_loss_and_grads(params, X_in, y, reg, sample_weight)
    expected_loss, expected = _textbook(params, X, y, reg, sample_weight)
    assert loss == pytest.approx(expected_loss, rel=1e-12, abs=1e-15)
    for name, fast, slow in zip(PARAM_NAMES, grads, expected, strict=True):
        np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-15, err_msg=name)


def test_zero_weights_give_only_the_penalty_gradient():
    params, X, y, _ = _problem()
    loss, grads = fused_loss_and_grads(params, X, y, 0.1, np.zeros(9))
    assert loss == 0.0
    np.testing.assert_allclose(grads[0], 0.2 * params[0], rtol=1e-12)
    np.testing.assert_allclose(grads[2], 0.2 * params[2], rtol=1e-12)
    assert not grads[1].any() and not grads[3].any()


def test_float32_matches_float64_to_float32_rounding():
    params64, X64, y, sample_weight64 = _problem()
    params = [p.astype(np.float32) for p in params64]
    X, sample_weight = X64.astype(np.float32), sample_weight64.astype(np.float32)
    loss, grads = fused_loss_and_grads(params, X, y, 0.1, sample_weight)
    as64 = [p.astype(np.float64) for p in params]
    expected_loss, expected = _textbook(
        as64, X.astype(np.float64), y, 0.1, sample_weight.astype(np.float64)
    )
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    for fast, slow in zip(grads, expected, strict=True):
        assert fast.dtype == np.float32
        np.testing.assert_allclose(fast, slow, rtol=1e-4, atol=1e-6)


def test_the_fast_path_changes_none_of_its_inputs():
    params, X, y, sample_weight = _problem()
    originals = [a.copy() for a in (*params, X, y, sample_weight)]
    fused_loss_and_grads(params, X, y, 0.1, sample_weight)
    for original, array in zip(originals, (*params, X, y, sample_weight), strict=True):
        np.testing.assert_array_equal(original, array)
