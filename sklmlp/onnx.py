"""Export to ONNX: TwoLayerClassifier as an skl2onnx converter, and a runner.

Importing this module registers :class:`~sklmlp.TwoLayerClassifier` with
skl2onnx, after which skl2onnx's own ``to_onnx`` and ``convert_sklearn``
convert a fitted classifier and any Pipeline that contains one, with the
standard classifier options (``zipmap``: True, False or ``'columns'``;
``nocl``; ``output_class_labels``). It needs the ``onnx`` extra:
``pip install 'sklmlp[onnx]'`` (skl2onnx, onnx and onnxruntime).

The graph is the network itself::

    X -> MatMul(W1) -> Add(b1) -> Relu -> MatMul(W2) -> Add(b2) -> scores
    scores -> Softmax -> probabilities
    scores -> ArgMax -> Gather(classes_) -> label

The label is the argmax of the scores, as :meth:`~TwoLayerClassifier.predict`
takes it, not of the rounded probabilities. The graph computes in the input's
type: float32 (ONNX's default) or float64 (a ``DoubleTensorType`` input; ZipMap,
which is float32 only, is then refused: use ``zipmap=False`` or ``'columns'``).
A model trained in float64 and exported with a float32 input warns with
:class:`PrecisionWarning`, saying how close to expect it.

:func:`convert` is the one-call export the command line uses (input ``"X"``,
no ZipMap, the model's provenance record in the ONNX metadata), and
:class:`OnnxPredictor` scores an exported file with onnxruntime.
"""

import json
import warnings

import numpy as np

try:
    import onnx
    from skl2onnx import convert_sklearn, update_registered_converter

    # skl2onnx's parser of classifiers (ZipMap, output_class_labels): not
    # exported by skl2onnx, so imported here only, and tested.
    from skl2onnx._parse import _parse_sklearn_classifier
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        guess_proto_type,
    )
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
    )
    from skl2onnx.common.utils_classifier import get_label_classes
    from skl2onnx.proto import onnx_proto
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        f"sklmlp.onnx needs skl2onnx and onnx ({exc}): pip install 'sklmlp[onnx]'"
    ) from exc

from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

from ._classifier import TwoLayerClassifier
from ._xp import to_numpy
from .provenance import PROVENANCE_ATTRIBUTE, get_provenance

__all__ = [
    "ALIAS",
    "OnnxPredictor",
    "PrecisionWarning",
    "convert",
    "read_provenance",
]

ALIAS = "SklmlpTwoLayerClassifier"
#: The options of skl2onnx's standard classifier parser that the converter takes.
OPTIONS = {
    "zipmap": [True, False, "columns"],
    "nocl": [True, False],
    "output_class_labels": [False, True],
}


NOT_FITTED = (
    "This %(name)s instance is not fitted yet, so it has no weights to export: "
    "call 'fit' before converting it to ONNX."
)


class PrecisionWarning(UserWarning):
    """A float64-trained model exported to a float32 graph."""


def _parse(scope, model, inputs, custom_parsers=None):
    """skl2onnx's classifier parser, after a clear check that ``model`` is fitted."""
    check_is_fitted(
        model,
        msg=NOT_FITTED,
    )
    options = scope.get_options(
        model, {"zipmap": True, "nocl": False, "output_class_labels": False}
    )
    zipmap = options["zipmap"]
    double = guess_proto_type(inputs[0].type) == onnx_proto.TensorProto.DOUBLE
    kind = model.classes_.dtype.kind
    if options["output_class_labels"] and not (
        kind in "US" or kind == "O" or model.classes_.dtype in (np.int32, np.int64)
    ):
        raise ValueError(
            f"output_class_labels needs int32, int64 or string classes_ (skl2onnx "
            f"writes no other), not {model.classes_.dtype}: fit on such labels, or "
            "convert without output_class_labels."
        )
    if options["nocl"] and zipmap == "columns":
        raise ValueError(
            "nocl=True and zipmap='columns' cannot be combined: the columns are "
            "named after the class labels."
        )
    if zipmap is True and double:
        raise ValueError(
            "ONNX's ZipMap holds float32 probabilities only, and this input is "
            "float64: convert with options={TwoLayerClassifier: {'zipmap': False}} "
            "(a probability matrix) or {'zipmap': 'columns'}."
        )
    return _parse_sklearn_classifier(scope, model, inputs, custom_parsers)


