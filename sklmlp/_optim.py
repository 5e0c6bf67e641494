"""Update rules: SGD with (Nesterov) momentum, and Adam.

An optimizer holds its state (velocities or moment estimates) and updates a
list of parameter arrays in place from a list of gradients in the same order.
Its ``learning_rate`` attribute is the step in force; :func:`decay_learning_rate`
applies the per-epoch schedule, and :func:`train_epoch` runs one pass of
minibatch updates. This module imports NumPy and :mod:`sklmlp._network` and
nothing else.
"""

import numpy as np

from ._network import loss_and_grads


class SGD:
    """Stochastic gradient descent with optional (Nesterov) momentum.

    With velocity ``v`` (zero at the start), each step does::

        v = momentum * v - learning_rate * grad
        param += v                                    # classical momentum
        param += momentum * v - learning_rate * grad  # Nesterov momentum

    Parameters
    ----------
    params : list of ndarray
        The arrays that will be updated; only their shapes and dtypes are read
        here.
    learning_rate : float
        Step size.
    momentum : float, default=0.9
        Momentum coefficient in ``[0, 1]``; 0 gives plain SGD.
    nesterov : bool, default=True
        Whether to use Nesterov's momentum.
    """

    def __init__(self, params, learning_rate, momentum=0.9, nesterov=True):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.velocities = [np.zeros_like(p) for p in params]

    def step(self, params, grads):
        """Update ``params`` in place from ``grads``."""
        lr, mu = self.learning_rate, self.momentum
        for param, grad, v in zip(params, grads, self.velocities, strict=True):
            v *= mu
            v -= lr * grad
            if self.nesterov:
                param += mu * v - lr * grad
            else:
                param += v


class Adam:
    """Adam (Kingma and Ba, 2015) with bias-corrected moment estimates.

    With first and second moments ``m``, ``v`` (zero at the start) and step
    count ``t``, each step does::

        t += 1
        m = beta_1 * m + (1 - beta_1) * grad
        v = beta_2 * v + (1 - beta_2) * grad ** 2
        param -= learning_rate * (m / (1 - beta_1 ** t))
                 / (sqrt(v / (1 - beta_2 ** t)) + epsilon)

    Parameters
    ----------
    params : list of ndarray
        The arrays that will be updated; only their shapes and dtypes are read
        here.
    learning_rate : float
        Step size.
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of the first and second moment estimates.
    epsilon : float, default=1e-8
        Added to the denominator for numerical stability.
    """

    def __init__(self, params, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.first_moments = [np.zeros_like(p) for p in params]
        self.second_moments = [np.zeros_like(p) for p in params]

    def step(self, params, grads):
        """Update ``params`` in place from ``grads``."""
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        m_hat_scale = 1.0 / (1.0 - b1**self.t)
        v_hat_scale = 1.0 / (1.0 - b2**self.t)
        for param, grad, m, v in zip(
            params, grads, self.first_moments, self.second_moments, strict=True
        ):
            m *= b1
            m += (1 - b1) * grad
            v *= b2
            v += (1 - b2) * grad * grad
            denom = np.sqrt(v * v_hat_scale)
            denom += self.epsilon
            param -= (self.learning_rate * m_hat_scale) * m / denom


def make_optimizer(solver, params, learning_rate, momentum, nesterov):
    """Build the optimizer named by ``solver`` ('sgd' or 'adam')."""
    if solver == "sgd":
        return SGD(params, learning_rate, momentum=momentum, nesterov=nesterov)
    if solver == "adam":
        return Adam(params, learning_rate)
    raise ValueError(f"Unknown solver {solver!r}; expected 'sgd' or 'adam'.")


def decay_learning_rate(optimizer, decay):
    """Multiply the optimizer's step by ``decay`` (called after every epoch)."""
    optimizer.learning_rate *= decay


def train_epoch(params, optimizer, X, y, sample_weight, order, batch_size, reg):
    """One pass of minibatch updates over the rows of ``X`` in ``order``.

    Each minibatch is the next ``batch_size`` entries of ``order``; its
    objective and gradients come from :func:`~sklmlp._network.loss_and_grads`
    and ``optimizer.step`` updates ``params`` in place.

    Parameters
    ----------
    params : list of ndarray
        ``[W1, b1, W2, b2]``, updated in place.
    optimizer : SGD or Adam
        The update rule and its state.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Training rows.
    y : ndarray of shape (n_samples,)
        Class indices.
    sample_weight : ndarray of shape (n_samples,) or None
        Per-sample weights.
    order : ndarray of shape (n_samples,)
        The order in which to visit the rows (each exactly once).
    batch_size : int
        Rows per minibatch; the last one may be smaller.
    reg : float
        L2 regularisation strength.

    Returns
    -------
    loss : float
        Mean of the minibatch objectives, weighted by each minibatch's total
        sample weight (its size when unweighted).
    first_loss : float
        The objective of the first minibatch, before any update of this epoch.
    """
    total_loss, total_weight, first_loss = 0.0, 0.0, None
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        weight = None if sample_weight is None else sample_weight[rows]
        loss, grads = loss_and_grads(params, X[rows], y[rows], reg, weight)
        optimizer.step(params, grads)

        batch_weight = len(rows) if weight is None else float(weight.sum())
        total_loss += loss * batch_weight
        total_weight += batch_weight
        if first_loss is None:
            first_loss = loss
    return total_loss / total_weight, first_loss
