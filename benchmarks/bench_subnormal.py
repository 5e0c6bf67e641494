"""Benchmark: epochs do not slow down as training proceeds (subnormal floats).

The goal: no configuration in the default search space
(:func:`sklmlp.search.default_search_space`, solver 'adam') runs any epoch more
than 1.2x slower than its first epochs, and none is more than 1.5x slower per
epoch than the median configuration of the same hidden size. Arithmetic on
subnormal floats costs about 100 cycles an element on x86, so weights or
optimizer state that decay into them slow every later epoch.

With one BLAS thread (what each fit of a search gets), on 20,000 standardised
Fashion-MNIST training rows (random data when it is not installed, saying
so), for hidden size 300, this trains each of:

- Adam at the corners of the space's learning rate and reg, and at reg 0.01
  and 0.08 (0.01 with learning rate 3e-2 is the known bad case);
- Adam at a few random draws of learning rate and reg (``--seed``);
- SGD with Nesterov momentum at learning rate 3e-2, reg 0.01 and 0.1;

for 15 epochs, each in a fresh process, timing every epoch of one fit through
scikit-learn's callback API (or, on scikit-learn < 1.9, one ``partial_fit``
per epoch). Per configuration it prints the median of the first 3 epochs, the
slowest later epoch, their ratio (goal <= 1.2), the median epoch over the
median configuration of its solver and hidden size (goal <= 1.5), and how many
entries of the fitted weights and of the optimizer state are subnormal; then
a summary line.

Run by hand: ``python benchmarks/bench_subnormal.py`` (``--smoke`` for a
seconds-long check of the script itself, in one process).
"""

import argparse
import multiprocessing
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklmlp import TwoLayerClassifier
from sklmlp.datasets import load_fashion_mnist
from sklmlp.search import default_search_space

FIRST_EPOCHS = 3
MAX_SLOWDOWN = 1.2
MAX_VS_MEDIAN = 1.5


def load_data(n_samples, smoke):
    """Standardised float32 rows and labels, and the data's name."""
    X, y, name = None, None, "Fashion-MNIST"
    if not smoke:
        try:
            data = load_fashion_mnist()
            X, y = data.X_train[:n_samples], data.y_train[:n_samples]
        except FileNotFoundError:
            name = "random data (Fashion-MNIST is not installed)"
    if X is None:
        rng = np.random.RandomState(0)
        X, y = rng.rand(n_samples, 784), rng.randint(0, 10, n_samples)
        name = "random data (smoke mode)" if smoke else name
    X = StandardScaler().fit_transform(X.astype(np.float32))
    return X, y.astype(np.int64), name


def configurations(hidden_sizes, n_draws, seed):
    """``(solver, hidden_size, learning_rate, reg)`` of every run.

    The corners of the default space's step and penalty ranges, random draws
    from it, and, outside it, the cases where the slowdown was first seen
    (Adam with step 3e-2 and penalties 0.01-0.1, SGD with step 3e-2).
    """
    space = default_search_space()
    rng = np.random.RandomState(seed)
    rates = space["learning_rate"].rvs(n_draws, random_state=rng)
    regs = space["reg"].rvs(n_draws, random_state=rng)
    rate_range = space["learning_rate"].support()
    reg_range = space["reg"].support()
    configs = []
    for hidden in hidden_sizes:
        for reg in reg_range:
            for learning_rate in rate_range:
                configs.append(("adam", hidden, float(learning_rate), float(reg)))
        for learning_rate, reg in zip(rates, regs, strict=True):
            configs.append(("adam", hidden, float(learning_rate), float(reg)))
        for reg in (0.01, 0.08, 0.1):
            configs.append(("adam", hidden, 3e-2, reg))
        configs += [("sgd", hidden, 3e-2, 0.01), ("sgd", hidden, 3e-2, 0.1)]
    return configs


def in_default_space(config):
    """Whether a configuration's step and penalty lie in the default space."""
    space = default_search_space()
    _, _, learning_rate, reg = config
    low, high = space["learning_rate"].support()
    reg_low, reg_high = space["reg"].support()
    return low <= learning_rate <= high and reg_low <= reg <= reg_high


