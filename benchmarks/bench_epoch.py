"""Benchmark: seconds per training epoch against MLPClassifier, PyTorch and the floor.

In one run, interleaved (floor, sklmlp, MLPClassifier, PyTorch, skorch, floor,
...), the median of ``--repeats`` runs of:

- TwoLayerClassifier: SGD, momentum 0.9, Nesterov, batch 200, tol=0;
- MLPClassifier with the same settings (``alpha = 2 * reg * batch_size``,
  which gives the same L2 gradient);
- a plain PyTorch loop: ``nn.Sequential(Linear, ReLU, Linear)``, ``optim.SGD``
  with the same momentum and ``weight_decay = 2 * reg`` on the weights only
  (the gradient of sklmlp's ``reg * sum(W**2)``), ``nn.CrossEntropyLoss``, a
  shuffled permutation indexed per batch, in the row's dtype;
- skorch's ``NeuralNetClassifier`` over the same module and optimizer
  (``train_split=None``, shuffled batches);
- the GEMM floor: the epoch's five matrix products per minibatch alone, with
  the same shapes and count, into preallocated arrays;

for hidden sizes 100 and 500 (``--hidden``) in float32 and float64
(``--dtype``), at each BLAS thread count of ``--threads`` (default: all
cores), on Fashion-MNIST's 60,000 training images when installed (else random
data of the same shape, saying so). The PyTorch loop and skorch run when they
can be imported; otherwise one line says so and the rest is measured.

It prints the seconds, sklmlp's ratio to each of the others, the peak memory
each fit allocates (tracemalloc), the project's speed goals with the measured
ratio and whether each is met (for the rows measured), and the peak memory of
``predict_proba`` on 1,000,000 rows.

Each measurement runs in a fresh process (NumPy's and SciPy's OpenBLAS thread
pools would otherwise spin against each other across measurements: sklmlp's
loop uses SciPy's BLAS, MLPClassifier and the floor NumPy's), whose BLAS,
OpenMP and torch threads are limited to the row's count before any work.

Run by hand: ``python benchmarks/bench_epoch.py --threads 1 2`` (``--smoke``
for a seconds-long check of the script itself, in one process).
"""

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
import tracemalloc
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from sklmlp import TwoLayerClassifier
from sklmlp.datasets import load_fashion_mnist

BATCH = 200
LEARNING_RATE = 0.05
REG = 1e-5
KINDS = ("floor", "sklmlp", "mlp", "torch", "skorch")
LABELS = dict(floor="floor", sklmlp="sklmlp", mlp="MLP", torch="torch", skorch="skorch")

# (threads, hidden, dtype, peer, most): in the rows that match (None matches
# any), sklmlp's epoch takes at most ``most`` times the peer's.
GOALS = [
    (2, 500, "float32", "floor", 1.35),
    (2, 500, "float64", "floor", 1.30),
    (2, 100, "float32", "floor", 1.8),
    (1, 500, "float32", "floor", 1.25),
    (1, 500, "float32", "torch", 0.80),
    (2, 500, "float32", "torch", 0.80),
    (None, None, None, "mlp", 0.50),
]


def load_data(n_samples, smoke):
    if not smoke:
        try:
            data = load_fashion_mnist()
            X, y = data.X_train[:n_samples] / 255.0, data.y_train[:n_samples]
            return X, y.astype(np.int64), "Fashion-MNIST"
        except FileNotFoundError:
            pass
    rng = np.random.RandomState(0)
    X, y = rng.rand(n_samples, 784), rng.randint(0, 10, n_samples).astype(np.int64)
    why = "smoke mode" if smoke else "Fashion-MNIST is not installed"
    return X, y, f"random data ({why})"


def torch_peers():
    """The PyTorch-based kinds that can run here, and a line saying which."""
    try:
        import torch
    except ImportError:
        return (), "PyTorch is not installed: measuring without PyTorch and skorch"
    try:
        import skorch
    except ImportError:
        return ("torch",), f"PyTorch {torch.__version__}; skorch is not installed"
    versions = f"PyTorch {torch.__version__}, skorch {skorch.__version__}"
    return ("torch", "skorch"), versions


