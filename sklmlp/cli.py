"""Command-line front end: ``sklmlp`` or ``python -m sklmlp``.

``sklmlp tune`` (the default command) replaces the hand-written tuning loop of
the exercise this package descends from with a parallel random or
successive-halving search; ``sklmlp fit`` trains one configuration and
``sklmlp evaluate`` scores a saved model. It uses only the public API of
:mod:`sklmlp`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import joblib
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklmlp import TwoLayerClassifier, __version__
from sklmlp.datasets import load_dataset
from sklmlp.search import (
    expected_fits,
    format_cv_results,
    make_search,
    parallel_backend,
    search_progress,
    write_cv_results,
)

STEP = "clf"
IMAGE_SHAPES = {"digits": (8, 8), "fashion-mnist": (28, 28), "cifar10": (3, 32, 32)}
DATA_HELP = "digits | fashion-mnist | cifar10 | a .npz or .csv file (default: digits)"


class CommandError(Exception):
    """A failure to report as one line and exit status 1."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sklmlp",
        description="Tune, train and evaluate TwoLayerClassifier, a NumPy "
        "two-layer network. Without a command, runs 'tune'.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--data", default="digits", help=DATA_HELP)
    data.add_argument(
        "--data-home",
        metavar="DIR",
        help="folder of the Fashion-MNIST or CIFAR-10 files",
    )
    data.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="SEED",
        help="seed of the split, the draws and the fits (default: 0)",
    )

    model = argparse.ArgumentParser(add_help=False)
    model.add_argument(
        "--scale",
        choices=["standard", "none"],
        default="standard",
        help="standardise the features first (default: standard)",
    )
    model.add_argument("--out", metavar="DIR", help="write the model and a summary")

    tune = commands.add_parser(
        "tune",
        parents=[data, model],
        help="search hidden_size, learning_rate and reg (default command)",
    )
    tune.add_argument("--search", choices=["random", "halving"], default="random")
    tune.add_argument(
        "--n-iter",
        type=_positive_int,
        default=20,
        metavar="N",
        help="candidates to draw (default: 20)",
    )
    tune.add_argument(
        "--cv",
        type=_at_least_two,
        default=3,
        metavar="K",
        help="cross-validation folds (default: 3)",
    )
    tune.add_argument(
        "--n-jobs",
        type=int,
        default=-1,
        metavar="J",
        help="parallel fits, -1 for all cores/workers (default: -1)",
    )
    tune.add_argument(
        "--max-iter",
        type=_positive_int,
        default=100,
        metavar="E",
        help="epochs per fit; the most any gets with halving (default: 100)",
    )
    tune.add_argument(
        "--backend",
        choices=["loky", "dask"],
        default="loky",
        help="joblib backend; dask without --scheduler starts a "
        "local cluster (default: loky)",
    )
    tune.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run the fits on this Dask scheduler's cluster",
    )

    fit = commands.add_parser(
        "fit", parents=[data, model], help="train one configuration"
    )
    fit.add_argument("--hidden-size", type=_positive_int, default=100)
    fit.add_argument("--solver", choices=["sgd", "adam"], default="adam")
    fit.add_argument("--learning-rate", type=float, default=1e-3)
    fit.add_argument("--learning-rate-decay", type=float, default=1.0)
    fit.add_argument("--momentum", type=float, default=0.9)
    fit.add_argument("--reg", type=float, default=1e-4)
    fit.add_argument("--batch-size", type=_positive_int, default=200)
    fit.add_argument("--max-iter", type=_positive_int, default=200)
    fit.add_argument("--early-stopping", action="store_true")

    evaluate = commands.add_parser(
        "evaluate", parents=[data], help="score a saved model on a test set"
    )
    evaluate.add_argument(
        "--model",
        required=True,
        metavar="FILE",
        help="a model written by tune or fit --out",
    )
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _at_least_two(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be at least 2, got {text}")
    return value


def run_tune(args: argparse.Namespace) -> None:
    """Search the default space and report the ranked candidates."""
    data = _load(args)
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
    backend = "dask" if args.scheduler else args.backend
    print(
        f"{args.search} search on {data.DESCR}: {args.n_iter} candidates x "
        f"{args.cv} folds, {len(data.y_train)} training / {len(data.y_test)} test "
        f"samples, n_jobs={args.n_jobs}, backend={backend}",
        flush=True,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with parallel_backend(backend, args.scheduler, _workers(args.n_jobs)):
            with search_progress(expected_fits(search, args.cv), "tune"):
                search.fit(data.X_train, data.y_train)
    seconds = time.perf_counter() - start

    test_accuracy = search.score(data.X_test, data.y_test)
    best = {k.removeprefix(f"{STEP}__"): v for k, v in search.best_params_.items()}
    print()
    print(format_cv_results(search.cv_results_, prefix=STEP))
    print()
    print("Best parameters: " + ", ".join(f"{k}={_fmt(v)}" for k, v in best.items()))
    print(f"Best mean CV accuracy: {search.best_score_:.4f}")
    print(f"Test accuracy of the refit model: {test_accuracy:.4f}")
    print(f"Search time: {seconds:.1f} s")
    if args.out:
        out = _out_dir(args.out)
        joblib.dump(search.best_estimator_, out / "best_model.joblib")
        write_cv_results(search.cv_results_, out / "cv_results.csv")
        summary = {
            "command": "tune",
            "data": args.data,
            "search": args.search,
            "backend": backend,
            "n_iter": args.n_iter,
            "cv": args.cv,
            "max_iter": args.max_iter,
            "best_params": {k: _plain(v) for k, v in best.items()},
            "best_cv_accuracy": float(search.best_score_),
            "test_accuracy": float(test_accuracy),
            "search_seconds": seconds,
            "sklmlp_version": __version__,
        }
        _write_json(out / "summary.json", summary)
        print(f"Wrote best_model.joblib, cv_results.csv, summary.json to {out}")
        _write_plots(out, search.best_estimator_, args.data, search)


def run_fit(args: argparse.Namespace) -> None:
    """Train one configuration with per-epoch progress."""
    data = _load(args)
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
        verbose=1,
    )
    model = _pipeline(args.scale, clf)
    print(f"Training on {data.DESCR}: {len(data.y_train)} samples", flush=True)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            model.fit(data.X_train, data.y_train)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
    seconds = time.perf_counter() - start
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    test_accuracy = model.score(data.X_test, data.y_test)
    print(f"Epochs: {clf.n_iter_}, final training loss: {clf.loss_:.4f}")
    print(f"Test accuracy: {test_accuracy:.4f}")
    print(f"Training time: {seconds:.1f} s")
    if args.out:
        out = _out_dir(args.out)
        joblib.dump(model, out / "model.joblib")
        summary = {
            "command": "fit",
            "data": args.data,
            "params": {k: _plain(v) for k, v in clf.get_params().items()},
            "n_iter": clf.n_iter_,
            "test_accuracy": float(test_accuracy),
            "seconds": seconds,
            "sklmlp_version": __version__,
        }
        _write_json(out / "summary.json", summary)
        print(f"Wrote model.joblib and summary.json to {out}")
        _write_plots(out, model, args.data)


def run_evaluate(args: argparse.Namespace) -> None:
    """Score a saved model on the test part of a data set."""
    path = Path(args.model)
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
    data = _load(args)
    try:
        accuracy = model.score(data.X_test, data.y_test)
    except ValueError as exc:
        raise CommandError(f"{path} does not fit {args.data}: {exc}") from exc
    print(f"Test accuracy of {path} on {data.DESCR}: {accuracy:.4f}")


def _load(args):
    try:
        return load_dataset(
            args.data, data_home=args.data_home, random_state=args.random_state
        )
    except (OSError, ValueError) as exc:
        raise CommandError(str(exc)) from exc


def _pipeline(scale, clf):
    scaler = StandardScaler() if scale == "standard" else "passthrough"
    return Pipeline([("scale", scaler), (STEP, clf)])


def _workers(n_jobs):
    return None if n_jobs < 1 else n_jobs


def _out_dir(path):
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"cannot create output folder {out}: {exc}") from exc
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
        print(f"sklmlp {args.command}: error: {exc}", file=sys.stderr)
        return 1
    return 0
