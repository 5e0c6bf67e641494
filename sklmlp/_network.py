"""The two-layer network: affine -> ReLU -> affine -> softmax cross-entropy.

Parameters travel as a list ``params = [W1, b1, W2, b2]`` and gradients as a
list in the same order, so an optimizer can zip the two.
:func:`loss_and_grads` is the textbook composition of the layers' forward and
backward passes; the training loop runs the same computation in place
(:mod:`sklmlp._fastpath`), tested against it. Like the layers, it works in
the namespace of its arrays (NumPy, PyTorch, CuPy, array_api_strict). This
module imports NumPy, :mod:`sklmlp._layers` and :mod:`sklmlp._xp`.
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
from ._xp import astype, namespace, zero


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
    hidden, _ = relu_forward(hidden)
    scores, _ = affine_forward(hidden, W2, b2)
    return scores


def loss_and_grads(params, X, y, reg, sample_weight=None):
    """Training objective of one minibatch and its gradients.

    The objective is the (weighted) mean softmax cross-entropy plus the L2
    penalty ``reg * (sum(W1 ** 2) + sum(W2 ** 2))``; its gradients are the
    backward passes of the layers, in reverse order, plus ``2 * reg * W`` for
    each weight matrix.

    Parameters
    ----------
    params : list of ndarray
        ``[W1, b1, W2, b2]``.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Input rows.
    y : ndarray of shape (n_samples,)
        Class indices in ``[0, n_classes)``.
    reg : float
        L2 regularisation strength.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative per-sample weights (see
        :func:`~sklmlp._layers.softmax_cross_entropy`).

    Returns
    -------
    loss : float
        Value of the objective.
    grads : list of ndarray
        ``[dW1, db1, dW2, db2]``, shaped like ``params``.
    """
    data_loss, penalty, grads = _objective(params, X, y, reg, sample_weight)
    return data_loss + penalty, grads


def data_loss_and_grads(params, X, y, reg, sample_weight=None):
    """:func:`loss_and_grads`, but the loss without the L2 penalty's value.

    What the training loop needs for each minibatch (it adds the penalty of
    the epoch's final weights): the mean cross-entropy, and the gradients of
    the whole objective.
    """
    data_loss, _, grads = _objective(params, X, y, reg, sample_weight)
    return data_loss, grads


def _objective(params, X, y, reg, sample_weight):
    """Mean cross-entropy, L2 penalty, and the gradients of their sum."""
    W1, b1, W2, b2 = params
    # forward: (n_samples, hidden_size), then (n_samples, n_classes)
    hidden, cache1 = affine_forward(X, W1, b1)
    hidden, cache_relu = relu_forward(hidden)
    scores, cache2 = affine_forward(hidden, W2, b2)
    data_loss, d_scores = softmax_cross_entropy(scores, y, sample_weight)

    # backward
    d_hidden, dW2, db2 = affine_backward(d_scores, cache2)
    d_hidden = relu_backward(d_hidden, cache_relu)
    _, dW1, db1 = affine_backward(d_hidden, cache1, input_grad=False)
    penalty, (dW1_reg, dW2_reg) = l2_penalty([W1, W2], reg)
    return data_loss, penalty, [dW1 + dW1_reg, db1, dW2 + dW2_reg, db2]


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
    xp = namespace(params[0])
    scores = forward(params, X)
    score_range = float(xp.mean(xp.max(scores, axis=1) - xp.min(scores, axis=1)))
    loss, _ = softmax_cross_entropy(scores, y)
    return max(math.log(scores.shape[1]), float(loss), score_range)


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
    xp = namespace(params[0])
    if sample_weight is not None and not float(xp.sum(sample_weight)) > 0:
        sample_weight = None
    scores = forward(params, X)
    correct = xp.argmax(scores, axis=1) == y
    loss, _ = softmax_cross_entropy(scores, y, sample_weight)
    if xp is np:
        accuracy = np.average(correct, weights=sample_weight)
    elif sample_weight is None:  # counted exactly, divided on the host
        accuracy = float(xp.sum(astype(correct, xp.int64))) / correct.shape[0]
    else:
        hits = xp.sum(xp.where(correct, sample_weight, zero(sample_weight)))
        accuracy = float(hits) / float(xp.sum(sample_weight))
    return float(accuracy), float(loss)
