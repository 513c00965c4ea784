"""Cholesky factorization and solves, compiled (numba, ``nogil``): the Newton steps'
linear algebra without the GIL.

scipy's LAPACK wrappers (``cho_factor``, ``cho_solve``, ``solve_triangular``) hold the
GIL, numpy's ``np.linalg.cholesky`` does not: threads of ``n_jobs`` that reach a Newton
step at once ran it one after the other. Large systems are factored by numpy's LAPACK
(blocked, BLAS speed); the multinomial's small row blocks by :func:`factor_in_place`;
both are solved by :func:`solve_in_place`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...core.gradient import _dense_dot as dot


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def factor_in_place(A):
    """Overwrite the lower triangle of a symmetric positive definite ``A`` with its
    Cholesky factor ``L`` (``A = L L^T``); False when a pivot is not positive."""
    d = A.shape[0]
    for j in range(d):
        row_j = A[j]
        acc = row_j[j] - dot(row_j[:j], row_j[:j])
        if not acc > 0.0:  # also catches NaN
            return False
        ljj = np.sqrt(acc)
        row_j[j] = ljj
        for i in range(j + 1, d):
            row_i = A[i]
            row_i[j] = (row_i[j] - dot(row_i[:j], row_j[:j])) / ljj
    return True


@njit(cache=True, nogil=True)
def solve_in_place(L, x):
    """Overwrite ``x`` with ``(L L^T)^{-1} x`` for the lower-triangular ``L`` (C-ordered;
    its upper triangle is not read)."""
    d = L.shape[0]
    for i in range(d):  # L z = x
        x[i] = (x[i] - dot(L[i, :i], x[:i])) / L[i, i]
    for i in range(d - 1, -1, -1):  # L^T x = z
        acc = x[i]
        for t in range(i + 1, d):
            acc -= L[t, i] * x[t]
        x[i] = acc / L[i, i]