def _shape_calculator(operator):
    """Output types: labels (int64 or string, by ``classes_``), probabilities."""
    classes = operator.raw_operator.classes_
    if classes.dtype.kind == "f" and not np.all(classes == np.round(classes)):
        raise ValueError(
            f"ONNX class labels are integers or strings; classes_ {classes.tolist()} "
            "are not whole numbers: fit on integer or string labels to export."
        )
    int64 = np.iinfo(np.int64)
    # Python ints: NumPy 1's mixed uint64/int comparisons go through float64
    if classes.dtype.kind in "uif" and not (
        int64.min <= int(classes.min()) and int(classes.max()) <= int64.max
    ):
        raise ValueError(
            f"ONNX integer labels are int64, and classes_ {classes.tolist()} do not "
            "fit in it: encode the labels (e.g. LabelEncoder) before fitting."
        )
    calculate_linear_classifier_output_shapes(operator)


def _convert(scope, operator, container):
    """Add the network's nodes to ``container``: probabilities and labels."""
    model = operator.raw_operator
    proto_type = guess_proto_type(operator.inputs[0].type)
    if proto_type == onnx_proto.TensorProto.DOUBLE:
        dtype = np.float64
    else:
        proto_type, dtype = onnx_proto.TensorProto.FLOAT, np.float32
        if to_numpy(model.coefs_[0]).dtype == np.float64:
            warnings.warn(
                f"{type(model).__name__} was trained in float64 and is exported to "
                "a float32 graph: expect probabilities within about 1e-6 of "
                "predict_proba's, and a different label on rows whose two highest "
                "scores are that close. Export with a float64 input "
                "(DoubleTensorType, or 'sklmlp export --float64') to keep float64.",
                PrecisionWarning,
                stacklevel=2,
            )

    def constant(name, value):
        name = scope.get_unique_variable_name(name)
        value = np.asarray(value, dtype=dtype)
        container.add_initializer(name, proto_type, value.shape, value.ravel())
        return name

    def node(op_type, inputs, **attributes):
        output = scope.get_unique_variable_name(op_type.lower())
        container.add_node(
            op_type,
            inputs,
            output,
            name=scope.get_unique_operator_name(op_type),
            **attributes,
        )
        return output

    x = operator.inputs[0].full_name
    if guess_proto_type(operator.inputs[0].type) != proto_type:
        x = node("Cast", [x], to=proto_type)
    # weights fitted on other arrays (PyTorch, CuPy) are copied to the host
    W1, W2, b1, b2 = (to_numpy(p) for p in (*model.coefs_, *model.intercepts_))
    hidden = node("Add", [node("MatMul", [x, constant("W1", W1)]), constant("b1", b1)])
    hidden = node("Relu", [hidden])
    scores = node(
        "Add", [node("MatMul", [hidden, constant("W2", W2)]), constant("b2", b2)]
    )
    container.add_node(
        "Softmax",
        [scores],
        operator.outputs[1].full_name,
        name=scope.get_unique_operator_name("Softmax"),
        axis=1,
    )

    # predict's argmax, of the scores, mapped through classes_ (or its indices
    # with nocl=True)
    classes = get_label_classes(scope, model)
    indices = node("ArgMax", [scores], axis=1, keepdims=0)
    name = scope.get_unique_variable_name("classes")
    if classes.dtype.kind in "iufb":
        classes = classes.astype(np.int64)
        container.add_initializer(
            name, onnx_proto.TensorProto.INT64, classes.shape, classes
        )
    else:
        encoded = [str(label).encode("utf-8") for label in classes]
        container.add_initializer(
            name, onnx_proto.TensorProto.STRING, classes.shape, encoded
        )
    container.add_node(
        "Gather",
        [name, indices],
        operator.outputs[0].full_name,
        name=scope.get_unique_operator_name("Gather"),
        axis=0,
    )


update_registered_converter(
    TwoLayerClassifier,
    ALIAS,
    _shape_calculator,
    _convert,
    parser=_parse,
    options=OPTIONS,
)


def _final_classifier(model):
    """The last step of a Pipeline (or the model itself), checked fitted."""
    final = model
    while hasattr(final, "steps"):
        final = final.steps[-1][1]
    if not is_classifier(final):
        raise TypeError(
            f"{type(model).__name__} does not end in a classifier; convert() "
            "exports a TwoLayerClassifier or a Pipeline ending in one."
        )
    check_is_fitted(
        final,
        msg=NOT_FITTED,
    )
    return final


