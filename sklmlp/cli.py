"""Command-line front end: ``sklmlp`` or ``python -m sklmlp``.

``sklmlp tune`` (the default command) replaces the hand-written tuning loop of
the exercise this package descends from with a parallel random or
successive-halving search; ``sklmlp fit`` trains one configuration and
``sklmlp evaluate`` scores a saved model. It uses only the public API of
:mod:`sklmlp`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklmlp import TwoLayerClassifier, __version__
from sklmlp.datasets import DATA_FILE_SUFFIXES, DATA_SET_NAMES, load_dataset
from sklmlp.search import (
    check_search_data,
    expected_fits,
    format_cv_results,
    make_search,
    parallel_backend,
    search_progress,
    write_cv_results,
)

STEP = "clf"
MODEL_FILE = "model.joblib"
IMAGE_SHAPES = {"digits": (8, 8), "fashion-mnist": (28, 28), "cifar10": (3, 32, 32)}
DATA_HELP = (
    f"{', '.join(DATA_SET_NAMES)} (bundled: digits), or a "
    f"{' / '.join(DATA_FILE_SUFFIXES)} file"
)
# What a saved model records of its data, as the attribute sklmlp_provenance.
PROVENANCE = "sklmlp_provenance"


class CommandError(Exception):
    """A failure to report as one line and exit status 1."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show ``(default: X)`` unless the help already says what None means."""

    def _get_help_string(self, action):
        if action.default is None or "(default:" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    formatter = _DefaultsFormatter
    parser = _Parser(
        prog="sklmlp",
        description="Tune, train and evaluate TwoLayerClassifier, a NumPy "
        "two-layer network. Without a command, runs 'tune'.",
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    data = _Parser(add_help=False)
    data.add_argument("--data", default="digits", help=DATA_HELP)
    data.add_argument(
        "--data-home",
        metavar="DIR",
        help="folder of the Fashion-MNIST or CIFAR-10 files (default: "
        "$SKLMLP_DATA, then Debian's dataset-fashion-mnist)",
    )
    data.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="SEED",
        help="seed of the train/test split (for data without its own split), "
        "of the draws and of the fits",
    )

    model = _Parser(add_help=False)
    model.add_argument(
        "--scale",
        choices=["standard", "none"],
        default="standard",
        help="standardise the features first",
    )
    model.add_argument(
        "--out",
        metavar="DIR",
        help=f"write {MODEL_FILE}, summary.json and plots to this folder, "
        "created and checked before any training (default: write nothing)",
    )

    tune = commands.add_parser(
        "tune",
        parents=[data, model],
        formatter_class=formatter,
        help="search hidden_size, learning_rate and reg (default command)",
    )
    tune.add_argument(
        "--search",
        choices=["random", "halving"],
        default="random",
        help="random search, or successive halving with epochs as the resource",
    )
    tune.add_argument(
        "--n-iter", type=_positive_int, default=20, metavar="N", help="candidates"
    )
    tune.add_argument(
        "--cv",
        type=_at_least_two,
        default=3,
        metavar="K",
        help="stratified cross-validation folds",
    )
    tune.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=-1,
        metavar="J",
        help="parallel fits; -1 for all cores (or all Dask workers)",
    )
    tune.add_argument(
        "--max-iter",
        type=_positive_int,
        default=100,
        metavar="E",
        help="epochs per fit; the most any fit gets with halving",
    )
    tune.add_argument(
        "--backend",
        choices=["loky", "dask"],
        default="loky",
        help="joblib backend; dask without --scheduler starts a local cluster",
    )
    tune.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run the fits on this Dask scheduler's cluster (implies dask; "
        "default: none)",
    )
    tune.add_argument(
        "--timeout",
        type=_positive_float,
        default=10.0,
        metavar="S",
        help="seconds to wait for --scheduler to answer",
    )

    fit = commands.add_parser(
        "fit",
        parents=[data, model],
        formatter_class=formatter,
        help="train one configuration",
    )
    fit.add_argument(
        "--hidden-size", type=_positive_int, default=100, help="hidden ReLU units"
    )
    fit.add_argument(
        "--solver", choices=["sgd", "adam"], default="adam", help="update rule"
    )
    fit.add_argument(
        "--learning-rate", type=_positive_float, default=1e-3, help="initial step"
    )
    fit.add_argument(
        "--learning-rate-decay",
        type=_fraction,
        default=1.0,
        help="factor on the step after every epoch, in (0, 1]",
    )
    fit.add_argument(
        "--momentum",
        type=_unit_interval,
        default=0.9,
        help="momentum of sgd (Nesterov), in [0, 1]",
    )
    fit.add_argument(
        "--reg",
        type=_non_negative_float,
        default=1e-4,
        help="L2 penalty reg * (sum(W1**2) + sum(W2**2))",
    )
    fit.add_argument(
        "--batch-size", type=_positive_int, default=200, help="minibatch size"
    )
    fit.add_argument("--max-iter", type=_positive_int, default=200, help="most epochs")
    fit.add_argument(
        "--early-stopping",
        action="store_true",
        help="hold out 10%% of the training data and stop when its accuracy "
        "stops improving",
    )
    fit.add_argument("--verbose", action="store_true", help="print one line per epoch")

    evaluate = commands.add_parser(
        "evaluate",
        formatter_class=formatter,
        help="score a saved model on the test split it was held out from",
    )
    evaluate.add_argument(
        "--model",
        required=True,
        metavar="FILE",
        help=f"a {MODEL_FILE} written by 'sklmlp fit' or 'sklmlp tune' --out",
    )
    evaluate.add_argument(
        "--data",
        help="the data set to score on; must be the one the model was trained "
        "on (default: the one the model records)",
    )
    evaluate.add_argument(
        "--data-home",
        metavar="DIR",
        help="folder of the Fashion-MNIST or CIFAR-10 files (default: the one "
        "the model records, then $SKLMLP_DATA)",
    )
    return parser