class EpochTimer:
    """Seconds of each epoch of a fit, from scikit-learn's callback hooks.

    The estimator reports its fit as a task whose direct subtasks are the
    epochs; hooks without keyword arguments make it build nothing for us.
    """

    def __init__(self):
        self.seconds, self._starts = [], []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        self._starts.append(time.perf_counter())

    def on_fit_task_end(self, estimator, context):
        start = self._starts.pop()
        if len(self._starts) == 1:  # a direct subtask of the fit: an epoch
            self.seconds.append(time.perf_counter() - start)


def subnormal_count(arrays):
    """Entries with ``0 < |x| < tiny`` over floating arrays."""
    count = 0
    for array in arrays:
        if isinstance(array, np.ndarray) and array.dtype.kind == "f":
            magnitude = np.abs(array)
            tiny = np.finfo(array.dtype).tiny
            count += int(np.count_nonzero((magnitude > 0) & (magnitude < tiny)))
    return count


def optimizer_arrays(model):
    """The arrays the model's optimizer keeps between steps, if it says which."""
    optimizer = getattr(model, "_optimizer", None)
    yield from (optimizer.state() if hasattr(optimizer, "state") else [])


def epoch_seconds(config, epochs, threads, method, data):
    """Train one configuration; return its epoch times and diagnostics.

    ``data`` is ``(X, y)`` or the path of an ``.npz`` file holding them.
    Returns ``(seconds, error, weight subnormals, optimizer subnormals)``;
    ``error`` says why training stopped early (a divergence), or is None.
    """
    warnings.simplefilter("ignore", ConvergenceWarning)
    if isinstance(data, (str, Path)):
        with np.load(data) as npz:
            data = npz["X"], npz["y"]
    X, y = data
    solver, hidden, learning_rate, reg = config
    model = TwoLayerClassifier(
        hidden_size=hidden,
        solver=solver,
        learning_rate=learning_rate,
        reg=reg,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
        verbose=0,
    )
    if method == "auto":
        method = "callbacks" if hasattr(model, "set_callbacks") else "partial_fit"
    seconds, error = [], None
    with threadpool_limits(limits=threads):
        try:
            if method == "callbacks":
                timer = EpochTimer()
                model.set_callbacks(timer)
                seconds = timer.seconds
                model.fit(X, y)
            else:
                classes = np.unique(y)
                for _ in range(epochs):
                    start = time.perf_counter()
                    model.partial_fit(X, y, classes=classes)
                    seconds.append(time.perf_counter() - start)
        except ValueError as exc:  # divergence: keep the epochs that finished
            error = str(exc).split(":")[0]
    weights = [*getattr(model, "coefs_", []), *getattr(model, "intercepts_", [])]
    state = list(optimizer_arrays(model))
    return (
        seconds,
        error,
        subnormal_count(weights),
        subnormal_count(state) if state else None,
    )


