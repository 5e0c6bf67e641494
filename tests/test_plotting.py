"""The displays draw what they say (Agg backend, no screen)."""

import warnings

import numpy as np
import pytest

from _extras import importorskip

matplotlib = importorskip("matplotlib", extra="plot")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklmlp import TwoLayerClassifier  # noqa: E402
from sklmlp.plotting import (  # noqa: E402
    SearchResultsDisplay,
    TrainingCurveDisplay,
    WeightImageDisplay,
)
from sklmlp.search import default_search_space, make_search  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _quiet_fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def _labelled_ticks(axis):
    """{location: label} of the major ticks in view that carry a label."""
    axis.axes.figure.canvas.draw()
    low, high = sorted(axis.get_view_interval())
    return {
        loc: label.get_text()
        for loc, label in zip(
            axis.get_majorticklocs(), axis.get_majorticklabels(), strict=True
        )
        if low <= loc <= high and label.get_text()
    }


def test_training_curve_without_validation(digits):
    X, y = digits
    clf = _quiet_fit(TwoLayerClassifier(max_iter=7, random_state=0), X, y)
    display = TrainingCurveDisplay.from_estimator(clf)
    assert list(display.lines_) == ["training loss"]
    line = display.lines_["training loss"]
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, 8))
    np.testing.assert_allclose(line.get_ydata(), clf.loss_curve_)
    assert display.accuracy_ax_ is None
    assert display.ax_.get_xlabel() == "epoch" and display.ax_.get_ylabel() == "loss"


@pytest.mark.parametrize("n_epochs", [2, 5, 7])
def test_training_curve_ticks_whole_epochs(n_epochs):
    # matplotlib's default locator puts ticks at 1.5, 2.5, ... on short curves.
    display = TrainingCurveDisplay(np.linspace(2.0, 1.0, n_epochs)).plot()
    ticks = _labelled_ticks(display.ax_.xaxis)
    assert len(ticks) >= 2
    assert all(float(loc).is_integer() for loc in ticks), ticks


def test_training_curve_with_validation_through_a_pipeline(digits):
    X, y = digits
    pipe = make_pipeline(
        StandardScaler(),
        TwoLayerClassifier(early_stopping=True, max_iter=12, random_state=0),
    )
    clf = _quiet_fit(pipe, X, y)[-1]
    _, ax = plt.subplots()
    display = TrainingCurveDisplay.from_estimator(pipe, ax=ax)
    assert display.ax_ is ax and display.figure_ is ax.figure
    np.testing.assert_allclose(
        display.lines_["validation loss"].get_ydata(), clf.validation_loss_curve_
    )
    accuracy = display.lines_["validation accuracy"]
    assert accuracy.axes is display.accuracy_ax_
    np.testing.assert_allclose(accuracy.get_ydata(), clf.validation_scores_)
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend == ["training loss", "validation loss", "validation accuracy"]


def test_weight_images_of_grey_digits(digits):
    X, y = digits
    clf = _quiet_fit(TwoLayerClassifier(hidden_size=10, random_state=0), X, y)
    display = WeightImageDisplay.from_estimator(clf, (8, 8), units=[0, 3, 7, 9])
    # 2 x 2 tiles of 8 x 8 with 1-pixel gaps
    assert display.image_.shape == (17, 17)
    tile = display.image_[9:17, 0:8]  # unit 7, bottom left
    np.testing.assert_allclose(tile, clf.coefs_[0][:, 7].reshape(8, 8))
    assert np.isnan(display.image_[8]).all() and np.isnan(display.image_[:, 8]).all()
    assert display.im_.get_array().shape == (17, 17)
    assert "4 hidden units" in display.ax_.get_title()


def test_weight_images_share_one_symmetric_scale_with_a_colorbar(digits):
    X, y = digits
    clf = _quiet_fit(TwoLayerClassifier(hidden_size=10, random_state=0), X, y)
    units = [0, 3, 7, 9]
    display = WeightImageDisplay.from_estimator(clf, (8, 8), units=units)
    scale = np.abs(clf.coefs_[0][:, units]).max()
    assert display.scale_ == pytest.approx(scale)
    # One scale for every tile, 0 in the middle of it.
    assert display.im_.get_clim() == pytest.approx((-scale, scale))
    colorbar = display.colorbar_
    assert colorbar.mappable is display.im_
    assert colorbar.ax in display.figure_.axes and colorbar.ax is not display.ax_
    assert colorbar.ax.get_ylabel() == "weight"


