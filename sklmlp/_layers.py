"""Forward/backward pairs of the layers the network is built from: the textbook.

Each ``*_forward`` returns its output and a ``cache``; the matching
``*_backward`` takes the upstream gradient ``d_out`` and that cache and returns
the gradients of its inputs, as in CS231n's ``layers.py``. The functions work
on float32 or float64 arrays, allocate their results and never change their
inputs. The training loop computes the same quantities in place, in
:mod:`sklmlp._fastpath`, which is tested against these functions.

They are written once against the array namespace ``xp`` of their inputs
(:func:`sklmlp._xp.namespace`): NumPy arrays, and PyTorch, CuPy or
array_api_strict arrays, which stay in their namespace and on their device.
NumPy's dense matrix products go through :mod:`sklmlp._blas` (one BLAS library
for the whole package); ``X`` may also be a SciPy sparse matrix in
:func:`affine_forward` / :func:`affine_backward`.

This module imports NumPy, :mod:`sklmlp._blas` and :mod:`sklmlp._xp`.
"""

import numpy as np

from ._blas import matmul, sum_of_squares
from ._xp import arange, astype, device, namespace, zero


def affine_forward(X, W, b):
    """Affine layer ``out = X @ W + b``.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_in)
        Input rows, of W's dtype.
    W : ndarray of shape (n_in, n_out)
        Weights.
    b : ndarray of shape (n_out,)
        Bias.

    Returns
    -------
    out : ndarray of shape (n_samples, n_out)
        Layer output.
    cache : tuple
        ``(X, W)``, for :func:`affine_backward`.
    """
    out = matmul(X, W)
    out += b
    return out, (X, W)


def affine_backward(d_out, cache, input_grad=True):
    """Backward pass of :func:`affine_forward`.

    Parameters
    ----------
    d_out : ndarray of shape (n_samples, n_out)
        Gradient of the loss with respect to the layer output.
    cache : tuple
        ``(X, W)`` from :func:`affine_forward`.
    input_grad : bool, default=True
        Whether to compute ``dX``. The network's first layer does not need
        it (its input is the data), and it is a third matrix product.

    Returns
    -------
    dX : ndarray of shape (n_samples, n_in) or None
        Gradient with respect to ``X``: ``d_out @ W.T`` (None without
        ``input_grad``).
    dW : ndarray of shape (n_in, n_out)
        Gradient with respect to ``W``: ``X.T @ d_out``.
    db : ndarray of shape (n_out,)
        Gradient with respect to ``b``: the column sum of ``d_out``.
    """
    X, W = cache
    dX = matmul(d_out, W, trans_b=True) if input_grad else None
    dW = matmul(X, d_out, trans_a=True)
    db = namespace(d_out).sum(d_out, axis=0)
    return dX, dW, db


def relu_forward(X):
    """Rectified linear unit ``out = max(X, 0)``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_units)
        Pre-activations.

    Returns
    -------
    out : ndarray of shape (n_samples, n_units)
        Activations.
    cache : ndarray of shape (n_samples, n_units)
        ``X``, whose positive entries mark where the unit is active.
    """
    return namespace(X).maximum(X, zero(X)), X


def relu_backward(d_out, cache):
    """Backward pass of :func:`relu_forward`.

    Parameters
    ----------
    d_out : ndarray of shape (n_samples, n_units)
        Upstream gradient.
    cache : ndarray of shape (n_samples, n_units)
        The pre-activations given to :func:`relu_forward`.

    Returns
    -------
    dX : ndarray of shape (n_samples, n_units)
        ``d_out`` where the unit was active, 0 elsewhere.
    """
    return namespace(d_out).where(cache > 0, d_out, zero(d_out))


def log_softmax(scores):
    """Row-wise log-softmax, computed stably with the log-sum-exp shift.

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_classes)
        Unnormalised class scores (logits).

    Returns
    -------
    log_probs : ndarray of shape (n_samples, n_classes)
        ``log(softmax(scores))``, finite for any finite scores.
    """
    xp = namespace(scores)
    shifted = scores - xp.max(scores, axis=1, keepdims=True)
    shifted -= xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
    return shifted


