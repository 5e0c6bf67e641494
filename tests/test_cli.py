"""The command-line front end (the README's main job, made small)."""

import re
import subprocess
import sys

import pytest

from sklmlp.cli import main


def test_tune_prints_a_ranked_table_and_the_test_accuracy(capsys):
    assert (
        main(["--n-iter", "3", "--cv", "2", "--max-iter", "20", "--n-jobs", "1"]) == 0
    )
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if re.match(r"\s+\d+\s+\d+\s+\d", line)]
    assert len(rows) == 3
    ranks = [int(row.split()[0]) for row in rows]
    assert ranks == sorted(ranks)
    assert "mean acc" in out and "std acc" in out and "fit s" in out
    assert re.search(r"Best parameters: hidden_size=\d+, learning_rate=\S+, reg=", out)
    accuracy = float(re.search(r"Test accuracy of the refit model: (\S+)", out)[1])
    assert accuracy > 0.85


@pytest.mark.parametrize("argv", [["--n-iter", "0"], ["--cv", "x"], ["frobnicate"]])
def test_bad_arguments_exit_with_status_2(argv, capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(argv)
    assert excinfo.value.code == 2
    assert "usage: sklmlp" in capsys.readouterr().err


def test_python_dash_m_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "sklmlp", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    import sklmlp

    assert result.stdout.strip() == sklmlp.__version__
