"""A whole least-squares elastic-net path in one compiled call (numba, ``cache=True``).

The working-set solver of :mod:`.cd` runs its outer loop (certificate, working set,
inner targets) in numpy: about 400 Python-level calls per alpha, 0.15 ms. On small
data that is the whole cost (diabetes, 442 x 10 in Gram form: 98% of a ``LassoCV``
fit). Here the same loop runs compiled for the plain case: least squares, dense X,
elastic-net family with every feature penalized. Each alpha: the duality gap (same
dual point and formulas as :func:`penalized.core.certificates.dual_objective`, best dual
point kept), then a working set (support plus the worst KKT violators, twice the
support), then epochs of :func:`._kernels.cd_quadratic` on it (the kernel every
separable fit uses), until the gap is below ``tol`` times the objective or, with an
L1 part, the working-set solver's progress estimate says the excess is (same rule,
same settings).

It lacks the working-set solver's Newton step on the support, its dual extrapolation
and its bounded (float32, reused) gradient passes: they pay on large problems, or at
a tight tol with about as many features as samples, where
:func:`penalized.solvers.cd.path_driver.applies` leaves the path to that solver.

The kernel is called through an object-mode block (a Python call, about 2 us):
called directly, numba links its compiled code into this function and optimizes it
again, 3 s more at the first call (cold cache). Every other call here is compiled.
"""

from __future__ import annotations

import numpy as np
from numba import njit, objmode

from ...penalties.elastic_net_compiled import (
    enet_conjugate_sum,
    enet_dual_norm,
    enet_subdiff_distance,
    enet_value,
)
from .kernels import (
    _col_axpy,
    _dense_dot,
    cd_quadratic,
    center_residual,
    weighted_col_stats,
)

#: when the working set holds every feature that matters, its epochs also stop once
#: the largest violation on it is below this fraction of the round's starting one
SETTLED = 1e-8


def _run_kernel(data, s, r, w, ws, stats_ws, alphas_j, kernel_params, state, residuals):
    """:func:`._kernels.cd_quadratic` on dense data (from the object-mode block)."""
    cd_quadratic(data, None, None, s, r, w, ws, stats_ws, alphas_j, kernel_params, state, 0,
                 residuals)


@njit(cache=True)
def _recompute_residual(data, y, w, b, r):
    """``r = y - X w - b`` from scratch (no drift from the kernel's updates)."""
    n = y.shape[0]
    for i in range(n):
        r[i] = y[i] - b
    for j in range(w.shape[0]):
        if w[j] != 0.0:
            _col_axpy(data, None, None, n, j, w[j], r)


@njit(cache=True)
def _gap(data, y, s, r, w, omega, alpha, ratio, positive, grad):
    """``(primal, dual)`` at ``w`` with residual ``r`` (intercept optimal); fills
    ``grad`` with the datafit gradient ``-X^T (s r) / n``."""
    n = y.shape[0]
    p = w.shape[0]
    sr = np.empty(n)
    quad = 0.0
    for i in range(n):
        sr[i] = s[i] * r[i]
        quad += sr[i] * r[i]
    for j in range(p):
        grad[j] = -_dense_dot(data[j * n:(j + 1) * n], s, r) / n
    primal = 0.5 * quad / n + enet_value(w, omega, alpha, ratio)
    # the dual point u = s r / n, v = X^T u = -grad, rescaled to be feasible
    v = np.empty(p)
    for j in range(p):
        v[j] = -grad[j]
    scale = 1.0
    if ratio >= 1.0:
        scale = max(1.0, enet_dual_norm(v, omega, positive) / alpha)
        for j in range(p):
            v[j] /= scale
    # sum over weighted samples of c_i f*(y_i, -u_i / c_i), c_i = s_i / n
    conj_f = 0.0
    for i in range(n):
        if s[i] > 0.0:
            u = sr[i] / (n * scale)
            conj_f += -u * y[i] + 0.5 * u * r[i] / scale
    dual = -conj_f - enet_conjugate_sum(v, omega, alpha, ratio, positive)
    return primal, dual