def softmax(scores):
    """Row-wise softmax; each row of the result sums to 1.

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_classes)
        Unnormalised class scores (logits).

    Returns
    -------
    probs : ndarray of shape (n_samples, n_classes)
        Class probabilities.
    """
    xp = namespace(scores)
    probs = xp.exp(scores - xp.max(scores, axis=1, keepdims=True))
    probs /= xp.sum(probs, axis=1, keepdims=True)
    return probs


def sample_coefficients(n_samples, sample_weight, dtype):
    """Each sample's share ``w_i / sum(w)`` of a (weighted) mean.

    ``1 / n_samples`` each without weights; all zero when the weights sum to 0.
    """
    if sample_weight is None:
        return np.full(n_samples, 1.0 / n_samples, dtype=dtype)
    total = namespace(sample_weight).sum(sample_weight)
    if not total > 0:
        return sample_weight * 0
    return astype(sample_weight / total, dtype)


def softmax_cross_entropy(scores, y, sample_weight=None):
    """Mean softmax cross-entropy and its gradient with respect to the scores.

    With ``p = softmax(scores)`` and sample shares ``c_i = w_i / sum(w)``
    (``1 / n_samples`` without weights), the loss is
    ``-sum_i c_i log p[i, y_i]`` and its gradient
    ``c_i * (p[i] - onehot(y_i))``.

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_classes)
        Unnormalised class scores (logits).
    y : ndarray of shape (n_samples,)
        Class indices in ``[0, n_classes)``.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative weights. When every weight is zero the loss and its
        gradient are zero.

    Returns
    -------
    loss : float
        Mean (or weighted mean) cross-entropy.
    d_scores : ndarray of shape (n_samples, n_classes)
        Gradient of ``loss`` with respect to ``scores``.
    """
    xp = namespace(scores)
    if xp is np:
        coef = sample_coefficients(scores.shape[0], sample_weight, scores.dtype)
    else:
        coef = _coefficients(scores, sample_weight)
    n_samples, n_classes = scores.shape
    log_probs = log_softmax(scores)
    # log_probs[i, y_i], as a take from the flattened rows (the standard has
    # no multi-axis integer indexing), all on the scores' device
    rows = arange(n_samples, like=scores)
    picked = xp.take(xp.reshape(log_probs, (-1,)), rows * n_classes + y)
    loss = -(coef @ picked)
    one_hot = astype(
        y[:, None] == arange(n_classes, like=scores)[None, :], scores.dtype
    )
    d_scores = (xp.exp(log_probs) - one_hot) * coef[:, None]
    return (float(loss) if xp is np else loss), d_scores


def _coefficients(scores, sample_weight):
    """:func:`sample_coefficients` in the namespace and on the device of scores."""
    xp = namespace(scores)
    n_samples = scores.shape[0]
    if sample_weight is None:
        return xp.full(
            n_samples, 1.0 / n_samples, dtype=scores.dtype, device=device(scores)
        )
    total = xp.sum(sample_weight)
    return astype(
        sample_weight / xp.where(total > 0, total, xp.ones_like(total)), scores.dtype
    )


def l2_penalty(weights, reg):
    """L2 penalty ``reg * sum_k sum(W_k ** 2)`` and its gradients.

    The penalty is a *sum* over the weight matrices, and each matrix gets its
    own gradient ``2 * reg * W_k``. Biases are not penalised: do not pass them.

    Parameters
    ----------
    weights : sequence of ndarray
        The weight matrices, e.g. ``[W1, W2]``.
    reg : float
        Regularisation strength (>= 0).

    Returns
    -------
    penalty : float
        The penalty value.
    grads : list of ndarray
        ``2 * reg * W_k`` for each weight matrix, in order.
    """
    squares = [sum_of_squares(W) for W in weights]
    if namespace(*weights) is np:  # a Python float, summed in float64
        return reg * sum(float(s) for s in squares), [(2 * reg) * W for W in weights]
    return reg * sum(squares), [(2 * reg) * W for W in weights]
