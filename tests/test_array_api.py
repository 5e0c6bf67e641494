"""Array API dispatch: the same network on array_api_strict and PyTorch arrays.

array_api_strict (the ``array-api`` extra) is tested always; PyTorch wherever
it is installed (CPU, and CUDA when present). scikit-learn dispatches only
with SciPy >= 1.14: below it (the oldest supported SciPy), the one test that
runs is that scikit-learn refuses dispatch, and the estimator's tag says it
has no Array API support there.
"""

import os
import pickle
import warnings

import numpy as np
import pytest
import scipy
import sklearn
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_checks

from sklmlp import TwoLayerClassifier
from sklmlp._classifier import ARRAY_API_POSSIBLE
from sklmlp._network import forward, loss_and_grads

from _extras import importorskip

array_api_strict = importorskip("array_api_strict", "array-api")
importorskip("array_api_compat", "array-api")

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)
needs_dispatch = pytest.mark.skipif(
    not ARRAY_API_POSSIBLE,
    reason=f"scikit-learn's Array API dispatch needs SciPy >= 1.14, not "
    f"{scipy.__version__} (test_dispatch_works_exactly_where_scipy_allows_it "
    "checks the refusal)",
)


def _torch_devices():
    try:
        import torch
    except ImportError:
        return []
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


NAMESPACES = [("array_api_strict", None)] + [("torch", d) for d in _torch_devices()]
IDS = [name if device is None else f"{name}-{device}" for name, device in NAMESPACES]


def _converter(name, device):
    """A function putting NumPy arrays into the namespace (and on the device)."""
    if name == "array_api_strict":
        return array_api_strict.asarray
    import torch

    return lambda a: torch.asarray(a, device=device)


def _to_numpy(array):
    if type(array).__module__.startswith("torch"):
        return array.detach().cpu().numpy()
    return np.from_dlpack(array)


def _module_name(array):
    return type(array).__module__.split(".")[0]


def _digits(n_samples=400):
    X, y = load_digits(return_X_y=True)
    return X[:n_samples] / 16.0, y[:n_samples]


def test_the_tag_follows_what_scikit_learn_can_do():
    tags = TwoLayerClassifier().__sklearn_tags__()
    assert tags.array_api_support is ARRAY_API_POSSIBLE


def test_dispatch_works_exactly_where_scipy_allows_it():
    X, y = _digits(60)
    X_xp = array_api_strict.asarray(X)
    if not ARRAY_API_POSSIBLE:
        with pytest.raises(ImportError, match="SciPy must be 1.14.0 or newer"):
            with sklearn.config_context(array_api_dispatch=True):
                TwoLayerClassifier(max_iter=2).fit(X_xp, y)
        return
    with sklearn.config_context(array_api_dispatch=True):
        clf = TwoLayerClassifier(max_iter=2, random_state=0).fit(X_xp, y)
    assert _module_name(clf.coefs_[0]) == "array_api_strict"


def test_scipy_array_api_is_on_for_the_test_session():
    # the root conftest.py sets it before SciPy is imported
    assert os.environ.get("SCIPY_ARRAY_API") == "1"


@needs_dispatch
@pytest.mark.parametrize("name, device", NAMESPACES, ids=IDS)
def test_every_method_runs_in_the_input_namespace(name, device):
    X, y = _digits()
    to = _converter(name, device)
    X_xp, y_xp = to(X), to(y)
    with sklearn.config_context(array_api_dispatch=True):
        clf = TwoLayerClassifier(hidden_size=16, max_iter=3, random_state=0)
        clf.fit(X_xp, y_xp)
        clf.partial_fit(X_xp[:100, ...], y_xp[:100])
        outputs = {
            "predict": clf.predict(X_xp),
            "predict_proba": clf.predict_proba(X_xp),
            "predict_log_proba": clf.predict_log_proba(X_xp),
        }
        score = clf.score(X_xp, y_xp)
    for array in [*clf.coefs_, *clf.intercepts_, *outputs.values()]:
        assert _module_name(array) == name
        if device is not None:
            assert array.device.type == device
    assert outputs["predict_proba"].shape == (len(y), 10)
    reference = TwoLayerClassifier(hidden_size=16, max_iter=3, random_state=0)
    reference.fit(X, y).partial_fit(X[:100], y[:100])
    assert isinstance(score, float)
    assert score == pytest.approx(reference.score(X, y), abs=1e-6)
    assert isinstance(clf.classes_, np.ndarray)  # labels are kept on the host


