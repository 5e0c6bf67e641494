"""The argument parser of the ``sklmlp`` command line (see :mod:`sklmlp.cli`).

Every option has help text and shows its default; numbers are range-checked
here, so a bad value is one line on stderr and exit status 2 before anything
is loaded or trained.
"""

from __future__ import annotations

import argparse
import math

from sklmlp import __version__
from sklmlp.datasets import DATA_FILE_SUFFIXES, DATA_SET_NAMES

MODEL_FILE = "model.joblib"
DATA_HELP = (
    f"{', '.join(DATA_SET_NAMES)} (bundled: digits), or a "
    f"{' / '.join(DATA_FILE_SUFFIXES)} file"
)


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
        help="search hidden_size, learning_rate, its decay and reg (default command)",
    )
    tune.add_argument(
        "--search",
        choices=["random", "halving"],
        default="halving",
        help="successive halving with epochs as the resource (every candidate "
        "trains a few epochs, the best third three times as many, ...), or a "
        "random search that trains every candidate --max-iter epochs",
    )
    tune.add_argument(
        "--n-iter", type=_positive_int, default=24, metavar="N", help="candidates"
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
        default=60,
        metavar="E",
        help="epochs per fit; the most any fit gets with halving",
    )
    tune.add_argument(
        "--early-stopping",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="in every fit, hold out 10%% of its training data and stop when "
        "its accuracy has not improved for 10 epochs, keeping the best epoch",
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
        help=f"a {MODEL_FILE} written by 'sklmlp fit' or 'sklmlp tune' --out, "
        "or a .onnx file written by 'sklmlp export' (scored with onnxruntime)",
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

    export = commands.add_parser(
        "export",
        formatter_class=formatter,
        help="write a saved model as ONNX, for onnxruntime (needs sklmlp[onnx])",
    )
    export.add_argument(
        "--model",
        required=True,
        metavar="FILE",
        help=f"a {MODEL_FILE} written by 'sklmlp fit' or 'sklmlp tune' --out",
    )
    export.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="the .onnx file to write (its folder is created)",
    )
    export.add_argument(
        "--float64",
        action="store_true",
        help="compute in float64 (input type tensor(double)) instead of float32",
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