def convert(model, *, float64=False, zipmap=False, target_opset=None):
    """Export a fitted model to ONNX, with its provenance in the metadata.

    A thin layer over skl2onnx's ``convert_sklearn``: one input named ``"X"``
    of shape ``(None, n_features_in_)``, outputs ``"label"`` and
    ``"probabilities"``, and the model's provenance record (written by
    ``sklmlp fit`` or ``sklmlp tune``), if any, as the JSON value of the
    metadata key ``"sklmlp_provenance"``.

    Parameters
    ----------
    model : TwoLayerClassifier or Pipeline
        Fitted; a Pipeline's steps must all be convertible by skl2onnx
        (StandardScaler is).
    float64 : bool, default=False
        Compute in float64 (input type ``tensor(double)``) instead of float32.
    zipmap : bool or 'columns', default=False
        skl2onnx's ``zipmap`` option: False gives a probability matrix.
    target_opset : int, default=None
        The ONNX opset; None for the newest skl2onnx supports.

    Returns
    -------
    onnx_model : onnx.ModelProto

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklmlp import TwoLayerClassifier
    >>> from sklmlp.onnx import OnnxPredictor, convert
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = TwoLayerClassifier(max_iter=50, random_state=0).fit(X, y)
    >>> onnx_model = convert(clf, float64=True)
    >>> sorted(node.op_type for node in onnx_model.graph.node)
    ['Add', 'Add', 'ArgMax', 'Gather', 'MatMul', 'MatMul', 'Relu', 'Softmax']
    >>> bool((OnnxPredictor(onnx_model).predict(X) == clf.predict(X)).all())
    True
    """
    final = _final_classifier(model)
    tensor_type = DoubleTensorType if float64 else FloatTensorType
    onnx_model = convert_sklearn(
        model,
        initial_types=[("X", tensor_type([None, model.n_features_in_]))],
        options={id(final): {"zipmap": zipmap}},
        target_opset=target_opset,
        final_types=None,
    )
    record = get_provenance(model)
    if record is not None:
        entry = onnx_model.metadata_props.add()
        entry.key, entry.value = PROVENANCE_ATTRIBUTE, json.dumps(record)
    return onnx_model


def read_provenance(onnx_model):
    """The provenance record that :func:`convert` stored, or None.

    Parameters
    ----------
    onnx_model : onnx.ModelProto

    Returns
    -------
    record : dict or None
    """
    for entry in onnx_model.metadata_props:
        if entry.key == PROVENANCE_ATTRIBUTE:
            record = json.loads(entry.value)
            if isinstance(record, dict) and "test_fingerprint" in record:
                return record
    return None


class OnnxPredictor:
    """An exported classifier under onnxruntime, with ``predict`` and friends.

    Parameters
    ----------
    model : str, path-like, bytes or onnx.ModelProto
        An ONNX file, its bytes, or a loaded model, with a label output first
        and probabilities second, as skl2onnx writes classifiers.
    providers : list of str, default=None
        onnxruntime execution providers; None for the CPU.

    Attributes
    ----------
    session : onnxruntime.InferenceSession
    input_dtype : numpy.dtype
        float32 or float64: what the graph's input takes; inputs are cast to it.
    n_features_in_ : int or None
        The width of the graph's input.
    provenance : dict or None
        The record :func:`convert` stored, if any.
    """

    def __init__(self, model, providers=None):
        try:
            import onnxruntime
        except ImportError as exc:
            raise ImportError(
                f"OnnxPredictor needs onnxruntime ({exc}): pip install 'sklmlp[onnx]'"
            ) from exc
        if isinstance(model, bytes):
            model = onnx.load_from_string(model)
        elif not isinstance(model, onnx.ModelProto):
            model = onnx.load(model)
        self.provenance = read_provenance(model)
        self.session = onnxruntime.InferenceSession(
            model.SerializeToString(),
            providers=providers or ["CPUExecutionProvider"],
        )
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ValueError(
                f"the ONNX model has {len(inputs)} inputs; OnnxPredictor runs "
                "models with one input matrix."
            )
        self._input = inputs[0].name
        width = inputs[0].shape[-1] if inputs[0].shape else None
        #: The number of features the graph takes (None if it says nothing).
        self.n_features_in_ = width if isinstance(width, int) else None
        self.input_dtype = np.dtype(
            np.float64 if inputs[0].type == "tensor(double)" else np.float32
        )
        self._outputs = [output.name for output in self.session.get_outputs()]

    def _run(self, X, output):
        X = np.ascontiguousarray(X, dtype=self.input_dtype)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-d array, got shape {X.shape}.")
        if self.n_features_in_ not in (None, X.shape[1]):
            raise ValueError(
                f"X has {X.shape[1]} features, but the ONNX model takes "
                f"{self.n_features_in_}."
            )
        return self.session.run([self._outputs[output]], {self._input: X})[0]

    def predict(self, X):
        """Labels, from the graph's first output.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self._run(X, 0)

    def predict_proba(self, X):
        """Probabilities, from the graph's second output (a matrix, no ZipMap).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        proba = self._run(X, 1)
        if not isinstance(proba, np.ndarray):
            raise ValueError(
                "the ONNX model's probabilities are a ZipMap (a list of "
                "dictionaries): export with zipmap=False to get a matrix."
            )
        return proba

    def score(self, X, y):
        """Accuracy of :meth:`predict` against ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        accuracy : float
        """
        return float(np.mean(self.predict(X) == np.asarray(y)))
