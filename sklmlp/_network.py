"""The two-layer network: affine -> ReLU -> affine -> softmax cross-entropy.

Parameters travel as a list ``params = [W1, b1, W2, b2]`` and gradients as a
list in the same order, so an optimizer can zip the two. A :class:`Workspace`
holds the activation buffers of one minibatch so that the training loop
allocates nothing per step. This module imports NumPy,
:mod:`sklmlp._layers` and :mod:`sklmlp._memmap`.
"""

import math

import numpy as np

from ._layers import (
    affine_backward,
    affine_forward,
    l2_penalty,
    relu_backward,
    relu_forward,
    softmax_cross_entropy,
)
from ._memmap import PageReleaser


def init_params(n_features, hidden_size, n_classes, rng, dtype=np.float64):
    """Draw initial weights with fan-in scaling; biases start at zero.

    ``W1`` uses He initialisation, ``N(0, 2 / n_features)``, which keeps the
    variance of the ReLU activations independent of the input width. ``W2``
    feeds the softmax and uses ``N(0, 1 / hidden_size)`` (LeCun / Glorot
    fan-in). A fixed small standard deviation such as 1e-4 makes the scores
    vanish with depth and stalls training.

    Parameters
    ----------
    n_features : int
        Input width ``D``.
    hidden_size : int
        Hidden width ``H``.
    n_classes : int
        Number of classes ``C``.
    rng : numpy.random.RandomState
        Source of randomness.
    dtype : dtype, default=np.float64
        Floating dtype of the returned arrays.

    Returns
    -------
    params : list of ndarray
        ``[W1 (D, H), b1 (H,), W2 (H, C), b2 (C,)]``.
    """
    W1 = rng.standard_normal((n_features, hidden_size)) * np.sqrt(2.0 / n_features)
    W2 = rng.standard_normal((hidden_size, n_classes)) * np.sqrt(1.0 / hidden_size)
    return [
        W1.astype(dtype),
        np.zeros(hidden_size, dtype=dtype),
        W2.astype(dtype),
        np.zeros(n_classes, dtype=dtype),
    ]


class Workspace:
    """Preallocated buffers for minibatches of up to ``batch_size`` rows.

    Parameters
    ----------
    batch_size : int
        Largest number of rows a minibatch will have.
    params : list of ndarray
        ``[W1, b1, W2, b2]``; their shapes and dtype size the buffers.
    source : {ndarray, sparse matrix}, default=None
        The training data that :meth:`rows` gathers from. Dense data gets a
        gather buffer; a read-only memmap also has the file pages that
        gathering maps in released after each minibatch (see
        :mod:`sklmlp._memmap`).
    """

    def __init__(self, batch_size, params, source=None):
        W1, _, W2, _ = params
        n_features, hidden_size = W1.shape
        dtype = W1.dtype
        self.batch_size = batch_size
        dense = isinstance(source, np.ndarray)
        self.X = np.empty((batch_size, n_features), dtype) if dense else None
        self.hidden = np.empty((batch_size, hidden_size), dtype)
        self.d_hidden = np.empty((batch_size, hidden_size), dtype)
        self.scores = np.empty((batch_size, W2.shape[1]), dtype)
        self.pages = PageReleaser(source)

    def rows(self, X, rows):
        """The rows ``X[rows]``: gathered into the buffer when X is dense."""
        if self.X is None:
            return X[rows]
        batch = np.take(X, rows, axis=0, out=self.X[: len(rows)])
        self.pages.release()
        return batch


def forward(params, X):
    """Class scores of the network.

    Parameters
    ----------
    params : list of ndarray
        ``[W1, b1, W2, b2]``.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Input rows.

    Returns
    -------
    scores : ndarray of shape (n_samples, n_classes)
        ``relu(X @ W1 + b1) @ W2 + b2``.
    """
    W1, b1, W2, b2 = params
    hidden, _ = affine_forward(X, W1, b1)
    relu_forward(hidden, out=hidden)
    scores, _ = affine_forward(hidden, W2, b2)
    return scores


