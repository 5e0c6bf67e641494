"""The command-line front end: tune (the README's main job), fit, evaluate."""

import csv
import json
import re
import socket
import subprocess
import sys

import joblib
import numpy as np
import pytest
from sklearn.model_selection import RandomizedSearchCV

import sklmlp
import sklmlp.datasets as datasets
from sklmlp import TwoLayerClassifier, cli
from sklmlp.cli import main

from _extras import importorskip

FAST = ["--search", "random", "--n-iter", "3", "--cv", "2", "--max-iter", "20"]
FAST += ["--n-jobs", "1"]


def _table_rows(out):
    """The data rows of the results table (the chosen one starts with '*')."""
    return [
        line for line in out.splitlines() if re.match(r"[\s*]\s+\d+\s+\d+\s+\d", line)
    ]


def test_tune_prints_a_ranked_table_and_the_test_accuracy(capsys):
    assert main(FAST) == 0
    captured = capsys.readouterr()
    out = captured.out
    rows = _table_rows(out)
    assert len(rows) == 3
    assert rows[0].startswith("*") and sum(r.startswith("*") for r in rows) == 1
    ranks = [int(row.lstrip("*").split()[0]) for row in rows]
    assert ranks == sorted(ranks)
    assert "mean acc" in out and "std acc" in out and "fit s" in out
    assert re.search(
        r"Best parameters: hidden_size=\d+, learning_rate=\S+, "
        r"learning_rate_decay=\S+, reg=",
        out,
    )
    accuracy = float(re.search(r"Test accuracy of the refit model: (\S+)", out)[1])
    assert accuracy > 0.85
    # not a terminal: plain progress lines on stderr, ending with all epochs
    # done: 3 candidates x 2 folds x 20 epochs, and the refit's 20
    assert captured.err.splitlines()[-1].startswith("tune: 140/140 epochs, ")


def test_tune_defaults_are_halving_with_early_stopping_in_each_fit(capsys):
    # the defaults a Fashion-MNIST user gets: 24 candidates, 3 folds, 6, 18
    # and 54 epochs per round, early stopping in every fit
    args = cli.build_parser().parse_args(["tune"])
    settings = (args.search, args.n_iter, args.cv, args.max_iter, args.early_stopping)
    assert settings == ("halving", 24, 3, 60, True)
    assert (
        not cli.build_parser()
        .parse_args(["tune", "--no-early-stopping"])
        .early_stopping
    )
    assert main(FAST + ["--no-early-stopping"]) == 0
    assert "up to 20 epochs per fit, " in capsys.readouterr().out
    assert main(FAST) == 0
    assert "up to 20 epochs per fit with early stopping, " in capsys.readouterr().out


def test_tune_halving_writes_its_outputs(tmp_path, capsys):
    out_dir = tmp_path / "out"
    argv = ["tune", "--search", "halving", "--n-iter", "4", "--cv", "2"]
    assert main(argv + ["--max-iter", "9", "--out", str(out_dir)]) == 0
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["search"] == "halving" and summary["best_params"]["max_iter"] == 9
    # early stopping inside every fit is the default, and the model keeps it
    assert summary["early_stopping"] is True
    assert joblib.load(out_dir / "model.joblib")[-1].early_stopping is True
    assert 0.0 < summary["test_accuracy"] <= 1.0
    with open(out_dir / "cv_results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {row["n_resources"] for row in rows} == {"3", "9"}
    capsys.readouterr()
    assert main(["evaluate", "--model", str(out_dir / "model.joblib")]) == 0
    for name in ("training_curve.png", "first_layer_weights.png", "search_results.png"):
        assert (out_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    reported = float(capsys.readouterr().out.rsplit(":", 1)[-1])
    assert reported == pytest.approx(summary["test_accuracy"], abs=1e-4)


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_fit_saves_a_quiet_model(tmp_path, capsys, verbose):
    argv = ["fit", "--max-iter", "4", "--hidden-size", "20", "--out", str(tmp_path)]
    assert main(argv + ["--verbose"] * verbose) == 0
    captured = capsys.readouterr()
    epochs = [line for line in captured.out.splitlines() if line.startswith("Epoch ")]
    assert len(epochs) == (4 if verbose else 0)
    assert joblib.load(tmp_path / "model.joblib")[-1].verbose == 0
    assert "Test accuracy:" in captured.out
    assert "max_iter=4" in captured.err  # the ConvergenceWarning, as one line
    assert (tmp_path / "model.joblib").is_file()
    assert (tmp_path / "training_curve.png").is_file()
    assert (tmp_path / "first_layer_weights.png").is_file()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["params"]["hidden_size"] == 20 and summary["n_iter"] == 4


def test_tune_on_a_npz_file(tmp_path, capsys):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] > 0).astype(int)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    assert main(FAST + ["--data", str(tmp_path / "d.npz"), "--scale", "none"]) == 0
    assert "data file" in capsys.readouterr().out


