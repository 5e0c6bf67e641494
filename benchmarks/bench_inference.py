"""Benchmark: inference speed of one network three ways, in one run.

The same weights (784 inputs, ``--hidden`` units, 10 classes, float32) are
served by TwoLayerClassifier, by its ONNX export under onnxruntime
(``sklmlp.onnx``, float32 graph, no ZipMap) and by an MLPClassifier whose
``coefs_``/``intercepts_`` are set to them. Printed:

1. rows per second of ``predict_proba`` for batches of 1, 100 and 10,000 rows,
   with each row's ratio to MLPClassifier;
2. the single-row latency of ``predict`` and ``predict_proba``, split into
   scikit-learn's input validation (``validate_data``, as each estimator
   calls it) and the network itself (the forward pass without validation),
   so that the validation share is a measurement, not a guess.

Each figure is the median of ``--repeats`` timings of a loop long enough to
take about 0.1 s; the three are interleaved so that a slow moment of a shared
machine hits them alike. Run by hand: ``python benchmarks/bench_inference.py``
(``--threads 1`` to pin BLAS and onnxruntime to one thread; ``--smoke`` for a
seconds-long check of the script itself).
"""

import argparse
import statistics
import time
import warnings
from contextlib import contextmanager
from functools import partial

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.utils.validation import validate_data
from threadpoolctl import threadpool_limits

from sklmlp import TwoLayerClassifier

#: Seconds to sleep between timing loops, for idle BLAS threads to park.
PARK = 0.3


def per_call(funcs, repeats, budget):
    """Median seconds per call of each of ``funcs`` (a dict), interleaved.

    Each repeat times every function once, in turn, in a loop of about
    ``budget`` seconds, so that a slow moment of a shared machine hits them
    alike; the median over ``repeats`` is reported. Between two loops the
    process sleeps ``PARK`` seconds: the three run on three thread pools
    (SciPy's OpenBLAS, NumPy's OpenBLAS, onnxruntime's), whose threads spin
    for a while after their last call, and without the pause one pool's
    spinning threads take the cores from the next (measured: MLPClassifier
    on 100 rows at 3,300 rows/s instead of about 40,000, with 2 threads).
    """
    numbers = {}
    for name, func in funcs.items():
        func()  # warm up: first-call allocations, lazy imports
        start = time.perf_counter()
        func()
        numbers[name] = max(1, int(budget / max(time.perf_counter() - start, 1e-7)))
    timings = {name: [] for name in funcs}
    for _ in range(repeats):
        for name, func in funcs.items():
            start = time.perf_counter()
            for _ in range(numbers[name]):
                func()
            timings[name].append((time.perf_counter() - start) / numbers[name])
            time.sleep(PARK)
    return {name: statistics.median(t) for name, t in timings.items()}


def build_models(hidden, n_features, n_classes, threads, seed=0):
    """A fitted TwoLayerClassifier, an MLPClassifier and an onnxruntime session
    holding the same float32 weights."""
    import onnxruntime

    from sklmlp.onnx import OnnxPredictor, convert

    rng = np.random.default_rng(seed)
    X = rng.random((2000, n_features), dtype=np.float32)
    y = np.arange(2000) % n_classes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = TwoLayerClassifier(hidden_size=hidden, max_iter=2, random_state=0)
        clf.fit(X, y)
        mlp = MLPClassifier(hidden_layer_sizes=(hidden,), max_iter=1, random_state=0)
        mlp.fit(X, y)
    mlp.coefs_ = [W.copy() for W in clf.coefs_]
    mlp.intercepts_ = [b.copy() for b in clf.intercepts_]

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    onnx_model = convert(clf)
    predictor = OnnxPredictor(onnx_model)  # its session, with these threads:
    predictor.session = onnxruntime.InferenceSession(
        onnx_model.SerializeToString(),
        options,
        providers=["CPUExecutionProvider"],
    )
    return clf, mlp, predictor


def check_same_outputs(clf, mlp, predictor, X):
    """The three give the same labels and probabilities (else the timing lies)."""
    reference = clf.predict_proba(X)
    for name, proba in (
        ("MLPClassifier", mlp.predict_proba(X)),
        ("onnxruntime", predictor.predict_proba(X)),
    ):
        gap = np.abs(proba - reference).max()
        if gap > 1e-5:
            raise AssertionError(f"{name}'s probabilities differ by {gap:.2e}")
    if not (predictor.predict(X) == clf.predict(X)).all():
        raise AssertionError("onnxruntime's labels differ from predict's")


