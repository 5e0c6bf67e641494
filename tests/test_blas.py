"""The in-place BLAS wrappers against NumPy's products."""

import numpy as np
import pytest

from sklmlp._blas import gemm, matmul


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("n_rows", [1, 2, 7], ids=lambda n: f"rows{n}")
def test_gemm_matches_numpy(n_rows, trans_a, trans_b, dtype):
    # one output row takes the gemv path; more rows take gemm
    rng = np.random.default_rng(n_rows)
    A = rng.standard_normal((6, n_rows) if trans_a else (n_rows, 6)).astype(dtype)
    B = rng.standard_normal((5, 6) if trans_b else (6, 5)).astype(dtype)
    C = rng.standard_normal((n_rows, 5)).astype(dtype)
    op_a, op_b = (A.T if trans_a else A), (B.T if trans_b else B)
    expected = 0.5 * op_a.astype(np.float64) @ op_b + 2.0 * C
    A0, B0 = A.copy(), B.copy()
    out = gemm(0.5, A, B, 2.0, C, trans_a=trans_a, trans_b=trans_b)
    assert out is C
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(C, expected, rtol=tol, atol=tol)
    np.testing.assert_array_equal(A, A0)  # operands are left alone
    np.testing.assert_array_equal(B, B0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_of_one_row_equals_the_row_of_a_larger_product(dtype):
    """The gemv path gives a prediction on one row the rows' own numbers."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((9, 40)).astype(dtype)
    W = rng.standard_normal((40, 30)).astype(dtype)
    one = matmul(X[3:4], W)
    assert one.shape == (1, 30) and one.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(one[0], matmul(X, W)[3], rtol=tol, atol=tol)
