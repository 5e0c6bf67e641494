"""Benchmark: seconds per training epoch against MLPClassifier and the GEMM floor.

In one run, interleaved (floor, sklmlp, MLPClassifier, floor, ...), the median
of ``--repeats`` runs of:

- TwoLayerClassifier: SGD, momentum 0.9, Nesterov, batch 200, tol=0;
- MLPClassifier with the same settings (``alpha = 2 * reg * batch_size``,
  which gives the same L2 gradient);
- the GEMM floor: the epoch's five matrix products per minibatch alone, with
  the same shapes and count, into preallocated arrays;

for hidden sizes 100 and 500 in float32 and float64, on Fashion-MNIST's
60,000 training images when installed (else random data of the same shape,
saying so). It then prints the ratios, the peak memory each fit allocates
(tracemalloc) and the peak memory of ``predict_proba`` on 1,000,000 rows.

Each measurement runs in a fresh process (NumPy's and SciPy's OpenBLAS thread
pools would otherwise spin against each other across measurements: sklmlp's
loop uses SciPy's BLAS, MLPClassifier and the floor NumPy's).

Run by hand: ``python benchmarks/bench_epoch.py`` (``--smoke`` for a
seconds-long check of the script itself, in one process).
"""

import argparse
import multiprocessing
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sklmlp import TwoLayerClassifier
from sklmlp.datasets import load_fashion_mnist

BATCH = 200
LEARNING_RATE = 0.05
REG = 1e-5


def load_data(n_samples, smoke):
    if not smoke:
        try:
            data = load_fashion_mnist()
            X, y = data.X_train[:n_samples] / 255.0, data.y_train[:n_samples]
            return X, y, "Fashion-MNIST"
        except FileNotFoundError:
            pass
    rng = np.random.RandomState(0)
    X, y = rng.rand(n_samples, 784), rng.randint(0, 10, n_samples)
    why = "smoke mode" if smoke else "Fashion-MNIST is not installed"
    return X, y, f"random data ({why})"


def sklmlp_model(hidden, epochs):
    return TwoLayerClassifier(
        hidden_size=hidden,
        solver="sgd",
        learning_rate=LEARNING_RATE,
        momentum=0.9,
        nesterov=True,
        reg=REG,
        batch_size=BATCH,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )


def mlp_model(hidden, epochs):
    return MLPClassifier(
        hidden_layer_sizes=(hidden,),
        solver="sgd",
        learning_rate_init=LEARNING_RATE,
        momentum=0.9,
        nesterovs_momentum=True,
        alpha=2 * REG * BATCH,
        batch_size=BATCH,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )


def gemm_floor(X, hidden, n_classes, epochs):
    """Seconds for the epoch's matrix products alone (per epoch)."""
    n_features, dtype = X.shape[1], X.dtype
    rng = np.random.RandomState(0)
    W1 = rng.rand(n_features, hidden).astype(dtype)
    W2 = rng.rand(hidden, n_classes).astype(dtype)
    h = np.empty((BATCH, hidden), dtype)
    s = np.empty((BATCH, n_classes), dtype)
    dh = np.empty((BATCH, hidden), dtype)
    dW1, dW2 = np.empty_like(W1), np.empty_like(W2)
    n_batches = X.shape[0] // BATCH
    start = time.perf_counter()
    for _ in range(epochs):
        for i in range(n_batches):
            Xb = X[i * BATCH : (i + 1) * BATCH]
            np.matmul(Xb, W1, out=h)  # forward, layer 1
            np.matmul(h, W2, out=s)  # forward, layer 2
            np.matmul(h.T, s, out=dW2)  # dW2
            np.matmul(s, W2.T, out=dh)  # d_hidden
            np.matmul(Xb.T, dh, out=dW1)  # dW1
    return (time.perf_counter() - start) / epochs


def fit_seconds(model, X, y, epochs):
    start = time.perf_counter()
    model.fit(X, y)
    return (time.perf_counter() - start) / epochs


