"""Update rules: SGD with (Nesterov) momentum, and Adam.

An optimizer's :meth:`step` takes the parameters and their plain gradients
(``[dW1, db1, dW2, db2]``, as :func:`~sklmlp._network.loss_and_grads`
returns them) and updates the parameters in place, with level-1 BLAS calls
over the arrays. The ``learning_rate`` attribute is the step in force;
:func:`decay_learning_rate` applies the per-epoch schedule, and
:func:`flush_underflow` keeps the optimizer's state out of the subnormal range.

The rules work in the namespace of the parameters (NumPy, PyTorch, CuPy,
array_api_strict); NumPy's arrays are updated with in-place BLAS calls.
This module imports NumPy, :mod:`sklmlp._blas` and :mod:`sklmlp._xp`.
"""

import numpy as np

from ._blas import axpy, scal
from ._xp import namespace

# Minibatches between two flushes of values that are underflowing to zero
# (see flush_underflow).
FLUSH_INTERVAL = 64


def flush_underflow(arrays, decay):
    """Set to zero the entries on their way to the subnormal range.

    x86 arithmetic on subnormal floats (below ``finfo(dtype).tiny``, about
    1.2e-38 in float32) costs ~100 cycles an element, and NumPy does not
    flush them to zero. Optimizer state that decays geometrically (Adam's
    moments of a dead unit, a momentum velocity) and the weights of dead units
    under L2 decay drift into that range and slow every later pass over them
    (seen: an Adam epoch 1.8x slower after 8 epochs). Called every
    ``FLUSH_INTERVAL`` minibatches, this zeroes each entry smaller in
    magnitude than ``tiny / decay ** FLUSH_INTERVAL``: the entries that could
    otherwise become subnormal before the next call, which are far too small
    to change any step.

    Parameters
    ----------
    arrays : list of ndarray
        Floating arrays, modified in place.
    decay : float
        The slowest factor per minibatch by which the entries shrink, in
        (0, 1) (e.g. Adam's ``beta_1`` or SGD's momentum).
    """
    for array in arrays:
        xp = namespace(array)
        threshold = float(xp.finfo(array.dtype).smallest_normal) / decay**FLUSH_INTERVAL
        if xp is np:
            np.putmask(array, np.abs(array) < threshold, 0)
        else:
            array[xp.abs(array) < threshold] = 0


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
        self.velocities = [namespace(p).zeros_like(p) for p in params]

    def state(self):
        """The arrays this optimizer keeps between steps."""
        return list(self.velocities)

    @property
    def decay(self):
        """Factor per step by which the state shrinks without a gradient.

        Without momentum (0) the velocity is one step, nothing accumulates,
        and momentum 1 never shrinks it; 0.5 then sets a flush threshold of
        about 2e-19 in float32, still far below any weight that matters.
        """
        return self.momentum if 0 < self.momentum < 1 else 0.5

    def step(self, params, grads):
        """Update ``params`` in place from their gradients ``grads``."""
        mu, lr = self.momentum, self.learning_rate
        for param, grad, v in zip(params, grads, self.velocities, strict=True):
            scal(mu, v)
            axpy(-lr, grad, v)
            if self.nesterov:
                axpy(mu, v, param)
                axpy(-lr, grad, param)
            else:
                axpy(1.0, v, param)


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
        self.first_moments = [namespace(p).zeros_like(p) for p in params]
        self.second_moments = [namespace(p).zeros_like(p) for p in params]
        self._scratch = [namespace(p).zeros_like(p) for p in params]

    def state(self):
        """The arrays this optimizer keeps between steps."""
        return self.first_moments + self.second_moments

    @property
    def decay(self):
        """Factor per step by which the state shrinks without a gradient."""
        return min(self.beta_1, self.beta_2)

    def step(self, params, grads):
        """Update ``params`` in place from their gradients ``grads``."""
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        step = self.learning_rate / (1.0 - b1**self.t)
        v_hat_scale = 1.0 / (1.0 - b2**self.t)
        for param, grad, m, v, scratch in zip(
            params,
            grads,
            self.first_moments,
            self.second_moments,
            self._scratch,
            strict=True,
        ):
            scal(b1, m)
            axpy(1 - b1, grad, m)
            scal(b2, v)
            if namespace(param) is np:  # in place, into the scratch array
                np.multiply(grad, grad, out=scratch)
                axpy(1 - b2, scratch, v)
                # scratch = m / (sqrt(v * v_hat_scale) + epsilon)
                np.multiply(v, v_hat_scale, out=scratch)
                np.sqrt(scratch, out=scratch)
                scratch += self.epsilon
                np.divide(m, scratch, out=scratch)
            else:
                xp = namespace(param)
                axpy(1 - b2, grad * grad, v)
                scratch = m / (xp.sqrt(v * v_hat_scale) + self.epsilon)
            axpy(-step, scratch, param)


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