def throughput_table(clf, mlp, predictor, X, batches, repeats, budget):
    print("predict_proba, float32: rows per second (ratio to MLPClassifier)")
    print(
        f"{'batch':>7} {'sklmlp':>12} {'onnxruntime':>12} {'MLP':>12}"
        f" {'sklmlp/MLP':>11} {'ort/MLP':>8}"
    )
    rows = {}
    for batch in batches:
        Xb = np.ascontiguousarray(X[:batch])
        seconds = per_call(
            {
                name: partial(model.predict_proba, Xb)
                for name, model in (("sklmlp", clf), ("ort", predictor), ("mlp", mlp))
            },
            repeats,
            budget,
        )
        rate = {name: batch / s for name, s in seconds.items()}
        rows[batch] = rate
        print(
            f"{batch:>7,} {rate['sklmlp']:>12,.0f} {rate['ort']:>12,.0f} "
            f"{rate['mlp']:>12,.0f} {rate['sklmlp'] / rate['mlp']:>11.2f} "
            f"{rate['ort'] / rate['mlp']:>8.2f}"
        )
    return rows


def latency_table(clf, mlp, predictor, x, repeats, budget):
    """One row: predict and predict_proba, and their validation share."""
    from sklmlp._layers import softmax
    from sklmlp._network import forward

    dtype = clf.coefs_[0].dtype
    params = [clf.coefs_[0], clf.intercepts_[0], clf.coefs_[1], clf.intercepts_[1]]
    timed = per_call(
        {
            ("sklmlp", "predict"): partial(clf.predict, x),
            ("sklmlp", "predict_proba"): partial(clf.predict_proba, x),
            # what predict_proba validates, as it calls it
            ("sklmlp", "validation"): partial(
                clf._validate_X, x, dtype=dtype, reset=False
            ),
            ("sklmlp", "network"): lambda: softmax(forward(params, x)),
            ("MLP", "predict"): partial(mlp.predict, x),
            ("MLP", "predict_proba"): partial(mlp.predict_proba, x),
            # the check_input step of MLPClassifier._forward_pass_fast
            ("MLP", "validation"): partial(
                validate_data,
                mlp,
                x,
                accept_sparse=["csr", "csc"],
                dtype=[np.float64, np.float32],
                reset=False,
            ),
            ("MLP", "network"): partial(mlp._forward_pass_fast, x, check_input=False),
            ("onnxruntime", "predict"): partial(predictor.predict, x),
            ("onnxruntime", "predict_proba"): partial(predictor.predict_proba, x),
        },
        repeats,
        budget,
    )
    us = {}
    for (model, what), seconds in timed.items():
        us.setdefault(model, {})[what] = seconds
    print("single row, float32: microseconds per call")
    print(
        f"{'':12} {'predict':>9} {'proba':>9} {'validation':>11} {'network':>9}"
        f" {'validation share of proba':>26}"
    )
    for name, t in us.items():
        if "validation" in t:
            extra = (
                f"{t['validation'] * 1e6:>11.1f} {t['network'] * 1e6:>9.1f} "
                f"{t['validation'] / t['predict_proba']:>26.0%}"
            )
        else:
            extra = f"{'-':>11} {'-':>9} {'-':>26}"
        print(
            f"{name:12} {t['predict'] * 1e6:>9.1f} {t['predict_proba'] * 1e6:>9.1f}"
            f" {extra}"
        )
    ratio = us["sklmlp"]["predict"] / us["MLP"]["predict"]
    print(f"sklmlp predict / MLP predict on one row: {ratio:.2f}")
    with one_row_gemm():
        before = per_call({"gemm": partial(clf.predict, x)}, repeats, budget)["gemm"]
    print(
        f"sklmlp predict on one row with gemm instead of gemv (as before): "
        f"{before * 1e6:.1f} us, {before / us['MLP']['predict']:.2f}x MLP's"
    )
    return us


@contextmanager
def one_row_gemm():
    """Route one-row products through gemm, as before the gemv path existed."""
    import sklmlp._blas as blas

    gemv_path = blas._row_times_matrix

    def gemm(alpha, A, B, beta, C, trans_b):
        result = blas._GEMM[C.dtype](
            alpha, B.T, A.T, beta, C.T, trans_a=trans_b, overwrite_c=True
        )
        if not np.may_share_memory(result, C):
            C[...] = result.T
        return C

    blas._row_times_matrix = gemm
    try:
        yield
    finally:
        blas._row_times_matrix = gemv_path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=500)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="BLAS and onnxruntime threads (default: all cores)",
    )
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes and timings: checks the script runs",
    )
    args = parser.parse_args(argv)
    hidden, batches, repeats, budget = args.hidden, (1, 100, 10_000), args.repeats, 0.1
    if args.smoke:
        hidden, batches, repeats, budget = 16, (1, 10, 100), 2, 0.002
        global PARK
        PARK = 0.0

    import os

    threads = args.threads or os.cpu_count()
    with threadpool_limits(threads):
        clf, mlp, predictor = build_models(hidden, 784, 10, threads)
        X = np.random.default_rng(1).random((max(batches), 784), dtype=np.float32)
        check_same_outputs(clf, mlp, predictor, X)
        print(
            f"784 inputs, hidden {hidden}, 10 classes, float32, {threads} thread(s); "
            f"medians of {repeats} timings"
        )
        throughput_table(clf, mlp, predictor, X, batches, repeats, budget)
        print()
        latency_table(clf, mlp, predictor, X[:1], repeats, budget)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
