"""
===========================================
Deploying a tuned model: export it to ONNX
===========================================

Tune a Pipeline (scaler + :class:`~sklmlp.TwoLayerClassifier`), export the
best model to ONNX with :mod:`sklmlp.onnx`, and check the exported model
against the estimator with onnxruntime, as a service that serves it would
run it: same labels on every row, probabilities within float32's or float64's
rounding. Needs the ``onnx`` extra: ``pip install 'sklmlp[onnx]'``.
"""

# %%
# Tune
# ----
# A short successive-halving search on digits. Fits cut off by the halving
# schedule have not converged by design; that warning is silenced around the
# search only.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklmlp import TwoLayerClassifier
from sklmlp.onnx import OnnxPredictor, convert
from sklmlp.search import make_search

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
search = make_search(
    make_pipeline(StandardScaler(), TwoLayerClassifier(random_state=0)),
    search="halving",
    n_iter=6,
    cv=3,
    max_iter=45,
    prefix="twolayerclassifier",
    random_state=0,
)
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    search.fit(X_train, y_train)
model = search.best_estimator_
print(f"estimator's test accuracy: {model.score(X_test, y_test):.4f}")

# %%
# Export
# ------
# :func:`~sklmlp.onnx.convert` exports the whole Pipeline: the scaler becomes
# ONNX's ``Scaler``, the network ``MatMul``, ``Add``, ``Relu``, ``MatMul``,
# ``Add``, then ``Softmax`` for the probabilities and ``ArgMax`` + ``Gather``
# for the labels. The model trained in float64 (digits are float64), so a
# float32 graph (ONNX's default, and what most runtimes are fastest at) rounds
# its weights: ``convert`` warns with :class:`~sklmlp.onnx.PrecisionWarning`.
# The float64 graph keeps every digit. After ``import sklmlp.onnx``,
# skl2onnx's own ``to_onnx(model, X[:1].astype(np.float32))`` works as well
# (with a float64 sample it needs ``options={"zipmap": False}``: ONNX's ZipMap
# holds float32 only).
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    graphs = {"float32": convert(model), "float64": convert(model, float64=True)}
for warning in caught:
    print(f"{warning.category.__name__}: {str(warning.message)[:72]}...")
for name, onnx_model in graphs.items():
    nodes = " ".join(node.op_type for node in onnx_model.graph.node)
    print(f"{name}: {len(onnx_model.SerializeToString()) / 1e3:.0f} kB, {nodes}")

# %%
# Check
# -----
# Score each export with onnxruntime and compare it with the estimator, row by
# row: labels must be equal, probabilities within float32's (about 1e-7) or
# float64's (about 1e-16) rounding of the computation.
proba = model.predict_proba(X_test)
gaps = {}
for name, onnx_model in graphs.items():
    served = OnnxPredictor(onnx_model)
    assert (served.predict(X_test) == model.predict(X_test)).all()
    gaps[name] = np.abs(served.predict_proba(X_test) - proba).max(axis=1)
    print(
        f"{name}: test accuracy {served.score(X_test, y_test):.4f}, "
        f"largest probability gap {gaps[name].max():.1e}"
    )

fig, ax = plt.subplots(figsize=(6, 3.5))
for name, gap in gaps.items():
    gap = np.sort(np.maximum(gap, 1e-19))  # an exact 0 would not show on a log axis
    share = np.arange(1, len(gap) + 1) / len(gap)
    ax.step(gap, share, where="post", label=f"{name} graph")
ax.set_xscale("log")
ax.set_xlabel("largest |onnxruntime - predict_proba| of a test row")
ax.set_ylabel("share of test rows at or below")
ax.set_title("The exported model against the estimator")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# Save the float32 graph for a service with
# ``pathlib.Path("model.onnx").write_bytes(graphs["float32"].SerializeToString())``.
# From the command line, ``sklmlp export --model out/model.joblib --out
# model.onnx`` does the same for a model saved by ``sklmlp tune --out``, and
# ``sklmlp evaluate --model model.onnx`` scores it on the held-out rows it was
# never trained on.
