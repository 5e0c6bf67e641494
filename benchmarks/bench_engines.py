"""Benchmark: what each speed trick of the training loop buys, per epoch.

Times TwoLayerClassifier epochs (Fashion-MNIST 60,000 x 784 when installed,
else random data; batch 200, SGD with Nesterov momentum, float32 by default)
with the minibatch gradient computed two ways, interleaved, each run in a
fresh process, median of ``--repeats``:

- ``fast``: the training loop as shipped,
  :func:`sklmlp._fastpath.fused_loss_and_grads` (in-place passes, no
  first-layer input gradient, no penalty value per step);
- ``textbook``: :func:`sklmlp._network.loss_and_grads` per minibatch and the
  same optimizer step;
- the fast path with one of its tricks undone: ``input-grad`` (the first
  layer's input gradient computed too, one more product), ``penalty-value``
  (the L2 penalty's value computed every minibatch).

``--other PATH`` adds a third engine: the sklmlp package found under PATH (e.g.
a ``git worktree`` of an older commit), to measure a trick that is no longer
in the code: folding SGD's velocity update into the gradient products
(commit d612533), or reusing preallocated buffers (commit 55af0ca).

``--variants`` (none) with ``--other`` times only the two checkouts, e.g.
to check that a change left the NumPy path's speed alone.

Run by hand: ``python benchmarks/bench_engines.py --threads 1 2``
(``--smoke`` for a seconds-long check of the script itself).
"""

import argparse
import multiprocessing
import sys
import time
import warnings

import numpy as np

HIDDEN, BATCH, LEARNING_RATE, REG = 500, 200, 0.05, 1e-5


def load_data(n_samples, smoke):
    from sklmlp.datasets import load_fashion_mnist

    if not smoke:
        try:
            data = load_fashion_mnist()
            return data.X_train[:n_samples] / 255.0, data.y_train[:n_samples]
        except FileNotFoundError:
            print("Fashion-MNIST is not installed: random data of its shape")
    rng = np.random.RandomState(0)
    return rng.rand(n_samples, 784), rng.randint(0, 10, n_samples)


def textbook_gradient(params, X, y, reg, sample_weight=None):
    """The textbook ``loss_and_grads``, returning the data loss like the fast path."""
    from sklmlp._layers import l2_penalty
    from sklmlp._network import loss_and_grads

    loss, grads = loss_and_grads(params, X, y, reg, sample_weight)
    return loss - l2_penalty([params[0], params[2]], reg)[0], grads


def with_input_gradient(fast):
    """The fast path, plus the first layer's input gradient (one more product)."""
    from sklmlp._blas import gemm

    def gradient(params, X, y, reg, sample_weight=None):
        loss, grads = fast(params, X, y, reg, sample_weight)
        d_hidden = np.ones((X.shape[0], params[0].shape[1]), params[0].dtype)
        gemm(1.0, d_hidden, params[0], 0.0, np.empty(X.shape, X.dtype), trans_b=True)
        return loss, grads

    return gradient


def with_penalty_value(fast):
    """The fast path, plus the L2 penalty's value every minibatch."""

    def gradient(params, X, y, reg, sample_weight=None):
        loss, grads = fast(params, X, y, reg, sample_weight)
        reg * sum(float(np.vdot(W, W)) for W in (params[0], params[2]))
        return loss, grads

    return gradient


# name -> a function of the fast path that returns the variant's gradient
VARIANTS = {
    "textbook": lambda fast: textbook_gradient,
    "input-grad": with_input_gradient,
    "penalty-value": with_penalty_value,
}


def seconds_per_epoch(engine, threads, dtype, hidden, epochs, n_samples, smoke, path):
    """Seconds per epoch of one fit with ``engine`` ('fast', 'other' or a variant)."""
    if engine == "other":
        sys.path.insert(0, path)
    from threadpoolctl import threadpool_limits

    from sklmlp import TwoLayerClassifier

    if engine in VARIANTS:
        import sklmlp._fastpath as module

        fast = module.fused_loss_and_grads
        module.fused_loss_and_grads = VARIANTS[engine](fast)
    X, y = load_data(n_samples, smoke)
    X = X.astype(dtype)
    clf = TwoLayerClassifier(
        hidden_size=hidden,
        solver="sgd",
        learning_rate=LEARNING_RATE,
        reg=REG,
        batch_size=BATCH,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )
    warnings.simplefilter("ignore")
    try:
        with threadpool_limits(threads):
            start = time.perf_counter()
            clf.fit(X, y)
            return (time.perf_counter() - start) / epochs
    finally:  # matters in --smoke mode, which runs in this process
        if engine in VARIANTS:
            module.fused_loss_and_grads = fast


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[2])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--hidden", type=int, default=HIDDEN)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--other", metavar="PATH", help="another sklmlp checkout")
    parser.add_argument(
        "--variants",
        nargs="*",
        choices=list(VARIANTS),
        default=list(VARIANTS),
        help="the variants of the fast path to time (none: only fast and --other)",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny settings")
    args = parser.parse_args(argv)
    n_samples, hidden = 60_000, args.hidden
    if args.smoke:
        n_samples, hidden, args.repeats, args.epochs = 1_000, 16, 1, 1
    engines = ["fast", *args.variants] + (["other"] if args.other else [])
    context = multiprocessing.get_context("spawn")
    print(
        f"hidden {hidden}, {args.dtype}, batch {BATCH}, SGD Nesterov; seconds per "
        f"epoch, median of {args.repeats} interleaved runs in fresh processes"
    )
    for threads in args.threads:
        times = {engine: [] for engine in engines}
        for _ in range(args.repeats):
            for engine in engines:
                task = (engine, threads, args.dtype, hidden, args.epochs, n_samples)
                task += (args.smoke, args.other)
                if args.smoke:
                    times[engine].append(seconds_per_epoch(*task))
                    continue
                with context.Pool(1) as pool:
                    times[engine].append(pool.apply(seconds_per_epoch, task))
        medians = {engine: float(np.median(t)) for engine, t in times.items()}
        print(f"{threads} thread(s): fast {medians['fast']:.3f} s per epoch")
        for engine, seconds in medians.items():
            if engine != "fast":
                ratio = seconds / medians["fast"]
                print(f"  {engine:>14}: {seconds:.3f} s, {ratio:.2f}x fast")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
