"""The pieces of the epoch loop, each small and tested on its own.

- :func:`train_epoch`: one pass of minibatch updates over a
  :class:`~sklmlp._batches.BatchSource`;
- :class:`EarlyStopping`: patience on a score and the weights of the best
  epoch (scikit-learn's ``_update_no_improvement_count`` and skorch's
  ``EarlyStopping(load_best=True)`` are the models);
- :class:`Checkpoint` and :func:`diverged`: an epoch that diverges, or is
  interrupted, leaves the weights of the last completed one.

:class:`~sklmlp.TwoLayerClassifier` strings them together in its epoch loop.
This module imports NumPy, the network and the update rules, nothing about
estimators or files. Parameters may be arrays of any namespace
(:mod:`sklmlp._xp`): NumPy's train on :mod:`sklmlp._fastpath`, others on
the textbook :func:`~sklmlp._network.data_loss_and_grads`.
"""

import math

import numpy as np

from . import _fastpath, _network
from ._optim import FLUSH_INTERVAL, flush_underflow
from ._xp import copy, is_numpy, namespace


def train_epoch(params, optimizer, batches, reg, rng=None, gradient=None):
    """One pass of minibatch updates; returns the epoch's mean data loss.

    Parameters
    ----------
    params : list of ndarray
        ``[W1, b1, W2, b2]``, updated in place.
    optimizer : SGD or Adam
        The update rule and its state.
    batches : BatchSource
        The minibatches.
    reg : float
        L2 regularisation strength.
    rng : numpy.random.RandomState, default=None
        Draws the order of the rows; None keeps their order.
    gradient : callable, default=None
        ``gradient(params, X, y, reg, sample_weight) -> (data_loss, grads)``
        for one minibatch; None means
        :func:`~sklmlp._fastpath.fused_loss_and_grads` for NumPy arrays and
        :func:`~sklmlp._network.data_loss_and_grads` for others.

    Returns
    -------
    loss : float
        The mean of the minibatch cross-entropies, weighted by each
        minibatch's total sample weight (its size when unweighted). The caller
        adds the L2 penalty of the final weights.
    """
    if gradient is None:
        numpy = is_numpy(params[0])
        gradient = (
            _fastpath.fused_loss_and_grads if numpy else _network.data_loss_and_grads
        )
    xp = namespace(params[0])
    # On a GPU, the sums stay on the device until the end of the epoch.
    total_loss, total_weight = 0.0, 0.0
    for step, (X, y, sample_weight) in enumerate(batches.minibatches(rng), start=1):
        loss, grads = gradient(params, X, y, reg, sample_weight)
        optimizer.step(params, grads)
        if step % FLUSH_INTERVAL == 0:
            flush_underflow(params + optimizer.state(), optimizer.decay)
        weight = y.shape[0] if sample_weight is None else xp.sum(sample_weight)
        if xp is np:
            weight = float(weight)
        total_loss += loss * weight
        total_weight += weight
    flush_underflow(params + optimizer.state(), optimizer.decay)
    return float(total_loss) / float(total_weight)


class EarlyStopping:
    """Patience on a score (higher is better), and the best epoch's weights.

    An epoch whose score beats the best so far by more than ``tol`` resets the
    count of epochs without improvement; training should stop once the count
    reaches ``n_iter_no_change`` (MLPClassifier's rule).

    Parameters
    ----------
    tol : float
        Smallest improvement that counts.
    n_iter_no_change : int
        Epochs without improvement before stopping.
    keep_best : bool
        Whether to keep a copy of the weights of the best-scoring epoch, for
        :meth:`restore_best`.
    """

    def __init__(self, tol, n_iter_no_change, keep_best):
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.keep_best = keep_best
        self.best_score = -math.inf
        self.epochs_no_improvement = 0
        self.best = None  # a Checkpoint of the best epoch's weights

    def update(self, score, params):
        """Record an epoch's score; return whether patience has run out."""
        if score > self.best_score + self.tol:
            self.epochs_no_improvement = 0
        else:
            self.epochs_no_improvement += 1
        if score > self.best_score:
            self.best_score = score
            if self.keep_best:
                self.best = Checkpoint(params)
        return self.epochs_no_improvement >= self.n_iter_no_change

    def restore_best(self, params):
        """Copy the best epoch's weights into ``params``; False if none kept."""
        if self.best is None:
            return False
        self.best.restore(params)
        return True


class Checkpoint:
    """A copy of the weights, to go back to if an epoch fails."""

    def __init__(self, params):
        self.saved = [copy(p) for p in params]

    def restore(self, params):
        """Copy the saved weights back into ``params``."""
        for param, saved in zip(params, self.saved, strict=True):
            param[...] = saved


def diverged(loss, data_loss, params, limit):
    """Whether an epoch ended diverged.

    It did if its objective ``loss`` or any weight is not finite, or its mean
    cross-entropy ``data_loss`` exceeds ``limit``.
    """
    xp = namespace(params[0])
    finite = math.isfinite(loss) and all(bool(xp.all(xp.isfinite(p))) for p in params)
    return not (finite and data_loss <= limit)
