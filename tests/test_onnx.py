"""ONNX export (sklmlp.onnx): onnxruntime's outputs against the estimator's.

Parity: onnxruntime's labels equal ``predict`` on every row, and its
probabilities match ``predict_proba`` to 1e-5 absolute in float32 and 1e-10
in float64, for digits, a Fashion-MNIST-shaped problem, sparse-trained
models, binary and string labels, and pipelines with a scaler.
"""

import json
import sys
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklmlp import TwoLayerClassifier
from sklmlp.cli import main
from sklmlp.provenance import PROVENANCE_ATTRIBUTE

from _extras import importorskip

onnx = importorskip("onnx", "onnx")
ort = importorskip("onnxruntime", "onnx")
skl2onnx = importorskip("skl2onnx", "onnx")
sklmlp_onnx = importorskip("sklmlp.onnx", "onnx")

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}
NETWORK_OPS = ["MatMul", "Add", "Relu", "MatMul", "Add", "Softmax", "ArgMax", "Gather"]


def _digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _fashion_shaped(n_samples=600, seed=0):
    """784 pixel features in [0, 1], 10 classes with class-dependent means."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_samples) % 10
    centres = rng.random((10, 784))
    X = np.clip(centres[y] + 0.3 * rng.standard_normal((n_samples, 784)), 0, 1)
    return np.round(X * 255) / 255, y


def _sparse(seed=0):
    X, y = _digits()
    X = X * (np.random.default_rng(seed).random(X.shape) < 0.3)
    return sp.csr_matrix(X), y


def _binary():
    X, y = _digits()
    return X, (y >= 5).astype(np.int64)


def _strings():
    X, y = _digits()
    return X, np.array([f"digit {v}" for v in y])


def _binary_strings():
    X, y = _digits()
    return X, np.where(y % 2 == 0, "even", "odd")


PROBLEMS = {
    "digits": _digits,
    "fashion-shaped": _fashion_shaped,
    "sparse": _sparse,
    "binary": _binary,
    "strings": _strings,
    "binary-strings": _binary_strings,
}


def _session(onnx_model):
    return ort.InferenceSession(
        onnx_model.SerializeToString(), providers=["CPUExecutionProvider"]
    )


def _run(onnx_model, X):
    """onnxruntime's (labels, probabilities) for the dense rows X."""
    session = _session(onnx_model)
    dtype = np.float64 if session.get_inputs()[0].type == "tensor(double)" else None
    X = np.ascontiguousarray(X, dtype=dtype or np.float32)
    return session.run(None, {session.get_inputs()[0].name: X})


def _dense(X):
    return X.toarray() if sp.issparse(X) else X


