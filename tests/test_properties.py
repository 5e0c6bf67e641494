"""Property-based tests: odd but legal input fits, or fails as predicted.

For every generated case the test predicts the outcome from the input alone:

- one class present (or one sample): ValueError "at least 2 classes";
- every sample weight zero: ValueError "sum to zero" (scikit-learn >= 1.8
  says "at least one non-zero number" first);
- features on the 100 scale (unstandardised) with SGD, or with Adam and a
  step of at least 0.1: may raise ValueError "diverged" (even SGD's smallest
  step here, 1e-3, times a squared row norm of ~1e5 is far past stability);
- anything else must fit and give valid outputs: predictions within
  ``classes_``, finite probabilities whose rows sum to 1, finite
  log-probabilities where the probability is positive, finite weights.

Any other exception, an error where a fit was due, or a fit where an error
was due fails the test; and most of the generated cases must fit.
"""

import collections
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from _extras import importorskip

hypothesis = importorskip("hypothesis", extra="test")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sklmlp import TwoLayerClassifier  # noqa: E402

N_CASES = 520
# Share of the cases that must fit (of the 520 derandomised cases, 68 % do).
MIN_FITTED_SHARE = 0.6

ERRORS = {
    "one class": r"at least 2 classes",
    "zero weights": r"sum to zero|at least one non-zero number",
    "diverged": r"diverged.*learning_rate",
}


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
    scale = draw(st.sampled_from([1e-3, 1.0, 100.0]))
    X = rng.normal(scale=scale, size=(n_samples, n_features))
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

    weights = draw(st.sampled_from(["none"] * 5 + ["some zero"] * 4 + ["zero"]))
    sample_weight = None
    if weights == "some zero":
        sample_weight = rng.choice([0.0, 0.5, 1.0, 3.0], size=n_samples)
    elif weights == "zero":
        sample_weight = np.zeros(n_samples)

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
    return X, y, sample_weight, scale, params


def expected_outcome(y, sample_weight, scale, params):
    """``(required error or None, errors that may happen instead of a fit)``."""
    if len(np.unique(y)) < 2:
        return "one class", ()
    if sample_weight is not None and not sample_weight.sum() > 0:
        return "zero weights", ()
    if scale >= 100 and (params["solver"] == "sgd" or params["learning_rate"] >= 0.1):
        return None, ("diverged",)
    return None, ()


def check_case(problem):
    """Fit one case; return its outcome, having checked it was the predicted one."""
    X, y, sample_weight, scale, params = problem
    required, allowed = expected_outcome(y, sample_weight, scale, params)
    clf = TwoLayerClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning, tiny early stopping
        try:
            clf.fit(X, y, sample_weight=sample_weight)
        except ValueError as exc:
            causes = [c for c in (required, *allowed) if c is not None]
            matched = [c for c in causes if re.search(ERRORS[c], str(exc))]
            assert matched, f"unexpected error for {causes or 'a fit'}: {exc!r}"
            return matched[0]
    assert required is None, f"fitted although {required!r} was due"

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
    return "fitted"


def test_fits_with_valid_outputs_or_fails_as_predicted():
    outcomes = collections.Counter()

    @settings(
        max_examples=N_CASES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(problems())
    def run(problem):
        outcomes[check_case(problem)] += 1

    run()
    assert sum(outcomes.values()) == N_CASES
    assert outcomes["fitted"] >= MIN_FITTED_SHARE * N_CASES, outcomes
    # every predicted failure was generated and met at least once
    assert set(outcomes) == {"fitted", *ERRORS}, outcomes


@pytest.mark.parametrize(
    "y, sample_weight, scale, params, expected",
    [
        ([0, 0, 0], None, 1.0, {"learning_rate": 1.0}, ("one class", ())),
        (
            [0, 1, 1],
            [0.0, 0.0, 0.0],
            1.0,
            {"learning_rate": 1e-3},
            ("zero weights", ()),
        ),
        (
            [0, 1, 1],
            None,
            100.0,
            {"solver": "sgd", "learning_rate": 1e-3},
            (None, ("diverged",)),
        ),
        (
            [0, 1, 1],
            None,
            100.0,
            {"solver": "adam", "learning_rate": 0.1},
            (None, ("diverged",)),
        ),
        ([0, 1, 1], None, 100.0, {"solver": "adam", "learning_rate": 1e-2}, (None, ())),
        ([0, 1, 1], None, 1.0, {"solver": "sgd", "learning_rate": 1.0}, (None, ())),
        (
            [0, 1, 1],
            [0.0, 1.0, 0.0],
            1.0,
            {"solver": "adam", "learning_rate": 1.0},
            (None, ()),
        ),
    ],
)
def test_expected_outcome_of_hand_made_cases(y, sample_weight, scale, params, expected):
    weights = None if sample_weight is None else np.asarray(sample_weight)
    assert expected_outcome(np.asarray(y), weights, scale, params) == expected
