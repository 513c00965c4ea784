"""Moments of sparse rows: the Gram route of tall least squares on CSR or CSC X as given.

The Gram form (:mod:`penalized.core.gram`) needs, per group of rows (a fold, or all of
them), the weighted sums ``X^T S X``, ``X^T S 1`` (column sums), ``X^T S y~`` and
``y~^T S y~``. Here they are summed over blocks of rows read from the caller's CSR or
CSC arrays (int32 or int64 indices, float32 or float64 values): no CSC copy of CSR
input and no densified X. A CSR block is a slice of the arrays; a CSC block is gathered
column by column from a cursor per column (indices sorted, as
:func:`penalized.core.validation.check_X` leaves them), a temporary of the block's
entries. Each row adds the outer product of its entries, so a block costs
``sum_i nnz_i^2 / 2`` multiply-adds (a sparse product's work), into a dense
``p x p`` array: the memory is one block plus ``p x p`` per group.

Centering: ``y`` is centered explicitly (each group's weighted mean, from a first pass
over ``y`` alone), so ``X^T S y~`` and ``y~^T S y~`` are the centered cross-moments
exactly; X is centered implicitly from its column sums,
:math:`\\sum s (x - \\bar x)(x - \\bar x)^\\top = X^\\top S X - w \\bar x \\bar x^\\top`
(centering a sparse X would densify it). That subtraction loses the digits of
``mean^2 / variance``: at most ``f / (1 - f)`` for a column storing values in a fraction
``f < 1`` of the rows (a few digits unless nearly every row stores one), unbounded for a
column storing a value in every row (a year, a price level), which is therefore summed
about its mean (:func:`full_column_shifts`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..solvers.cd.support_products import column_shifts, csc_rows

#: rows per block: bounds the gathered entries of a CSC block (and the float64 copies
#: of a float32 or int64-indexed CSR block) to those of BLOCK_ROWS rows, and to
#: 1 / BLOCK_FRACTION of X's entries (down to MIN_BLOCK_ROWS rows)
BLOCK_ROWS = 8192
BLOCK_FRACTION = 32
MIN_BLOCK_ROWS = 256


def sparse_moment_sums(X, y: np.ndarray, s: np.ndarray, groups: np.ndarray | None = None,
                       n_groups: int = 1):
    """Per group ``g`` (``groups[i]``: row ``i``'s group, < 0 for none; None: one group
    of every row): ``(weight (G,), count (G,), mean (G, p + 1), comoment (G, p + 1,
    p + 1))`` of the columns ``[x, y]``, as :class:`.sufficient.Moments` holds them."""
    n, p = X.shape
    groups = np.zeros(0, dtype=np.intp) if groups is None else \
        np.asarray(groups, dtype=np.intp)
    weight, count, y_mean, yy = _target_sums(y, s, groups, n_groups)
    # the sums go straight into the result (its x-x block: the upper triangles; its
    # last column: X^T S y~), so that the groups' p x p arrays exist once
    comoment = np.zeros((n_groups, p + 1, p + 1))
    colsum = np.zeros((n_groups, p))
    X = _canonical(X)
    shift = full_column_shifts(X)
    shifted = bool(np.any(shift))
    for start, col, val, rows in _row_blocks(X):
        g = groups[rows] if groups.size else np.zeros(rows.stop - rows.start, dtype=np.intp)
        yc = y[rows] - y_mean[np.maximum(g, 0)]
        if shifted:  # (a new array: ``val`` may be a view of the caller's X)
            val = val - shift[col]
        _accumulate(start, col, val, s[rows], yc, g, comoment, colsum)
        del start, col, val  # (before the next block is gathered)
    mean = np.zeros((n_groups, p + 1))
    for k in range(n_groups):
        if weight[k] <= 0:  # rows of zero weight only: nothing to average
            comoment[k] = 0.0
            continue
        mean_x = colsum[k] / weight[k]  # (of the shifted columns)
        mean[k, :p], mean[k, p] = mean_x + shift, y_mean[k]
        upper = comoment[k, :p, :p]
        xx = upper + upper.T
        xx[np.diag_indices(p)] = upper.diagonal()
        xx -= np.outer(mean_x, mean_x * weight[k])
        upper[...] = xx
        comoment[k, p, :p] = comoment[k, :p, p]
        comoment[k, p, p] = yy[k]
    return weight, count, mean, comoment


def full_column_shifts(X) -> np.ndarray:
    """:func:`penalized.solvers.cd.support_products.column_shifts` of every column of CSR
    or CSC X (canonical): the mean of its stored values where it stores one in every row,
    else 0; the moments are summed of the columns less these."""
    n, p = X.shape
    if X.format == "csc":
        return column_shifts(X, np.arange(p))
    counts, sums = _entry_counts_sums(X.indices, X.data, p)
    return np.where((counts == n) & (n > 0), sums / max(n, 1), 0.0)


@njit(cache=True, nogil=True)
def _entry_counts_sums(indices, data, p):
    """Stored entries and their sum per column index (CSR arrays; no index copy)."""
    counts = np.zeros(p, dtype=np.int64)
    sums = np.zeros(p)
    for t in range(indices.shape[0]):
        counts[indices[t]] += 1
        sums[indices[t]] += data[t]
    return counts, sums


def row_pair_count(X) -> float:
    """``sum_i nnz_i^2 / 2``: the multiply-adds of :func:`sparse_moment_sums` over CSR or
    CSC X (counted in place: no copy of the index arrays)."""
    if X.format == "csr":
        return float(_squared_gaps(X.indptr)) / 2
    return float(_squared_row_counts(X.indices, X.shape[0])) / 2


@njit(cache=True, nogil=True)
def _squared_gaps(indptr):
    total = 0
    for i in range(indptr.shape[0] - 1):
        gap = np.int64(indptr[i + 1] - indptr[i])
        total += gap * gap
    return total


@njit(cache=True, nogil=True)
def _squared_row_counts(indices, n):
    counts = np.zeros(n, dtype=np.int32)
    for t in range(indices.shape[0]):
        counts[indices[t]] += 1
    total = 0
    for i in range(n):
        count = np.int64(counts[i])
        total += count * count
    return total


def _target_sums(y, s, groups, n_groups):
    """Each group's weight, row count, weighted mean of ``y`` and centered ``y~^T S y~``
    (two passes over ``y``, by blocks)."""
    weight, count, total = (np.zeros(n_groups) for _ in range(3))
    n = y.shape[0]
    for start in range(0, n, BLOCK_ROWS):
        rows = slice(start, start + BLOCK_ROWS)
        g, w = _labels(groups, rows, n), s[rows]
        weight += np.bincount(g, weights=w, minlength=n_groups + 1)[1:]
        count += np.bincount(g, minlength=n_groups + 1)[1:]
        total += np.bincount(g, weights=w * y[rows], minlength=n_groups + 1)[1:]
    y_mean = np.divide(total, weight, out=np.zeros(n_groups), where=weight > 0)
    yy = np.zeros(n_groups)
    for start in range(0, n, BLOCK_ROWS):
        rows = slice(start, start + BLOCK_ROWS)
        g = _labels(groups, rows, n)
        yc = y[rows] - np.append(0.0, y_mean)[g]
        yy += np.bincount(g, weights=s[rows] * yc * yc, minlength=n_groups + 1)[1:]
    return weight, count, y_mean, yy


def _labels(groups, rows: slice, n: int) -> np.ndarray:
    """The rows' groups shifted by one (0: in no group), for ``np.bincount``."""
    if groups.size == 0:
        return np.ones(len(range(*rows.indices(n))), dtype=np.intp)
    return np.maximum(groups[rows].astype(np.intp) + 1, 0)


