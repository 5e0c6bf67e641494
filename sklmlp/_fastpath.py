"""The training loop's minibatch gradient: the fast path.

:func:`fused_loss_and_grads` computes what
:func:`sklmlp._network.loss_and_grads` computes, with the tricks the textbook
function leaves out. Each was measured by ``benchmarks/bench_engines.py``
(Fashion-MNIST, hidden 500, float32; the figures are in
``docs/performance.rst``); together they make an epoch 1.4-1.6x faster:

1. **No input gradient for the first layer**, which nothing uses: one matrix
   product fewer (computing it made an epoch 1.16-1.42x slower).
2. **No penalty value**: the L2 penalty's value is a pass over every weight;
   only its gradient is needed to train (computing it every minibatch
   measured 0.86-1.11x, within the noise, and costs work for nothing).
3. **In-place passes**: the bias is copied into the layer's output and the
   product accumulated onto it by ``gemm`` (``beta=1``); ReLU runs in place;
   the softmax cross-entropy overwrites the scores with their gradient; each
   bias gradient is one ``gemv`` (a column sum); the L2 gradient is one
   ``axpy`` into the weight gradient.

Two tricks were measured and dropped, as they gained under 5 % per epoch:
reusing preallocated buffers across minibatches (1.01-1.02x) and folding
SGD's velocity update into the gradient products (0.95-1.14x, noise).

The rule callers must know: the returned loss is the data loss, without the
L2 penalty; add :func:`~sklmlp._layers.l2_penalty` of the weights where its
value is needed (the training loop does, once per epoch).
``tests/test_fastpath.py`` checks loss and gradients against the textbook
function to 1e-12 in float64, dense and sparse, with and without weights.

This module imports NumPy, :mod:`sklmlp._blas` and :mod:`sklmlp._layers`
and nothing else.
"""

import numpy as np

from ._blas import axpy, column_sums, gemm
from ._layers import sample_coefficients


def fused_loss_and_grads(params, X, y, reg, sample_weight=None):
    """Data loss and gradients of the objective on one minibatch.

    Parameters
    ----------
    params : list of ndarray
        ``[W1, b1, W2, b2]``.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        The minibatch.
    y : ndarray of shape (n_samples,)
        Class indices.
    reg : float
        L2 regularisation strength.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative per-sample weights.

    Returns
    -------
    data_loss : float
        The (weighted) mean cross-entropy, without the penalty.
    grads : list of ndarray
        ``[dW1, db1, dW2, db2]`` of the whole objective (penalty included).
    """
    W1, b1, W2, b2 = params
    n_samples = X.shape[0]
    dW1, db1, dW2, db2 = (np.empty_like(p) for p in params)
    hidden = np.empty((n_samples, W1.shape[1]), W1.dtype)
    scores = np.empty((n_samples, W2.shape[1]), W1.dtype)

    # forward: (n_samples, hidden_size), then (n_samples, n_classes)
    _affine_forward_into(X, W1, b1, hidden)
    np.maximum(hidden, 0, out=hidden)
    _affine_forward_into(hidden, W2, b2, scores)
    data_loss = _softmax_cross_entropy_in_place(scores, y, sample_weight)
    d_scores = scores

    # backward
    gemm(1.0, hidden, d_scores, 0.0, dW2, trans_a=True)
    column_sums(1.0, d_scores, 0.0, db2)
    d_hidden = gemm(1.0, d_scores, W2, 0.0, np.empty_like(hidden), trans_b=True)
    d_hidden *= hidden > 0
    if isinstance(X, np.ndarray):
        gemm(1.0, X, d_hidden, 0.0, dW1, trans_a=True)
    else:  # sparse: SciPy's sparse product
        dW1[...] = X.T @ d_hidden
    column_sums(1.0, d_hidden, 0.0, db1)
    if reg:
        axpy(2 * reg, W1, dW1)
        axpy(2 * reg, W2, dW2)
    return data_loss, [dW1, db1, dW2, db2]


def _affine_forward_into(X, W, b, out):
    """``out = X @ W + b``: the bias first, then the product added by gemm."""
    if isinstance(X, np.ndarray):
        np.copyto(out, b)
        gemm(1.0, X, W, 1.0, out)
    else:  # sparse: SciPy's sparse product, then into out
        np.add(X @ W, b, out=out)


def _softmax_cross_entropy_in_place(scores, y, sample_weight):
    """Mean softmax cross-entropy; ``scores`` is overwritten by its gradient.

    The arithmetic of :func:`sklmlp._layers.softmax_cross_entropy`, with the
    row maximum shifted out and the gradient ``c_i * (p[i] - onehot(y_i))``
    formed in two passes over the scores' own memory.
    """
    n_samples = scores.shape[0]
    rows = np.arange(n_samples)
    row_max = scores.max(axis=1, keepdims=True)
    shifted_true = scores[rows, y] - row_max[:, 0]  # read before overwriting
    np.subtract(scores, row_max, out=scores)
    np.exp(scores, out=scores)
    sums = scores.sum(axis=1)
    log_probs_true = shifted_true - np.log(sums)
    if sample_weight is None:
        coef = 1.0 / n_samples
        loss = -float(log_probs_true.mean())
    else:
        coef = sample_coefficients(n_samples, sample_weight, scores.dtype)
        loss = -float(coef @ log_probs_true)
    scores *= (coef / sums).astype(scores.dtype, copy=False)[:, np.newaxis]
    scores[rows, y] -= coef
    return loss