@contextmanager
def limit_threads(threads):
    """Limit BLAS and OpenMP pools (and torch's, if imported) to ``threads``."""
    torch = sys.modules.get("torch")
    previous = torch.get_num_threads() if torch else None
    with threadpool_limits(limits=threads):
        if torch:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            if torch:
                torch.set_num_threads(previous)


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


def torch_module(n_features, hidden, n_classes, dtype):
    from torch import nn

    module = nn.Sequential(
        nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_classes)
    )
    return module.to(dtype)


def torch_seconds(X, y, hidden, epochs):
    """Seconds per epoch of a plain PyTorch loop with sklmlp's settings."""
    import torch

    torch.manual_seed(0)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    module = torch_module(X.shape[1], hidden, int(y.max()) + 1, X_t.dtype)
    # sklmlp's penalty reg * sum(W**2) has the gradient 2 * reg * W, weights only.
    weights = [p for name, p in module.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in module.named_parameters() if name.endswith("bias")]
    optimizer = torch.optim.SGD(
        [{"params": weights, "weight_decay": 2 * REG}, {"params": biases}],
        lr=LEARNING_RATE,
        momentum=0.9,
        nesterov=True,
    )
    criterion = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(X_t))
        for i in range(0, len(X_t), BATCH):
            rows = order[i : i + BATCH]
            optimizer.zero_grad()
            criterion(module(X_t[rows]), y_t[rows]).backward()
            optimizer.step()
    return (time.perf_counter() - start) / epochs


