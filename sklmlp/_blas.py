"""In-place BLAS on C-ordered NumPy arrays, through ``scipy.linalg.blas``.

Every dense matrix product of sklmlp goes through one BLAS library, so that
two OpenBLAS thread pools (NumPy's and SciPy's) never spin against each other
in the training loop; :func:`gemm` can write into an existing array
(``beta=0``) or accumulate into it instead of allocating a new one. SciPy's
wrappers expect Fortran order; a C-ordered ``C = op(A) @ op(B)`` is computed
as the Fortran product ``C.T = op(B).T @ op(A).T``, which needs no copies.
:func:`matmul`, :func:`axpy` and :func:`scal` also take arrays of other Array
API namespaces, which use their own operators.
"""

import numpy as np
import scipy.sparse as sp
from scipy.linalg import blas

from ._xp import namespace

_GEMM = {np.dtype(np.float32): blas.sgemm, np.dtype(np.float64): blas.dgemm}
_AXPY = {np.dtype(np.float32): blas.saxpy, np.dtype(np.float64): blas.daxpy}
_SCAL = {np.dtype(np.float32): blas.sscal, np.dtype(np.float64): blas.dscal}
_GEMV = {np.dtype(np.float32): blas.sgemv, np.dtype(np.float64): blas.dgemv}


def gemm(alpha, A, B, beta, C, trans_a=False, trans_b=False):
    """``C = alpha * op(A) @ op(B) + beta * C``, in place.

    Parameters
    ----------
    alpha, beta : float
        Scalars; with ``beta=0`` the old content of C is ignored.
    A, B : ndarray
        C-contiguous operands of C's dtype; ``op(M)`` is ``M.T`` when the
        matching ``trans_*`` is True, else ``M``.
    C : ndarray of shape (m, n)
        C-contiguous output, overwritten.
    trans_a, trans_b : bool, default=False
        Whether to transpose A or B.

    Returns
    -------
    C : ndarray
        The same array.
    """
    if C.shape[0] == 1:
        return _row_times_matrix(alpha, A, B, beta, C, trans_b)
    result = _GEMM[C.dtype](
        alpha, B.T, A.T, beta, C.T, trans_a=trans_b, trans_b=trans_a, overwrite_c=True
    )
    if not np.may_share_memory(result, C):  # only when C was not contiguous
        C[...] = result.T
    return C


def _row_times_matrix(alpha, A, B, beta, C, trans_b):
    """:func:`gemm` for a one-row C, as a ``gemv``: ``c = alpha op(B).T a + beta c``.

    OpenBLAS's gemm does not hand a one-row product to gemv; it packs all of
    B first, which makes a single-row prediction with hidden 500 about ten
    times slower (320 us against 30 us for 784 x 500 float32).
    """
    a = A.ravel()  # op(A) has one row: A is (1, k), or (k, 1) when transposed
    c = C.ravel()
    result = _GEMV[C.dtype](
        alpha, B.T, a, beta, c, trans=int(trans_b), overwrite_y=True
    )
    if not np.may_share_memory(result, C):
        C[...] = result
    return C


def axpy(a, x, y):
    """``y += a * x`` in place, for contiguous arrays of one shape and dtype.

    Arrays other than NumPy's (PyTorch, CuPy, ...) use their own operators.
    """
    if not isinstance(y, np.ndarray):
        y += a * x
        return y
    _AXPY[y.dtype](x.ravel(), y.ravel(), a=a)
    return y


def scal(a, x):
    """``x *= a`` in place, for a contiguous array (any namespace)."""
    if not isinstance(x, np.ndarray):
        x *= a
        return x
    _SCAL[x.dtype](a, x.ravel())
    return x


def sum_of_squares(W):
    """``sum(W ** 2)`` as a 0-d array (a BLAS dot for NumPy's arrays)."""
    if isinstance(W, np.ndarray):
        return np.vdot(W, W)
    return namespace(W).sum(W * W)


def column_sums(alpha, A, beta, y):
    """``y = alpha * A.sum(axis=0) + beta * y`` in place, as a BLAS ``gemv``."""
    ones = np.ones(A.shape[0], dtype=y.dtype)
    result = _GEMV[y.dtype](alpha, A.T, ones, beta, y, overwrite_y=True)
    if not np.may_share_memory(result, y):
        y[...] = result
    return y


def matmul(A, B, trans_a=False, trans_b=False):
    """A new array ``op(A) @ op(B)``.

    Dense NumPy operands give a C-ordered array computed by :func:`gemm`; a
    SciPy sparse ``A`` (or ``B``) gives SciPy's product as an ndarray; arrays
    of other namespaces (PyTorch, CuPy, ...) use their own ``@``.
    """
    op_a = A.T if trans_a else A
    op_b = B.T if trans_b else B
    if not (isinstance(A, np.ndarray) and isinstance(B, np.ndarray)):
        product = op_a @ op_b
        return np.asarray(product) if sp.issparse(product) else product
    n_rows = A.shape[1] if trans_a else A.shape[0]
    n_cols = B.shape[0] if trans_b else B.shape[1]
    out = np.empty((n_rows, n_cols), dtype=np.result_type(A, B))
    return gemm(1.0, A, B, 0.0, out, trans_a=trans_a, trans_b=trans_b)