def _assert_parity(model, onnx_model, X, dtype):
    labels, proba = _run(onnx_model, _dense(X).astype(dtype))
    X_model = X.astype(dtype)
    expected = model.predict(X_model)
    assert labels.shape == expected.shape
    assert (labels == expected).all(), np.flatnonzero(labels != expected)[:10]
    np.testing.assert_allclose(
        proba, model.predict_proba(X_model), rtol=0, atol=TOLERANCE[dtype]
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pipeline", [False, True], ids=["bare", "pipeline"])
@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_onnxruntime_matches_predict_and_predict_proba(problem, pipeline, dtype):
    X, y = PROBLEMS[problem]()
    clf = TwoLayerClassifier(hidden_size=32, max_iter=15, random_state=0)
    if pipeline:
        # with_mean=False keeps a CSR input sparse for the scaler
        model = make_pipeline(StandardScaler(with_mean=not sp.issparse(X)), clf)
    else:
        model = clf
    model.fit(X.astype(dtype), y)
    sample = _dense(X[:1]).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error", sklmlp_onnx.PrecisionWarning)
        onnx_model = skl2onnx.to_onnx(
            model, sample, options={TwoLayerClassifier: {"zipmap": False}}
        )
    ops = [node.op_type for node in onnx_model.graph.node]
    # the network itself; ArgMax may come before Softmax in the node order
    assert sorted(ops[-len(NETWORK_OPS) :]) == sorted(NETWORK_OPS)
    assert ops.count("MatMul") == 2 and ops.count("Relu") == 1
    _assert_parity(model, onnx_model, X, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_convert_sklearn_with_initial_types(dtype):
    X, y = _strings()
    model = make_pipeline(StandardScaler(), TwoLayerClassifier(random_state=1))
    model.fit(X.astype(dtype), y)
    tensor = (
        skl2onnx.common.data_types.DoubleTensorType
        if dtype == np.float64
        else skl2onnx.common.data_types.FloatTensorType
    )
    onnx_model = skl2onnx.convert_sklearn(
        model,
        initial_types=[("pixels", tensor([None, X.shape[1]]))],
        options={id(model[-1]): {"zipmap": False}},
    )
    assert onnx_model.graph.input[0].name == "pixels"
    _assert_parity(model, onnx_model, X, dtype)


@pytest.fixture(scope="module")
def digits_model():
    X, y = _digits()
    model = TwoLayerClassifier(hidden_size=32, max_iter=20, random_state=0)
    return model.fit(X.astype(np.float32), y), X.astype(np.float32)


def test_zipmap_true_gives_a_dictionary_per_row(digits_model):
    model, X = digits_model
    onnx_model = skl2onnx.to_onnx(model, X[:1])  # zipmap=True is the default
    assert "ZipMap" in [node.op_type for node in onnx_model.graph.node]
    assert onnx_model.graph.output[1].type.HasField("sequence_type")  # of maps
    labels, rows = _run(onnx_model, X)
    assert (labels == model.predict(X)).all()
    proba = np.array([[row[c] for c in model.classes_] for row in rows])
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=1e-5)


def test_zipmap_columns_gives_one_output_per_class(digits_model):
    model, X = digits_model
    onnx_model = skl2onnx.to_onnx(
        model, X[:1], options={TwoLayerClassifier: {"zipmap": "columns"}}
    )
    labels, *columns = _run(onnx_model, X)
    assert (labels == model.predict(X)).all()
    assert [out.name for out in onnx_model.graph.output[1:]] == [
        f"i{c}" for c in model.classes_
    ]
    np.testing.assert_allclose(
        np.column_stack(columns), model.predict_proba(X), rtol=0, atol=1e-5
    )


def test_nocl_labels_are_class_indices():
    X, y = _strings()
    model = TwoLayerClassifier(hidden_size=16, max_iter=10, random_state=0)
    model.fit(X.astype(np.float32), y)
    onnx_model = skl2onnx.to_onnx(
        model,
        X[:1].astype(np.float32),
        options={TwoLayerClassifier: {"zipmap": False, "nocl": True}},
    )
    labels, _ = _run(onnx_model, X)
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(
        model.classes_[labels], model.predict(X.astype(np.float32))
    )


def test_output_class_labels_adds_the_classes():
    X, y = _binary_strings()
    model = TwoLayerClassifier(hidden_size=16, max_iter=10, random_state=0)
    model.fit(X.astype(np.float32), y)
    onnx_model = skl2onnx.to_onnx(
        model,
        X[:1].astype(np.float32),
        options={TwoLayerClassifier: {"zipmap": False, "output_class_labels": True}},
    )
    labels, _, classes = _run(onnx_model, X)
    assert classes.tolist() == model.classes_.tolist()
    assert (labels == model.predict(X.astype(np.float32))).all()


def test_float64_model_exported_as_float32_warns_and_stays_close():
    X, y = _fashion_shaped(seed=3)
    model = TwoLayerClassifier(hidden_size=64, max_iter=10, random_state=3).fit(X, y)
    assert model.coefs_[0].dtype == np.float64
    with pytest.warns(sklmlp_onnx.PrecisionWarning, match="trained in float64"):
        onnx_model = skl2onnx.to_onnx(
            model,
            X[:1].astype(np.float32),
            options={TwoLayerClassifier: {"zipmap": False}},
        )
    labels, proba = _run(onnx_model, X)
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=1e-5)
    # labels agree wherever the top two scores are apart by more than float32
    # can resolve; this seed has no such near-tie
    assert (labels == model.predict(X)).all()