@needs_dispatch
@pytest.mark.parametrize("name, device", NAMESPACES, ids=IDS)
@pytest.mark.parametrize(
    "params",
    [
        {"solver": "sgd"},
        {"solver": "adam", "class_weight": "balanced"},
        {"solver": "sgd", "early_stopping": True, "validation_fraction": 0.2},
    ],
    ids=["sgd", "adam-class-weight", "early-stopping"],
)
def test_a_fit_matches_the_numpy_fit(name, device, params):
    """Same initial weights and batch order (NumPy's generator): same fit."""
    if device == "cuda":
        pytest.skip("CUDA matmuls (TF32, reordered sums) are not bit-for-bit")
    X, y = _digits()
    weight = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    to = _converter(name, device)
    reference = TwoLayerClassifier(
        hidden_size=24, max_iter=5, random_state=0, **params
    ).fit(X, y, sample_weight=weight)
    with sklearn.config_context(array_api_dispatch=True):
        clf = clone(reference).fit(to(X), to(y), sample_weight=to(weight))
    np.testing.assert_allclose(clf.loss_curve_, reference.loss_curve_, rtol=1e-8)
    for ours, theirs in zip(
        clf.coefs_ + clf.intercepts_,
        reference.coefs_ + reference.intercepts_,
        strict=True,
    ):
        np.testing.assert_allclose(_to_numpy(ours), theirs, rtol=1e-8, atol=1e-12)
    if params.get("early_stopping"):
        np.testing.assert_allclose(
            clf.validation_scores_, reference.validation_scores_, rtol=1e-12
        )
    assert clf.n_iter_ == reference.n_iter_


@needs_dispatch
@pytest.mark.parametrize("name, device", NAMESPACES, ids=IDS)
def test_cs231n_toy_figures_and_gradients(name, device, numerical_gradient):
    """The CS231n exercise's toy network: its scores and loss, in every namespace."""
    rng = np.random.RandomState(0)
    W1, W2 = 1e-1 * rng.randn(4, 10), None
    W2 = 1e-1 * rng.randn(10, 3)
    X = 10 * np.random.RandomState(1).randn(5, 4)
    y = np.array([0, 1, 2, 2, 1])
    to = _converter(name, device)
    params = [to(W1), to(np.zeros(10)), to(W2), to(np.zeros(3))]
    correct_scores = [
        [-0.81233741, -1.27654624, -0.70335995],
        [-0.17129677, -1.18803311, -0.47310444],
        [-0.51590475, -1.01354314, -0.8504215],
        [-0.15419291, -0.48629638, -0.52901952],
        [-0.00618733, -0.12435261, -0.15226949],
    ]
    scores = forward(params, to(X))
    assert _module_name(scores) == name
    np.testing.assert_allclose(_to_numpy(scores), correct_scores, atol=1e-8)
    loss, grads = loss_and_grads(params, to(X), to(y), 0.05)
    assert abs(float(loss) - 1.30378789133) < 1e-10

    # gradient check: central differences on NumPy copies of the weights
    host = [_to_numpy(p).copy() for p in params]
    for index in range(4):

        def f(index=index):
            trial = [to(p) for p in host]
            return float(loss_and_grads(trial, to(X), to(y), 0.05)[0])

        numerical = numerical_gradient(f, host[index])
        analytic = _to_numpy(grads[index])
        error = np.max(
            np.abs(analytic - numerical)
            / np.maximum(1e-8, np.abs(analytic) + np.abs(numerical))
        )
        assert error < 1e-7, (index, error)


