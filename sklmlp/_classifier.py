"""TwoLayerClassifier: the scikit-learn estimator around the NumPy network.

This is the one module that imports scikit-learn's base classes and private
validation helpers. It validates parameters and data, encodes labels, owns the
random state and runs the epoch loop from the pieces in :mod:`sklmlp._training`;
the math lives in :mod:`sklmlp._layers`, :mod:`sklmlp._network` (textbook),
:mod:`sklmlp._fastpath` (the same, faster) and :mod:`sklmlp._optim`, and the
rows come from :mod:`sklmlp._batches`.
"""

import math
import time
import warnings
from numbers import Integral, Real

import numpy as np
import scipy
import sklearn.exceptions
from sklearn import get_config
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.utils import check_random_state
from sklearn.utils._array_api import (
    _is_numpy_namespace,
    get_namespace,
    get_namespace_and_device,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._batches import BatchSource, check_finite, iter_chunks, read_only_mapping, take
from ._callbacks import CallbackSupportMixin, fit_context
from ._data import class_sample_weights, validation_split
from ._layers import l2_penalty, log_softmax, softmax
from ._network import accuracy_and_loss, forward, init_params, loss_scale
from ._optim import decay_learning_rate, make_optimizer
from ._training import Checkpoint, EarlyStopping, diverged, train_epoch
from ._version import __version__
from ._xp import asarray, copy, is_numpy, namespace, to_numpy

# An epoch whose mean cross-entropy exceeds this multiple of the initial
# network's loss scale (see _network.loss_scale: chance level, or the scores'
# range when unscaled features make it larger) counts as diverged, like a
# non-finite loss. Seen: a recovering overshoot at 20-40x (SGD, step 3, on
# standardised digits); plain SGD stuck at chance accuracy at 1,000x and more.
DIVERGENCE_FACTOR = 100.0

# Training rows on which that loss scale is measured, before the first update.
LOSS_SCALE_ROWS = 1000

# Rows per chunk in predict*, so that memory stays bounded on huge inputs.
PREDICT_CHUNK_SIZE = 4096

# Whether scikit-learn can dispatch to the Array API here (it needs SciPy 1.14).
SCIPY_VERSION = tuple(int(part) for part in scipy.__version__.split(".")[:2])
ARRAY_API_POSSIBLE = SCIPY_VERSION >= (1, 14)


class InconsistentVersionWarning(sklearn.exceptions.InconsistentVersionWarning):
    """A model is loaded by another sklmlp version than the one that saved it.

    A subclass of scikit-learn's warning of the same name, so that a filter on
    either silences it, e.g.
    ``warnings.filterwarnings("ignore", category=sklmlp.InconsistentVersionWarning)``.

    Parameters
    ----------
    estimator_name : str
        Class name of the loaded estimator.
    current_sklmlp_version : str
        Version of sklmlp loading the model.
    original_sklmlp_version : str
        Version of sklmlp that saved it.
    """

    def __init__(
        self, *, estimator_name, current_sklmlp_version, original_sklmlp_version
    ):
        # scikit-learn's fields, filled with sklmlp's versions
        super().__init__(
            estimator_name=estimator_name,
            current_sklearn_version=current_sklmlp_version,
            original_sklearn_version=original_sklmlp_version,
        )
        self.current_sklmlp_version = current_sklmlp_version
        self.original_sklmlp_version = original_sklmlp_version

    def __str__(self):
        return (
            f"This {self.estimator_name} was saved by sklmlp "
            f"{self.original_sklmlp_version} and is loaded by sklmlp "
            f"{self.current_sklmlp_version}; its behaviour may differ. Refit it "
            f"with sklmlp {self.current_sklmlp_version}, or load it with sklmlp "
            f"{self.original_sklmlp_version}."
        )


class TwoLayerClassifier(ClassifierMixin, BaseEstimator):
    r"""Two-layer neural network classifier trained by minibatch SGD or Adam.

    The network is affine -> ReLU -> affine -> softmax, trained on the softmax
    cross-entropy with an L2 penalty on the weights. Forward and backward passes
    are hand-written NumPy; dense (float32 or float64) and sparse CSR/CSC inputs
    are supported.

    Parameters
    ----------
    hidden_size : int, default=100
        Number of hidden ReLU units.
    solver : {'sgd', 'adam'}, default='adam'
        Update rule. Adam is the default because its per-weight step scaling
        trains well on unscaled features without tuning; 'sgd' with Nesterov
        momentum is the faster choice per epoch once ``learning_rate`` is tuned
        (typically 1e-2 to 1e-1 on standardised features).
    learning_rate : float, default=1e-3
        Initial step size. 1e-3 is the standard Adam step; for 'sgd' choose a
        larger one (see ``solver``).
    learning_rate_decay : float, default=1.0
        Multiplied into the step after every epoch (1.0 keeps it constant).
    momentum : float, default=0.9
        Momentum coefficient of 'sgd', in [0, 1]. Ignored by 'adam', which uses
        its standard moment decay rates ``beta_1=0.9``, ``beta_2=0.999``.
    nesterov : bool, default=True
        Whether 'sgd' uses Nesterov's momentum. Ignored by 'adam'.
    reg : float, default=1e-4
        L2 regularisation strength: ``reg * (sum(W1**2) + sum(W2**2))`` is added
        to the mean loss. A small value guards against overfitting without
        slowing training.
    batch_size : int, default=200
        Minibatch size; the whole training set when it has fewer samples.
    max_iter : int, default=200
        Maximum number of epochs (passes over the training set).
    tol : float, default=1e-4
        Minimum improvement of the training loss (or, with early stopping, of
        the validation accuracy) that resets the patience counter.
    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` before training stops.
    early_stopping : bool, default=False
        Whether to hold out a stratified ``validation_fraction`` of the training
        data, stop when its accuracy stops improving, and restore the weights of
        the best epoch. When the held-out set would have fewer than 10 samples,
        or fewer than one per class, or the training part only zero sample
        weights, fit warns and trains on all the data with the training-loss
        stopping rule instead. Only used by :meth:`fit`.
    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping, in (0, 1).
    shuffle : bool, default=True
        Whether to visit the samples in a new random order every epoch.
    class_weight : dict, 'balanced' or None, default=None
        Weights ``{class_label: weight}`` multiplied into the sample weights.
        'balanced' uses ``n_samples / (n_classes * np.bincount(y))`` computed
        from the (weighted) labels of each call to :meth:`fit` or
        :meth:`partial_fit`.
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the validation split and the shuffling.
        An int gives bit-identical results on every run.
    verbose : int, default=0
        When > 0, print one line per epoch.
    warm_start : bool, default=False
        When True, :meth:`fit` continues from the previous weights, optimizer
        state and step size instead of re-initialising.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Feature names seen during fit; only defined when ``X`` has string
        column names.
    coefs_ : list of ndarray
        ``[W1, W2]`` of shapes (n_features, hidden_size) and
        (hidden_size, n_classes).
    intercepts_ : list of ndarray
        ``[b1, b2]`` of shapes (hidden_size,) and (n_classes,).
    loss_ : float
        Training objective of the last epoch.
    loss_curve_ : list of float
        Training objective (mean loss plus penalty) of every epoch.
    validation_scores_ : list of float or None
        Validation accuracy after every epoch; None without early stopping.
    validation_loss_curve_ : list of float or None
        Validation cross-entropy (without penalty) after every epoch; None
        without early stopping.
    best_validation_score_ : float or None
        Best validation accuracy, whose weights were restored; None without
        early stopping.
    n_iter_ : int
        Number of epochs run.
    t_ : int
        Number of training samples seen (``n_iter_ * n_train_samples``).
    learning_rate_ : float
        Step size in force after the last epoch.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : Multi-layer perceptron in
        scikit-learn.

    Notes
    -----
    For a row :math:`x` the network computes

    .. math::

        h = \max(0, x W_1 + b_1), \qquad s = h W_2 + b_2,

    and is trained to minimise, over each minibatch :math:`B` with sample
    weights :math:`w_i` (all 1 by default),

    .. math::

        L = \frac{\sum_{i \in B} w_i \left(\log \sum_c e^{s_{ic}}
            - s_{i y_i}\right)}{\sum_{i \in B} w_i}
            + \lambda \left(\lVert W_1 \rVert_F^2 + \lVert W_2 \rVert_F^2\right),

    with :math:`\lambda` = ``reg``. After epoch :math:`k` the step is
    :math:`\eta_k = \eta_0 \gamma^k` with :math:`\eta_0` = ``learning_rate`` and
    :math:`\gamma` = ``learning_rate_decay``. ``W1`` starts from He
    initialisation :math:`N(0, 2/D)`, ``W2`` from :math:`N(0, 1/H)`, biases
    from zero.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklmlp import TwoLayerClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> clf = make_pipeline(StandardScaler(), TwoLayerClassifier(random_state=0))
    >>> clf.fit(X_train, y_train).score(X_test, y_test) > 0.95
    True
    """

    _parameter_constraints = {
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "solver": [StrOptions({"sgd", "adam"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "learning_rate_decay": [Interval(Real, 0, 1, closed="right")],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterov": ["boolean"],
        "reg": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "shuffle": ["boolean"],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        *,
        hidden_size=100,
        solver="adam",
        learning_rate=1e-3,
        learning_rate_decay=1.0,
        momentum=0.9,
        nesterov=True,
        reg=1e-4,
        batch_size=200,
        max_iter=200,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        class_weight=None,
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        self.hidden_size = hidden_size
        self.solver = solver
        self.learning_rate = learning_rate
        self.learning_rate_decay = learning_rate_decay
        self.momentum = momentum
        self.nesterov = nesterov
        self.reg = reg
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. float32 trains in float32; other dtypes in float64.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; each minibatch loss is the weighted mean.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        continuing = self.warm_start and hasattr(self, "coefs_")
        X, y_idx, sample_weight = self._prepare_data(
            X, y, sample_weight, classes=None, first_call=not continuing, method="fit"
        )
        if not continuing:
            self._initialize(X)
        self._train(X, y_idx, sample_weight, incremental=False)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch over the given data, keeping earlier training.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels; each must be in ``classes``.
        classes : array-like of shape (n_classes,), default=None
            All the classes that can appear in any call. Required on the first
            call; later calls may omit it.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative per-sample weights.

        Returns
        -------
        self : object
            The updated classifier.
        """
        first_call = not hasattr(self, "coefs_")
        if first_call and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: "
                "give every class label that can appear in any call."
            )
        X, y_idx, sample_weight = self._prepare_data(
            X,
            y,
            sample_weight,
            classes=classes,
            first_call=first_call,
            method="partial_fit",
        )
        if first_call:
            self._initialize(X)
        self._train(X, y_idx, sample_weight, incremental=True)
        return self

    def predict_proba(self, X):
        """Class probabilities (softmax of the scores).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows; cast to the weights' dtype.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``; rows sum to 1.
        """
        return self._map_scores(X, softmax, "predict_proba")

    def predict_log_proba(self, X):
        """Log of the class probabilities, from a stable log-softmax.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows; cast to the weights' dtype.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Finite even where ``predict_proba`` rounds to 0.
        """
        return self._map_scores(X, log_softmax, "predict_log_proba")

    def predict(self, X):
        """Predict the class with the highest score.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows; cast to the weights' dtype.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels, taken from ``classes_``.
        """
        indices = self._map_scores(
            X, lambda scores: namespace(scores).argmax(scores, axis=1), "predict"
        )
        if is_numpy(indices):
            return self.classes_[indices]
        classes = self.classes_
        wide_unsigned = classes.dtype.kind == "u" and classes.itemsize > 1
        if wide_unsigned and int(classes.max()) <= np.iinfo(np.int64).max:
            # PyTorch takes from no uint16/32/64 array; int64 holds the labels
            classes = classes.astype(np.int64)
        if classes.dtype.kind in "ifb" or classes.dtype == np.uint8:
            # numeric labels, on the input's device
            return namespace(indices).take(asarray(classes, like=indices), indices)
        return self.classes_[to_numpy(indices)]  # strings (and the rest) on the host

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of ``predict(X)`` against ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            ``accuracy_score(y, self.predict(X))``. For inputs of any array
            namespace it is counted on the host in float64 (scikit-learn's
            ``accuracy_score`` would average in the namespace's default float,
            float32 for PyTorch).
        """
        y_pred = to_numpy(self.predict(X))
        if sample_weight is not None:
            sample_weight = to_numpy(sample_weight)
        return float(accuracy_score(to_numpy(y), y_pred, sample_weight=sample_weight))

    if CallbackSupportMixin is not None:  # scikit-learn >= 1.9
        set_callbacks = CallbackSupportMixin.set_callbacks
        _init_callback_context = CallbackSupportMixin._init_callback_context

    def __getstate__(self):
        # a copy: object.__getstate__ returns the live __dict__ itself
        state = dict(super().__getstate__())
        state["_sklmlp_version"] = __version__
        return state

    def __setstate__(self, state):
        state = dict(state)
        saved = state.pop("_sklmlp_version", "unknown (before 0.1.0)")
        if saved != __version__:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    current_sklmlp_version=__version__,
                    original_sklmlp_version=saved,
                ),
                stacklevel=2,
            )
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        # scikit-learn dispatches to the Array API only with SciPy >= 1.14;
        # below it, saying True would promise what no input can get.
        tags.array_api_support = ARRAY_API_POSSIBLE
        return tags

    # The steps of fit, in the order they run.

    def _prepare_data(self, X, y, sample_weight, classes, first_call, method="fit"):
        """Validate inputs; return X, class indices and effective weights.

        X stays in its namespace and on its device (Array API dispatch); the
        labels and weights are worked out on the host, in NumPy, and the class
        indices and weights returned live where X does.
        """
        if not first_call:
            self._check_namespace(X, method)
        xp, _ = get_namespace(X)
        X, y = self._validate_X(
            X,
            y,
            # Continued training keeps the dtype of the weights it continues.
            dtype=[xp.float64, xp.float32] if first_call else self.coefs_[0].dtype,
            reset=first_call,
        )
        host_dtype = np.float32 if X.dtype == xp.float32 else np.float64
        y = to_numpy(y)
        check_classification_targets(y)
        if classes is not None or first_call:
            self._set_classes(
                np.unique(y) if classes is None else classes, first_call=first_call
            )
        unknown = ~np.isin(y, self.classes_)
        if unknown.any():
            raise ValueError(
                f"y contains labels {np.unique(y[unknown]).tolist()} that are not "
                f"in classes_ {self.classes_.tolist()} of the earlier fit; to add "
                "classes refit with warm_start=False, or pass every label in "
                "`classes` on the first call to partial_fit."
            )
        y_idx = np.searchsorted(self.classes_, y)

        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                to_numpy(sample_weight),
                np.empty((X.shape[0], 0)),  # only its number of rows is read
                dtype=host_dtype,
                ensure_non_negative=True,
            )
        sample_weight = class_sample_weights(
            self.class_weight, self.classes_, y_idx, sample_weight, host_dtype
        )
        if sample_weight is not None and not sample_weight.sum() > 0:
            raise ValueError(
                "The sample weights (times class_weight) sum to zero: at least "
                "one sample needs a positive weight."
            )
        if not is_numpy(X):
            y_idx = asarray(y_idx, like=X)
            if sample_weight is not None:
                sample_weight = asarray(sample_weight, like=X, dtype=X.dtype)
        return X, y_idx, sample_weight

    def _validate_X(self, X, y="no_validation", *, dtype, reset):
        """scikit-learn's validation of X (and y), read-only memmaps in chunks.

        A read-only memmap is checked for NaN and infinity chunk by chunk, with
        its pages released, instead of in one pass that would map the whole
        file into memory. Returns what ``validate_data`` returns.
        """
        on_disk = read_only_mapping(X) is not None
        checked = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=dtype,
            ensure_all_finite=not on_disk,
            reset=reset,
        )
        if on_disk:
            check_finite(checked[0] if isinstance(checked, tuple) else checked)
        return checked

    def _set_classes(self, classes, first_call):
        classes = np.unique(to_numpy(classes))  # e.g. a CUDA tensor
        if not first_call and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"classes {classes.tolist()} differ from the classes_ "
                f"{self.classes_.tolist()} of the earlier fit; set warm_start=False "
                "or refit from scratch to change the classes."
            )
        if classes.shape[0] < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: {classes.tolist()}."
            )
        self.classes_ = classes

    def _initialize(self, X):
        """Fresh weights, optimizer and counters (not on warm start).

        The weights are drawn with NumPy's generator (the same numbers for
        every namespace) and put in X's namespace, on its device.
        """
        self._random_state = check_random_state(self.random_state)
        dtype = np.float32 if X.dtype == namespace(X).float32 else np.float64
        params = init_params(
            X.shape[1], self.hidden_size, len(self.classes_), self._random_state, dtype
        )
        if not is_numpy(X):
            params = [asarray(p, like=X, dtype=X.dtype) for p in params]
        W1, b1, W2, b2 = params
        self.coefs_ = [W1, W2]
        self.intercepts_ = [b1, b2]
        self._optimizer = self._new_optimizer(self._params(), self.learning_rate)
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self.validation_scores_ = None
        self.validation_loss_curve_ = None
        self.best_validation_score_ = None
        self.learning_rate_ = self.learning_rate
        self._loss_scale = None

    def _new_optimizer(self, params, learning_rate):
        """The update rule ``solver`` names, with fresh state."""
        return make_optimizer(
            self.solver, params, learning_rate, self.momentum, self.nesterov
        )

    def _params(self):
        """The trainable arrays ``[W1, b1, W2, b2]`` (no copies)."""
        return [
            self.coefs_[0],
            self.intercepts_[0],
            self.coefs_[1],
            self.intercepts_[1],
        ]

    def _train(self, X, y, sample_weight, incremental):
        """Run the epochs of one call to fit (or the one of partial_fit)."""
        train, validation = np.arange(X.shape[0]), None
        if self.early_stopping and not incremental:
            train, validation = self._validation_split(
                to_numpy(y),
                None if sample_weight is None else to_numpy(sample_weight),
                train,
            )
        batches = BatchSource(X, y, sample_weight, train, self.batch_size)
        params = self._params()
        if getattr(self, "_loss_scale", None) is None:  # before any update
            self._loss_scale = loss_scale(params, *batches.head(LOSS_SCALE_ROWS))
        stopping = EarlyStopping(
            self.tol, self.n_iter_no_change, keep_best=validation is not None
        )
        n_epochs = 1 if incremental else self.max_iter
        callbacks = _EpochCallbacks(self, X, y, sample_weight, n_epochs)

        for _ in range(n_epochs):
            start = time.perf_counter()
            callbacks.epoch_begin()
            try:
                loss = self._run_epoch(params, batches)
            except KeyboardInterrupt:
                self._warn_interrupted()
                break
            self._record_epoch(loss, len(train))
            if validation is None:
                score = -loss
            else:
                score = self._record_validation(params, X, y, sample_weight, validation)
            if self.verbose:
                self._print_epoch(score, validation, time.perf_counter() - start)
            patience_ran_out = stopping.update(score, params)
            if callbacks.epoch_end() or (patience_ran_out and not incremental):
                break
        else:
            if not incremental:
                warnings.warn(
                    f"{type(self).__name__} ran max_iter={self.max_iter} epochs "
                    "without converging; increase max_iter, or raise tol.",
                    ConvergenceWarning,
                    stacklevel=2,
                )
        if stopping.restore_best(params):
            self.best_validation_score_ = stopping.best_score
        callbacks.fit_end()

    def _run_epoch(self, params, batches):
        """One epoch of minibatch updates; returns its objective.

        The objective is the epoch's mean cross-entropy plus the L2 penalty of
        the weights at its end. If the epoch diverges (see
        :func:`~sklmlp._training.diverged`: a limit of ``DIVERGENCE_FACTOR``
        times the initial loss scale), or is interrupted, the weights of the
        last finished epoch are restored, with a fresh optimizer, before the
        ValueError or the KeyboardInterrupt propagates.
        """
        checkpoint = Checkpoint(params)
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                data_loss = train_epoch(
                    params,
                    self._optimizer,
                    batches,
                    self.reg,
                    self._random_state if self.shuffle else None,
                )
                penalty = l2_penalty([params[0], params[2]], self.reg)[0]
                loss = data_loss + float(penalty)
                failed = diverged(
                    loss, data_loss, params, DIVERGENCE_FACTOR * self._loss_scale
                )
        except KeyboardInterrupt:
            self._restore(params, checkpoint)
            raise
        if failed:
            self._restore(params, checkpoint)
            raise ValueError(
                f"{type(self).__name__} diverged in epoch {self.n_iter_ + 1}: the "
                f"training loss reached {data_loss:.4g}, over {DIVERGENCE_FACTOR:g} "
                f"times its initial scale {self._loss_scale:.4g} (chance level is "
                f"{math.log(len(self.classes_)):.4g}). The step is too large for "
                f"this data: try a smaller learning_rate than "
                f"{self.learning_rate_:g} (e.g. 10 times smaller), standardise the "
                "features (StandardScaler), or use solver='adam'."
            )
        return loss

    def _restore(self, params, checkpoint):
        """Put back an epoch's starting weights and start the optimizer anew.

        The optimizer's state (velocities, moments) belongs to the abandoned
        epoch, and after a divergence it is as poisoned as the weights were.
        """
        checkpoint.restore(params)
        self._optimizer = self._new_optimizer(params, self.learning_rate_)

    def _record_epoch(self, loss, n_rows):
        """Count a completed epoch and decay the step."""
        self.n_iter_ += 1
        self.t_ += n_rows
        self.loss_ = loss
        self.loss_curve_.append(loss)
        decay_learning_rate(self._optimizer, self.learning_rate_decay)
        self.learning_rate_ = self._optimizer.learning_rate

    def _record_validation(self, params, X, y, sample_weight, validation):
        """Score the held-out rows, record it and return the accuracy."""
        accuracy, loss = self._score_rows(params, X, y, sample_weight, validation)
        self.validation_scores_.append(accuracy)
        self.validation_loss_curve_.append(loss)
        return accuracy

    def _warn_interrupted(self):
        warnings.warn(
            f"{type(self).__name__}.fit was interrupted (KeyboardInterrupt) in "
            f"epoch {self.n_iter_ + 1}; keeping the weights of the last completed "
            f"epoch ({self.n_iter_}). The model is usable; fit with "
            "warm_start=True, or partial_fit, trains on.",
            UserWarning,
            stacklevel=3,
        )

    def _fitted_copy(self):
        """Weights of this moment, for callbacks that evaluate a fitted model."""
        return {
            "coefs_": [copy(W) for W in self.coefs_],
            "intercepts_": [copy(b) for b in self.intercepts_],
        }

    def _validation_split(self, y, sample_weight, rows):
        """Indices of the early-stopping training and validation rows.

        When no useful split exists, warn why and return ``(rows, None)``:
        training then uses every row and the training-loss stopping rule.
        """
        split = validation_split(
            y,
            sample_weight,
            self.validation_fraction,
            len(self.classes_),
            self._random_state,
        )
        if isinstance(split, str):
            warnings.warn(
                f"early_stopping=True needs a held-out set, but {split}; training "
                "on all samples with the training-loss stopping rule instead. "
                "Raise validation_fraction, give more samples a positive weight, "
                "or set early_stopping=False.",
                UserWarning,
                stacklevel=3,
            )
            return rows, None
        if self.validation_scores_ is None:
            self.validation_scores_ = []
            self.validation_loss_curve_ = []
        return split

    def _score_rows(self, params, X, y, sample_weight, rows):
        """(Weighted) accuracy and cross-entropy on ``X[rows]``, chunk by chunk.

        Weights that sum to zero over ``rows`` are ignored, as in
        :func:`~sklmlp._network.accuracy_and_loss`.
        """
        weight = None if sample_weight is None else take(sample_weight, rows)
        xp = namespace(params[0])
        if weight is not None and not float(xp.sum(weight)) > 0:
            weight = None
        total = len(rows) if weight is None else float(xp.sum(weight))
        accuracy, loss = 0.0, 0.0
        for chunk, X_chunk in iter_chunks(X, rows, PREDICT_CHUNK_SIZE):
            chunk_weight = None if weight is None else weight[chunk]
            share = (
                (chunk.stop - chunk.start) if weight is None else xp.sum(chunk_weight)
            )
            if share > 0:
                chunk_accuracy, chunk_loss = accuracy_and_loss(
                    params, X_chunk, take(y, rows[chunk]), chunk_weight
                )
                accuracy += chunk_accuracy * share / total
                loss += chunk_loss * share / total
        return float(accuracy), float(loss)

    def _print_epoch(self, metric, validation, seconds):
        line = f"Epoch {self.n_iter_}: loss {self.loss_:.6f}"
        if validation is not None:
            line += f", validation accuracy {metric:.4f}"
        line += f", step {self.learning_rate_:.3g}, {seconds:.2f} s"
        print(line)

    def _map_scores(self, X, func, method):
        """Apply ``func`` to the class scores of X, chunk by chunk."""
        check_is_fitted(self)
        self._check_namespace(X, method)
        X = self._validate_X(X, dtype=self.coefs_[0].dtype, reset=False)
        params = self._params()
        if not is_numpy(X):  # chunks in X's namespace, joined on its device
            xp = namespace(X)
            chunks = [
                func(forward(params, X_chunk))
                for _, X_chunk in iter_chunks(X, chunk_rows=PREDICT_CHUNK_SIZE)
            ]
            return chunks[0] if len(chunks) == 1 else xp.concat(chunks, axis=0)
        result = None
        for rows, X_chunk in iter_chunks(X, chunk_rows=PREDICT_CHUNK_SIZE):
            chunk = func(forward(params, X_chunk))
            if result is None:  # the output, allocated once
                result = np.empty((X.shape[0], *chunk.shape[1:]), chunk.dtype)
            result[rows] = chunk
        return result

    def _check_namespace(self, X, method):
        """Refuse X from another array namespace or device than the weights'.

        scikit-learn's rule (its ``check_same_namespace``, written out here so
        that it also holds on scikit-learn < 1.9): with Array API dispatch
        off, any array-like is converted to NumPy; with it on, X must come
        from the namespace and device the model was fitted on.
        """
        W = self.coefs_[0]
        name = f"{type(self).__name__}.{method}()"
        if not get_config()["array_api_dispatch"]:
            if not is_numpy(W):
                raise ValueError(
                    f"Inputs passed to {name} must use the same namespace and the "
                    f"same device as those passed to fit(): this model was fitted "
                    f"on {namespace(W).__name__} arrays with Array API dispatch "
                    "on; call it within sklearn.config_context("
                    "array_api_dispatch=True), with X in that namespace."
                )
            return
        X_xp, _, X_device = get_namespace_and_device(X)
        W_xp, _, W_device = get_namespace_and_device(W)
        if _is_numpy_namespace(X_xp) and _is_numpy_namespace(W_xp):
            return  # NumPy, array-likes, sparse matrices: devices None vs cpu
        if X_xp.__name__ == W_xp.__name__ and X_device == W_device:
            return
        raise ValueError(
            f"Inputs passed to {name} must use the same namespace and the same "
            f"device as those passed to fit(): fit used {W_xp.__name__} on "
            f"{W_device}, {method} got {X_xp.__name__} on {X_device}. Pass X in "
            "the namespace and on the device of the fit, or refit."
        )


class _EpochCallbacks:
    """The scikit-learn callback tasks of one fit: the fit, then each epoch.

    On scikit-learn < 1.9 every call does nothing (see
    :func:`sklmlp._callbacks.fit_context`).
    """

    def __init__(self, estimator, X, y, sample_weight, n_epochs):
        self.estimator = estimator
        self.args = dict(
            estimator=estimator,
            X=X,
            y=lambda: estimator.classes_[y],
            metadata=None
            if sample_weight is None
            else {"sample_weight": sample_weight},
        )
        self.fit_task = fit_context(estimator, n_epochs).call_on_fit_task_begin(
            **self.args
        )
        self.epoch_task = None

    def epoch_begin(self):
        self.epoch_task = self.fit_task.subcontext(task_name="epoch")
        self.epoch_task.call_on_fit_task_begin(**self.args)

    def epoch_end(self):
        """End the epoch's task; return whether a callback asks to stop."""
        return self.epoch_task.call_on_fit_task_end(
            **self.args, reconstruction_attributes=self.estimator._fitted_copy
        )

    def fit_end(self):
        self.fit_task.call_on_fit_task_end(**self.args, reconstruction_attributes={})