def test_float32_model_exported_as_float64_does_not_warn(digits_model):
    model, X = digits_model
    with warnings.catch_warnings():
        warnings.simplefilter("error", sklmlp_onnx.PrecisionWarning)
        onnx_model = sklmlp_onnx.convert(model, float64=True)
    labels, proba = _run(onnx_model, X)
    assert (labels == model.predict(X)).all()
    # a float32 model's own predict_proba rounds in float32
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=1e-5)


def test_zipmap_with_a_float64_input_is_refused(digits_model):
    model, X = digits_model
    with pytest.raises(ValueError, match="ZipMap holds float32 probabilities only"):
        skl2onnx.to_onnx(model, X[:1].astype(np.float64))


@pytest.mark.parametrize("pipeline", [False, True])
def test_an_unfitted_model_is_refused_clearly(pipeline):
    model = TwoLayerClassifier()
    if pipeline:
        model = make_pipeline(StandardScaler().fit(np.eye(3)), model)
    with pytest.raises(NotFittedError, match="not fitted yet.*call 'fit'"):
        skl2onnx.to_onnx(model, np.eye(3, dtype=np.float32))
    with pytest.raises(NotFittedError, match="not fitted yet"):
        sklmlp_onnx.convert(model)


def test_fractional_float_labels_are_refused():
    # scikit-learn refuses to fit such labels ("continuous"), so set them
    X, y = _digits()
    model = TwoLayerClassifier(max_iter=2, random_state=0).fit(X, y)
    model.classes_ = model.classes_ + 0.5
    with pytest.raises(ValueError, match="integers or strings.*whole numbers"):
        sklmlp_onnx.convert(model)


def test_whole_float_and_bool_labels_export_as_integers():
    X, y = _digits()
    for labels in (y.astype(np.float64), y >= 5):
        model = TwoLayerClassifier(hidden_size=16, max_iter=5, random_state=0)
        model.fit(X.astype(np.float32), labels)
        out, _ = _run(sklmlp_onnx.convert(model), X)
        assert out.dtype == np.int64
        assert (out == model.predict(X.astype(np.float32))).all()


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.int64])
def test_integer_label_dtypes_export(dtype):
    X, y = _digits()
    labels = (y * 3 + 7).astype(dtype)
    model = TwoLayerClassifier(hidden_size=16, max_iter=5, random_state=0)
    model.fit(X.astype(np.float32), labels)
    _assert_parity(model, sklmlp_onnx.convert(model), X, np.float32)
    options = {TwoLayerClassifier: {"zipmap": False, "output_class_labels": True}}
    if dtype == np.uint8:  # skl2onnx writes class labels of int32/int64/str only
        with pytest.raises(ValueError, match="output_class_labels needs int32"):
            skl2onnx.to_onnx(model, X[:1].astype(np.float32), options=options)
    else:
        onnx_model = skl2onnx.to_onnx(model, X[:1].astype(np.float32), options=options)
        labels_out, _, classes = _run(onnx_model, X)
        assert classes.tolist() == model.classes_.tolist()
        assert (labels_out == model.predict(X.astype(np.float32))).all()


def test_labels_beyond_int64_are_refused():
    X, y = _digits()
    model = TwoLayerClassifier(max_iter=2, random_state=0)
    model.fit(X, y.astype(np.uint64) + np.uint64(2**63))
    with pytest.raises(ValueError, match="do not fit in it"):
        sklmlp_onnx.convert(model)


