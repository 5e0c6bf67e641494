"""The training loop's minibatch gradient, computed in place: the fast path.

:class:`FusedGradient` computes what :func:`sklmlp._network.loss_and_grads`
computes, for the minibatches of one fit, with the tricks that the textbook
function leaves out. Each is measured in ``docs/performance.rst``
(``benchmarks/bench_engines.py``):

1. **Buffer reuse.** Activations, their gradients and the parameter
   gradients live in arrays allocated once per fit, sized for the largest
   minibatch, so a step allocates almost nothing.
2. **In-place passes.** The bias is copied into the layer's output and the
   product accumulated onto it by ``gemm`` (``beta=1``); ReLU runs in place;
   the softmax cross-entropy overwrites the scores with their gradient; the
   ReLU backward multiplies by a reused mask; each bias gradient is one
   ``gemv`` (a column sum).
3. **Skipped work.** No input gradient for the first layer (one matrix
   product fewer), and the penalty's *value* (a pass over every weight) is not
   computed, only its gradient.

Rules for callers, which the textbook function does not have:

- the returned gradients are this object's buffers: valid until the next
  call, to be consumed (by an optimizer step) and never kept;
- the returned loss is the data loss, without the L2 penalty: add
  :func:`~sklmlp._layers.l2_penalty` of the weights where its value is needed
  (the training loop does, once per epoch).

``tests/test_fastpath.py`` checks both against the textbook function to
1e-12 in float64, dense and sparse, with and without sample weights.

This module imports NumPy and :mod:`sklmlp._blas` and nothing else.
"""

import numpy as np

from ._blas import axpy, column_sums, gemm


class FusedGradient:
    """Loss and gradients of minibatches of up to ``batch_size`` rows, in place.

    Parameters
    ----------
    batch_size : int
        Largest number of rows a minibatch will have.
    params : list of ndarray
        ``[W1, b1, W2, b2]``; their shapes and dtype size the buffers.
    """

    def __init__(self, batch_size, params):
        W1, _, W2, _ = params
        hidden_size, n_classes = W2.shape
        dtype = W1.dtype
        self.batch_size = batch_size
        self.hidden = np.empty((batch_size, hidden_size), dtype)
        self.active = np.empty((batch_size, hidden_size), bool)
        self.d_hidden = np.empty((batch_size, hidden_size), dtype)
        self.scores = np.empty((batch_size, n_classes), dtype)
        self.grads = [np.empty_like(p) for p in params]

    def __call__(self, params, X, y, reg, sample_weight=None):
        """Data loss and gradients of the objective on one minibatch.

        Parameters
        ----------
        params : list of ndarray
            ``[W1, b1, W2, b2]``.
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            The minibatch, ``n_samples <= batch_size``.
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
            ``[dW1, db1, dW2, db2]`` of the whole objective (penalty
            included): this object's buffers.
        """
        W1, b1, W2, b2 = params
        dW1, db1, dW2, db2 = self.grads
        n = X.shape[0]
        hidden, active = self.hidden[:n], self.active[:n]
        scores, d_hidden = self.scores[:n], self.d_hidden[:n]

        # forward: (n, hidden_size), then (n, n_classes)
        _affine_forward_into(X, W1, b1, hidden)
        np.maximum(hidden, 0, out=hidden)
        _affine_forward_into(hidden, W2, b2, scores)
        data_loss = _softmax_cross_entropy_in_place(scores, y, sample_weight)
        d_scores = scores

        # backward
        gemm(1.0, hidden, d_scores, 0.0, dW2, trans_a=True)
        column_sums(1.0, d_scores, 0.0, db2)
        gemm(1.0, d_scores, W2, 0.0, d_hidden, trans_b=True)
        np.greater(hidden, 0, out=active)
        np.multiply(d_hidden, active, out=d_hidden)
        if isinstance(X, np.ndarray):
            gemm(1.0, X, d_hidden, 0.0, dW1, trans_a=True)
        else:  # sparse: SciPy's sparse product
            dW1[...] = X.T @ d_hidden
        column_sums(1.0, d_hidden, 0.0, db1)
        if reg:
            axpy(2 * reg, W1, dW1)
            axpy(2 * reg, W2, dW2)
        return data_loss, self.grads


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
        total = sample_weight.sum()
        coef = sample_weight / total if total > 0 else np.zeros_like(sample_weight)
        loss = -float(coef @ log_probs_true)
    scores *= (coef / sums).astype(scores.dtype, copy=False)[:, np.newaxis]
    scores[rows, y] -= coef
    return loss
