"""Forward/backward pairs of the layers the network is built from.

Each ``*_forward`` returns its output and a ``cache``; the matching
``*_backward`` takes the upstream gradient ``d_out`` and that cache and returns
the gradients of its inputs. The functions work on float32 or float64 arrays
and never change their inputs, except the arrays passed as ``out``.

For speed in the training loop, outputs can go to preallocated ``out``
arrays (which may be the input itself where noted), and the weight gradients
of :func:`affine_backward` can be accumulated BLAS-style,
``dW = alpha * X.T @ d_out + beta * dW``, so that an optimizer can have its
velocity updated by the gradient product itself. Every dense matrix product
goes through :mod:`sklmlp._blas`. ``X`` may also be a SciPy sparse matrix in
:func:`affine_forward` / :func:`affine_backward`.

This module imports NumPy and :mod:`sklmlp._blas` and nothing else.
"""

import numpy as np

from ._blas import axpy, column_sums, gemm, scal


def affine_forward(X, W, b, out=None):
    """Affine layer ``out = X @ W + b``.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_in)
        Input rows, of W's dtype.
    W : ndarray of shape (n_in, n_out)
        Weights.
    b : ndarray of shape (n_out,)
        Bias.
    out : ndarray of shape (n_samples, n_out), default=None
        Where to write the output; a new array when None.

    Returns
    -------
    out : ndarray of shape (n_samples, n_out)
        Layer output.
    cache : tuple
        ``(X, W)``, for :func:`affine_backward`.
    """
    if out is None:
        out = np.empty((X.shape[0], W.shape[1]), dtype=W.dtype)
    if isinstance(X, np.ndarray):
        np.copyto(out, b)  # the bias, then the product added by gemm
        gemm(1.0, X, W, 1.0, out)
    else:  # sparse: SciPy's sparse product, then into out
        np.add(X @ W, b, out=out)
    return out, (X, W)


def affine_backward(d_out, cache, grads=None, alpha=1.0, beta=0.0, dX=None):
    """Backward pass of :func:`affine_forward`.

    Parameters
    ----------
    d_out : ndarray of shape (n_samples, n_out)
        Gradient of the loss with respect to the layer output.
    cache : tuple
        ``(X, W)`` from :func:`affine_forward`.
    grads : tuple of ndarray, default=None
        ``(dW, db)`` arrays to accumulate into as
        ``dW = alpha * X.T @ d_out + beta * dW`` and
        ``db = alpha * d_out.sum(axis=0) + beta * db``; new arrays when None.
    alpha, beta : float, default=1.0, 0.0
        Accumulation coefficients (the defaults give the plain gradients).
    dX : ndarray of shape (n_samples, n_in) or False, default=None
        Where to write the input gradient ``d_out @ W.T``: a new array when
        None; not computed when False (the first layer does not need it, which
        saves a matrix product).

    Returns
    -------
    dX : ndarray of shape (n_samples, n_in) or None
        Gradient with respect to ``X`` (None when ``dX`` is False).
    dW : ndarray of shape (n_in, n_out)
        Gradient with respect to ``W`` (accumulated as described).
    db : ndarray of shape (n_out,)
        Gradient with respect to ``b``: the column sum of ``d_out``.
    """
    X, W = cache
    if grads is None:
        grads, beta = (np.empty_like(W), np.empty_like(W[0])), 0.0
    dW, db = grads
    if isinstance(X, np.ndarray):
        gemm(alpha, X, d_out, beta, dW, trans_a=True)
    else:  # sparse: SciPy's sparse product, then accumulated
        _accumulate(alpha, np.asarray(X.T @ d_out), beta, dW)
    column_sums(alpha, d_out, beta, db)
    if dX is False:
        return None, dW, db
    if dX is None:
        dX = np.empty((d_out.shape[0], W.shape[0]), dtype=W.dtype)
    gemm(1.0, d_out, W, 0.0, dX, trans_b=True)
    return dX, dW, db


def _accumulate(alpha, x, beta, y):
    """``y = alpha * x + beta * y``; with ``beta=0`` the old y is ignored."""
    if beta == 0:
        np.multiply(x, alpha, out=y)
    else:
        scal(beta, y)
        axpy(alpha, x, y)


