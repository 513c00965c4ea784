"""Compiled kernels (numba, ``cache=True``). They know arrays, not estimators.

One coordinate-descent kernel serves every separable penalty and both storage
formats:

* the penalty enters as its integer ``kernel_id``; its scalar operations (prox,
  subdifferential distance, value) come from the dispatcher of
  :mod:`penalized.penalties.compiled`, so the kernel is compiled once for all
  penalties and names none.
* X enters as CSC arrays ``(data, indices, indptr)``; a dense Fortran array is
  passed as its raveled column-major data with ``indices = indptr = None``, so
  column ``j`` is ``data[j*n:(j+1)*n]``. numba prunes the ``indices is None``
  branches at compile time: one source, two cached specializations (a run-time
  branch on the storage, inlined in the column loops, keeps the compiler from
  optimizing either loop).

The kernel minimizes the weighted quadratic

    (1/(2n)) sum_i h_i (t_i - x_i.w - b)^2 + sum_j alpha_j P_j(w_j)

over a working set, which is least squares exactly and one prox-Newton step
for any other datafit (h = second derivative, t = working response).

Numba facts measured here (numba 0.68, keep them when editing; the measurements are in
the commit history):

* No numpy array expressions or linear algebra inside the kernels (``a[1:] - a[:-1]``,
  ``acc += c * row``, ``np.full``, slice assignment, ``np.argsort``,
  ``np.linalg.solve``): each costs seconds of compilation per specialization; explicit
  loops compile in a fraction of that and run as fast.
* Every distinct argument type is a new specialization of the whole kernel, about 3 s
  at the first call of each process: a Fortran-ordered or read-only array, or an int
  where a float was, all count. ``tests/test_solvers.py`` asserts one specialization
  per storage format.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ...penalties.compiled import (
    box_prox_scalar,
    box_subdiff_scalar,
    coordinate_curvature,
    value_scalar,
)


class PenaltyArgs(NamedTuple):
    """The penalty as the kernel takes it: ``kernel_id``, shape parameter, ``positive``,
    and the box ``lower <= w <= upper`` (infinite entries where unbounded)."""

    kind: int
    param: float
    positive: bool
    lower: np.ndarray
    upper: np.ndarray


def penalty_args(penalty, n_features: int) -> PenaltyArgs:
    """:class:`PenaltyArgs` of a penalty (the one place they are built: the bounds as
    writable C-contiguous float64 arrays, so that the kernel compiles once)."""
    box = penalty.bounds(n_features)
    lower, upper = box if box is not None else (np.full(n_features, -np.inf),
                                                np.full(n_features, np.inf))
    return PenaltyArgs(penalty.kernel_id, float(penalty.params[0]), bool(penalty.positive),
                       np.array(lower, dtype=float), np.array(upper, dtype=float))


class InnerTarget(NamedTuple):
    """When a kernel call stops: after ``max_epochs`` epochs; when the largest KKT
    violation on the working set is at most ``tol``; when the progress estimate is
    below ``obj_tol`` (0: off); or, with ``stable_epochs > 0``, once the signs on the
    working set have not changed for that many epochs (a Newton step follows)."""

    max_epochs: int
    tol: float
    obj_tol: float
    stable_epochs: int

# ---- column access -------------------------------------------------------------
# A dense column is taken as a slice ``data[j*n:(j+1)*n]`` and looped over with a
# ``range`` index: indexing ``data[start + i]`` directly makes numba check every index
# for wraparound (a negative index counts from the end), which keeps LLVM from
# vectorizing the loops. The dot products are reductions: in strict IEEE order they
# cannot be vectorized either, so they carry FAST (reassociation, fused
# multiply-adds; the order is fixed at compile time, so results are reproducible).
# Sparse columns are sliced too and their row indices cast to unsigned (not checked
# either); their loops keep strict math, which runs faster there.
FAST = {"reassoc", "contract"}


@njit(cache=True, nogil=True, fastmath=FAST, no_cpython_wrapper=True)
def _dense_dot(col, h, v):
    """sum_i col_i h_i v_i."""
    acc = 0.0
    for i in range(col.shape[0]):
        acc += col[i] * h[i] * v[i]
    return acc


@njit(cache=True, nogil=True, fastmath=FAST, no_cpython_wrapper=True)
def _dense_stats(col, h):
    """``(sum_i h_i col_i^2, sum_i h_i col_i)``."""
    acc = 0.0
    acc_h = 0.0
    for i in range(col.shape[0]):
        hx = h[i] * col[i]
        acc += hx * col[i]
        acc_h += hx
    return acc, acc_h


@njit(cache=True, nogil=True, inline="always")
def _col_dot(data, indices, indptr, n, j, v, h):
    """sum_i h_i x_ij v_i for column j."""
    if indices is None:
        return _dense_dot(data[j * n:(j + 1) * n], h, v)
    lo = indptr[j]
    m = indptr[j + 1] - lo
    vals = data[lo:lo + m]
    rows = indices[lo:lo + m]
    acc = 0.0
    for t in range(m):
        i = np.uint64(rows[t])  # an unsigned index is not checked for wraparound
        acc += vals[t] * h[i] * v[i]
    return acc


@njit(cache=True, nogil=True, inline="always")
def _col_axpy(data, indices, indptr, n, j, a, v):
    """v -= a * x_j."""
    if indices is None:
        col = data[j * n:(j + 1) * n]
        for i in range(n):
            v[i] -= a * col[i]
    else:
        lo = indptr[j]
        m = indptr[j + 1] - lo
        vals = data[lo:lo + m]
        rows = indices[lo:lo + m]
        for t in range(m):
            v[np.uint64(rows[t])] -= a * vals[t]


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def center_residual(h, r, sum_h):
    """Make the intercept optimal: subtract the weighted mean ``sum h r / sum h`` from
    the residual ``r`` (in place) and return it (what the intercept gains)."""
    delta = 0.0
    for i in range(r.shape[0]):
        delta += h[i] * r[i]
    delta /= sum_h
    for i in range(r.shape[0]):
        r[i] -= delta
    return delta


@njit(cache=True, nogil=True)
def weighted_col_stats(data, indices, indptr, n, h, cols, center):
    """Per column j in ``cols``: ``(sum_i h_i x_ij^2 - center * xh_j^2 / sum_h) / n`` and
    ``xh_j = sum_i h_i x_ij``.

    With ``center`` (an intercept is fitted) the first is the curvature of the
    objective in ``w_j`` once the intercept is re-optimized: the coordinate
    update then moves ``(w_j, b)`` jointly, as on centered columns.
    """
    m = cols.shape[0]
    out = np.empty((2, m))
    sum_h = 0.0
    for i in range(n):
        sum_h += h[i]
    for c in range(m):
        j = cols[c]
        acc = 0.0
        acc_h = 0.0
        if indices is None:
            acc, acc_h = _dense_stats(data[j * n:(j + 1) * n], h)
        else:
            for k in range(indptr[j], indptr[j + 1]):
                x = data[k]
                acc += h[indices[k]] * x * x
                acc_h += h[indices[k]] * x
        if center > 0.0 and sum_h > 0.0:
            acc -= acc_h * acc_h / sum_h
        out[0, c] = max(acc, 0.0) / n
        out[1, c] = acc_h
    return out


@njit(cache=True, nogil=True)
def _solve_spd(G, rhs):
    """``G^{-1} rhs`` for a small symmetric positive definite ``G`` (Cholesky, written
    out: see the module's numba facts); an empty array if a pivot is not positive."""
    k = G.shape[0]
    L = np.zeros((k, k))
    for i in range(k):
        for j in range(i + 1):
            acc = G[i, j]
            for t in range(j):
                acc -= L[i, t] * L[j, t]
            if i == j:
                if not acc > 0.0:  # also catches NaN
                    return np.empty(0)
                L[i, i] = np.sqrt(acc)
            else:
                L[i, j] = acc / L[j, j]
    x = rhs.copy()
    for i in range(k):  # L z = rhs
        for t in range(i):
            x[i] -= L[i, t] * x[t]
        x[i] /= L[i, i]
    for i in range(k - 1, -1, -1):  # L^T x = z
        for t in range(i + 1, k):
            x[i] -= L[t, i] * x[t]
        x[i] /= L[i, i]
    return x


@njit(cache=True, nogil=True)
def anderson_point(hist):
    """Anderson extrapolation of the K+1 iterates in the rows of ``hist``: the combination
    of the last K with weights summing to one whose combined differences are smallest.
    An empty array when the system is degenerate or the point is not finite.
    Storage-independent: compiled once."""
    K = hist.shape[0] - 1
    m1 = hist.shape[1]
    G = np.zeros((K, K))
    for a in range(K):
        for c_ in range(a + 1):
            acc = 0.0
            for i in range(m1):
                acc += (hist[a + 1, i] - hist[a, i]) * (hist[c_ + 1, i] - hist[c_, i])
            G[a, c_] = acc
            G[c_, a] = acc
    trace = 0.0
    for k in range(K):
        trace += G[k, k]
    reg = 1e-10 * trace + 1e-300
    for k in range(K):
        G[k, k] += reg
    c = _solve_spd(G, np.ones(K))
    if c.shape[0] == 0:  # not positive definite
        return c
    total = 0.0
    for k in range(K):
        total += c[k]
    if total == 0.0 or not np.isfinite(total):
        return np.empty(0)
    point = np.zeros(m1)
    for k in range(K):
        weight = c[k] / total
        for i in range(m1):
            point[i] += weight * hist[k + 1, i]
    for i in range(m1):
        if not np.isfinite(point[i]):
            return np.empty(0)
    return point


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _anderson(data, indices, indptr, h, r, w, ws, alphas_j, pen, hist, b):
    """Move to the Anderson extrapolation of the last iterates (rows of ``hist``:
    ``w[ws], b``) if it lowers the quadratic objective, so acceleration can never slow
    convergence down (Bertrand & Massias, 2021); ``w`` and ``r`` are updated in place.
    Returns the (possibly updated) intercept and the objective decrease (0 if rejected).
    """
    point = anderson_point(hist)
    if point.shape[0] == 0:
        return b, 0.0
    n = r.shape[0]
    m = ws.shape[0]
    r_new = np.empty(n)
    for i in range(n):
        r_new[i] = r[i]
    pen_now = 0.0
    pen_new = 0.0
    for cc in range(m):
        j = ws[cc]
        # the extrapolation may leave the box: its projection is tried instead
        point[cc] = min(max(point[cc], pen.lower[j]), pen.upper[j])
        pen_now += value_scalar(pen.kind, w[j], alphas_j[j], pen.param, pen.positive)
        pen_new += value_scalar(pen.kind, point[cc], alphas_j[j], pen.param, pen.positive)
        delta = point[cc] - w[j]
        if delta != 0.0:
            _col_axpy(data, indices, indptr, n, j, delta, r_new)
    db = point[m] - b
    quad_now = 0.0
    quad_new = 0.0
    for i in range(n):
        r_new[i] -= db
        quad_now += h[i] * r[i] * r[i]
        quad_new += h[i] * r_new[i] * r_new[i]
    gain = (quad_now - quad_new) / (2.0 * n) + pen_now - pen_new
    if gain > 0.0:
        for i in range(n):
            r[i] = r_new[i]
        for cc in range(m):
            w[ws[cc]] = point[cc]
        return point[m], gain
    return b, 0.0


@njit(cache=True, nogil=True)
def tail_estimate(dec, ratios, n_ratios, max_inflation):
    """Objective decrease still to come after a sweep that decreased it by ``dec``.

    Geometric decreases with ratio ``rho`` leave ``dec * rho / (1 - rho)``; with
    ``q = 1 / (1 - rho)`` that is ``dec * (q - 1)``. On an ill-conditioned working
    set the ratios keep growing (decreases like ``k^-beta``, whose tail is heavier
    by ``1 / (1 - s)`` where ``s ~ 1 / beta`` is the growth of ``q`` per sweep), so
    the growth is measured over the window and the tail inflated by it, at most
    ``max_inflation`` times: uncapped, a growth of 1 or more per sweep means an
    infinite tail, which is what the first sweeps after a warm start on an
    ill-conditioned working set look like, long after the excess is small.
    """
    window = ratios.shape[0]
    q_first = 0.0
    q_last = 0.0
    for i in range(window):  # oldest to newest in the ring
        rho = ratios[(n_ratios + i) % window]
        if rho >= 1.0:
            return np.inf
        q = 1.0 / (1.0 - rho)
        if i == 0:
            q_first = q
        q_last = max(q_last, q)
    slope = min(max(q_last - q_first, 0.0) / (window - 1), 1.0 - 1.0 / max_inflation)
    return dec * (q_last - 1.0) / (1.0 - slope)


@njit(cache=True, nogil=True)
def cd_epochs(data, indices, indptr, h, r, sum_h, fit_intercept, w, b, ws, col_stats,
              alphas_j, pen, target, cfg):
    """Coordinate descent epochs on the working set ``ws``; updates ``w``, ``r`` in place.

    Minimizes ``(1/(2n)) sum_i h_i (t_i - x_i.w - b)^2 + sum_j alpha_j P(w_j)`` with the
    residual ``r = t - Xw - b``. With an intercept, each coordinate step re-optimizes
    the intercept too, as glmnet does with centered columns (uncentered columns are
    otherwise all coupled through the mean and CD crawls); the residual's shift is
    kept as one scalar so sparse columns stay sparse. Every ``cfg.anderson_k`` epochs
    the iterates are extrapolated (Anderson), which fixes CD's slow tail on
    ill-conditioned working sets.

    Parameters
    ----------
    data, indices, indptr : X in CSC form (dense: raveled Fortran data, ``None`` indices)
    h : (n,) curvature weights, ``sum_h`` their sum; r : (n,) residual (updated)
    fit_intercept : bool; w : (p,) coefficients (updated); b : the intercept
    ws : working set; col_stats : (2, len(ws)) from :func:`weighted_col_stats`
    alphas_j : (p,) ``alpha * omega_j``; pen : :class:`PenaltyArgs`
    target : :class:`InnerTarget`; cfg : :class:`.settings.KernelSettings`

    Returns
    -------
    (b, epochs, violation, remaining) : the intercept, the epochs run, the last
        epoch's largest KKT violation on ``ws`` and the progress estimate: the decrease
        still to come, extrapolated by :func:`tail_estimate` from the last
        ``cfg.rate_window`` ratios of consecutive sweeps' decreases (``inf`` before),
        trusted once the estimate made ``cfg.check_lag`` sweeps earlier has held.
    """
    n = r.shape[0]
    n_stable = 0
    remaining = np.inf
    lag = cfg.check_lag
    # the estimate made ``lag`` sweeps ago and the cumulative decrease then: a stop
    # needs the decrease since to be within that estimate (right after a warm start the
    # ratios are still growing and the geometric tail underestimates)
    past_estimate = np.empty(lag + 1)
    past_total = np.zeros(lag + 1)
    for k in range(lag + 1):
        past_estimate[k] = np.inf
    total = 0.0
    prev_dec = -1.0  # decrease of the previous sweep (< 0: none to compare with)
    ratios = np.zeros(cfg.rate_window)  # ratios of consecutive sweeps' decreases
    n_ratios = 0
    m = ws.shape[0]
    hist = np.empty((cfg.anderson_k + 1, m + 1))
    n_hist = 0
    # an extrapolation costs about one epoch: after a rejected one, skip the next
    # 1, 2, 4... (at most 16) cycles; an accepted one resets the backoff
    backoff = 0
    skip = 0
    center = fit_intercept and sum_h > 0.0
    if center:  # start from the optimal intercept
        b += center_residual(h, r, sum_h)
    violation = np.inf
    epoch = 0
    while epoch < target.max_epochs:
        epoch += 1
        violation = 0.0
        n_changed = 0
        dec = 0.0  # this sweep's objective decrease (exact for the quadratic)
        shift = 0.0  # the true residual is r + shift
        for c in range(m):
            j = ws[c]
            L = col_stats[0, c]
            if L <= 0.0:
                continue
            xh = col_stats[1, c]
            grad = -(_col_dot(data, indices, indptr, n, j, r, h) + shift * xh) / n
            old = w[j]
            v = box_subdiff_scalar(pen.kind, old, grad, alphas_j[j], pen.param, pen.positive,
                                   pen.lower[j], pen.upper[j])
            if v > violation:
                violation = v
            # the penalty may need more curvature than the model's (a non-convex one);
            # ``dec`` below is the model's decrease, with its own L
            L_step = coordinate_curvature(pen.kind, L, pen.param)
            new = box_prox_scalar(pen.kind, old - grad / L_step, 1.0 / L_step, alphas_j[j],
                                  pen.param, pen.positive, pen.lower[j], pen.upper[j])
            if new != old:
                delta = new - old
                dec -= grad * delta + 0.5 * L * delta * delta + \
                    value_scalar(pen.kind, new, alphas_j[j], pen.param, pen.positive) - \
                    value_scalar(pen.kind, old, alphas_j[j], pen.param, pen.positive)
                _col_axpy(data, indices, indptr, n, j, delta, r)
                w[j] = new
                if center:  # re-optimize the intercept: b and the residual shift
                    db = delta * xh / sum_h
                    b -= db
                    shift += db
                if (new > 0.0) != (old > 0.0) or (new < 0.0) != (old < 0.0):
                    n_changed += 1
        if shift != 0.0:
            for i in range(n):
                r[i] += shift
        if center:
            delta = center_residual(h, r, sum_h)
            b += delta
            dec += 0.5 * sum_h * delta * delta / n
            gb = abs(delta) * sum_h / n
            if gb > violation:
                violation = gb
        if dec <= 0.0:
            remaining = 0.0
        elif prev_dec > 0.0:
            ratios[n_ratios % cfg.rate_window] = dec / prev_dec
            n_ratios += 1
            if n_ratios >= cfg.rate_window:
                remaining = tail_estimate(dec, ratios, n_ratios, cfg.max_inflation)
        prev_dec = max(dec, 0.0)
        total += prev_dec
        slot = epoch % (lag + 1)
        then = (epoch + 1) % (lag + 1)  # the entry written ``lag`` sweeps ago
        validated = remaining == 0.0 or (past_estimate[then] < np.inf and
                                         total - past_total[then] <= past_estimate[then])
        past_estimate[slot] = remaining
        past_total[slot] = total
        if violation <= target.tol or (target.obj_tol > 0.0 and remaining <= target.obj_tol
                                       and validated):
            break
        n_stable = n_stable + 1 if n_changed == 0 else 0
        if target.stable_epochs > 0 and n_stable >= target.stable_epochs:
            break
        for c in range(m):
            hist[n_hist, c] = w[ws[c]]
        hist[n_hist, m] = b
        n_hist += 1
        if n_hist == cfg.anderson_k + 1:
            n_hist = 0
            if skip > 0:
                skip -= 1
                continue
            b, gain = _anderson(data, indices, indptr, h, r, w, ws, alphas_j, pen, hist, b)
            total += gain
            if gain > 0.0:  # a jump: the next sweep's decrease is not comparable
                backoff = 0
                prev_dec = -1.0
                n_ratios = 0
                remaining = np.inf
            else:
                backoff = min(max(2 * backoff, 1), 16)
                skip = backoff
    return b, epoch, violation, remaining
