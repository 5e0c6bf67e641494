"""The command-line front end: tune (the README's main job), fit, evaluate."""

import csv
import json
import re
import subprocess
import sys

import numpy as np
import pytest

import sklmlp
import sklmlp.datasets as datasets
from sklmlp.cli import main

FAST = ["--n-iter", "3", "--cv", "2", "--max-iter", "20", "--n-jobs", "1"]


def _table_rows(out):
    return [line for line in out.splitlines() if re.match(r"\s+\d+\s+\d+\s+\d", line)]


def test_tune_prints_a_ranked_table_and_the_test_accuracy(capsys):
    assert main(FAST) == 0
    captured = capsys.readouterr()
    out = captured.out
    rows = _table_rows(out)
    assert len(rows) == 3
    ranks = [int(row.split()[0]) for row in rows]
    assert ranks == sorted(ranks)
    assert "mean acc" in out and "std acc" in out and "fit s" in out
    assert re.search(r"Best parameters: hidden_size=\d+, learning_rate=\S+, reg=", out)
    accuracy = float(re.search(r"Test accuracy of the refit model: (\S+)", out)[1])
    assert accuracy > 0.85
    # not a terminal: plain progress lines on stderr, ending with all fits done
    assert captured.err.splitlines()[-1].startswith("tune: 6/6 fits")


def test_tune_halving_writes_its_outputs(tmp_path, capsys):
    out_dir = tmp_path / "out"
    argv = ["tune", "--search", "halving", "--n-iter", "4", "--cv", "2"]
    assert main(argv + ["--max-iter", "9", "--out", str(out_dir)]) == 0
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["search"] == "halving" and summary["best_params"]["max_iter"] == 9
    assert 0.0 < summary["test_accuracy"] <= 1.0
    with open(out_dir / "cv_results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {row["n_resources"] for row in rows} == {"3", "9"}
    capsys.readouterr()
    assert main(["evaluate", "--model", str(out_dir / "best_model.joblib")]) == 0
    for name in ("training_curve.png", "first_layer_weights.png", "search_results.png"):
        assert (out_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    reported = float(capsys.readouterr().out.split(":")[-1])
    assert reported == pytest.approx(summary["test_accuracy"], abs=1e-4)


def test_fit_shows_epochs_and_saves_a_model(tmp_path, capsys):
    argv = ["fit", "--max-iter", "4", "--hidden-size", "20", "--out", str(tmp_path)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    epochs = [line for line in captured.out.splitlines() if line.startswith("Epoch ")]
    assert len(epochs) == 4
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
        ["evaluate"],
    ],
)
def test_bad_arguments_exit_with_status_2(argv, capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(argv)
    assert excinfo.value.code == 2
    assert "usage: sklmlp" in capsys.readouterr().err


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