@needs_dispatch
@pytest.mark.parametrize("name, device", NAMESPACES, ids=IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("check_values", [False, True], ids=["types", "values"])
def test_scikit_learn_check_array_api_input(name, device, dtype, check_values):
    if check_values and device == "cuda":
        pytest.skip("values are compared at NumPy's tolerance; CUDA sums differ")
    estimator_checks.check_array_api_input(
        "TwoLayerClassifier",
        TwoLayerClassifier(max_iter=20, random_state=0),
        name,
        device,
        dtype,
        check_values,
    )


@needs_dispatch
@pytest.mark.parametrize("name, device", NAMESPACES, ids=IDS)
def test_mixed_namespaces_are_refused_clearly(name, device):
    X, y = _digits(100)
    to = _converter(name, device)
    with sklearn.config_context(array_api_dispatch=True):
        clf = TwoLayerClassifier(hidden_size=8, max_iter=2, random_state=0)
        clf.fit(to(X), to(y))
        with pytest.raises(
            ValueError, match=r"TwoLayerClassifier.predict\(\) must use"
        ):
            clf.predict(X)
        with pytest.raises(ValueError, match="fit used"):
            clf.partial_fit(X, y)
        numpy_fit = TwoLayerClassifier(max_iter=2, random_state=0).fit(X, y)
        with pytest.raises(ValueError, match="must use the same namespace"):
            numpy_fit.predict_proba(to(X))
    with pytest.raises(ValueError, match="with Array API dispatch on"):
        clf.predict(X)  # a model fitted on other arrays, dispatch now off


@needs_dispatch
@pytest.mark.parametrize("name, device", NAMESPACES, ids=IDS)
def test_string_labels_come_back_as_numpy(name, device):
    X, y = _digits(200)
    labels = np.array([f"digit {v}" for v in y])
    to = _converter(name, device)
    with sklearn.config_context(array_api_dispatch=True):
        clf = TwoLayerClassifier(hidden_size=8, max_iter=5, random_state=0)
        clf.fit(to(X), labels)
        predicted = clf.predict(to(X))
        proba = clf.predict_proba(to(X))
    assert isinstance(predicted, np.ndarray) and predicted.dtype.kind == "U"
    assert _module_name(proba) == name
    np.testing.assert_array_equal(
        predicted, clf.classes_[np.argmax(_to_numpy(proba), axis=1)]
    )


@needs_dispatch
@pytest.mark.parametrize("name, device", NAMESPACES, ids=IDS)
def test_pickling_keeps_the_namespace(name, device):
    X, y = _digits(100)
    to = _converter(name, device)
    with sklearn.config_context(array_api_dispatch=True):
        clf = TwoLayerClassifier(hidden_size=8, max_iter=2, random_state=0)
        clf.fit(to(X), to(y))
        copy = pickle.loads(pickle.dumps(clf))
        np.testing.assert_array_equal(
            _to_numpy(copy.predict_proba(to(X))), _to_numpy(clf.predict_proba(to(X)))
        )
    assert _module_name(copy.coefs_[0]) == name


@needs_dispatch
def test_a_search_over_a_scaled_pipeline_runs_on_torch_tensors():
    torch = pytest.importorskip("torch")
    X, y = _digits()
    X_t, y_t = torch.asarray(X), torch.asarray(y)
    search = RandomizedSearchCV(
        make_pipeline(
            StandardScaler(), TwoLayerClassifier(max_iter=10, random_state=0)
        ),
        {
            "twolayerclassifier__hidden_size": [8, 16, 32],
            "twolayerclassifier__learning_rate": [1e-3, 1e-2],
        },
        n_iter=3,
        cv=3,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with sklearn.config_context(array_api_dispatch=True):
            search.fit(X_t, y_t)
            proba = search.predict_proba(X_t)
            score = search.score(X_t, y_t)
    assert isinstance(proba, torch.Tensor) and proba.shape == (len(y), 10)
    assert isinstance(search.best_estimator_[-1].coefs_[0], torch.Tensor)
    assert score > 0.8
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


@needs_dispatch
@pytest.mark.parametrize("name, device", NAMESPACES, ids=IDS)
def test_a_model_fitted_on_other_arrays_exports_to_onnx(name, device):
    sklmlp_onnx = importorskip("sklmlp.onnx", "onnx")
    X, y = _digits(200)
    X = X.astype(np.float32)
    to = _converter(name, device)
    with sklearn.config_context(array_api_dispatch=True):
        clf = TwoLayerClassifier(hidden_size=8, max_iter=5, random_state=0)
        clf.fit(to(X), to(y))
        expected = _to_numpy(clf.predict_proba(to(X)))
    predictor = sklmlp_onnx.OnnxPredictor(sklmlp_onnx.convert(clf))
    np.testing.assert_allclose(predictor.predict_proba(X), expected, atol=1e-5)


@needs_dispatch
@pytest.mark.parametrize("name, device", NAMESPACES, ids=IDS)
def test_float32_fits_stay_close_to_numpy(name, device):
    # float32 sums in another order drift apart slowly; 3 epochs stay close
    X, y = _digits()
    X = X.astype(np.float32)
    to = _converter(name, device)
    reference = TwoLayerClassifier(hidden_size=24, max_iter=3, random_state=0)
    reference.fit(X, y)
    with sklearn.config_context(array_api_dispatch=True):
        clf = clone(reference).fit(to(X), to(y))
        predicted = _to_numpy(clf.predict(to(X)))
    assert _to_numpy(clf.coefs_[0]).dtype == np.float32
    np.testing.assert_allclose(clf.loss_curve_, reference.loss_curve_, rtol=1e-4)
    np.testing.assert_allclose(
        _to_numpy(clf.coefs_[0]), reference.coefs_[0], rtol=1e-3, atol=1e-5
    )
    assert np.mean(predicted == reference.predict(X)) >= 0.99


@needs_dispatch
@pytest.mark.parametrize("name, device", NAMESPACES, ids=IDS)
def test_warm_start_and_partial_fit_with_classes_match_numpy(name, device):
    if device == "cuda":
        pytest.skip("CUDA matmuls are not bit-for-bit")
    X, y = _digits()
    to = _converter(name, device)
    warm = TwoLayerClassifier(
        hidden_size=16, max_iter=2, warm_start=True, random_state=0
    )
    incremental = TwoLayerClassifier(hidden_size=16, random_state=0)
    reference_warm = clone(warm).fit(X, y).fit(X, y)
    reference_incremental = clone(incremental).partial_fit(
        X[:200], y[:200], classes=np.arange(10)
    )
    reference_incremental.partial_fit(X[200:], y[200:])
    with sklearn.config_context(array_api_dispatch=True):
        warm.fit(to(X), to(y)).fit(to(X), to(y))
        incremental.partial_fit(to(X[:200]), to(y[:200]), classes=to(np.arange(10)))
        incremental.partial_fit(to(X[200:]), to(y[200:]))
    for ours, theirs in ((warm, reference_warm), (incremental, reference_incremental)):
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-8)
        np.testing.assert_allclose(
            _to_numpy(ours.coefs_[1]), theirs.coefs_[1], rtol=1e-8, atol=1e-12
        )


@needs_dispatch
@pytest.mark.parametrize("name, device", NAMESPACES, ids=IDS)
@pytest.mark.parametrize("dtype", [np.uint16, np.uint32, np.int32, np.bool_])
def test_label_dtypes_predict_on_the_device(name, device, dtype):
    X, y = _digits(200)
    labels = (y % 2).astype(dtype) if dtype == np.bool_ else (y * 7).astype(dtype)
    to = _converter(name, device)
    reference = TwoLayerClassifier(hidden_size=8, max_iter=3, random_state=0)
    reference.fit(X, labels)
    with sklearn.config_context(array_api_dispatch=True):
        clf = clone(reference).fit(to(X), to(labels))
        predicted = clf.predict(to(X))
    assert _module_name(predicted) == name
    np.testing.assert_array_equal(_to_numpy(predicted), reference.predict(X))


@needs_dispatch
@pytest.mark.parametrize("name, device", NAMESPACES, ids=IDS)
def test_no_host_to_device_copy_per_minibatch(name, device, monkeypatch):
    """Only the epoch's row order (and setup) goes to the device, not each step."""
    import sys

    import sklmlp._xp

    original, copies = sklmlp._xp.asarray, []

    def counting(values, like, dtype=None):
        copies.append(np.shape(values))
        return original(values, like, dtype=dtype)

    # every sklmlp module that imported the helper, now or in the future
    for module_name, module in list(sys.modules.items()):
        helper = getattr(module, "asarray", None)
        if module_name.startswith("sklmlp") and helper is original:
            monkeypatch.setattr(module, "asarray", counting)
    X, y = _digits()
    to = _converter(name, device)
    epochs, batch_size = 3, 20  # 20 minibatches per epoch
    with sklearn.config_context(array_api_dispatch=True):
        TwoLayerClassifier(
            hidden_size=8, batch_size=batch_size, max_iter=epochs, random_state=0
        ).fit(to(X), to(y))
    n_minibatches = epochs * len(y) // batch_size
    assert len(copies) <= epochs + 8 < n_minibatches, copies