def summarise(runs):
    """Per run: first epochs' median, slowest later epoch, both ratios, verdict.

    ``runs`` maps configurations to :func:`epoch_seconds` results. The
    reference of each run is the median, over the runs of the same solver and
    hidden size that ran more than ``FIRST_EPOCHS`` epochs, of their median
    epochs; shorter runs (divergences) get None.
    """
    medians = {
        config: float(np.median(seconds))
        for config, (seconds, *_) in runs.items()
        if len(seconds) > FIRST_EPOCHS
    }
    reference = {}
    for (solver, hidden, *_), median in medians.items():
        reference.setdefault((solver, hidden), []).append(median)
    rows = {}
    for config, (seconds, *_) in runs.items():
        if config not in medians:
            rows[config] = None
            continue
        first = float(np.median(seconds[:FIRST_EPOCHS]))
        later = max(seconds[FIRST_EPOCHS:])
        vs_median = medians[config] / np.median(reference[config[:2]])
        met = later / first <= MAX_SLOWDOWN and vs_median <= MAX_VS_MEDIAN
        rows[config] = (first, later, later / first, vs_median, met)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--hidden", type=int, nargs="+", default=[300])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--draws", type=int, default=4, help="random Adam configs")
    parser.add_argument("--seed", type=int, default=0, help="seeds the draws")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument(
        "--method",
        choices=["auto", "callbacks", "partial_fit"],
        default="auto",
        help="how epochs are timed (auto: callbacks where scikit-learn has them)",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny settings")
    args = parser.parse_args(argv)
    if args.smoke:
        args.samples, args.hidden, args.epochs, args.draws = 600, [16], 5, 2
    if args.epochs <= FIRST_EPOCHS:
        parser.error(f"--epochs must be more than {FIRST_EPOCHS}")

    X, y, name = load_data(args.samples, args.smoke)
    configs = configurations(args.hidden, args.draws, args.seed)
    print(f"data: {name}, {X.shape[0]} x {X.shape[1]}, standardised, float32")
    print(
        f"{args.epochs} epochs per configuration, batch 200, {args.threads} BLAS "
        f"thread(s), each in {'this process' if args.smoke else 'a fresh process'}"
    )
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.smoke:
            data = (X, y)

            def run(*task):
                return epoch_seconds(*task)

        else:
            data = Path(tmp) / "data.npz"
            np.savez(data, X=X, y=y)
            context = multiprocessing.get_context("spawn")

            def run(*task):
                with context.Pool(1) as pool:
                    return pool.apply(epoch_seconds, task)

        for config in configs:
            runs[config] = run(config, args.epochs, args.threads, args.method, data)
    rows = summarise(runs)

    header = (
        f"{'solver':>6} {'hidden':>6} {'lr':>8} {'reg':>8} {'first s':>8} "
        f"{'max later s':>11} {'later/first':>11} {'vs median':>9} "
        f"{'subnormal W,b':>13} {'subnormal opt':>13} {'space':>5}  goals"
    )
    print(header)
    print("-" * len(header))
    for config, (seconds, error, weights, state) in runs.items():
        solver, hidden, learning_rate, reg = config
        cells = f"{solver:>6} {hidden:>6} {learning_rate:>8.2g} {reg:>8.2g} "
        counts = f"{weights:>13} {'-' if state is None else state:>13}"
        counts += f" {'in' if in_default_space(config) else 'out':>5}"
        if rows[config] is None:
            print(f"{cells}{'-':>8} {'-':>11} {'-':>11} {'-':>9} {counts}  {error}")
            continue
        first, later, slowdown, vs_median, met = rows[config]
        note = f" ({error} after {len(seconds)} epochs)" if error else ""
        print(
            f"{cells}{first:>8.3f} {later:>11.3f} {slowdown:>11.2f} "
            f"{vs_median:>9.2f} {counts}  {'met' if met else 'not met'}{note}"
        )
    measured = {c: r for c, r in rows.items() if r is not None}
    if len(measured) < len(runs):
        print(f"{len(runs) - len(measured)} configuration(s) stopped too early")
    if not measured:
        print("summary: no configuration ran enough epochs to judge")
        return 0
    met = sum(row[4] for row in measured.values())
    inside = [c for c in measured if in_default_space(c)]
    print(
        f"in the default search space: {sum(measured[c][4] for c in inside)} of "
        f"{len(inside)} configurations meet both goals"
    )
    worst_slowdown = max(measured, key=lambda c: measured[c][2])
    worst_median = max(measured, key=lambda c: measured[c][3])
    print(
        f"summary: {met} of {len(measured)} configurations meet both goals "
        f"(later/first <= {MAX_SLOWDOWN}, vs median <= {MAX_VS_MEDIAN})"
    )
    print(
        f"  worst later/first {measured[worst_slowdown][2]:.2f}: "
        f"{describe(worst_slowdown)}"
    )
    print(
        f"  worst vs median {measured[worst_median][3]:.2f}: {describe(worst_median)}"
    )
    return 0


def describe(config):
    solver, hidden, learning_rate, reg = config
    return f"{solver}, hidden {hidden}, lr {learning_rate:.2g}, reg {reg:.2g}"


if __name__ == "__main__":
    raise SystemExit(main())
