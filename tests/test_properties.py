"""Property-based tests: odd but legal input fits, or fails with a clear error.

Every generated case either fits and gives valid outputs (predictions within
``classes_``, finite probabilities whose rows sum to 1, finite log-probabilities
where the probability is positive) or raises a ValueError / TypeError whose
message names the problem. Any other exception, or a NaN, fails the test.
"""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

hypothesis = pytest.importorskip("hypothesis", reason="the test extra is not installed")
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sklmlp import TwoLayerClassifier  # noqa: E402

N_CASES = 520

# What a clear error must mention, by cause.
CLEAR_MESSAGES = re.compile(
    r"class|sample|weight|feature|n_samples|learning_rate|diverged|early_stopping",
    re.IGNORECASE,
)


@st.composite
def problems(draw):
    # hypothesis favours the smallest values; weight the draws towards cases
    # that can fit (one sample or one class is always an error)
    n_samples = draw(st.one_of(st.integers(1, 60), st.integers(8, 60)))
    n_features = draw(st.integers(1, 20))
    n_classes = draw(st.sampled_from([1, 2, 2, 3, 3, 4, 5]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.RandomState(seed)

    kind = draw(st.sampled_from(["float32", "float64", "int", "sparse"]))
    X = rng.normal(
        scale=draw(st.sampled_from([1e-3, 1.0, 100.0])), size=(n_samples, n_features)
    )
    if kind == "float32":
        X = X.astype(np.float32)
    elif kind == "int":
        X = np.round(X).astype(np.int64)
    elif kind == "sparse":
        X[rng.rand(*X.shape) < 0.6] = 0.0
        X = draw(st.sampled_from([sp.csr_matrix, sp.csc_matrix, sp.coo_matrix]))(X)

    label_kind = draw(st.sampled_from(["ints", "strings", "bools"]))
    if label_kind == "ints":  # negative and non-contiguous
        labels = np.array([-7, -1, 3, 10, 42])[:n_classes]
    elif label_kind == "strings":
        labels = np.array(["ant", "bee", "cat", "dog", "emu"])[:n_classes]
    else:
        labels = np.array([False, True])[: min(n_classes, 2)]
    # every label appears at least once when there are enough samples
    index = rng.randint(len(labels), size=n_samples)
    index[: len(labels)] = np.arange(min(len(labels), n_samples))
    y = labels[rng.permutation(index)]

    sample_weight = None
    if draw(st.booleans()):
        sample_weight = rng.choice([0.0, 0.5, 1.0, 3.0], size=n_samples)

    params = dict(
        hidden_size=draw(st.integers(1, 12)),
        solver=draw(st.sampled_from(["sgd", "adam"])),
        learning_rate=draw(st.sampled_from([1e-3, 1e-2, 1e-1, 1.0])),
        learning_rate_decay=draw(st.sampled_from([1.0, 0.9])),
        momentum=draw(st.sampled_from([0.0, 0.9])),
        nesterov=draw(st.booleans()),
        reg=draw(st.sampled_from([0.0, 1e-4, 1e-1])),
        batch_size=draw(st.integers(1, 64)),
        max_iter=draw(st.integers(1, 8)),
        early_stopping=draw(st.booleans()),
        validation_fraction=draw(st.sampled_from([0.1, 0.5])),
        class_weight=draw(st.sampled_from([None, "balanced"])),
        shuffle=draw(st.booleans()),
        random_state=seed,
    )
    return X, y, sample_weight, params


@settings(
    max_examples=N_CASES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(problems())
def test_fits_with_valid_outputs_or_fails_clearly(problem):
    X, y, sample_weight, params = problem
    clf = TwoLayerClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning, tiny early stopping
        try:
            clf.fit(X, y, sample_weight=sample_weight)
        except (ValueError, TypeError) as exc:
            assert CLEAR_MESSAGES.search(str(exc)), f"unclear error: {exc!r}"
            event(f"{type(exc).__name__}: {str(exc)[:40]}")
            return
    event("fitted")

    assert all(np.isfinite(W).all() for W in clf.coefs_ + clf.intercepts_)
    predictions = clf.predict(X)
    assert set(np.unique(predictions)) <= set(clf.classes_)
    proba = clf.predict_proba(X)
    assert proba.shape == (X.shape[0], len(clf.classes_))
    assert np.isfinite(proba).all() and (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-4)
    log_proba = clf.predict_log_proba(X)
    assert np.isfinite(log_proba[proba > 0]).all()
    assert not np.isnan(log_proba).any()
    assert np.isfinite(clf.loss_)
