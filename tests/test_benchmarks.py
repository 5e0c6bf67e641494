"""The benchmark scripts keep working: each runs in its tiny smoke mode.

Nothing is timed here; the figures come from running the scripts by hand.
"""

import importlib.util
import re
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from _extras import importorskip

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_bench_search_smoke(capsys):
    module = runpy.run_path(str(BENCHMARKS / "bench_search.py"))
    assert module["main"](["--smoke"]) == 0
    out = capsys.readouterr().out
    for row in ("seed loop", "n_jobs=1", "n_jobs=2", "HalvingRandomSearchCV"):
        assert row in out
    assert "speed-up over n_jobs=1" in out and "wall time / random's" in out


def _table_rows(out, first_cells):
    """Rows of a printed table whose first cells are ``first_cells``."""
    rows = [line.split() for line in out.splitlines()]
    return [row for row in rows if row[: len(first_cells)] == first_cells]


def test_bench_epoch_smoke(capsys):
    module = runpy.run_path(str(BENCHMARKS / "bench_epoch.py"))
    assert module["main"](["--smoke", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    for column in ("sklmlp/floor", "sklmlp/MLP", "sklmlp/torch", "sklmlp/skorch"):
        assert column in out
    rows = _table_rows(out, ["1", "16"])
    assert [row[2] for row in rows] == ["float32", "float64"]
    # threads, hidden, dtype, 5 timings, 4 ratios, 2 peak allocations
    assert all(len(row) == 14 for row in rows)
    has_torch = importlib.util.find_spec("torch") is not None
    assert all((row[6] != "-") == has_torch for row in rows)
    assert ("PyTorch is not installed" in out) != has_torch
    goals = out.split("goals:")[1].split("predict_proba")[0].splitlines()[1:]
    assert len(goals) >= 2
    assert all(line.split()[-1] == "met" or "not met" in line for line in goals)
    assert "predict_proba on 20,000 rows" in out


def test_bench_epoch_without_torch_selects_rows(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now fails
    module = runpy.run_path(str(BENCHMARKS / "bench_epoch.py"))
    argv = ["--smoke", "--threads", "1", "2", "--hidden", "8", "--dtype", "float32"]
    assert module["main"](argv) == 0
    out = capsys.readouterr().out
    assert "PyTorch is not installed: measuring without PyTorch and skorch" in out
    rows = [row for row in _table_rows(out, []) if row[1:3] == ["8", "float32"]]
    assert [row[0] for row in rows] == ["1", "2"]
    for row in rows:
        floor, ours, mlp, torch, skorch = row[3:8]
        assert torch == skorch == "-" and "-" not in (floor, ours, mlp)
        assert row[10:12] == ["-", "-"]  # sklmlp/torch, sklmlp/skorch
    assert "sklmlp/MLP <= 0.50 (2 threads, hidden 8, float32)" in out


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_bench_engines_smoke(capsys):
    module = runpy.run_path(str(BENCHMARKS / "bench_engines.py"))
    assert module["main"](["--smoke", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^1 thread\(s\): fast \d+\.\d{3} s per epoch$", out, re.M)
    for variant in ("textbook", "input-grad", "penalty-value"):
        assert re.search(rf"^ +{variant}: \d+\.\d{{3}} s, \d+\.\d\dx fast$", out, re.M)
    # the smoke run leaves the estimator on its own fast path
    import sklmlp._fastpath

    assert sklmlp._fastpath.fused_loss_and_grads.__module__ == "sklmlp._fastpath"


def test_bench_epoch_goal_lines():
    module = runpy.run_path(str(BENCHMARKS / "bench_epoch.py"))
    results = {
        (2, 500, "float32"): {"floor": 1.0, "sklmlp": 1.3, "mlp": 2.0, "torch": 1.5},
        (1, 500, "float32"): {"floor": 1.0, "sklmlp": 1.3, "mlp": 2.8},
        (1, 100, "float64"): {"floor": 1.0, "sklmlp": 1.1, "mlp": 3.0},
    }
    lines = module["goal_lines"](results)
    parsed = [re.fullmatch(r"(.+\)) +(\d+\.\d\d)  (met|not met)", x) for x in lines]
    assert [match.groups() for match in parsed] == [
        ("sklmlp/floor <= 1.35 (2 threads, hidden 500, float32)", "1.30", "met"),
        ("sklmlp/floor <= 1.25 (1 thread, hidden 500, float32)", "1.30", "not met"),
        ("sklmlp/torch <= 0.80 (2 threads, hidden 500, float32)", "0.87", "not met"),
        ("sklmlp/MLP <= 0.50 (2 threads, hidden 500, float32)", "0.65", "not met"),
        ("sklmlp/MLP <= 0.50 (1 thread, hidden 500, float32)", "0.46", "met"),
        ("sklmlp/MLP <= 0.50 (1 thread, hidden 100, float64)", "0.37", "met"),
    ]
    assert module["goal_lines"]({}) == []


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


@pytest.mark.parametrize("method", ["auto", "partial_fit"])
def test_bench_subnormal_smoke(capsys, method):
    module = runpy.run_path(str(BENCHMARKS / "bench_subnormal.py"))
    assert module["main"](["--smoke", "--method", method]) == 0
    out = capsys.readouterr().out
    assert "later/first" in out and "vs median" in out and "subnormal W,b" in out
    rows = _table_rows(out, ["adam", "16"]) + _table_rows(out, ["sgd", "16"])
    # the space's 4 corners, 2 random draws, then outside it 3 adam, 2 sgd runs
    assert len(rows) == 4 + 2 + 3 + 2
    assert [row[10] for row in rows] == ["in"] * 6 + ["out"] * 5
    assert "in the default search space: " in out and " of 6 configurations" in out
    assert ["adam", "16", "0.03", "0.01"] in [row[:4] for row in rows]
    assert all(row[-1] == "met" or row[-2:] == ["not", "met"] for row in rows)
    assert all(int(row[8]) >= 0 for row in rows)  # subnormal weight entries
    assert "summary: " in out and " of 11 configurations meet both goals" in out


def test_bench_subnormal_counts_and_ratios():
    module = runpy.run_path(str(BENCHMARKS / "bench_subnormal.py"))
    count = module["subnormal_count"]
    tiny32 = np.finfo(np.float32).tiny
    arrays = [
        np.array([0.0, tiny32 / 4, -tiny32 / 4, tiny32, 1.0], dtype=np.float32),
        np.array([1e-310, tiny32 / 4, 0.0], dtype=np.float64),
        np.array([1, 0]),
    ]
    assert count(arrays) == 3

    adam, sgd = ("adam", 300, 3e-2, 0.01), ("sgd", 300, 3e-2, 0.01)
    runs = {
        ("adam", 300, 1e-3, 1e-4): ([1.0, 1.0, 1.0, 1.1, 1.0], None, 0, 0),
        adam: ([1.0, 1.0, 1.0, 2.0, 2.0], None, 5, 7),
        ("adam", 300, 3e-4, 0.1): ([1.0, 1.0], "diverged", 0, None),
        sgd: ([0.5, 0.5, 0.5, 0.5, 0.5], None, 0, 0),
    }
    rows = module["summarise"](runs)
    assert rows[("adam", 300, 3e-4, 0.1)] is None
    first, later, slowdown, vs_median, met = rows[adam]
    assert (first, later, slowdown, met) == (1.0, 2.0, 2.0, False)
    assert vs_median == pytest.approx(1.0 / np.median([1.0, 1.0]))
    assert rows[sgd][2:] == (1.0, 1.0, True)  # compared with sgd runs only


def test_bench_inference_smoke(capsys):
    importorskip("onnxruntime", "onnx")
    module = runpy.run_path(str(BENCHMARKS / "bench_inference.py"))
    assert module["main"](["--smoke", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    rows = [row for row in _table_rows(out, []) if row]
    # batch, 3 rates, 2 ratios: the smoke batches are 1, 10 and 100 rows
    batches = ["1", "10", "100"]
    throughput = [row for row in rows if len(row) == 6 and row[0] in batches]
    assert [row[0] for row in throughput] == batches
    names = ("sklmlp", "MLP", "onnxruntime")
    latency = {row[0]: row for row in rows if row[0] in names and len(row) == 6}
    assert len(latency["sklmlp"]) == 6 and latency["onnxruntime"][3] == "-"
    assert "sklmlp predict / MLP predict on one row:" in out
    assert "with gemm instead of gemv (as before):" in out


def test_bench_device_smoke(capsys):
    importorskip("array_api_compat", "array-api")
    module = runpy.run_path(str(BENCHMARKS / "bench_device.py"))
    assert module["main"](["--smoke", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    rows = [row for row in _table_rows(out, ["16"]) if len(row) == 7]
    has_torch = importlib.util.find_spec("torch") is not None
    backends = [row[2] for row in rows]
    assert backends.count("numpy") == 2  # batch 50 and 200
    assert ("torch-cpu" in backends) == has_torch
    gap = float(out.split("of one configuration: ")[1].split()[0])
    assert gap <= 0.01  # the same weights and order: the same accuracy
    assert "GPU" in out
