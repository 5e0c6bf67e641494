"""Saving and loading: pickle, joblib, skops, and version mismatches."""

import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import (
    InconsistentVersionWarning as SklearnInconsistentVersionWarning,
)

import sklmlp._classifier as classifier_module
from sklmlp import InconsistentVersionWarning, TwoLayerClassifier

from _extras import importorskip

# The types `skops.io.load` must be told to trust, as docs/user_guide.rst lists.
SKOPS_TRUSTED = {
    "adam": ["sklmlp._classifier.TwoLayerClassifier", "sklmlp._optim.Adam"],
    "sgd": ["sklmlp._classifier.TwoLayerClassifier", "sklmlp._optim.SGD"],
}


def _fitted(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TwoLayerClassifier(max_iter=20, random_state=0, **params).fit(X, y)


@pytest.mark.parametrize("kind", ["float64", "float32", "csr"])
@pytest.mark.parametrize("dumper", ["pickle", "joblib"])
def test_round_trips_give_identical_predictions(small_problem, tmp_path, kind, dumper):
    X, y = small_problem
    if kind == "float32":
        X = X.astype(np.float32)
    elif kind == "csr":
        X = sp.csr_matrix(np.where(X > 0, X, 0.0))
    clf = _fitted(X, y)
    if dumper == "pickle":
        loaded = pickle.loads(pickle.dumps(clf))
    else:
        joblib.dump(clf, tmp_path / "model.joblib")
        loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    assert loaded.coefs_[0].dtype == clf.coefs_[0].dtype


def test_same_version_loads_quietly(small_problem):
    X, y = small_problem
    payload = pickle.dumps(_fitted(X, y))
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        pickle.loads(payload)


def test_another_version_warns_naming_both(small_problem, monkeypatch):
    X, y = small_problem
    payload = pickle.dumps(_fitted(X, y))
    monkeypatch.setattr(classifier_module, "__version__", "9.9.9")
    with pytest.warns(
        InconsistentVersionWarning, match=r"saved by sklmlp 0\.1\.0"
    ) as w:
        loaded = pickle.loads(payload)
    assert "loaded by sklmlp 9.9.9" in str(w[0].message)
    np.testing.assert_array_equal(loaded.predict(X), _fitted(X, y).predict(X))


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_skops_secure_persistence(small_problem, tmp_path, solver):
    sio = importorskip("skops.io", extra="skops")
    X, y = small_problem
    clf = _fitted(X, y, solver=solver)
    path = tmp_path / "model.skops"
    sio.dump(clf, path)
    assert sorted(sio.get_untrusted_types(file=path)) == SKOPS_TRUSTED[solver]
    with pytest.raises(Exception, match="[Uu]ntrusted"):
        sio.load(path)  # nothing is trusted by default
    loaded = sio.load(path, trusted=SKOPS_TRUSTED[solver])
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    loaded.partial_fit(X, y)  # the optimizer state came back too
    assert loaded.n_iter_ == clf.n_iter_ + 1


def test_pickling_leaves_the_estimator_unchanged(small_problem):
    X, y = small_problem
    clf = _fitted(X, y)
    before = set(vars(clf))
    pickle.dumps(clf)
    joblib.dump(clf, io.BytesIO())
    assert set(vars(clf)) == before
    assert "_sklmlp_version" not in vars(clf)


def test_the_version_warning_is_scikit_learns_category_too(small_problem, monkeypatch):
    X, y = small_problem
    payload = pickle.dumps(_fitted(X, y))
    monkeypatch.setattr(classifier_module, "__version__", "9.9.9")
    assert issubclass(InconsistentVersionWarning, SklearnInconsistentVersionWarning)
    with warnings.catch_warnings():
        # the filter a scikit-learn user already has silences sklmlp's too
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=SklearnInconsistentVersionWarning)
        pickle.loads(payload)
    with pytest.warns(SklearnInconsistentVersionWarning) as record:
        pickle.loads(payload)
    warning = record[0].message
    assert warning.original_sklmlp_version == "0.1.0"
    assert warning.current_sklmlp_version == "9.9.9"
    assert warning.estimator_name == "TwoLayerClassifier"
