"""Plots of training, weights and searches, in scikit-learn's Display style.

Each display is built with a ``from_*`` class method, draws with
``plot(ax=None)``, and keeps what it drew (``figure_``, ``ax_`` and the
artists) for further styling. matplotlib is imported only when something is
drawn; install it with ``pip install 'sklmlp[plot]'``.
"""

import numpy as np

__all__ = ["SearchResultsDisplay", "TrainingCurveDisplay", "WeightImageDisplay"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "sklmlp.plotting needs matplotlib: pip install 'sklmlp[plot]'."
        ) from exc
    return plt


def _classifier(estimator):
    """The TwoLayerClassifier itself, or the last step of a Pipeline."""
    if hasattr(estimator, "steps"):
        estimator = estimator[-1]
    if not hasattr(estimator, "coefs_"):
        raise ValueError(
            f"{type(estimator).__name__} is not a fitted TwoLayerClassifier (or a "
            "fitted Pipeline ending in one); call fit first."
        )
    return estimator


class TrainingCurveDisplay:
    """Training loss per epoch, with validation loss and accuracy if kept.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        Training objective per epoch.
    validation_loss_curve : array-like of shape (n_epochs,), default=None
        Validation cross-entropy per epoch (early stopping).
    validation_scores : array-like of shape (n_epochs,), default=None
        Validation accuracy per epoch (early stopping).

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes of the losses.
    accuracy_ax_ : matplotlib Axes or None
        A twin axes (right) for the validation accuracy.
    lines_ : dict of matplotlib Line2D
        ``'training loss'``, and ``'validation loss'`` and
        ``'validation accuracy'`` when drawn.
    figure_ : matplotlib Figure
        The figure.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from sklmlp import TwoLayerClassifier
    >>> from sklmlp.plotting import TrainingCurveDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = TwoLayerClassifier(early_stopping=True, random_state=0).fit(X / 16, y)
    >>> display = TrainingCurveDisplay.from_estimator(clf)
    >>> sorted(display.lines_)
    ['training loss', 'validation accuracy', 'validation loss']
    """

    def __init__(self, loss_curve, validation_loss_curve=None, validation_scores=None):
        self.loss_curve = loss_curve
        self.validation_loss_curve = validation_loss_curve
        self.validation_scores = validation_scores

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Plot the curves a fitted TwoLayerClassifier (or Pipeline) kept.

        Parameters
        ----------
        estimator : TwoLayerClassifier or Pipeline
            Fitted; a Pipeline's last step is used.
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.

        Returns
        -------
        display : TrainingCurveDisplay
        """
        clf = _classifier(estimator)
        display = cls(
            clf.loss_curve_,
            getattr(clf, "validation_loss_curve_", None),
            getattr(clf, "validation_scores_", None),
        )
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.

        Returns
        -------
        display : TrainingCurveDisplay
            Itself, with the artists stored.
        """
        plt = _pyplot()
        from matplotlib.ticker import MaxNLocator

        if ax is None:
            _, ax = plt.subplots()
        epochs = np.arange(1, len(self.loss_curve) + 1)
        self.lines_ = {}
        (self.lines_["training loss"],) = ax.plot(
            epochs, self.loss_curve, label="training loss"
        )
        if self.validation_loss_curve is not None and len(self.validation_loss_curve):
            (self.lines_["validation loss"],) = ax.plot(
                epochs, self.validation_loss_curve, label="validation loss"
            )
        ax.set_xlabel("epoch")
        # Whole epochs only (no 2.5), at round numbers (10, 20, not 8, 16).
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
        ax.set_ylabel("loss")
        self.accuracy_ax_ = None
        if self.validation_scores is not None and len(self.validation_scores):
            self.accuracy_ax_ = ax.twinx()
            (self.lines_["validation accuracy"],) = self.accuracy_ax_.plot(
                epochs,
                self.validation_scores,
                color="tab:green",
                label="validation accuracy",
            )
            self.accuracy_ax_.set_ylabel("validation accuracy")
        ax.legend(handles=list(self.lines_.values()), loc="center right")
        ax.set_title("Training curve")
        self.ax_, self.figure_ = ax, ax.figure
        return self