def _canonical(X):
    """X with sorted indices and no duplicates (each row's outer product assumes distinct
    columns; :func:`penalized.core.validation.check_X`'s X is): a copy if not."""
    if X.has_canonical_format:
        return X
    X = X.copy()
    X.sum_duplicates()
    return X


def _row_blocks(X):
    """``(offsets (int64), column indices (int32), values (float64), rows)`` of each block
    of rows of CSR or CSC ``X`` (module constants), as CSR arrays of the block."""
    n, p = X.shape
    step = max(1, min(BLOCK_ROWS, max(MIN_BLOCK_ROWS, n // BLOCK_FRACTION)))
    if X.format == "csr":
        for r0 in range(0, n, step):
            r1 = min(r0 + step, n)
            lo, hi = int(X.indptr[r0]), int(X.indptr[r1])
            start = X.indptr[r0:r1 + 1].astype(np.int64) - lo
            yield (start, X.indices[lo:hi].astype(np.int32, copy=False),
                   X.data[lo:hi].astype(np.float64, copy=False), slice(r0, r1))
        return
    columns = np.arange(p, dtype=np.int64)
    cursor = X.indptr[:-1].astype(np.int64)
    start = np.zeros(min(step, n) + 1, dtype=np.int64)
    for r0 in range(0, n, step):
        r1 = min(r0 + step, n)
        # (not bound here: the caller drops a block before the next one is gathered)
        yield (start[:r1 - r0 + 1],
               *csc_rows(X.data, X.indices, X.indptr, columns, cursor, r0, r1, start),
               slice(r0, r1))


@njit(cache=True, nogil=True)
def _accumulate(start, col, val, s, yc, groups, second, colsum):
    """Add each row's ``s_i x_i x_i^T`` (upper triangle: the row's column indices are
    sorted and distinct) to its group's ``second[g, :p, :p]``, ``s_i y~_i x_i`` to
    ``second[g, :p, p]`` and ``s_i x_i`` to ``colsum[g]``."""
    last = second.shape[2] - 1
    for i in range(start.shape[0] - 1):
        w = s[i]
        g = groups[i]
        if w == 0.0 or g < 0:
            continue
        t = w * yc[i]
        for e in range(start[i], start[i + 1]):
            j = col[e]
            wv = w * val[e]
            colsum[g, j] += wv
            second[g, j, last] += t * val[e]
            for f in range(e, start[i + 1]):
                second[g, j, col[f]] += wv * val[f]
