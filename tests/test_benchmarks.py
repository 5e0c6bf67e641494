"""The benchmark scripts keep working: each runs in its tiny smoke mode.

Nothing is timed here; the figures come from running the scripts by hand.
"""

import runpy
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_bench_search_smoke(capsys):
    module = runpy.run_path(str(BENCHMARKS / "bench_search.py"))
    assert module["main"](["--smoke"]) == 0
    out = capsys.readouterr().out
    for row in ("seed loop", "n_jobs=1", "n_jobs=2", "HalvingRandomSearchCV"):
        assert row in out
    assert "speed-up over n_jobs=1" in out and "wall time / random's" in out


def test_bench_epoch_smoke(capsys):
    module = runpy.run_path(str(BENCHMARKS / "bench_epoch.py"))
    assert module["main"](["--smoke"]) == 0
    out = capsys.readouterr().out
    assert "sklmlp/floor" in out and "sklmlp/MLP" in out
    rows = [line.split() for line in out.splitlines() if line.strip().startswith("16 ")]
    assert [row[1] for row in rows] == ["float32", "float64"]
    assert "predict_proba on 20,000 rows" in out


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_bench_fashion_mnist_smoke(capsys):
    module = runpy.run_path(str(BENCHMARKS / "bench_fashion_mnist.py"))
    assert module["main"](["--smoke"]) == 0
    out = capsys.readouterr().out
    assert "best parameters: hidden_size=" in out
    assert "test accuracy" in out and "MLPClassifier" in out


def test_bench_memmap_smoke(capsys):
    module = runpy.run_path(str(BENCHMARKS / "bench_memmap.py"))
    assert module["main"](["--smoke"]) == 0
    out = capsys.readouterr().out
    assert "peak anonymous memory" in out and "peak resident memory in all" in out