class WeightImageDisplay:
    """First-layer weights of hidden units, tiled as images.

    All tiles share one colour scale, symmetric around 0 and shown by a
    colorbar, so that a strong unit looks strong next to a weak one.

    Parameters
    ----------
    weights : ndarray of shape (n_features, n_units)
        The columns of ``W1`` to show.
    image_shape : tuple of int
        Shape of one input image: ``(height, width)`` for grey images,
        ``(height, width, 3)`` for colour stored pixel by pixel, or
        ``(3, height, width)`` for colour stored plane by plane (CIFAR-10's
        batches).
    units : array-like of int, default=None
        The hidden units' indices, for the record.

    Attributes
    ----------
    image_ : ndarray
        The tiled weights, ``(height, width)`` or ``(height, width, 3)`` per
        tile, NaN in the gaps between tiles.
    scale_ : float
        The largest absolute weight shown: the colour scale runs from
        ``-scale_`` to ``scale_``.
    im_ : matplotlib AxesImage
        The drawn image. Grey images are drawn in weight units; colour images
        as RGB, each channel ``0.5 + weight / (2 * scale_)``.
    colorbar_ : matplotlib Colorbar
        The weight scale (per colour channel for colour images).
    ax_ : matplotlib Axes
        The axes.
    figure_ : matplotlib Figure
        The figure.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from sklmlp import TwoLayerClassifier
    >>> from sklmlp.plotting import WeightImageDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = TwoLayerClassifier(hidden_size=9, random_state=0).fit(X / 16, y)
    >>> WeightImageDisplay.from_estimator(clf, (8, 8), units=9).image_.shape
    (26, 26)
    """

    def __init__(self, weights, image_shape, units=None):
        self.weights = weights
        self.image_shape = image_shape
        self.units = units

    @classmethod
    def from_estimator(cls, estimator, image_shape, *, units=16, ax=None, n_cols=None):
        """Tile the first-layer weights of a fitted classifier.

        Parameters
        ----------
        estimator : TwoLayerClassifier or Pipeline
            Fitted; a Pipeline's last step is used.
        image_shape : tuple of int
            See the class docstring; ``prod(image_shape)`` must equal the
            number of features.
        units : int or array-like of int, default=16
            How many hidden units to show (the first ones), or which.
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        n_cols : int, default=None
            Tiles per row; about the square root of the number of units.

        Returns
        -------
        display : WeightImageDisplay
        """
        W1 = _classifier(estimator).coefs_[0]
        if int(np.prod(image_shape)) != W1.shape[0]:
            raise ValueError(
                f"image_shape={tuple(image_shape)} holds {int(np.prod(image_shape))} "
                f"values, but the network has {W1.shape[0]} input features."
            )
        if np.isscalar(units):
            units = np.arange(min(int(units), W1.shape[1]))
        units = np.asarray(units)
        return cls(W1[:, units], tuple(image_shape), units).plot(ax=ax, n_cols=n_cols)

    def plot(self, ax=None, n_cols=None, cmap="gray"):
        """Draw the tiles and their colorbar.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        n_cols : int, default=None
            Tiles per row; about the square root of the number of units.
        cmap : str, default="gray"
            Colour map of grey images (and of the colorbar).

        Returns
        -------
        display : WeightImageDisplay
            Itself, with the artists stored.
        """
        plt = _pyplot()
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        weights = np.asarray(self.weights, dtype=float)
        tiles = [self._tile(w) for w in weights.T]
        n_cols = n_cols or int(np.ceil(np.sqrt(len(tiles))))
        n_rows = int(np.ceil(len(tiles) / n_cols))
        height, width = tiles[0].shape[:2]
        pad = 1
        shape = (n_rows * (height + pad) - pad, n_cols * (width + pad) - pad)
        grid = np.full(shape + tiles[0].shape[2:], np.nan)
        for i, tile in enumerate(tiles):
            top, left = (i // n_cols) * (height + pad), (i % n_cols) * (width + pad)
            grid[top : top + height, left : left + width] = tile
        scale = float(np.abs(weights).max()) or 1.0
        norm = Normalize(-scale, scale)
        if ax is None:
            _, ax = plt.subplots()
        if grid.ndim == 2:
            # NaN gaps are "bad" pixels: left transparent.
            self.im_ = ax.imshow(grid, cmap=cmap, norm=norm)
            mappable, label = self.im_, "weight"
        else:
            # RGB has no colour map: map each channel linearly, 0 to mid grey.
            rgb = np.where(np.isnan(grid), 1.0, 0.5 + grid / (2 * scale))
            self.im_ = ax.imshow(np.clip(rgb, 0.0, 1.0))
            mappable = ScalarMappable(norm=norm, cmap=cmap)
            label = "weight (each colour channel)"
        ax.set_axis_off()
        ax.set_title(f"First-layer weights of {len(tiles)} hidden units")
        self.colorbar_ = ax.figure.colorbar(mappable, ax=ax, label=label)
        self.image_, self.scale_ = grid, scale
        self.ax_, self.figure_ = ax, ax.figure
        return self

    def _tile(self, w):
        """One unit's weights as an image, (height, width) or (height, width, 3)."""
        shape = self.image_shape
        if len(shape) == 3 and shape[0] == 3 and shape[2] != 3:
            return w.reshape(shape).transpose(1, 2, 0)  # planes -> pixels
        return w.reshape(shape)


def _log_subs(low, high):
    """The fewest multiples of each power of ten that label 3 ticks in view.

    Over a few decades the powers of ten are enough; the default learning-rate
    range, 3e-4 to 3e-2, needs the 3x multiples as well.
    """
    powers = 10.0 ** np.arange(np.floor(np.log10(low)), np.ceil(np.log10(high)) + 1)
    for subs in ((1.0,), (1.0, 3.0), (1.0, 2.0, 5.0)):
        ticks = np.outer(powers, subs)
        if np.count_nonzero((ticks >= low) & (ticks <= high)) >= 3:
            return subs
    return np.arange(1.0, 10.0)


def _log_label(value, _pos=None):
    """``3e-4`` rather than 3x10^-4: short enough for two labels a decade."""
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


class SearchResultsDisplay:
    """Mean CV accuracy against learning rate and reg, coloured by hidden size.

    Parameters
    ----------
    cv_results : dict
        A search's ``cv_results_``, over parameters whose names end in
        ``learning_rate``, ``reg`` and ``hidden_size`` (any Pipeline prefix).

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes
        The learning-rate panel and the reg panel.
    scatters_ : list of matplotlib PathCollection
        One scatter per panel.
    colorbar_ : matplotlib Colorbar
        Hidden size.
    figure_ : matplotlib Figure
        The figure.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from sklmlp import TwoLayerClassifier
    >>> from sklmlp.plotting import SearchResultsDisplay
    >>> from sklmlp.search import make_search
    >>> X, y = load_digits(return_X_y=True)
    >>> search = make_search(TwoLayerClassifier(random_state=0), n_iter=3, cv=2,
    ...                      max_iter=5, random_state=0).fit(X / 16, y)
    >>> display = SearchResultsDisplay.from_search(search)
    >>> [ax.get_xlabel() for ax in display.axes_]
    ['learning_rate', 'reg']
    """

    def __init__(self, cv_results):
        self.cv_results = cv_results

    @classmethod
    def from_search(cls, search, *, axes=None):
        """Plot a fitted RandomizedSearchCV or HalvingRandomSearchCV.

        Parameters
        ----------
        search : fitted search
            Its ``cv_results_`` are plotted.
        axes : sequence of two matplotlib Axes, default=None
            Where to draw; a new figure when None.

        Returns
        -------
        display : SearchResultsDisplay
        """
        if not hasattr(search, "cv_results_"):
            raise ValueError("The search is not fitted: it has no cv_results_.")
        return cls(search.cv_results_).plot(axes=axes)

    def plot(self, axes=None):
        """Draw the two panels.

        Parameters
        ----------
        axes : sequence of two matplotlib Axes, default=None
            Where to draw; a new figure when None.

        Returns
        -------
        display : SearchResultsDisplay
            Itself, with the artists stored.
        """
        plt = _pyplot()
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        results = self.cv_results
        column = {name: self._column(name) for name in ("learning_rate", "reg")}
        hidden = self._column("hidden_size")
        scores = np.asarray(results["mean_test_score"], dtype=float)
        # Halving searches: bigger markers for candidates trained longer.
        sizes = 30.0
        if "n_resources" in results:
            resources = np.asarray(results["n_resources"], dtype=float)
            sizes = 15 + 60 * resources / resources.max()
        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
        self.scatters_ = []
        for ax, name in zip(axes, ("learning_rate", "reg"), strict=True):
            scatter = ax.scatter(
                column[name], scores, c=hidden, s=sizes, cmap="viridis"
            )
            ax.set_xscale("log")
            # Labelled ticks for the range in view: one label a decade is
            # too few over the two decades of the default learning rates.
            ax.xaxis.set_major_locator(LogLocator(subs=_log_subs(*ax.get_xlim())))
            ax.xaxis.set_major_formatter(FuncFormatter(_log_label))
            ax.xaxis.set_minor_formatter(NullFormatter())  # no crowded labels
            ax.set_xlabel(name)
            ax.set_title(f"Mean CV accuracy by {name}")
            self.scatters_.append(scatter)
        axes[0].set_ylabel("mean CV accuracy")
        self.colorbar_ = axes[0].figure.colorbar(
            self.scatters_[-1], ax=list(axes), label="hidden_size"
        )
        self.axes_, self.figure_ = np.asarray(axes), axes[0].figure
        return self

    def _column(self, name):
        keys = [
            k
            for k in self.cv_results
            if k.startswith("param_")
            and (k == f"param_{name}" or k.endswith(f"__{name}"))
        ]
        if not keys:
            raise ValueError(
                f"cv_results has no parameter named {name!r} (or ending in "
                f"'__{name}'); its parameters are "
                f"{[k for k in self.cv_results if k.startswith('param_')]}."
            )
        return np.asarray(self.cv_results[keys[0]], dtype=float)