def peak_mib(function):
    """Peak memory (MiB) that ``function`` allocates, by tracemalloc."""
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def measure(kind, hidden, dtype, epochs, data):
    """Seconds per epoch of one kind of run, and the peak MiB its fit allocates.

    ``data`` is ``(X, y)`` or the path of an ``.npz`` file holding them.
    """
    warnings.simplefilter("ignore", ConvergenceWarning)
    if isinstance(data, (str, Path)):
        with np.load(data) as npz:
            data = npz["X"], npz["y"]
    X, y = data[0].astype(dtype), data[1]
    if kind == "floor":
        return gemm_floor(X, hidden, 10, epochs), None
    make = sklmlp_model if kind == "sklmlp" else mlp_model
    seconds = fit_seconds(make(hidden, epochs), X, y, epochs)
    return seconds, peak_mib(lambda: make(hidden, 1).fit(X, y))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per timed fit")
    parser.add_argument("--hidden", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--predict-rows", type=int, default=1_000_000)
    parser.add_argument("--smoke", action="store_true", help="tiny settings")
    args = parser.parse_args(argv)
    n_samples = 60_000
    if args.smoke:
        n_samples, args.repeats, args.epochs = 2_000, 1, 1
        args.hidden, args.predict_rows = [16], 20_000

    X64, y, name = load_data(n_samples, args.smoke)
    print(f"data: {name}, {X64.shape[0]} x {X64.shape[1]}; batch {BATCH}, sgd, ")
    print(f"momentum 0.9, Nesterov; median of {args.repeats} interleaved runs")
    header = (
        f"{'hidden':>6} {'dtype':>7} {'floor s':>8} {'sklmlp s':>9} {'MLP s':>7} "
        f"{'sklmlp/floor':>12} {'sklmlp/MLP':>10} {'sklmlp MiB':>10} {'MLP MiB':>8}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        if args.smoke:
            data = (X64, y)

            def run(*task):
                return measure(*task)

        else:
            data = Path(tmp) / "data.npz"
            np.savez(data, X=X64, y=y)
            context = multiprocessing.get_context("spawn")

            def run(*task):
                with context.Pool(1) as pool:
                    return pool.apply(measure, task)

        print(header)
        print("-" * len(header))
        for hidden in args.hidden:
            for dtype in (np.float32, np.float64):
                times = {"floor": [], "sklmlp": [], "mlp": []}
                peaks = {}
                for _ in range(args.repeats):
                    for kind in times:
                        seconds, peak = run(kind, hidden, dtype, args.epochs, data)
                        times[kind].append(seconds)
                        peaks[kind] = peak
                floor, ours, mlp = (float(np.median(times[k])) for k in times)
                print(
                    f"{hidden:>6} {np.dtype(dtype).name:>7} {floor:>8.3f} "
                    f"{ours:>9.3f} {mlp:>7.3f} {ours / floor:>12.2f} "
                    f"{ours / mlp:>10.2f} {peaks['sklmlp']:>10.1f} {peaks['mlp']:>8.1f}"
                )
    print(
        f"(MiB: peak allocation of a 1-epoch fit, beyond the data itself: "
        f"{X64.astype(np.float32).nbytes / 2**20:.0f} MiB in float32)"
    )

    warnings.simplefilter("ignore", ConvergenceWarning)
    model = sklmlp_model(args.hidden[-1], 1).fit(X64.astype(np.float32), y)
    reps = -(-args.predict_rows // X64.shape[0])
    X_big = np.tile(X64.astype(np.float32), (reps, 1))[: args.predict_rows]
    mib = peak_mib(lambda: model.predict_proba(X_big))
    output_mib = args.predict_rows * 10 * 4 / 2**20
    print(
        f"predict_proba on {args.predict_rows:,} rows (float32 input of "
        f"{X_big.nbytes / 2**20:.0f} MiB): peak allocation {mib:.1f} MiB, of which "
        f"the output is {output_mib:.1f} MiB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