def test_nocl_with_zipmap_columns_is_refused(digits_model):
    model, X = digits_model
    options = {TwoLayerClassifier: {"zipmap": "columns", "nocl": True}}
    with pytest.raises(ValueError, match="cannot be combined"):
        skl2onnx.to_onnx(model, X[:1], options=options)


def test_pipelines_that_change_the_width_export():
    from sklearn.decomposition import PCA

    X, y = _digits()
    X = X.astype(np.float32)
    clf = TwoLayerClassifier(hidden_size=16, max_iter=10, random_state=0)
    flat = make_pipeline(PCA(20, random_state=0), clf).fit(X, y)
    nested = make_pipeline(
        StandardScaler(),
        make_pipeline(PCA(20, random_state=0), TwoLayerClassifier(random_state=1)),
    ).fit(X, y)
    for model in (flat, nested):
        onnx_model = sklmlp_onnx.convert(model)
        dims = onnx_model.graph.input[0].type.tensor_type.shape.dim
        assert dims[1].dim_value == 64
        labels, proba = _run(onnx_model, X)
        assert (labels == model.predict(X)).all()
        np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=1e-5)


def test_convert_leaves_the_model_unchanged(digits_model):
    model, X = digits_model
    before = [a.copy() for a in model.coefs_ + model.intercepts_]
    params = model.get_params()
    sklmlp_onnx.convert(model)
    for a, b in zip(before, model.coefs_ + model.intercepts_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert model.get_params() == params


@pytest.mark.parametrize(
    "params",
    [
        {"early_stopping": True, "validation_fraction": 0.2},
        {"solver": "adam", "class_weight": "balanced"},
        {"warm_start": True},
    ],
    ids=["early-stopping", "adam-class-weight", "warm-start"],
)
def test_models_trained_other_ways_export_too(params):
    X, y = _fashion_shaped(seed=1)
    X = X.astype(np.float32)
    model = TwoLayerClassifier(hidden_size=32, max_iter=5, random_state=0, **params)
    model.fit(X, y)
    if params.get("warm_start"):
        model.fit(X, y)  # continued training
    model.partial_fit(X[:100], y[:100])
    _assert_parity(model, sklmlp_onnx.convert(model), X, np.float32)


def test_convert_stores_the_provenance_record(digits_model):
    model, X = digits_model
    assert sklmlp_onnx.read_provenance(sklmlp_onnx.convert(model)) is None
    pipeline = make_pipeline(StandardScaler(), TwoLayerClassifier(max_iter=3))
    pipeline.fit(X, np.arange(len(X)) % 3)
    record = {"data": "digits", "random_state": 4, "test_fingerprint": "ab" * 32}
    setattr(pipeline, PROVENANCE_ATTRIBUTE, record)
    onnx_model = sklmlp_onnx.convert(pipeline)
    assert sklmlp_onnx.read_provenance(onnx_model) == record
    stored = {p.key: p.value for p in onnx_model.metadata_props}
    assert json.loads(stored[PROVENANCE_ATTRIBUTE]) == record


def test_convert_refuses_a_model_without_a_classifier():
    with pytest.raises(TypeError, match="does not end in a classifier"):
        sklmlp_onnx.convert(StandardScaler().fit(np.eye(3)))


def test_onnx_predictor_reads_files_bytes_and_models(tmp_path, digits_model):
    model, X = digits_model
    onnx_model = sklmlp_onnx.convert(model)
    path = tmp_path / "model.onnx"
    path.write_bytes(onnx_model.SerializeToString())
    for source in (path, str(path), path.read_bytes(), onnx_model):
        predictor = sklmlp_onnx.OnnxPredictor(source)
        assert predictor.input_dtype == np.float32
        assert predictor.n_features_in_ == X.shape[1]
        assert (predictor.predict(X) == model.predict(X)).all()
        assert predictor.score(X, model.predict(X)) == 1.0
    with pytest.raises(
        ValueError, match="X has 3 features, but the ONNX model takes 64"
    ):
        predictor.predict(np.ones((2, 3)))


def test_onnx_predictor_refuses_zipmap_probabilities(digits_model):
    model, X = digits_model
    predictor = sklmlp_onnx.OnnxPredictor(skl2onnx.to_onnx(model, X[:1]))
    assert (predictor.predict(X) == model.predict(X)).all()
    with pytest.raises(ValueError, match="export with zipmap=False"):
        predictor.predict_proba(X)


def test_mlp_classifier_with_the_same_weights_gives_the_same_probabilities(
    digits_model,
):
    """The inference benchmark compares the three on the same weights."""
    model, X = digits_model
    mlp = MLPClassifier(hidden_layer_sizes=(32,), max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, model.predict(X))
    mlp.coefs_ = [W.copy() for W in model.coefs_]
    mlp.intercepts_ = [b.copy() for b in model.intercepts_]
    np.testing.assert_allclose(
        mlp.predict_proba(X), model.predict_proba(X), rtol=0, atol=1e-6
    )


# The command line: sklmlp export, and sklmlp evaluate of a .onnx file.


def _cli_error(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def _saved_fit(tmp_path, capsys):
    out = tmp_path / "fit"
    argv = ["fit", "--hidden-size", "20", "--max-iter", "20", "--random-state", "1"]
    assert main([*argv, "--out", str(out)]) == 0
    capsys.readouterr()
    return out / "model.joblib", json.loads((out / "summary.json").read_text())


def _accuracy(out):
    return float(out.strip().splitlines()[-1].rsplit(":", 1)[-1])


@pytest.mark.parametrize("float64", [False, True], ids=["float32", "float64"])
def test_export_then_evaluate_scores_the_recorded_split(tmp_path, capsys, float64):
    model, summary = _saved_fit(tmp_path, capsys)
    path = tmp_path / "deploy" / "model.onnx"  # the folder is created
    argv = ["export", "--model", str(model), "--out", str(path)]
    assert main(argv + (["--float64"] if float64 else [])) == 0
    captured = capsys.readouterr()
    assert f"Wrote {path}" in captured.out
    assert "MatMul Add Relu MatMul Add" in captured.out
    # digits trains in float64: a float32 export says what precision to expect
    assert ("trained in float64" in captured.err) != float64
    assert main(["evaluate", "--model", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"(onnxruntime, {'float64' if float64 else 'float32'} graph)" in out
    assert "split seed 1" in out
    assert main(["evaluate", "--model", str(model)]) == 0
    assert _accuracy(out) == _accuracy(capsys.readouterr().out)
    assert _accuracy(out) == pytest.approx(summary["test_accuracy"], abs=1e-4)


def test_export_checks_out_before_loading_the_model(tmp_path, capsys, monkeypatch):
    model, _ = _saved_fit(tmp_path, capsys)
    monkeypatch.setattr(
        "joblib.load", lambda *a, **k: pytest.fail("loaded before --out was checked")
    )
    folder = tmp_path / "deploy.onnx"
    folder.mkdir()
    argv = ["export", "--model", str(model), "--out", str(folder)]
    assert main(argv) == 1
    assert "is a folder; give a file name" in _cli_error(capsys)


@pytest.mark.parametrize("case", ["missing", "corrupt", "unfitted", "no-extra"])
def test_export_failures_are_one_line_and_exit_1(tmp_path, capsys, monkeypatch, case):
    path = tmp_path / "model.joblib"
    expected = {
        "missing": "does not exist",
        "corrupt": "cannot load model file",
        "unfitted": "not fitted yet",
        "no-extra": "pip install 'sklmlp[onnx]'",
    }[case]
    if case == "corrupt":
        path.write_bytes(b"not a joblib file")
    elif case in ("unfitted", "no-extra"):
        joblib.dump(make_pipeline(StandardScaler(), TwoLayerClassifier()), path)
    if case == "no-extra":
        monkeypatch.setitem(sys.modules, "sklmlp.onnx", None)
    out = tmp_path / "model.onnx"
    assert main(["export", "--model", str(path), "--out", str(out)]) == 1
    line = _cli_error(capsys)
    assert line.startswith("sklmlp export: error: ") and expected in line
    assert not out.exists()


def test_export_refuses_out_paths_that_would_lose_data(tmp_path, capsys):
    model, _ = _saved_fit(tmp_path, capsys)
    argv = ["export", "--model", str(model), "--out"]
    assert main([*argv, str(model)]) == 1  # the model itself
    assert "does not end in .onnx" in _cli_error(capsys)
    assert main([*argv, str(tmp_path / "model.bin")]) == 1
    assert "does not end in .onnx" in _cli_error(capsys)
    same = tmp_path / "copy.ONNX"
    same.write_bytes(model.read_bytes())
    assert main(["export", "--model", str(same), "--out", str(same)]) == 1
    assert "is the model file itself" in _cli_error(capsys)
    assert main(["evaluate", "--model", str(same)]) == 1  # not overwritten: joblib
    assert "cannot load ONNX model" in _cli_error(capsys)


def test_a_failed_write_is_one_line_and_leaves_no_file(tmp_path, capsys, monkeypatch):
    model, _ = _saved_fit(tmp_path, capsys)
    out = tmp_path / "model.onnx"

    def full_disk(self, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pathlib.Path.replace", full_disk)
    argv = ["export", "--model", str(model), "--out", str(out), "--float64"]
    assert main(argv) == 1
    assert "cannot write" in _cli_error(capsys)
    assert list(tmp_path.glob("model.onnx*")) == []


def test_a_missing_model_creates_no_folder(tmp_path, capsys):
    out = tmp_path / "new" / "model.onnx"
    argv = ["export", "--model", str(tmp_path / "none.joblib"), "--out", str(out)]
    assert main(argv) == 1
    assert "does not exist" in _cli_error(capsys)
    assert not (tmp_path / "new").exists()


def test_export_of_a_model_without_provenance_warns(tmp_path, capsys):
    X, y = _digits()
    path = tmp_path / "plain.joblib"
    joblib.dump(TwoLayerClassifier(max_iter=3, random_state=0).fit(X, y), path)
    out = tmp_path / "plain.onnx"
    argv = ["export", "--model", str(path), "--out", str(out), "--float64"]
    assert main(argv) == 0
    assert "records no data split, so 'sklmlp evaluate' will refuse" in (
        capsys.readouterr().err
    )
    assert main(["evaluate", "--model", str(out)]) == 1
    assert "does not record the data and split" in _cli_error(capsys)


@pytest.mark.parametrize("case", ["missing", "corrupt", "other-data", "no-extra"])
def test_evaluate_onnx_failures_are_one_line(tmp_path, capsys, monkeypatch, case):
    path = tmp_path / "model.onnx"
    argv = ["evaluate", "--model", str(path)]
    if case == "corrupt":
        path.write_bytes(b"not an onnx file")
    elif case in ("other-data", "no-extra"):
        model, _ = _saved_fit(tmp_path, capsys)
        assert main(["export", "--model", str(model), "--out", str(path)]) == 0
        capsys.readouterr()
    if case == "other-data":
        X, y = _fashion_shaped(n_samples=60)
        np.savez(tmp_path / "d.npz", X=X, y=y)
        argv += ["--data", str(tmp_path / "d.npz")]
    if case == "no-extra":
        monkeypatch.setitem(sys.modules, "onnxruntime", None)
    expected = {
        "missing": "does not exist",
        "corrupt": "cannot load ONNX model",
        "other-data": "was trained on digits, not",
        "no-extra": "pip install 'sklmlp[onnx]'",
    }[case]
    assert main(argv) == 1
    line = _cli_error(capsys)
    assert line.startswith("sklmlp evaluate: error: ") and expected in line
