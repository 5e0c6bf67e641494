"""Every gallery example runs and draws its figure (Agg backend)."""

import re
import runpy
from pathlib import Path

import pytest

from _extras import importorskip

matplotlib = importorskip("matplotlib", extra="plot")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("plot_*.py"))


# An example either trains to convergence or says why it stops early and
# silences the warning around that one call; a leaked ConvergenceWarning fails.
# scikit-learn (>= 1.7) hands these filters to a search's joblib workers,
# where the error makes the fit fail and the search warn FitFailedWarning.
@pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("error::sklearn.exceptions.FitFailedWarning")
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_and_draws(path, monkeypatch, capsys):
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: None)
    plt.close("all")
    runpy.run_path(str(path), run_name="__main__")
    printed = capsys.readouterr().out
    # NumPy 2 scalar reprs such as np.float64(0.0017) are not for readers.
    assert not re.search(r"np\.\w+\(", printed), printed
    figures = [plt.figure(n) for n in plt.get_fignums()]
    assert figures, f"{path.name} drew no figure"
    drawn = [
        ax
        for fig in figures
        for ax in fig.axes
        if ax.lines or ax.collections or ax.images
    ]
    assert drawn, f"{path.name} drew empty axes"
    plt.close("all")


def test_the_gallery_covers_the_topics():
    names = {p.stem for p in EXAMPLES}
    assert {
        "plot_quickstart",
        "plot_manual_loop_vs_search",
        "plot_successive_halving",
        "plot_learning_rate_decay",
        "plot_weight_images",
        "plot_decision_boundaries",
        "plot_dask_search",
        "plot_onnx_export",
    } <= names
