"""One update step of each rule, against values computed by hand."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklmlp import TwoLayerClassifier
from sklmlp._optim import (
    FLUSH_INTERVAL,
    SGD,
    Adam,
    decay_learning_rate,
    flush_underflow,
    make_optimizer,
)


def _one_param(value=1.0):
    return [np.array([value])]


GRAD = [np.array([0.5])]


def _step(optimizer, params, grads):
    """One step with a given gradient; the gradient must stay unchanged."""
    given = [g.copy() for g in grads]
    optimizer.step(params, grads)
    for before, after in zip(given, grads, strict=True):
        np.testing.assert_array_equal(before, after)


def test_plain_sgd_step():
    params = _one_param()
    _step(SGD(params, learning_rate=0.1, momentum=0.0, nesterov=False), params, GRAD)
    # 1 - 0.1 * 0.5
    assert params[0][0] == pytest.approx(0.95)


def test_momentum_steps():
    params = _one_param()
    optimizer = SGD(params, learning_rate=0.1, momentum=0.9, nesterov=False)
    _step(optimizer, params, GRAD)
    # v = -0.05, param = 0.95
    assert params[0][0] == pytest.approx(0.95)
    _step(optimizer, params, GRAD)
    # v = 0.9 * -0.05 - 0.05 = -0.095, param = 0.855
    assert optimizer.velocities[0][0] == pytest.approx(-0.095)
    assert params[0][0] == pytest.approx(0.855)


def test_nesterov_steps():
    params = _one_param()
    optimizer = SGD(params, learning_rate=0.1, momentum=0.9, nesterov=True)
    _step(optimizer, params, GRAD)
    # v = -0.05; param += 0.9 * -0.05 - 0.1 * 0.5 = -0.095
    assert params[0][0] == pytest.approx(0.905)
    _step(optimizer, params, GRAD)
    # v = -0.095; param += 0.9 * -0.095 - 0.05 = -0.1355
    assert params[0][0] == pytest.approx(0.7695)


def test_adam_steps():
    params = _one_param()
    optimizer = Adam(params, learning_rate=0.1)
    _step(optimizer, params, GRAD)
    # m = 0.05, v = 0.00025; m_hat = 0.5, v_hat = 0.25;
    # param -= 0.1 * 0.5 / (0.5 + 1e-8)
    assert params[0][0] == pytest.approx(1 - 0.1 * 0.5 / (0.5 + 1e-8), abs=1e-15)
    _step(optimizer, params, [np.array([-1.0])])
    # m = 0.9 * 0.05 - 0.1 = -0.055;  m_hat = -0.055 / 0.19
    # v = 0.999 * 0.00025 + 0.001 = 0.00124975;  v_hat = v / (1 - 0.999**2)
    m_hat = -0.055 / (1 - 0.9**2)
    v_hat = 0.00124975 / (1 - 0.999**2)
    expected = 1 - 0.1 * 0.5 / (0.5 + 1e-8) - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8)
    assert params[0][0] == pytest.approx(expected, abs=1e-14)
    assert optimizer.t == 2


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_step_keeps_float32(solver):
    params = [np.ones((3, 2), dtype=np.float32)]
    optimizer = make_optimizer(solver, params, 0.1, momentum=0.9, nesterov=True)
    _step(optimizer, params, [np.full((3, 2), 0.5, dtype=np.float32)])
    assert params[0].dtype == np.float32


def test_decay_multiplies_the_step():
    optimizer = SGD(_one_param(), learning_rate=0.1)
    decay_learning_rate(optimizer, 0.5)
    decay_learning_rate(optimizer, 0.5)
    assert optimizer.learning_rate == pytest.approx(0.025)


def test_unknown_solver():
    with pytest.raises(ValueError, match="solver"):
        make_optimizer("lbfgs", _one_param(), 0.1, 0.9, True)


def _subnormal_count(arrays):
    return sum(
        int(np.count_nonzero((a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny)))
        for a in arrays
    )


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="adam", learning_rate=3e-2, reg=0.01),
        dict(solver="sgd", learning_rate=0.1, momentum=0.9, reg=0.1),
    ],
    ids=["adam", "sgd"],
)
def test_no_subnormal_values_build_up_in_weights_or_optimizer_state(params):
    # 1,500 minibatches with strong steps and L2: hidden units die, and their
    # moments, velocities and weights decay geometrically towards zero; without
    # flush_underflow some end subnormal (Adam: 42 entries, SGD: 1).
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 20)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = TwoLayerClassifier(
        hidden_size=64,
        batch_size=10,
        max_iter=75,
        tol=0,
        random_state=0,
        **params,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    state = clf._optimizer.state()
    assert any(np.count_nonzero(a == 0) for a in state)  # something did decay away
    assert _subnormal_count(clf._params() + state) == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flush_underflow_zeroes_only_what_could_turn_subnormal(dtype):
    tiny = np.finfo(dtype).tiny
    threshold = tiny / 0.9**FLUSH_INTERVAL
    values = np.array(
        [0.0, tiny / 2, tiny, threshold / 2, -threshold / 2, 2 * threshold, 1e-3], dtype
    )
    flushed = values.copy()
    flush_underflow([flushed], decay=0.9)
    np.testing.assert_array_equal(flushed, [0, 0, 0, 0, 0, values[5], values[6]])
