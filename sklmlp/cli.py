"""Command-line front end: ``sklmlp`` or ``python -m sklmlp``.

``sklmlp tune`` (the default command) replaces the hand-written tuning loop of
the exercise this package descends from with a parallel random or
successive-halving search; ``sklmlp fit`` trains one configuration and
``sklmlp evaluate`` scores a saved model; ``sklmlp export`` writes one as ONNX
(:mod:`sklmlp.onnx`), which ``sklmlp evaluate`` scores with onnxruntime. It uses
only the public API of :mod:`sklmlp`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from contextlib import ExitStack, contextmanager
from pathlib import Path

import joblib
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklmlp import TwoLayerClassifier
from sklmlp._cli_args import MODEL_FILE, build_parser
from sklmlp.datasets import load_dataset
from sklmlp.provenance import (
    data_set_name,
    get_provenance,
    record_provenance,
    split_fingerprint,
)
from sklmlp.search import (
    check_search_data,
    format_cv_results,
    make_search,
    parallel_backend,
    search_progress,
    write_cv_results,
)

STEP = "clf"
IMAGE_SHAPES = {"digits": (8, 8), "fashion-mnist": (28, 28), "cifar10": (3, 32, 32)}


class CommandError(Exception):
    """A failure to report as one line and exit status 1."""


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
        clf = TwoLayerClassifier(
            early_stopping=args.early_stopping, random_state=args.random_state
        )
        search = make_search(
            _pipeline(args.scale, clf),
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
            f"{args.cv} folds, up to {args.max_iter} epochs per fit"
            f"{' with early stopping' if args.early_stopping else ''}, "
            f"{len(data.y_train)} training / {len(data.y_test)} "
            f"test samples, n_jobs={args.n_jobs}, backend={backend}",
            flush=True,
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            with search_progress(search, "tune"):
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
        provenance = _save_model(model, data, args, out, command="tune")
        write_cv_results(search.cv_results_, out / "cv_results.csv")
        summary = {
            "command": "tune",
            "data": provenance["data"],
            "search": args.search,
            "backend": backend,
            "n_iter": args.n_iter,
            "cv": args.cv,
            "max_iter": args.max_iter,
            "early_stopping": args.early_stopping,
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
        provenance = _save_model(model, data, args, out, command="fit")
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
    """Score a saved model on the test split recorded in it, and only that.

    A ``.onnx`` file is scored by onnxruntime, on the split recorded in its
    metadata by ``sklmlp export``.
    """
    path = Path(args.model)
    if path.suffix.lower() == ".onnx":
        model = _load_onnx(path)
        provenance = model.provenance
        runtime = f" (onnxruntime, {model.input_dtype} graph)"
    else:
        model = _load_model(path)
        provenance = get_provenance(model)
        runtime = ""
    if provenance is None:
        raise CommandError(
            f"{path} does not record the data and split it was trained on (it "
            "was not written by 'sklmlp fit', 'sklmlp tune' --out or 'sklmlp "
            "export' of such a model), so its test rows cannot be told from its "
            "training rows; score it in Python on data it never saw."
        )
    trained_on = provenance["data"]
    name = trained_on if args.data is None else data_set_name(args.data)
    if name != trained_on:
        raise CommandError(
            f"{path} was trained on {trained_on}, not {name}; its held-out score "
            "exists only on that data (omit --data to use it)."
        )
    data_home = args.data_home or provenance.get("data_home")
    data = _load(name, data_home, provenance["random_state"])
    if split_fingerprint(data) != provenance["test_fingerprint"]:
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
        f"Test accuracy of {path}{runtime} on {data.DESCR} ({len(data.y_test)} "
        f"held-out rows, split seed {provenance['random_state']}): {accuracy:.4f}"
    )


def run_export(args: argparse.Namespace) -> None:
    """Write a saved model as ONNX, its provenance in the file's metadata."""
    onnx_export = _onnx_module()
    path = Path(args.model)
    if not path.is_file():
        raise CommandError(f"model file {path} does not exist.")
    out = Path(args.out)
    if out.suffix.lower() != ".onnx":
        raise CommandError(
            f"--out {out} does not end in .onnx; 'sklmlp evaluate' reads an ONNX "
            "file by that suffix (e.g. --out model.onnx)."
        )
    if out.exists() and out.resolve() == path.resolve():
        raise CommandError(f"--out {out} is the model file itself; choose another.")
    out = _out_file(out)
    model = _load_model(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", onnx_export.PrecisionWarning)
        try:
            onnx_model = onnx_export.convert(model, float64=args.float64)
        except Exception as exc:  # skl2onnx raises many kinds for what it can't
            raise CommandError(
                f"cannot export {path} to ONNX: {type(exc).__name__}: {exc}"
            ) from exc
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    if onnx_export.read_provenance(onnx_model) is None:
        print(
            f"warning: {path} records no data split, so 'sklmlp evaluate' will "
            f"refuse {out}; export a model written by 'sklmlp fit' or 'sklmlp "
            "tune' --out to check it there.",
            file=sys.stderr,
        )
    partial = out.with_name(out.name + ".partial")
    try:  # write then rename: a failed write leaves no half file behind
        partial.write_bytes(onnx_model.SerializeToString())
        partial.replace(out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise CommandError(f"cannot write {out}: {exc.strerror or exc}.") from exc
    graph = onnx_model.graph
    shape = [d.dim_value or None for d in graph.input[0].type.tensor_type.shape.dim]
    opset = max(
        o.version for o in onnx_model.opset_import if o.domain in ("", "ai.onnx")
    )
    print(
        f"Wrote {out} ({_size(out.stat().st_size)}, opset {opset}): input "
        f"{graph.input[0].name!r} {'float64' if args.float64 else 'float32'} "
        f"{shape}, outputs {', '.join(repr(o.name) for o in graph.output)}; "
        f"nodes: {' '.join(node.op_type for node in graph.node)}."
    )
    print(f"Check it on the held-out rows: sklmlp evaluate --model {out}")


@contextmanager
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
    with ExitStack() as stack:
        try:
            stack.enter_context(
                parallel_backend(
                    backend, args.scheduler, _workers(args.n_jobs), timeout=args.timeout
                )
            )
        except OSError as exc:  # a timed-out connection, or a cluster that failed
            where = (
                f"the Dask scheduler at {args.scheduler}"
                if args.scheduler
                else "a local Dask cluster"
            )
            raise CommandError(
                f"cannot reach {where} within {args.timeout:g} s "
                f"({type(exc).__name__}: {exc}); is it running? (--timeout sets "
                "the wait)"
            ) from None
        yield


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


def _onnx_module():
    """:mod:`sklmlp.onnx`, with onnxruntime, or one line on what to install."""
    try:
        import onnxruntime  # noqa: F401

        import sklmlp.onnx
    except ImportError as exc:
        raise CommandError(
            f"ONNX needs skl2onnx, onnx and onnxruntime ({exc}): pip install "
            "'sklmlp[onnx]'."
        ) from None
    return sklmlp.onnx


def _load_onnx(path):
    onnx_export = _onnx_module()
    if not path.is_file():
        raise CommandError(f"model file {path} does not exist.")
    try:
        return onnx_export.OnnxPredictor(path)
    except Exception as exc:  # onnx and onnxruntime raise their own kinds
        raise CommandError(
            f"cannot load ONNX model {path}: {type(exc).__name__}: {exc}"
        ) from exc


def _save_model(model, data, args, out, command):
    """Write ``out/model.joblib`` with its provenance record; return the record."""
    record = record_provenance(
        model,
        data,
        args.data,
        data_home=args.data_home,
        random_state=args.random_state,
        command=command,
    )
    joblib.dump(model, out / MODEL_FILE)
    return record


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
    _check_writable(out, f"the output folder {out}")
    return out


def _out_file(path):
    """Create the output file's folder and prove it writable, before any work."""
    out = Path(path)
    if out.is_dir():
        raise CommandError(
            f"--out {out} is a folder; give a file name like model.onnx."
        )
    _check_writable(out.parent, str(out.parent))
    return out


def _check_writable(folder, described):
    """Create ``folder`` if needed and write a probe file in it, or fail."""
    probe = folder / ".sklmlp-write-test"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise CommandError(
            f"cannot write to {described}: {exc.strerror or exc}."
        ) from exc


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


def _size(n_bytes) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 1e6 else f"{n_bytes / 1e3:.0f} kB"


def _fmt(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _plain(value):
    return value.item() if hasattr(value, "item") else value


COMMANDS = {
    "tune": run_tune,
    "fit": run_fit,
    "evaluate": run_evaluate,
    "export": run_export,
}


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