def _one_clean_error_line(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


def test_missing_data_is_one_line_and_exit_1(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("SKLMLP_DATA", raising=False)
    monkeypatch.setattr(datasets, "DEBIAN_FASHION_MNIST", tmp_path / "none")
    argv = ["tune", "--data", "fashion-mnist", "--data-home", str(tmp_path)]
    assert main(argv) == 1
    line = _one_clean_error_line(capsys)
    assert line.startswith("sklmlp tune: error: Fashion-MNIST not found")
    assert "apt-get install dataset-fashion-mnist" in line


@pytest.mark.parametrize(
    "content", [None, b"not a joblib file"], ids=["missing", "corrupt"]
)
def test_bad_model_file_is_one_line_and_exit_1(tmp_path, capsys, content):
    path = tmp_path / "model.joblib"
    if content is not None:
        path.write_bytes(content)
    assert main(["evaluate", "--model", str(path)]) == 1
    line = _one_clean_error_line(capsys)
    assert line.startswith("sklmlp evaluate: error: ") and str(path) in line


def test_divergence_in_fit_is_one_line_and_exit_1(capsys):
    argv = ["fit", "--solver", "sgd", "--learning-rate", "1000", "--scale", "none"]
    assert main(argv) == 1
    assert "learning_rate" in capsys.readouterr().err.splitlines()[-1]


@pytest.mark.parametrize(
    "argv",
    [
        ["--n-iter", "0"],
        ["--cv", "x"],
        ["--cv", "1"],
        ["frobnicate"],
        ["tune", "--search", "grid"],
        ["tune", "--n-jobs", "0"],
        ["tune", "--timeout", "-1"],
        ["fit", "--learning-rate", "0"],
        ["fit", "--momentum", "1.5"],
        ["fit", "--learning-rate-decay", "0"],
        ["fit", "--reg", "nan"],
        ["evaluate"],
        ["evaluate", "--model", "m.joblib", "--random-state", "1"],
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(argv)
    assert excinfo.value.code == 2
    line = _one_clean_error_line(capsys)
    assert re.match(r"sklmlp( \w+)?: error: .+ \(see 'sklmlp( \w+)? --help'\)$", line)


@pytest.mark.timeout(180)
def test_tune_on_a_dask_scheduler(dask_cluster, capsys):
    argv = FAST[:-2] + ["--scheduler", dask_cluster.scheduler_address]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "backend=dask" in out and len(_table_rows(out)) == 3


def test_python_dash_m_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "sklmlp", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == sklmlp.__version__


def _forbid_training(monkeypatch):
    """Make any search or fit the CLI would start fail the test."""

    def trained(*args, **kwargs):
        raise AssertionError("training started before the input was checked")

    monkeypatch.setattr(cli, "make_search", trained)
    monkeypatch.setattr(cli, "_pipeline", trained)


def _data_file(tmp_path, X, y, name="d.npz"):
    np.savez(tmp_path / name, X=X, y=y)
    return str(tmp_path / name)


def _blobs(n_samples=120, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, 4))
    return X, (X[:, 0] > 0).astype(int)


@pytest.mark.parametrize("command", ["tune", "fit"])
@pytest.mark.parametrize("problem", ["file", "unwritable"])
def test_out_is_checked_before_any_training(
    tmp_path, monkeypatch, capsys, command, problem
):
    _forbid_training(monkeypatch)
    if problem == "file":
        out = tmp_path / "taken"
        out.write_text("")
        expected = "is a file, not a folder"
    else:
        out = "/proc/sklmlp-cannot-be-created"
        expected = "cannot write to the output folder"
    assert main([command, "--out", str(out)]) == 1
    line = _one_clean_error_line(capsys)
    assert line.startswith(f"sklmlp {command}: error: ") and expected in line


def _nan_data(tmp_path):
    X, y = _blobs()
    X[5, 2] = np.nan
    return ["--data", _data_file(tmp_path, X, y)], "Input X contains NaN"


def _one_class(tmp_path):
    X, y = _blobs()
    return ["--data", _data_file(tmp_path, X, np.zeros_like(y))], "at least 2 classes"


def _rare_class(tmp_path):
    X, y = _blobs()
    y[:2] = 2  # two samples of class 2, for three folds
    return ["--data", _data_file(tmp_path, X, y), "--cv", "3"], "fewer than the 3"


def _string_features(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,label\n1,x,0\n2,3,1\n")
    return ["--data", str(path)], "non-numeric feature"


def _unknown_name(tmp_path):
    return ["--data", "mnist"], "unknown data set 'mnist': use one of digits, fashion"


def _no_dask(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    return ["--backend", "dask"], "pip install 'sklmlp[dask]'"


def _unreachable_scheduler(tmp_path):
    importorskip("distributed", extra="dask")
    # a port on the loopback that nothing listens on
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = ["--scheduler", f"tcp://127.0.0.1:{port}", "--timeout", "1"]
    return argv, "cannot reach the Dask scheduler"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "make_case",
    [
        _nan_data,
        _one_class,
        _rare_class,
        _string_features,
        _unknown_name,
        _no_dask,
        _unreachable_scheduler,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_tune_refuses_bad_input_before_the_search(
    tmp_path, monkeypatch, capsys, make_case
):
    _forbid_training(monkeypatch)
    if "monkeypatch" in make_case.__code__.co_varnames:
        argv, expected = make_case(tmp_path, monkeypatch)
    else:
        argv, expected = make_case(tmp_path)
    assert main(["tune", *argv]) == 1
    line = _one_clean_error_line(capsys)
    assert line.startswith("sklmlp tune: error: ") and expected in line


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(RandomizedSearchCV, "fit", interrupted)
    assert main(FAST) == 130
    assert _one_clean_error_line(capsys) == "sklmlp tune: interrupted"


def test_halving_progress_reaches_the_epochs_run(capsys):
    # 20 candidates on 1 then 7 on 3 epochs: scikit-learn caps the rounds at 2;
    # 3 folds: 20 x 3 x 1 + 7 x 3 x 3 epochs, and a refit of 3
    argv = ["tune", "--search", "halving", "--n-iter", "20", "--max-iter", "5"]
    assert main(argv + ["--n-jobs", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines()[-1].startswith("tune: 126/126 epochs, ")
    assert len(_table_rows(captured.out)) == 27


def _saved_fit(tmp_path, capsys, data_args, seed="1"):
    out = tmp_path / "out"
    argv = ["fit", *data_args, "--max-iter", "30", "--random-state", seed]
    assert main(argv + ["--out", str(out)]) == 0
    capsys.readouterr()
    return out / "model.joblib", json.loads((out / "summary.json").read_text())


def test_evaluate_scores_the_split_the_model_was_trained_on(tmp_path, capsys):
    # the split seed comes from the model: with seed 1 at training time,
    # evaluate reproduces the training run's test score, whatever the default
    model, summary = _saved_fit(tmp_path, capsys, ["--hidden-size", "20"], seed="1")
    assert summary["provenance"]["random_state"] == 1
    assert main(["evaluate", "--model", str(model)]) == 0
    out = capsys.readouterr().out
    assert "split seed 1" in out
    reported = float(out.rsplit(":", 1)[-1])
    assert reported == pytest.approx(summary["test_accuracy"], abs=1e-4)


def test_evaluate_refuses_other_data(tmp_path, capsys):
    model, _ = _saved_fit(tmp_path, capsys, ["--hidden-size", "20"])
    X, y = _blobs()
    argv = ["evaluate", "--model", str(model), "--data", _data_file(tmp_path, X, y)]
    assert main(argv) == 1
    assert "was trained on digits, not" in _one_clean_error_line(capsys)


def test_evaluate_refuses_a_data_file_that_changed(tmp_path, capsys):
    X, y = _blobs(seed=0)
    path = _data_file(tmp_path, X, y)
    model, _ = _saved_fit(tmp_path, capsys, ["--data", path])
    X, y = _blobs(seed=1)
    _data_file(tmp_path, X, y)  # same name, other rows
    assert main(["evaluate", "--model", str(model)]) == 1
    assert "the data changed since training" in _one_clean_error_line(capsys)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_evaluate_refuses_a_model_without_provenance(tmp_path, capsys):
    X, y = _blobs()
    path = tmp_path / "plain.joblib"
    joblib.dump(TwoLayerClassifier(max_iter=5, random_state=0).fit(X, y), path)
    assert main(["evaluate", "--model", str(path)]) == 1
    line = _one_clean_error_line(capsys)
    assert "does not record the data and split it was trained on" in line


@pytest.mark.parametrize("command", ["tune", "fit", "evaluate", "export"])
def test_help_shows_every_default(command):
    parser = cli.build_parser()
    sub = parser._subparsers._group_actions[0].choices[command]
    text = sub.format_help()
    for action in sub._actions:
        if action.dest == "help" or action.help is None:
            continue
        help_text = sub._get_formatter()._expand_help(action)
        assert "default" in help_text or action.required, (command, action.dest)
    assert "usage: sklmlp " + command in text