@pytest.mark.parametrize("shape", [(3, 4, 4), (4, 4, 3)], ids=["planar", "pixels"])
def test_weight_images_in_colour(shape):
    rng = np.random.RandomState(0)
    X, y = rng.rand(60, 48), np.repeat([0, 1, 2], 20)
    clf = _quiet_fit(TwoLayerClassifier(hidden_size=5, max_iter=3), X, y)
    display = WeightImageDisplay.from_estimator(clf, shape, units=5, n_cols=5)
    assert display.image_.shape == (4, 5 * 4 + 4, 3)
    w = clf.coefs_[0][:, 0].reshape(shape)
    expected = w.transpose(1, 2, 0) if shape[0] == 3 else w
    np.testing.assert_allclose(display.image_[:, :4], expected)
    # RGB has no colour map: each channel is 0.5 + weight / (2 * scale).
    scale = np.abs(clf.coefs_[0][:, :5]).max()
    np.testing.assert_allclose(
        display.im_.get_array()[:, :4], 0.5 + expected / (2 * scale)
    )
    assert display.colorbar_.mappable.get_clim() == pytest.approx((-scale, scale))
    assert display.colorbar_.ax in display.figure_.axes


def test_weight_images_reject_a_wrong_shape(digits):
    X, y = digits
    clf = _quiet_fit(TwoLayerClassifier(hidden_size=4, max_iter=2), X, y)
    with pytest.raises(ValueError, match=r"image_shape=\(28, 28\) holds 784"):
        WeightImageDisplay.from_estimator(clf, (28, 28))


@pytest.mark.parametrize("kind", ["random", "halving"])
def test_search_results(digits, kind):
    X, y = digits
    search = make_search(
        make_pipeline(StandardScaler(), TwoLayerClassifier(random_state=0)),
        search=kind,
        n_iter=4,
        cv=2,
        max_iter=6,
        prefix="twolayerclassifier",
        random_state=0,
    )
    _quiet_fit(search, X[:400], y[:400])
    display = SearchResultsDisplay.from_search(search)
    results = search.cv_results_
    n_rows = len(results["params"])
    lr_points = display.scatters_[0].get_offsets()
    reg_points = display.scatters_[1].get_offsets()
    assert len(lr_points) == len(reg_points) == n_rows
    np.testing.assert_allclose(
        lr_points[:, 0],
        results["param_twolayerclassifier__learning_rate"].astype(float),
    )
    np.testing.assert_allclose(reg_points[:, 1], results["mean_test_score"])
    assert [ax.get_xscale() for ax in display.axes_] == ["log", "log"]
    assert [ax.get_xlabel() for ax in display.axes_] == ["learning_rate", "reg"]
    assert all(ax.get_title() for ax in display.axes_)
    assert all(len(_labelled_ticks(ax.xaxis)) >= 2 for ax in display.axes_)
    assert display.colorbar_.ax.get_ylabel() == "hidden_size"
    sizes = display.scatters_[0].get_sizes()
    assert (len(set(sizes)) > 1) == (kind == "halving")


def _cv_results(learning_rate, reg):
    n = len(learning_rate)
    return {
        "param_learning_rate": np.asarray(learning_rate),
        "param_reg": np.asarray(reg),
        "param_hidden_size": np.arange(32, 32 + n),
        "mean_test_score": np.linspace(0.5, 0.9, n),
    }


@pytest.mark.parametrize(
    "learning_rate",
    [
        # The default space, 3e-4 to 3e-2, once drawn and once at its ends.
        default_search_space()["learning_rate"].rvs(
            size=20, random_state=np.random.RandomState(1)
        ),
        [3e-4, 3e-2],
        # Within two decades but between powers of ten: one used to be shown.
        [1.5e-3, 2.5e-2],
        # Within one decade: none used to be shown.
        [2.2e-3, 4.5e-3],
    ],
    ids=["default-draws", "default-ends", "two-decades", "one-decade"],
)
def test_search_results_label_several_ticks_of_a_log_axis(learning_rate):
    reg = default_search_space()["reg"].rvs(
        size=len(learning_rate), random_state=np.random.RandomState(0)
    )
    display = SearchResultsDisplay(_cv_results(learning_rate, reg)).plot()
    for ax in display.axes_:
        assert ax.get_title()
        ticks = _labelled_ticks(ax.xaxis)
        assert len(ticks) >= 2, ticks
        # Each label reads as the value it stands at.
        for loc, label in ticks.items():
            assert float(label) == pytest.approx(loc), (loc, label)


def test_displays_need_fitted_objects():
    with pytest.raises(ValueError, match="fitted TwoLayerClassifier"):
        TrainingCurveDisplay.from_estimator(TwoLayerClassifier())
    with pytest.raises(ValueError, match="not fitted"):
        SearchResultsDisplay.from_search(make_search(TwoLayerClassifier()))
    with pytest.raises(ValueError, match="no parameter named 'learning_rate'"):
        SearchResultsDisplay({"param_alpha": [1.0], "mean_test_score": [0.5]}).plot()
