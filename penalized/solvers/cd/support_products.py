"""Weighted products of a sparse support's columns, read from X's CSC arrays.

The Newton step on the support (:mod:`.newton`) needs ``X_A^T diag(h) X_N`` and
``X_N^T h`` for the support's columns ``A`` and its new columns ``N``. Through scipy
these took a copy of the columns (``X[:, A]``), a row-scaled copy and the CSR copy made
inside the sparse product: up to three copies of X when the support is most of the
features. Here the columns are read in place, by blocks of rows: each block's entries on
the support are gathered row by row (a temporary of a few percent of X at most) and
every row adds its outer product, so the work is ``sum_i |A_i| |N_i|`` over the rows'
entries on ``A`` and ``N`` (what a sparse product costs) and the memory does not grow
with X. The index arrays are the caller's (int32 or int64: one compiled specialization
each).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numba import njit

#: entries gathered per block of rows (two arrays of this length, 16 bytes an entry): at
#: most this many (4 MB), and at most 1 / ``BLOCK_FRACTION`` of X's entries (12 bytes each)
BLOCK_ENTRIES = 1 << 18
BLOCK_FRACTION = 32
#: rows per block at most (the per-row offsets are an array of this length)
MAX_BLOCK_ROWS = 1 << 16


def index_arrays(X):
    """``(indices, indptr)`` of CSC ``X`` as the compiled code takes them: scipy's int32 as
    they are; int64 copied to int32 when the entries fit (one compiled specialization),
    int64 only beyond."""
    index = np.int32 if X.nnz < 2**31 - 1 else np.int64
    return X.indices.astype(index, copy=False), X.indptr.astype(index, copy=False)


def sparse_support_products(X, h: np.ndarray, old: np.ndarray, new: np.ndarray,
                            shifted: bool = False):
    """``(X_old^T diag(h) X_new, X_new^T diag(h) X_new, X_new^T h)`` of CSC ``X`` with
    sorted indices (as :func:`penalized.core.validation.check_X` leaves it); with
    ``shifted``, of its columns less :func:`column_shifts` (for products that are then
    centered: they do not change)."""
    both = np.concatenate([old, new]).astype(np.int64)
    n = X.shape[0]
    entries = int(np.sum(X.indptr[both + 1] - X.indptr[both]))
    budget = max(1024, min(BLOCK_ENTRIES, X.nnz // BLOCK_FRACTION))
    rows = int(min(MAX_BLOCK_ROWS, max(1, n * budget // max(entries, 1))))
    products, xh = _products(X.data, *index_arrays(X), n, h, both, old.shape[0], rows,
                             column_shifts(X, both) if shifted else np.zeros(both.size))
    k = old.shape[0]
    return products[:k], products[k:], xh


def column_shifts(X, columns: np.ndarray) -> np.ndarray:
    """Per column of ``columns``: the mean of its stored values where it stores one in
    every row (every column of dense X), else 0. Centering products implicitly
    (``X^T H X - xh xh^T / sum h``) loses the digits of ``mean^2 / variance``, all of
    them for a column such as a year (1e4 +- 1); a column storing a value in every row
    stays as sparse shifted by a constant, and centered products do not change, so
    those are formed about their mean. Where a column stores no value in some rows its
    ``mean^2 / variance`` is at most ``f / (1 - f)`` (``f``: the fraction storing one).
    Each column's mean is summed alone: it does not depend on the other columns taken
    (a product cached with one support is centered with another's shifts)."""
    shifts = np.zeros(len(columns))
    n = X.shape[0]
    if n == 0:
        return shifts
    columns = np.asarray(columns)
    if not sp.issparse(X):
        for a, j in enumerate(columns):
            shifts[a] = X[:, j].sum(dtype=np.float64) / n
        return shifts
    for a in np.flatnonzero(X.indptr[columns + 1] - X.indptr[columns] == n):
        j = columns[a]
        shifts[a] = X.data[X.indptr[j]:X.indptr[j + 1]].sum(dtype=np.float64) / n
    return shifts


@njit(cache=True, nogil=True)
def _products(data, indices, indptr, n, h, both, n_old, block_rows, shift):
    """``products[a, c] = sum_i h_i x_{i, both[a]} x_{i, both[n_old + c]}`` and
    ``xh[c] = sum_i h_i x_{i, both[n_old + c]}``, by blocks of ``block_rows`` rows, of
    the columns less ``shift`` (per position in ``both``: nonzero only for columns that
    store a value in every row)."""
    m = both.shape[0]
    products = np.zeros((m, m - n_old))
    xh = np.zeros(m - n_old)
    cursor = np.empty(m, dtype=np.int64)  # each column's first entry not yet read
    for a in range(m):
        cursor[a] = indptr[both[a]]
    start = np.zeros(block_rows + 1, dtype=np.int64)
    for r0 in range(0, n, block_rows):
        r1 = min(r0 + block_rows, n)
        col, val = csc_rows(data, indices, indptr, both, cursor, r0, r1, start)
        for e in range(val.shape[0]):
            val[e] -= shift[col[e]]
        for i in range(r1 - r0):
            hi = h[r0 + i]
            for e in range(start[i], start[i + 1]):
                if col[e] < n_old:
                    continue
                c = col[e] - n_old
                hv = hi * val[e]
                xh[c] += hv
                for f in range(start[i], start[i + 1]):
                    products[col[f], c] += hv * val[f]
    return products, xh


@njit(cache=True, nogil=True)
def csc_rows(data, indices, indptr, columns, cursor, r0, r1, start):
    """Rows ``[r0, r1)`` of CSC X (sorted indices) on the columns ``columns`` as CSR
    arrays of the block: offsets in ``start``; returns each entry's position in
    ``columns`` (int32) and its value (float64), sorted by that position within each row.
    ``cursor[a]``: column ``columns[a]``'s first entry not yet read, advanced past the
    block."""
    total = _count_rows(indices, indptr, columns, cursor, r0, r1, start)
    col = np.empty(total, dtype=np.int32)
    val = np.empty(total)
    fill = start[:r1 - r0].copy()
    for a in range(columns.shape[0]):
        t = cursor[a]
        end = indptr[columns[a] + 1]
        while t < end and indices[t] < r1:
            i = indices[t] - r0
            col[fill[i]] = a
            val[fill[i]] = data[t]
            fill[i] += 1
            t += 1
        cursor[a] = t
    return col, val


@njit(cache=True, nogil=True)
def _count_rows(indices, indptr, both, cursor, r0, r1, start):
    """Offsets ``start`` of each row of ``[r0, r1)`` among the block's entries on the
    columns ``both`` (read from ``cursor`` on); returns their number."""
    for i in range(r1 - r0 + 1):
        start[i] = 0
    for a in range(both.shape[0]):
        t = cursor[a]
        end = indptr[both[a] + 1]
        while t < end and indices[t] < r1:
            start[indices[t] - r0 + 1] += 1
            t += 1
    for i in range(r1 - r0):
        start[i + 1] += start[i]
    return start[r1 - r0]