@njit(cache=True)
def _working_set(w, scores, ws_min, ws_growth):
    """Support plus the largest violators outside it, ``ws_growth`` times the support
    in all (at least ``ws_min``), sorted.

    The violators kept are those above a threshold found by bisection (at most the
    number asked for; ties may leave it a few short): written with loops, as
    ``np.argsort`` alone took 1.7 s of compilation.
    """
    p = w.shape[0]
    n_support = 0
    top = 0.0
    for j in range(p):
        if w[j] != 0.0:
            n_support += 1
        elif scores[j] > top:
            top = scores[j]
    size = max(ws_min, int(ws_growth * n_support))
    level = 0.0  # every violator, if they are few enough
    if _count_above(w, scores, level) > size:
        lo, level = 0.0, top  # count(lo) > size >= count(level) = 0: bisect between
        for _ in range(60):
            mid = 0.5 * (lo + level)
            if _count_above(w, scores, mid) <= size:
                level = mid
            else:
                lo = mid
    n_ws = 0
    for j in range(p):
        if w[j] != 0.0 or scores[j] > level:
            n_ws += 1
    ws = np.empty(n_ws, dtype=np.int64)
    c = 0
    for j in range(p):
        if w[j] != 0.0 or scores[j] > level:
            ws[c] = j
            c += 1
    return ws


@njit(cache=True)
def _count_above(w, scores, level):
    """Features at zero whose score is above ``level``."""
    count = 0
    for j in range(w.shape[0]):
        if w[j] == 0.0 and scores[j] > level:
            count += 1
    return count


@njit(cache=True)
def _outside_gain(scores, stats, in_ws):
    """``sum_j v_j^2 / (2 L_j)`` over the violators outside the working set: the
    objective decrease one coordinate step on each would give (as
    :meth:`.cd.CoordinateDescent._outside_gain`)."""
    gain = 0.0
    for j in range(scores.shape[0]):
        if not in_ws[j] and scores[j] > 0.0 and stats[0, j] > 0.0:
            gain += scores[j] * scores[j] / (2.0 * stats[0, j])
    return gain