def loss_and_grads(
    params,
    X,
    y,
    reg=0.0,
    sample_weight=None,
    *,
    grads=None,
    alpha=1.0,
    beta=0.0,
    workspace=None,
    with_penalty=True,
):
    """Training objective of one minibatch and its gradients.

    The objective is the (weighted) mean softmax cross-entropy plus the L2
    penalty ``reg * (sum(W1 ** 2) + sum(W2 ** 2))``.

    Parameters
    ----------
    params : list of ndarray
        ``[W1, b1, W2, b2]``.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Input rows.
    y : ndarray of shape (n_samples,)
        Class indices in ``[0, n_classes)``.
    reg : float, default=0.0
        L2 regularisation strength.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative per-sample weights (see
        :func:`~sklmlp._layers.softmax_cross_entropy`).
    grads : list of ndarray, default=None
        Arrays shaped like ``params`` into which the gradients ``g`` are
        accumulated as ``grads[k] = alpha * g[k] + beta * grads[k]``; new
        arrays holding ``g`` when None. An optimizer uses this to let the
        gradient products update its state directly.
    alpha, beta : float, default=1.0, 0.0
        Accumulation coefficients.
    workspace : Workspace, default=None
        Buffers for the activations; allocated for this call when None.
    with_penalty : bool, default=True
        Whether the returned objective includes the L2 penalty (its value
        costs a pass over the weights; its gradient is always included).

    Returns
    -------
    loss : float
        Value of the objective.
    grads : list of ndarray
        ``[dW1, db1, dW2, db2]``, shaped like ``params``.
    """
    W1, b1, W2, b2 = params
    n_samples = X.shape[0]
    if workspace is None:
        workspace = Workspace(n_samples, params)
    if grads is None:
        grads, beta = [np.empty_like(p) for p in params], 0.0
    dW1, db1, dW2, db2 = grads

    # forward: (n_samples, hidden_size), then (n_samples, n_classes)
    hidden, cache1 = affine_forward(X, W1, b1, out=workspace.hidden[:n_samples])
    hidden, cache_relu = relu_forward(hidden, out=hidden)
    scores, cache2 = affine_forward(hidden, W2, b2, out=workspace.scores[:n_samples])
    data_loss, d_scores = softmax_cross_entropy(scores, y, sample_weight, out=scores)

    # backward, each weight gradient accumulated where the caller asked
    d_hidden, _, _ = affine_backward(
        d_scores,
        cache2,
        grads=(dW2, db2),
        alpha=alpha,
        beta=beta,
        dX=workspace.d_hidden[:n_samples],
    )
    d_hidden = relu_backward(d_hidden, cache_relu, out=d_hidden)
    affine_backward(
        d_hidden, cache1, grads=(dW1, db1), alpha=alpha, beta=beta, dX=False
    )
    penalty, _ = l2_penalty(
        [W1, W2], reg, grads=[dW1, dW2], alpha=alpha, value=with_penalty
    )
    return data_loss + (penalty or 0.0), grads


def loss_scale(params, X, y):
    """The size of loss the network can produce on ``X`` without diverging.

    The largest of: the chance-level loss ``log(n_classes)``; the network's
    mean cross-entropy on ``(X, y)``; and the mean range of its class scores
    per row (``max - min``), which is the loss of a confidently wrong row.
    Unscaled features give large scores from the start, and so a large scale.

    Parameters
    ----------
    params : list of ndarray
        ``[W1, b1, W2, b2]``, typically just initialised.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Some training rows.
    y : ndarray of shape (n_samples,)
        Their class indices.

    Returns
    -------
    scale : float
        A loss of that order or below is normal for this data and network.
    """
    scores = forward(params, X)
    score_range = float(np.mean(scores.max(axis=1) - scores.min(axis=1)))
    loss, _ = softmax_cross_entropy(scores, y, out=scores)
    return max(math.log(scores.shape[1]), loss, score_range)


def accuracy_and_loss(params, X, y, sample_weight=None):
    """(Weighted) accuracy and mean cross-entropy of the network on ``(X, y)``.

    Parameters
    ----------
    params : list of ndarray
        ``[W1, b1, W2, b2]``.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Input rows.
    y : ndarray of shape (n_samples,)
        Class indices.
    sample_weight : ndarray of shape (n_samples,), default=None
        Weights of the samples in both figures; ignored when they sum to 0.

    Returns
    -------
    accuracy : float
        Fraction (or weighted fraction) of rows whose top score is ``y``.
    loss : float
        Mean cross-entropy, without the L2 penalty.
    """
    if sample_weight is not None and not sample_weight.sum() > 0:
        sample_weight = None
    scores = forward(params, X)
    correct = scores.argmax(axis=1) == y
    loss, _ = softmax_cross_entropy(scores, y, sample_weight, out=scores)
    accuracy = np.average(correct, weights=sample_weight)
    return float(accuracy), loss