def _number(kind, text, check, requirement):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and check(value)):
        raise argparse.ArgumentTypeError(f"must be {requirement}, got {text}")
    return value


def _positive_int(text: str) -> int:
    return _number(int, text, lambda v: v >= 1, "a positive integer")


def _at_least_two(text: str) -> int:
    return _number(int, text, lambda v: v >= 2, "at least 2")


def _n_jobs(text: str) -> int:
    return _number(int, text, lambda v: v != 0, "a positive integer or -1 (all)")


def _positive_float(text: str) -> float:
    return _number(float, text, lambda v: v > 0, "positive")


def _non_negative_float(text: str) -> float:
    return _number(float, text, lambda v: v >= 0, "non-negative")


def _fraction(text: str) -> float:
    return _number(float, text, lambda v: 0 < v <= 1, "in (0, 1]")


def _unit_interval(text: str) -> float:
    return _number(float, text, lambda v: 0 <= v <= 1, "in [0, 1]")


def run_tune(args: argparse.Namespace) -> None:
    """Search the default space and report the ranked candidates."""
    out = _out_dir(args.out)
    backend = "dask" if args.scheduler else args.backend
    with _backend(backend, args):
        data = _load(args.data, args.data_home, args.random_state)
        try:
            check_search_data(data.X_train, data.y_train, args.cv)
        except ValueError as exc:
            raise CommandError(f"{data.DESCR}: {exc}") from exc
        search = make_search(
            _pipeline(args.scale, TwoLayerClassifier(random_state=args.random_state)),
            search=args.search,
            n_iter=args.n_iter,
            cv=args.cv,
            n_jobs=args.n_jobs,
            max_iter=args.max_iter,
            prefix=STEP,
            random_state=args.random_state,
        )
        print(
            f"{args.search} search on {data.DESCR}: {args.n_iter} candidates x "
            f"{args.cv} folds, {len(data.y_train)} training / {len(data.y_test)} "
            f"test samples, n_jobs={args.n_jobs}, backend={backend}",
            flush=True,
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            with search_progress(expected_fits(search, args.cv), "tune"):
                search.fit(data.X_train, data.y_train)
        seconds = time.perf_counter() - start

    test_accuracy = search.score(data.X_test, data.y_test)
    best = {k.removeprefix(f"{STEP}__"): v for k, v in search.best_params_.items()}
    print()
    print(format_cv_results(search.cv_results_, STEP, search.best_index_))
    print()
    print("Best parameters: " + ", ".join(f"{k}={_fmt(v)}" for k, v in best.items()))
    print(f"Best mean CV accuracy: {search.best_score_:.4f}")
    print(f"Test accuracy of the refit model: {test_accuracy:.4f}")
    print(f"Search time: {seconds:.1f} s")
    if out is not None:
        model = search.best_estimator_
        provenance = _provenance(args, data, "tune")
        _save_model(model, provenance, out)
        write_cv_results(search.cv_results_, out / "cv_results.csv")
        summary = {
            "command": "tune",
            "data": provenance["data"],
            "search": args.search,
            "backend": backend,
            "n_iter": args.n_iter,
            "cv": args.cv,
            "max_iter": args.max_iter,
            "best_params": {k: _plain(v) for k, v in best.items()},
            "best_cv_accuracy": float(search.best_score_),
            "test_accuracy": float(test_accuracy),
            "search_seconds": seconds,
            "provenance": provenance,
        }
        _write_json(out / "summary.json", summary)
        print(f"Wrote {MODEL_FILE}, cv_results.csv, summary.json to {out}")
        _write_plots(out, model, args.data, search)


def run_fit(args: argparse.Namespace) -> None:
    """Train one configuration; per-epoch lines with --verbose."""
    out = _out_dir(args.out)
    data = _load(args.data, args.data_home, args.random_state)
    clf = TwoLayerClassifier(
        hidden_size=args.hidden_size,
        solver=args.solver,
        learning_rate=args.learning_rate,
        learning_rate_decay=args.learning_rate_decay,
        momentum=args.momentum,
        reg=args.reg,
        batch_size=args.batch_size,
        max_iter=args.max_iter,
        early_stopping=args.early_stopping,
        random_state=args.random_state,
        verbose=int(args.verbose),
    )
    model = _pipeline(args.scale, clf)
    print(f"Training on {data.DESCR}: {len(data.y_train)} samples", flush=True)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            model.fit(data.X_train, data.y_train)
        except ValueError as exc:
            raise CommandError(f"{data.DESCR}: {exc}") from exc
    seconds = time.perf_counter() - start
    clf.set_params(verbose=0)  # the saved model trains on quietly
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    test_accuracy = model.score(data.X_test, data.y_test)
    print(f"Epochs: {clf.n_iter_}, final training loss: {clf.loss_:.4f}")
    print(f"Test accuracy: {test_accuracy:.4f}")
    print(f"Training time: {seconds:.1f} s")
    if out is not None:
        provenance = _provenance(args, data, "fit")
        _save_model(model, provenance, out)
        summary = {
            "command": "fit",
            "data": provenance["data"],
            "params": {k: _plain(v) for k, v in clf.get_params().items()},
            "n_iter": clf.n_iter_,
            "test_accuracy": float(test_accuracy),
            "seconds": seconds,
            "provenance": provenance,
        }
        _write_json(out / "summary.json", summary)
        print(f"Wrote {MODEL_FILE} and summary.json to {out}")
        _write_plots(out, model, args.data)


def run_evaluate(args: argparse.Namespace) -> None:
    """Score a saved model on the test split recorded in it, and only that."""
    path = Path(args.model)
    model = _load_model(path)
    provenance = getattr(model, PROVENANCE, None)
    if not isinstance(provenance, dict) or "test_fingerprint" not in provenance:
        raise CommandError(
            f"{path} does not record the data and split it was trained on (it "
            "was not written by 'sklmlp fit' or 'sklmlp tune' --out), so its test "
            "rows cannot be told from its training rows; score it in Python on "
            "data it never saw."
        )
    trained_on = provenance["data"]
    name = trained_on if args.data is None else _data_name(args.data)
    if name != trained_on:
        raise CommandError(
            f"{path} was trained on {trained_on}, not {name}; its held-out score "
            "exists only on that data (omit --data to use it)."
        )
    data_home = args.data_home or provenance.get("data_home")
    data = _load(name, data_home, provenance["random_state"])
    if _fingerprint(data) != provenance["test_fingerprint"]:
        raise CommandError(
            f"the test split of {data.DESCR} differs from the one {path} was "
            f"evaluated on when it was saved ({provenance['n_test']} rows): the "
            "data changed since training, so a score now could include training "
            "rows."
        )
    try:
        accuracy = model.score(data.X_test, data.y_test)
    except ValueError as exc:
        raise CommandError(f"{path} does not fit {data.DESCR}: {exc}") from exc
    print(
        f"Test accuracy of {path} on {data.DESCR} ({len(data.y_test)} held-out "
        f"rows, split seed {provenance['random_state']}): {accuracy:.4f}"
    )


def _backend(backend, args):
    """The joblib backend of a search, with its failures as CommandErrors."""
    if backend == "dask":
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise CommandError(
                "--backend dask needs dask and distributed: pip install 'sklmlp[dask]'."
            ) from None
    if args.scheduler is not None and "://" not in args.scheduler:
        raise CommandError(
            f"--scheduler {args.scheduler!r} is not an address like tcp://HOST:8786."
        )
    return _CheckedBackend(
        parallel_backend(
            backend, args.scheduler, _workers(args.n_jobs), timeout=args.timeout
        ),
        args.scheduler,
        args.timeout,
    )


class _CheckedBackend:
    """Enter a ``parallel_backend`` context; a failed connection is one line."""

    def __init__(self, context, scheduler, timeout):
        self.context, self.scheduler, self.timeout = context, scheduler, timeout

    def __enter__(self):
        try:
            return self.context.__enter__()
        except (OSError, TimeoutError) as exc:
            raise CommandError(
                f"cannot reach the Dask scheduler at {self.scheduler} within "
                f"{self.timeout:g} s ({type(exc).__name__}); is it running? "
                "(--timeout sets the wait)"
            ) from None

    def __exit__(self, *exc_info):
        return self.context.__exit__(*exc_info)


def _load(name, data_home, random_state):
    try:
        return load_dataset(name, data_home=data_home, random_state=random_state)
    except (OSError, ValueError) as exc:
        raise CommandError(str(exc)) from exc


def _load_model(path):
    if not path.is_file():
        raise CommandError(f"model file {path} does not exist.")
    try:
        model = joblib.load(path)
    except Exception as exc:  # unpickling can fail in many ways
        raise CommandError(
            f"cannot load model file {path}: {type(exc).__name__}: {exc}"
        ) from exc
    if not hasattr(model, "score"):
        raise CommandError(f"{path} does not hold a fitted model.")
    return model


def _data_name(data):
    """A data set's name, or a data file's absolute path."""
    return data if data in DATA_SET_NAMES else str(Path(data).resolve())


def _fingerprint(data):
    """SHA-256 of the test rows and labels: equal only for the same split."""
    digest = hashlib.sha256()
    for array in (data.X_test, data.y_test):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _provenance(args, data, command):
    """What a saved model records of its data, so evaluate can hold it out."""
    return {
        "command": command,
        "data": _data_name(args.data),
        "data_home": None
        if args.data_home is None
        else str(Path(args.data_home).resolve()),
        "description": data.DESCR,
        "random_state": args.random_state,
        "n_train": len(data.y_train),
        "n_test": len(data.y_test),
        "test_fingerprint": _fingerprint(data),
        "sklmlp_version": __version__,
        "sklearn_version": sklearn.__version__,
    }


def _save_model(model, provenance, out):
    setattr(model, PROVENANCE, provenance)
    joblib.dump(model, out / MODEL_FILE)


def _pipeline(scale, clf):
    scaler = StandardScaler() if scale == "standard" else "passthrough"
    return Pipeline([("scale", scaler), (STEP, clf)])


def _workers(n_jobs):
    return None if n_jobs < 1 else n_jobs


def _out_dir(path):
    """Create the output folder and prove it writable, before any work."""
    if path is None:
        return None
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file, not a folder.")
    probe = out / ".sklmlp-write-test"
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise CommandError(
            f"cannot write to the output folder {out}: {exc.strerror or exc}."
        ) from exc
    return out


def _write_json(path, content):
    path.write_text(json.dumps(content, indent=2) + "\n")


def _write_plots(out, model, data_name, search=None):
    """PNG files of the training curve, the weights and the search, if possible."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from sklmlp.plotting import (
            SearchResultsDisplay,
            TrainingCurveDisplay,
            WeightImageDisplay,
        )
    except ImportError:
        print("No plots: matplotlib is not installed (pip install 'sklmlp[plot]').")
        return
    figures = {"training_curve.png": TrainingCurveDisplay.from_estimator(model)}
    if data_name in IMAGE_SHAPES:
        figures["first_layer_weights.png"] = WeightImageDisplay.from_estimator(
            model, IMAGE_SHAPES[data_name], units=25
        )
    if search is not None:
        figures["search_results.png"] = SearchResultsDisplay.from_search(search)
    for name, display in figures.items():
        display.figure_.savefig(out / name, dpi=100, bbox_inches="tight")
        plt.close(display.figure_)
    print(f"Wrote {', '.join(figures)} to {out}")


def _fmt(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _plain(value):
    return value.item() if hasattr(value, "item") else value


COMMANDS = {"tune": run_tune, "fit": run_fit, "evaluate": run_evaluate}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sklmlp`` console script; ``tune`` is the default."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help", "--version"):
        argv.insert(0, "tune")
    args = build_parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except CommandError as exc:
        message = " ".join(str(exc).split())  # one line, whatever the cause
        print(f"sklmlp {args.command}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"sklmlp {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0