@njit(cache=True)
def cd_path(data, y, s, alphas, omega, params, coefs, out):
    """Fit every alpha of ``alphas`` (largest first), each warm-started from the last.

    Parameters
    ----------
    data : (n * p,) a dense X raveled in column-major order
    y, s : (n,) target and sample weights (summing to n)
    alphas : (k,) the grid, all > 0; omega : (p,) feature weights, all > 0, read-only
    params : (l1_ratio, positive, fit_intercept, tol, scale, max_epochs, progress,
        tail_safety, outside_safety, max_outer, ws_min, ws_growth, inner_fraction):
        the working-set solver's settings (:class:`.cd.CoordinateDescent`). Stop at a
        gap below ``tol * max(objective, 1e-6 * scale)``, or (``progress`` > 0) when
        the kernel's estimate of the remaining decrease, times ``tail_safety``, plus
        ``outside_safety`` times the outside gain is below it, or after
        ``max_epochs`` epochs or ``max_outer`` rounds
    coefs : (k, p) out, the coefficients
    out : (5, k) out, rows: intercepts, objectives, duality gaps, epochs, converged (0/1)
    """
    n = y.shape[0]
    p = omega.shape[0]
    ratio, positive, fit_intercept = params[0], params[1], params[2]
    # the penalty kernels take ``positive`` as a bool and a read-only ``omega``, as the
    # penalties call them (another argument type would compile them a second time)
    is_positive = positive > 0.0
    tol, scale, max_epochs = params[3], params[4], int(params[5])
    progress = params[6] > 0.0
    tail_safety, outside_safety = params[7], params[8]
    max_outer, ws_min, ws_growth = int(params[9]), int(params[10]), params[11]
    inner_fraction = params[12]
    sum_s = 0.0
    for i in range(n):
        sum_s += s[i]
    center = fit_intercept > 0.0 and sum_s > 0.0
    every = np.arange(p)
    stats = weighted_col_stats(data, None, None, n, s, every, fit_intercept)
    w = np.zeros(p)
    b = 0.0
    if center:
        for i in range(n):
            b += s[i] * y[i]
        b /= sum_s
    r = np.empty(n)
    grad = np.empty(p)
    alphas_j = np.empty(p)
    state = np.empty(4)
    kernel_params = np.empty(5)  # (np.array of a list costs compilation time)
    kernel_params[0] = ratio
    kernel_params[1] = positive
    kernel_params[2] = fit_intercept
    kernel_params[3] = sum_s
    kernel_params[4] = 0.0  # no sign-stability stop: no Newton step follows
    residuals = np.zeros((0, n))
    for k in range(alphas.shape[0]):
        alpha = alphas[k]
        for j in range(p):
            alphas_j[j] = alpha * omega[j]
        _recompute_residual(data, y, w, b, r)
        best_dual = -np.inf
        remaining = np.inf
        in_ws = np.zeros(p, dtype=np.bool_)
        have_ws = False
        epochs = 0
        converged = False
        primal = 0.0
        gap = 0.0
        for outer in range(max_outer + 1):
            if center:  # the optimal intercept (the kernel keeps it, up to rounding)
                b += center_residual(s, r, sum_s)
            primal, dual = _gap(data, y, s, r, w, omega, alpha, ratio, is_positive, grad)
            best_dual = max(best_dual, dual)
            gap = max(primal - best_dual, 0.0)
            obj_tol = tol * max(primal, 1e-6 * scale)
            scores = enet_subdiff_distance(w, grad, omega, alpha, ratio, is_positive)
            if gap <= obj_tol or (progress and have_ws and remaining <= obj_tol and
                                  remaining + outside_safety * _outside_gain(
                                      scores, stats, in_ws) <= obj_tol):
                converged = True
                break
            if epochs >= max_epochs or outer == max_outer:
                break
            ws = _working_set(w, scores, ws_min, ws_growth)
            for j in range(p):
                in_ws[j] = False
            for c in range(ws.shape[0]):
                in_ws[ws[c]] = True
            have_ws = True
            stats_ws = np.empty((2, ws.shape[0]))
            for c in range(ws.shape[0]):
                stats_ws[0, c] = stats[0, ws[c]]
                stats_ws[1, c] = stats[1, ws[c]]
            top = 0.0
            for j in range(p):
                top = max(top, scores[j])
            state[0] = b
            state[1] = max_epochs - epochs
            state[2] = inner_fraction * top
            state[3] = 0.0
            if progress:  # the inner targets of .cd.CoordinateDescent._inner_targets
                left_out = _outside_gain(scores, stats, in_ws)
                if left_out <= 0.5 * obj_tol:
                    # run to the target on the estimate, but not on rounding noise:
                    # once the decreases are at rounding level their ratios are ~1
                    # and the estimate never falls (a 1-feature working set ran
                    # 20,000 epochs); the working-set solver stops those on sign
                    # stability before its Newton step
                    state[2] = SETTLED * top
                    state[3] = (obj_tol - left_out) / tail_safety
                else:
                    state[3] = inner_fraction * obj_tol / tail_safety
            with objmode():
                _run_kernel(data, s, r, w, ws, stats_ws, alphas_j, kernel_params, state,
                            residuals)
            b = state[0]
            epochs += int(state[1])
            remaining = tail_safety * state[3]
        for j in range(p):
            coefs[k, j] = w[j]
        out[0, k] = b
        out[1, k] = primal
        out[2, k] = gap
        out[3, k] = epochs
        out[4, k] = 1.0 if converged else 0.0