def relu_forward(X, out=None):
    """Rectified linear unit ``out = max(X, 0)``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_units)
        Pre-activations.
    out : ndarray of shape (n_samples, n_units), default=None
        Where to write; may be ``X`` itself. A new array when None.

    Returns
    -------
    out : ndarray of shape (n_samples, n_units)
        Activations.
    cache : ndarray of shape (n_samples, n_units)
        ``out`` itself: its positive entries mark where the unit is active.
    """
    out = np.maximum(X, 0, out=out)
    return out, out


def relu_backward(d_out, cache, out=None):
    """Backward pass of :func:`relu_forward`.

    Parameters
    ----------
    d_out : ndarray of shape (n_samples, n_units)
        Upstream gradient.
    cache : ndarray of shape (n_samples, n_units)
        The activations returned by :func:`relu_forward`.
    out : ndarray of shape (n_samples, n_units), default=None
        Where to write; may be ``d_out`` itself. A new array when None.

    Returns
    -------
    dX : ndarray of shape (n_samples, n_units)
        ``d_out`` where the unit was active, 0 elsewhere.
    """
    # A multiplication by the boolean mask: several times faster than
    # np.where or a masked copy when about half of the units are inactive.
    return np.multiply(d_out, cache > 0, out=out)


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


def softmax_cross_entropy(scores, y, sample_weight=None, out=None):
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
    out : ndarray of shape (n_samples, n_classes), default=None
        Where to write the gradient; may be ``scores`` itself (which is then
        overwritten). A new array when None.

    Returns
    -------
    loss : float
        Mean (or weighted mean) cross-entropy.
    d_scores : ndarray of shape (n_samples, n_classes)
        Gradient of ``loss`` with respect to ``scores``.
    """
    n_samples = scores.shape[0]
    rows = np.arange(n_samples)
    # log-sum-exp with the row maximum shifted out: finite for any scores
    row_max = scores.max(axis=1, keepdims=True)
    shifted_true = scores[rows, y] - row_max[:, 0]  # read before out overwrites
    d_scores = np.subtract(scores, row_max, out=out)
    np.exp(d_scores, out=d_scores)
    sums = d_scores.sum(axis=1)
    log_probs_true = shifted_true - np.log(sums)

    if sample_weight is None:
        coef = 1.0 / n_samples
        loss = -float(log_probs_true.mean())
    else:
        total = sample_weight.sum()
        coef = sample_weight / total if total > 0 else np.zeros_like(sample_weight)
        loss = -float(coef @ log_probs_true)
    # d_scores = coef * (softmax - onehot(y)), in two passes
    d_scores *= (coef / sums).astype(scores.dtype, copy=False)[:, np.newaxis]
    d_scores[rows, y] -= coef
    return loss, d_scores


def l2_penalty(weights, reg, grads=None, alpha=1.0, value=True):
    """L2 penalty ``reg * sum_k sum(W_k ** 2)`` and its gradients.

    The penalty is a *sum* over the weight matrices, and each matrix gets its
    own gradient ``2 * reg * W_k``. Biases are not penalised: do not pass them.

    Parameters
    ----------
    weights : sequence of ndarray
        The weight matrices, e.g. ``[W1, W2]``.
    reg : float
        Regularisation strength (>= 0).
    grads : sequence of ndarray, default=None
        Arrays shaped like ``weights`` to which ``alpha * 2 * reg * W_k`` is
        added in place; new arrays holding ``2 * reg * W_k`` when None.
    alpha : float, default=1.0
        Scale of the gradients added to ``grads``.
    value : bool, default=True
        Whether to compute the penalty (a pass over every weight); when False
        the returned penalty is None.

    Returns
    -------
    penalty : float or None
        The penalty value.
    grads : list of ndarray
        The gradients, or the updated ``grads``.
    """
    penalty = reg * sum(float(np.vdot(W, W)) for W in weights) if value else None
    if grads is None:
        return penalty, [(2 * reg) * W for W in weights]
    if reg:
        for W, dW in zip(weights, grads, strict=True):
            axpy(alpha * 2 * reg, W, dW)
    return penalty, list(grads)
