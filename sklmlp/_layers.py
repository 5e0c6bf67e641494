"""Forward/backward pairs of the layers the network is built from.

Each ``*_forward`` returns its output and a ``cache``; the matching
``*_backward`` takes the upstream gradient ``d_out`` and that cache and returns
the gradients of its inputs. The functions work on NumPy arrays of either
float32 or float64 and never change their arguments. ``X`` may also be a SciPy
sparse matrix in :func:`affine_forward` / :func:`affine_backward`.

This module imports NumPy and nothing else.
"""

import numpy as np


def affine_forward(X, W, b):
    """Affine layer ``out = X @ W + b``.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_in)
        Input rows.
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
    out = np.asarray(X @ W)
    out += b
    return out, (X, W)


def affine_backward(d_out, cache, need_dX=True):
    """Backward pass of :func:`affine_forward`.

    Parameters
    ----------
    d_out : ndarray of shape (n_samples, n_out)
        Gradient of the loss with respect to the layer output.
    cache : tuple
        ``(X, W)`` from :func:`affine_forward`.
    need_dX : bool, default=True
        Whether to compute the input gradient. The first layer of a network
        does not need it, and skipping it saves one matrix product.

    Returns
    -------
    dX : ndarray of shape (n_samples, n_in) or None
        Gradient with respect to ``X`` (None when ``need_dX`` is False).
    dW : ndarray of shape (n_in, n_out)
        Gradient with respect to ``W``.
    db : ndarray of shape (n_out,)
        Gradient with respect to ``b``: the column sum of ``d_out``.
    """
    X, W = cache
    dW = np.asarray(X.T @ d_out)
    db = d_out.sum(axis=0)
    dX = d_out @ W.T if need_dX else None
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
        ``out`` itself: its positive entries mark where the unit is active.
    """
    out = np.maximum(X, 0)
    return out, out


def relu_backward(d_out, cache):
    """Backward pass of :func:`relu_forward`.

    Parameters
    ----------
    d_out : ndarray of shape (n_samples, n_units)
        Upstream gradient.
    cache : ndarray of shape (n_samples, n_units)
        The activations returned by :func:`relu_forward`.

    Returns
    -------
    dX : ndarray of shape (n_samples, n_units)
        ``d_out`` where the unit was active, 0 elsewhere.
    """
    return np.where(cache > 0, d_out, 0)


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
    shifted = scores - scores.max(axis=1, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=1, keepdims=True))
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
    probs = scores - scores.max(axis=1, keepdims=True)
    np.exp(probs, out=probs)
    probs /= probs.sum(axis=1, keepdims=True)
    return probs


def softmax_cross_entropy(scores, y, sample_weight=None):
    """Mean softmax cross-entropy and its gradient with respect to the scores.

    The forward and backward passes are fused: the gradient of
    ``-log softmax(scores)[i, y[i]]`` is ``softmax(scores)[i] - onehot(y[i])``.

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_classes)
        Unnormalised class scores (logits).
    y : ndarray of shape (n_samples,)
        Class indices in ``[0, n_classes)``.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative weights. The loss is then the weighted mean
        ``sum(w_i * loss_i) / sum(w)``. When every weight is zero the loss and
        its gradient are zero.

    Returns
    -------
    loss : float
        Mean (or weighted mean) cross-entropy.
    d_scores : ndarray of shape (n_samples, n_classes)
        Gradient of ``loss`` with respect to ``scores``.
    """
    n_samples = scores.shape[0]
    rows = np.arange(n_samples)
    log_probs = log_softmax(scores)
    sample_losses = -log_probs[rows, y]
    if sample_weight is None:
        coef = np.full(n_samples, 1.0 / n_samples, dtype=scores.dtype)
    else:
        total = sample_weight.sum()
        coef = sample_weight / total if total > 0 else np.zeros_like(sample_weight)
    loss = float(coef @ sample_losses)

    d_scores = np.exp(log_probs, out=log_probs)
    d_scores[rows, y] -= 1
    d_scores *= coef[:, np.newaxis].astype(scores.dtype, copy=False)
    return loss, d_scores


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
        ``2 * reg * W_k`` for each matrix, in the order given.
    """
    penalty = reg * sum(float(np.vdot(W, W)) for W in weights)
    grads = [(2 * reg) * W for W in weights]
    return penalty, grads
