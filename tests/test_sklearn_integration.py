"""TwoLayerClassifier inside scikit-learn's tools: search, pipelines, pickling."""

import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
from scipy.stats import loguniform, randint
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.metrics import accuracy_score, make_scorer
from sklearn.model_selection import RandomizedSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklmlp import TwoLayerClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits_subset(request):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:900], y[:900]


def test_randomized_search_over_a_pipeline_in_parallel(digits_subset):
    X, y = digits_subset
    pipe = make_pipeline(
        StandardScaler(), TwoLayerClassifier(max_iter=50, random_state=0)
    )
    search = RandomizedSearchCV(
        pipe,
        {
            "twolayerclassifier__hidden_size": randint(20, 100),
            "twolayerclassifier__learning_rate": loguniform(3e-3, 3e-2),
            "twolayerclassifier__reg": loguniform(1e-5, 1e-2),
        },
        n_iter=4,
        cv=3,
        n_jobs=2,
        random_state=0,
        error_score="raise",
    )
    search.fit(X, y)
    assert search.best_score_ > 0.9
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.score(X, y) > 0.95


def test_clone_gives_an_unfitted_copy_with_the_same_params(small_problem):
    X, y = small_problem
    clf = TwoLayerClassifier(hidden_size=12, reg=0.01, random_state=3).fit(X, y)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params()
    assert not hasattr(copy, "coefs_")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_joblib_and_pickle_round_trips_give_identical_predictions(
    small_problem, tmp_path, dtype
):
    X, y = small_problem
    X = X.astype(dtype)
    clf = TwoLayerClassifier(random_state=0).fit(X, y)
    path = tmp_path / "model.joblib"
    joblib.dump(clf, path)
    for loaded in (joblib.load(path), pickle.loads(pickle.dumps(clf))):
        np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
        np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    # A loaded model keeps training where the saved one stopped.
    loaded.partial_fit(X, y)
    assert loaded.n_iter_ == clf.n_iter_ + 1


def test_dataframe_input_sets_feature_names(small_problem):
    X, y = small_problem
    columns = [f"pixel_{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=columns)
    clf = TwoLayerClassifier(random_state=0).fit(frame, pd.Series(y))
    np.testing.assert_array_equal(clf.feature_names_in_, columns)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        np.testing.assert_array_equal(clf.predict(frame), clf.predict(X))
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(frame.rename(columns={"pixel_0": "other"}))


def test_string_labels_through_cross_validate(digits_subset):
    X, y = digits_subset
    names = np.array(["zero", "one", "two", "three", "four"] * 2)
    labels = np.char.add(names[y], np.where(y >= 5, "+5", ""))  # NumPy < 2 too
    pipe = make_pipeline(
        StandardScaler(), TwoLayerClassifier(learning_rate=0.01, random_state=0)
    )
    result = cross_validate(pipe, X, labels, cv=3, return_estimator=True)
    assert result["test_score"].mean() > 0.9
    assert set(result["estimator"][0].predict(X)) <= set(labels)


def test_sample_weight_is_routed_through_pipeline_and_search(digits_subset):
    X, y = digits_subset
    sample_weight = np.random.RandomState(0).uniform(0.0, 2.0, size=len(y))
    params = dict(max_iter=10, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            StandardScaler().set_fit_request(sample_weight=False),
            TwoLayerClassifier(**params).set_fit_request(sample_weight=True),
        )
        pipe.fit(X, y, sample_weight=sample_weight)
        weighted_accuracy = make_scorer(accuracy_score).set_score_request(
            sample_weight=True
        )
        search = RandomizedSearchCV(
            pipe,
            {"twolayerclassifier__hidden_size": [30]},
            n_iter=1,
            cv=2,
            scoring=weighted_accuracy,
        ).fit(X, y, sample_weight=sample_weight)

    X_scaled = StandardScaler().fit_transform(X)
    direct = TwoLayerClassifier(**params).fit(X_scaled, y, sample_weight=sample_weight)
    unweighted = TwoLayerClassifier(**params).fit(X_scaled, y)
    np.testing.assert_array_equal(pipe[-1].coefs_[0], direct.coefs_[0])
    assert not np.array_equal(direct.coefs_[0], unweighted.coefs_[0])

    refit = TwoLayerClassifier(hidden_size=30, **params)
    refit.fit(X_scaled, y, sample_weight=sample_weight)
    np.testing.assert_array_equal(search.best_estimator_[-1].coefs_[0], refit.coefs_[0])


def test_search_with_a_diverging_candidate_completes(small_problem):
    X, y = small_problem
    search = RandomizedSearchCV(
        TwoLayerClassifier(solver="sgd", random_state=0),
        {"learning_rate": [100.0, 0.05]},
        n_iter=2,
        cv=3,
        random_state=0,
    )
    with pytest.warns(FitFailedWarning, match="diverged"):
        search.fit(X, y)
    scores = dict(
        zip(
            [p["learning_rate"] for p in search.cv_results_["params"]],
            search.cv_results_["mean_test_score"],
            strict=True,
        )
    )
    assert np.isnan(scores[100.0])
    assert scores[0.05] > 0.9
    assert search.best_params_ == {"learning_rate": 0.05}


def test_divergence_in_a_plain_fit_is_not_silenced(small_problem):
    X, y = small_problem
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ValueError, match="diverged"):
            TwoLayerClassifier(solver="sgd", learning_rate=100.0).fit(X, y)
