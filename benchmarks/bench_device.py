"""Benchmark: seconds per epoch of the same network on NumPy, PyTorch and CuPy.

TwoLayerClassifier trains on Fashion-MNIST's 60,000 standardised float32
images (hidden 500 and 2048, batch 200 and 2000; ``--hidden``, ``--batch``)
with each backend that can run here:

- ``numpy``: NumPy arrays, SciPy's BLAS (the in-place fast path);
- ``torch-cpu``: PyTorch CPU tensors, through scikit-learn's Array API
  dispatch (the textbook layers in PyTorch);
- ``torch-cuda``: PyTorch tensors on the GPU, when CUDA is available;
- ``cupy``: CuPy arrays, when CuPy and a GPU are available.

Every backend starts from the same weights and visits the rows in the same
order (NumPy's generator draws both), so after ``--epochs`` epochs the test
accuracies agree; the table prints them next to the seconds per epoch, with
the ratio to NumPy. The first epoch of each fit (CUDA context, kernel
caches) is timed apart and left out. The goal for a GPU: an epoch of hidden
2048, batch 2000 in under 0.05 s.

Needs the ``array-api`` extra (array-api-compat) and SciPy >= 1.14; sets
``SCIPY_ARRAY_API=1`` itself. On a machine without a package index, the
pure-Python wheels (array-api-compat, sklmlp) and Fashion-MNIST's four
``.gz`` files travel with it: ``--data-home DIR``.

Run by hand: ``python benchmarks/bench_device.py`` (``--smoke`` for a
seconds-long check of the script itself on random data).
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")  # before SciPy is imported

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from sklmlp import TwoLayerClassifier  # noqa: E402
from sklmlp.datasets import load_fashion_mnist  # noqa: E402

LEARNING_RATE = 0.01
GOAL_SECONDS = 0.05  # hidden 2048, batch 2000, on a GPU


def backends():
    """The backends that can run here: name -> (to_array, synchronize)."""
    found = {"numpy": (lambda a: a, lambda: None)}
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        found["torch-cpu"] = (lambda a: torch.asarray(a), lambda: None)
        if torch.cuda.is_available():
            found["torch-cuda"] = (
                lambda a: torch.asarray(a, device="cuda"),
                torch.cuda.synchronize,
            )
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            found["cupy"] = (
                cupy.asarray,
                lambda: cupy.cuda.Stream.null.synchronize(),
            )
    except Exception:  # no CuPy, or CuPy without a usable GPU
        pass
    return found


def load(data_home, smoke):
    """Standardised float32 train/test rows (random ones with --smoke)."""
    if smoke:
        rng = np.random.default_rng(0)
        X_train = rng.random((600, 784), dtype=np.float32)
        X_test = rng.random((200, 784), dtype=np.float32)
        y_train, y_test = np.arange(600) % 10, np.arange(200) % 10
        source = "random data (--smoke)"
    else:
        X_train, X_test, y_train, y_test = load_fashion_mnist(
            data_home, return_X_y=True
        )
        source = "Fashion-MNIST"
    mean, std = X_train.mean(axis=0), X_train.std(axis=0) + 1e-3
    X_train = ((X_train - mean) / std).astype(np.float32)
    X_test = ((X_test - mean) / std).astype(np.float32)
    return X_train, X_test, y_train, y_test, source


def measure(backend, hidden, batch, epochs, data, numpy_backend):
    """(seconds of the first epoch, seconds per later epoch, test accuracy)."""
    to_array, synchronize = backend
    X_train, X_test, y_train, y_test = (to_array(a) for a in data)
    clf = TwoLayerClassifier(
        hidden_size=hidden,
        batch_size=batch,
        learning_rate=LEARNING_RATE,
        max_iter=1,
        tol=0.0,
        random_state=0,
        warm_start=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # NumPy needs no dispatch (and runs where SciPy is too old for it)
        dispatch = sklearn.config_context(array_api_dispatch=numpy_backend is False)
        with dispatch:
            synchronize()
            start = time.perf_counter()
            clf.fit(X_train, y_train)  # epoch 1: warm-up, timed apart
            synchronize()
            first = time.perf_counter() - start
            clf.set_params(max_iter=epochs - 1)
            start = time.perf_counter()
            clf.fit(X_train, y_train)  # warm start: epochs 2..epochs
            synchronize()
            later = (time.perf_counter() - start) / (epochs - 1)
            accuracy = clf.score(X_test, y_test)
    return first, later, accuracy


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[500, 2048])
    parser.add_argument("--batch", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--epochs", type=int, default=4, help="at least 2")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads of BLAS and PyTorch (default: all)",
    )
    parser.add_argument(
        "--backends",
        nargs="+",
        default=None,
        help="a subset of numpy torch-cpu torch-cuda cupy",
    )
    parser.add_argument(
        "--data-home", default=None, help="folder of Fashion-MNIST's four .gz files"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="random data, tiny sizes: checks the script runs",
    )
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first is timed apart)")
    if args.smoke:
        args.hidden, args.batch, args.epochs = [16], [50, 200], 2

    available = backends()
    chosen = args.backends or list(available)
    missing = [name for name in chosen if name not in available]
    if missing:
        print(f"not available here, skipped: {', '.join(missing)}")
    chosen = [name for name in chosen if name in available]
    threads = args.threads or os.cpu_count()
    if "torch-cpu" in available:
        import torch

        torch.set_num_threads(threads)
        versions = f"PyTorch {torch.__version__}"
    else:
        versions = "PyTorch not installed"
    gpu = [name for name in chosen if name in ("torch-cuda", "cupy")]
    X_train, X_test, y_train, y_test, source = load(args.data_home, args.smoke)
    print(
        f"{source}: {len(y_train)} training rows, float32, {args.epochs} epochs "
        f"(the first timed apart), {threads} CPU thread(s); {versions}; "
        f"GPU: {'yes (' + ', '.join(gpu) + ')' if gpu else 'none found'}"
    )
    header = (
        f"{'hidden':>6} {'batch':>5} {'backend':<10} {'1st epoch s':>11} "
        f"{'s/epoch':>8} {'/numpy':>7} {'test acc':>8}"
    )
    print(header)
    results = {}
    with threadpool_limits(threads):
        for hidden in args.hidden:
            for batch in args.batch:
                for name in chosen:
                    first, later, accuracy = measure(
                        available[name],
                        hidden,
                        batch,
                        args.epochs,
                        (X_train, X_test, y_train, y_test),
                        numpy_backend=name == "numpy",
                    )
                    results[hidden, batch, name] = (later, accuracy)
                    base = results.get((hidden, batch, "numpy"))
                    ratio = f"{later / base[0]:>7.2f}" if base else f"{'-':>7}"
                    print(
                        f"{hidden:>6} {batch:>5} {name:<10} {first:>11.3f} "
                        f"{later:>8.3f} {ratio} {accuracy:>8.4f}"
                    )
    gaps = []
    for hidden in args.hidden:
        for batch in args.batch:
            same = [results[hidden, batch, name][1] for name in chosen]
            gaps.append(max(same) - min(same))
    print(
        "largest test-accuracy gap between backends of one configuration: "
        f"{max(gaps):.4f}"
    )
    goal = [
        (name, results[2048, 2000, name][0])
        for name in gpu
        if (2048, 2000, name) in results
    ]
    if goal:
        for name, seconds in goal:
            verdict = "met" if seconds < GOAL_SECONDS else "not met"
            print(
                f"goal: hidden 2048, batch 2000 on {name} under {GOAL_SECONDS} s "
                f"per epoch: {seconds:.3f} s, {verdict}"
            )
    else:
        print(
            "goal (hidden 2048, batch 2000 under 0.05 s per epoch on a GPU): "
            "not measured, no GPU here"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
