"""Command-line front end: ``sklmlp`` or ``python -m sklmlp``.

``sklmlp tune`` (the default command) replaces the hand-written tuning loop of
the exercise this package descends from: a :class:`RandomizedSearchCV` over
hidden size, learning rate and regularisation, run in parallel, with a ranked
table of the candidates and the held-out accuracy of the refit model. It uses
only the public API of :mod:`sklmlp`.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
from scipy.stats import loguniform, randint
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import RandomizedSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklmlp import TwoLayerClassifier, __version__

STEP = "clf"


def search_space() -> dict:
    """Distributions over the exercise's three knobs, for the Pipeline step."""
    return {
        f"{STEP}__hidden_size": randint(32, 257),
        f"{STEP}__learning_rate": loguniform(3e-4, 3e-2),
        f"{STEP}__reg": loguniform(1e-6, 1e-1),
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sklmlp",
        description="Tune and train TwoLayerClassifier, a NumPy two-layer network.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command")
    tune = commands.add_parser(
        "tune", help="random search over hidden_size, learning_rate and reg"
    )
    tune.add_argument(
        "--n-iter",
        type=_positive_int,
        default=20,
        metavar="N",
        help="candidates to draw (default: 20)",
    )
    tune.add_argument(
        "--cv",
        type=_positive_int,
        default=3,
        metavar="K",
        help="cross-validation folds (default: 3)",
    )
    tune.add_argument(
        "--n-jobs",
        type=int,
        default=-1,
        metavar="J",
        help="parallel jobs, -1 for all cores (default: -1)",
    )
    tune.add_argument(
        "--max-iter",
        type=_positive_int,
        default=100,
        metavar="E",
        help="maximum epochs per fit (default: 100)",
    )
    tune.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="SEED",
        help="seed of the split, the draws and the fits (default: 0)",
    )
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def tune(args: argparse.Namespace) -> int:
    """Run the random search on digits and print what it found."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.random_state
    )
    model = Pipeline(
        [
            ("scale", StandardScaler()),
            (
                STEP,
                TwoLayerClassifier(
                    max_iter=args.max_iter, random_state=args.random_state
                ),
            ),
        ]
    )
    search = RandomizedSearchCV(
        model,
        search_space(),
        n_iter=args.n_iter,
        cv=args.cv,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
    )
    print(
        f"Random search on digits: {args.n_iter} candidates x {args.cv} folds, "
        f"{X_train.shape[0]} training / {X_test.shape[0]} test samples, "
        f"n_jobs={args.n_jobs}"
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X_train, y_train)
    elapsed = time.perf_counter() - start

    print()
    print(format_results(search.cv_results_))
    print()
    best = {k.removeprefix(f"{STEP}__"): v for k, v in search.best_params_.items()}
    print("Best parameters: " + ", ".join(f"{k}={_fmt(v)}" for k, v in best.items()))
    print(f"Best mean CV accuracy: {search.best_score_:.4f}")
    print(f"Test accuracy of the refit model: {search.score(X_test, y_test):.4f}")
    print(f"Search time: {elapsed:.1f} s")
    return 0


def format_results(cv_results: dict) -> str:
    """A ranked table of the candidates of a search over :func:`search_space`."""
    names = ["hidden_size", "learning_rate", "reg"]
    header = (
        f"{'rank':>4}  {'hidden_size':>11}  {'learning_rate':>13}  {'reg':>9}  "
        f"{'mean acc':>8}  {'std acc':>7}  {'fit s':>6}"
    )
    lines = [header, "-" * len(header)]
    for i in np.argsort(cv_results["rank_test_score"], kind="stable"):
        values = [cv_results[f"param_{STEP}__{name}"][i] for name in names]
        lines.append(
            f"{cv_results['rank_test_score'][i]:>4}  {values[0]:>11}  "
            f"{values[1]:>13.3e}  {values[2]:>9.2e}  "
            f"{cv_results['mean_test_score'][i]:>8.4f}  "
            f"{cv_results['std_test_score'][i]:>7.4f}  "
            f"{cv_results['mean_fit_time'][i]:>6.2f}"
        )
    return "\n".join(lines)


def _fmt(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


COMMANDS = {"tune": tune}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sklmlp`` console script; ``tune`` is the default."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help", "--version"):
        argv.insert(0, "tune")
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command](args)