def skorch_model(X, y, hidden, epochs):
    import torch
    from skorch import NeuralNetClassifier

    torch.manual_seed(0)
    dtype = torch.from_numpy(X[:1]).dtype
    return NeuralNetClassifier(
        torch_module(X.shape[1], hidden, int(y.max()) + 1, dtype),
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.SGD,
        lr=LEARNING_RATE,
        optimizer__momentum=0.9,
        optimizer__nesterov=True,
        optimizer__param_groups=[("*weight", {"weight_decay": 2 * REG})],
        batch_size=BATCH,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
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


def measure(kind, threads, hidden, dtype, epochs, data):
    """Seconds per epoch of one kind of run, and the peak MiB its fit allocates.

    ``data`` is ``(X, y)`` or the path of an ``.npz`` file holding them. The
    peak is None for the floor and the PyTorch-based kinds (tracemalloc does
    not see torch's allocator).
    """
    warnings.simplefilter("ignore", ConvergenceWarning)
    if kind in ("torch", "skorch"):
        import torch  # noqa: F401  (loaded before the limit, so that it applies)
    if isinstance(data, (str, Path)):
        with np.load(data) as npz:
            data = npz["X"], npz["y"]
    X, y = data[0].astype(dtype), data[1]
    with limit_threads(threads):
        if kind == "floor":
            return gemm_floor(X, hidden, int(y.max()) + 1, epochs), None
        if kind == "torch":
            return torch_seconds(X, y, hidden, epochs), None
        if kind == "skorch":
            return fit_seconds(skorch_model(X, y, hidden, epochs), X, y, epochs), None
        make = sklmlp_model if kind == "sklmlp" else mlp_model
        seconds = fit_seconds(make(hidden, epochs), X, y, epochs)
        return seconds, peak_mib(lambda: make(hidden, 1).fit(X, y))


def goal_lines(results):
    """One line per goal and measured row: the goal, the ratio, met or not.

    ``results`` maps ``(threads, hidden, dtype name)`` to ``{kind: seconds}``.
    """
    lines = []
    for *where, peer, most in GOALS:
        for row, seconds in results.items():
            matches = all(w is None or w == r for w, r in zip(where, row, strict=True))
            if not matches or seconds.get(peer) is None:
                continue
            threads, hidden, dtype = row
            ratio = seconds["sklmlp"] / seconds[peer]
            goal = (
                f"sklmlp/{LABELS[peer]} <= {most:.2f} ({threads} thread"
                f"{'s' * (threads != 1)}, hidden {hidden}, {dtype})"
            )
            lines.append(
                f"{goal:<52} {ratio:>6.2f}  {'met' if ratio <= most else 'not met'}"
            )
    return lines


def print_goals(results):
    print("goals: sklmlp's epoch time over the other's; measured ratio; verdict")
    lines = goal_lines(results)
    for line in lines:
        print(f"  {line}")
    if not lines:
        print("  no measured row matches a goal (they need hidden 100 or 500)")


# Columns of the table: (title, width, digits, value of a row's figures).
RATIOS = ("floor", "mlp", "torch", "skorch")
COLUMNS = [
    *((f"{LABELS[k]} s", len(LABELS[k]) + 3, 3, k) for k in KINDS),
    *((f"sklmlp/{LABELS[k]}", len(LABELS[k]) + 8, 2, f"/{k}") for k in RATIOS),
    ("sklmlp MiB", 10, 1, "MiB sklmlp"),
    ("MLP MiB", 8, 1, "MiB mlp"),
]


def table_row(threads, hidden, dtype, figures):
    """A row of the table; ``figures`` maps column keys to numbers or None."""
    cells = [f"{threads:>7} {hidden:>6} {dtype:>7}"]
    for _, width, digits, key in COLUMNS:
        value = figures.get(key)
        cells.append(
            f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"
        )
    return " ".join(cells)


def table_header():
    titles = " ".join(f"{title:>{width}}" for title, width, _, _ in COLUMNS)
    return f"{'threads':>7} {'hidden':>6} {'dtype':>7} {titles}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per timed fit")
    parser.add_argument(
        "--hidden", type=int, nargs="+", help="hidden sizes (default: 100 500)"
    )
    parser.add_argument(
        "--dtype",
        nargs="+",
        choices=["float32", "float64"],
        default=["float32", "float64"],
    )
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=[len(os.sched_getaffinity(0))],
        help="BLAS and torch threads per process, a set of rows each "
        "(default: all cores)",
    )
    parser.add_argument("--predict-rows", type=int, default=1_000_000)
    parser.add_argument("--smoke", action="store_true", help="tiny settings")
    args = parser.parse_args(argv)
    n_samples = 60_000
    if args.smoke:
        n_samples, args.repeats, args.epochs, args.predict_rows = 2_000, 1, 1, 20_000
    hidden_sizes = args.hidden or ([16] if args.smoke else [100, 500])

    X64, y, name = load_data(n_samples, args.smoke)
    peers, peers_line = torch_peers()
    kinds = ("floor", "sklmlp", "mlp", *peers)
    print(f"data: {name}, {X64.shape[0]} x {X64.shape[1]}; batch {BATCH}, sgd,")
    print(f"momentum 0.9, Nesterov; median of {args.repeats} interleaved runs")
    print(peers_line)
    results = {}
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

        header = table_header()
        print(header)
        print("-" * len(header))
        for threads in args.threads:
            for hidden in hidden_sizes:
                for dtype in args.dtype:
                    times = {kind: [] for kind in kinds}
                    figures = {}
                    for _ in range(args.repeats):
                        for kind in kinds:
                            seconds, peak = run(
                                kind, threads, hidden, dtype, args.epochs, data
                            )
                            times[kind].append(seconds)
                            figures[f"MiB {kind}"] = peak
                    seconds = {k: float(np.median(v)) for k, v in times.items()}
                    results[threads, hidden, dtype] = seconds
                    figures.update(seconds)
                    figures.update(
                        {f"/{k}": seconds["sklmlp"] / seconds[k] for k in seconds}
                    )
                    print(table_row(threads, hidden, dtype, figures))
    print(
        f"(MiB: peak allocation of a 1-epoch fit, beyond the data itself: "
        f"{X64.astype(np.float32).nbytes / 2**20:.0f} MiB in float32)"
    )
    print_goals(results)

    warnings.simplefilter("ignore", ConvergenceWarning)
    model = sklmlp_model(hidden_sizes[-1], 1).fit(X64.astype(np.float32), y)
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
