"""Where training meets its edges: divergence, zero weights, early stopping."""

import math
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sklmlp import TwoLayerClassifier


def _fit(clf, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y, **kwargs)


@pytest.fixture(scope="module")
def digits():
    return load_digits(return_X_y=True)


@pytest.mark.parametrize("learning_rate", [10.0, 30.0])
def test_plain_sgd_stuck_far_above_chance_is_divergence(digits, learning_rate):
    # Unscaled digits, no momentum: the loss never overflows, it settles
    # thousands of times above chance level (log 10) with chance accuracy.
    X, y = digits
    clf = TwoLayerClassifier(
        solver="sgd", learning_rate=learning_rate, momentum=0.0, random_state=0
    )
    with pytest.raises(ValueError, match=r"diverged.*chance level is 2\.303"):
        _fit(clf, X, y)
    assert all(np.isfinite(W).all() for W in clf.coefs_ + clf.intercepts_)


def test_a_recovering_overshoot_is_not_divergence(digits):
    # The same rule must let a large step that overshoots and recovers train:
    # its second epoch peaks at about 40x the initial loss scale.
    X, y = digits
    X = StandardScaler().fit_transform(X)
    clf = _fit(
        TwoLayerClassifier(
            solver="sgd", learning_rate=3.0, momentum=0.0, max_iter=30, random_state=0
        ),
        X,
        y,
    )
    assert max(clf.loss_curve_) > 10 * math.log(10)
    assert clf.score(X, y) > 0.95


def test_huge_unscaled_features_are_not_divergence():
    # The first losses are ~1e5 because the inputs are ~1e6, not because the
    # step is too large; Adam trains through them.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 5)) * 1e6
    y = (X[:, 0] > 0).astype(int)
    clf = _fit(TwoLayerClassifier(random_state=0), X, y)
    assert clf.loss_curve_[0] > 1e4 and clf.score(X, y) > 0.9


def test_a_strong_penalty_is_not_mistaken_for_divergence(digits):
    # With reg=0.1 the penalty alone is ~40x the chance-level loss at the
    # start; divergence is judged on the cross-entropy only.
    X, y = digits
    X = StandardScaler().fit_transform(X)
    clf = _fit(
        TwoLayerClassifier(hidden_size=500, reg=0.1, max_iter=3, random_state=0),
        X,
        y,
    )
    assert clf.loss_curve_[0] > 10 * math.log(10)


def _one_positive_weight(position):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] > 0).astype(int)
    sample_weight = np.zeros(200)
    sample_weight[position] = 1.0
    return X, y, sample_weight


def test_early_stopping_with_no_training_weight_falls_back_to_all_rows():
    # With random_state=0 the early-stopping split puts row 32 (the only one
    # with a positive weight) into the validation part.
    X, y, sample_weight = _one_positive_weight(32)
    clf = TwoLayerClassifier(early_stopping=True, max_iter=5, random_state=0)
    with pytest.warns(UserWarning, match="training part's sample weights sum to zero"):
        _fit(clf, X, y, sample_weight=sample_weight)
    assert clf.validation_scores_ is None  # trained on every row instead
    assert clf.t_ == 5 * 200 and np.isfinite(clf.loss_)


def test_early_stopping_with_no_validation_weight_scores_unweighted():
    X, y, sample_weight = _one_positive_weight(0)
    clf = TwoLayerClassifier(early_stopping=True, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        _fit(clf, X, y, sample_weight=sample_weight)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert all(0.0 <= s <= 1.0 for s in clf.validation_scores_)
