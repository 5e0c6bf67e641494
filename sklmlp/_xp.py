"""Array namespaces: NumPy, or the Array API namespace of other arrays.

The math (:mod:`sklmlp._layers`, :mod:`sklmlp._network`, :mod:`sklmlp._optim`,
:mod:`sklmlp._training`, :mod:`sklmlp._batches`) is written once against an
array namespace ``xp``: NumPy itself for ndarrays and SciPy sparse matrices
(whose dense products go through :mod:`sklmlp._blas`), and for PyTorch, CuPy
or array_api_strict arrays the namespace ``array_api_compat`` gives them.
The helpers below spell the few operations whose NumPy < 2 form differs from
the standard's (``device=``, ``astype``, copies).

This module imports NumPy and SciPy's sparse module; ``array_api_compat``
(the ``array-api`` extra, else scikit-learn's vendored copy) only when it
meets an array that is not NumPy's.
"""

import numpy as np
import scipy.sparse as sp


def is_numpy(*arrays):
    """Whether every array given (None aside) is an ndarray or a sparse matrix."""
    return all(
        isinstance(a, np.ndarray) or sp.issparse(a) for a in arrays if a is not None
    )


def _compat():
    """array_api_compat: the package, else the copy scikit-learn vendors."""
    try:
        import array_api_compat
    except ImportError:
        from sklearn.externals import array_api_compat
    return array_api_compat


def namespace(*arrays):
    """The namespace of ``arrays``: NumPy, or their Array API namespace."""
    if is_numpy(*arrays):
        return np
    return _compat().array_namespace(*(a for a in arrays if a is not None))


def device(array):
    """The device ``array`` lives on (None for NumPy)."""
    if is_numpy(array):
        return None
    return _compat().device(array)


def asarray(values, like, dtype=None):
    """``values`` as an array of ``like``'s namespace, on its device."""
    if is_numpy(like):
        return np.asarray(values, dtype=dtype)
    xp = namespace(like)
    return xp.asarray(values, dtype=dtype, device=device(like))


def arange(n, like):
    """``0, 1, ..., n - 1`` (default integer type) on ``like``'s device."""
    if is_numpy(like):
        return np.arange(n)
    return namespace(like).arange(n, device=device(like))


def zero(like):
    """A 0-d zero of ``like``'s dtype, namespace and device.

    For ``maximum(X, zero)`` and ``where(c, X, zero)``: Python scalars are
    accepted there only from the 2024.12 revision of the standard on.
    """
    if is_numpy(like):
        return np.zeros((), dtype=like.dtype)
    return namespace(like).zeros((), dtype=like.dtype, device=device(like))


def astype(array, dtype):
    """``array`` cast to ``dtype`` (no copy when it already has it)."""
    if is_numpy(array):
        return array.astype(dtype, copy=False)
    return namespace(array).astype(array, dtype, copy=False)


def copy(array):
    """A copy of ``array``, in its namespace and on its device."""
    if is_numpy(array):
        return array.copy()
    return namespace(array).asarray(array, copy=True)


def to_numpy(array):
    """``array`` (any array or array-like) as a NumPy array on the host.

    NumPy arrays and sparse matrices come back as they are.
    """
    if is_numpy(array):
        return array
    module = type(array).__module__
    if module.startswith("torch"):
        return array.detach().cpu().numpy()
    if module.startswith("cupy"):
        return array.get()
    if module.startswith("array_api_strict"):
        return np.from_dlpack(array)  # it refuses np.asarray
    return np.asarray(array)  # lists, pandas, ...
