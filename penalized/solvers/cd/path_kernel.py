"""The compiled path driver: a whole least-squares path in one compiled call (numba).

The Python driver (:mod:`.driver`) runs its outer loop in numpy: about 400
Python-level calls per alpha, 0.15 ms. On small data that is the whole cost. Here the
same loop runs compiled for least squares on dense X with every feature penalized:
per alpha, the duality gap (the dual point and formulas of
:func:`penalized.core.certificates.dual_objective`, best dual point kept), the stop test
(:func:`.rules.stop_reason`), a working set (:func:`.rules.working_set`) and epochs of
the one kernel (:func:`.kernels.cd_epochs`) with the inner targets of
:func:`.rules.inner_targets`. The rules and the kernel are the Python driver's; only
the loop around them is written again, in compiled form.

It lacks the Python driver's Newton step on the support, its dual extrapolation and its
bounded (float32, reused) gradient passes, which pay on large problems or at a tight tol
with about as many features as samples (:func:`.path_driver.applies`).

The kernel is called through an object-mode block (a Python call, about 2 us): called
directly, numba links its compiled code into this function and optimizes it again,
3 s more at the first call (cold cache).
"""

from __future__ import annotations

import numpy as np
from numba import njit, objmode

from ...penalties.compiled import (
    conjugate_vector,
    dual_scale_vector,
    subdiff_vector,
    value_vector,
)
from . import rules
from .kernels import (
    InnerTarget,
    _col_axpy,
    _dense_dot,
    cd_epochs,
    center_residual,
    weighted_col_stats,
)


def _run_kernel(data, s, r, sum_s, fit_intercept, w, b, ws, stats_ws, alphas_j, pen, target,
                kcfg):
    """:func:`.kernels.cd_epochs` on dense data (from the object-mode block); ``target``
    arrives as a plain tuple."""
    b, n_epochs, _, estimate = cd_epochs(data, None, None, s, r, sum_s, fit_intercept, w, b,
                                         ws, stats_ws, alphas_j, pen, InnerTarget(*target),
                                         kcfg)
    return float(b), int(n_epochs), float(estimate)


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
def _gap(data, y, s, r, w, omega, alpha, pen, grad):
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
    primal = 0.5 * quad / n + value_vector(pen.kind, w, omega, alpha, pen.param)
    # the dual point u = s r / n, v = X^T u = -grad, rescaled to be feasible
    v = np.empty(p)
    for j in range(p):
        v[j] = -grad[j]
    scale = dual_scale_vector(pen.kind, v, omega, alpha, pen.param, pen.positive)
    for j in range(p):
        v[j] /= scale
    # sum over weighted samples of c_i f*(y_i, -u_i / c_i), c_i = s_i / n
    conj_f = 0.0
    for i in range(n):
        if s[i] > 0.0:
            u = sr[i] / (n * scale)
            conj_f += -u * y[i] + 0.5 * u * r[i] / scale
    dual = -conj_f - conjugate_vector(pen.kind, v, omega, alpha, pen.param, pen.positive)
    return primal, dual


@njit(cache=True)
def _fit_alpha(data, y, s, sum_s, alpha, omega, pen, fit_intercept, tol, scale, max_epochs,
               allow_progress, ridge, cfg, kcfg, stats, w, b, r):
    """One alpha from ``(w, b)`` (updated in place but for ``b``): returns
    ``(b, primal, gap, epochs, reason)``."""
    p = omega.shape[0]
    alphas_j = np.empty(p)
    for j in range(p):
        alphas_j[j] = alpha * omega[j]
    grad = np.empty(p)
    curvatures = stats[0]
    center = fit_intercept and sum_s > 0.0
    _recompute_residual(data, y, w, b, r)
    best_dual, remaining = -np.inf, np.inf
    ws = np.empty(0, dtype=np.int64)
    forced = np.zeros(p, dtype=np.bool_)
    # (np.int64: a literal 0 would compile rules.stop_reason a second time)
    epochs, primal, gap, reason = np.int64(0), 0.0, 0.0, rules.GO_ON
    for outer in range(cfg.max_outer + 1):
        if center:  # the optimal intercept (the kernel keeps it, up to rounding)
            b += center_residual(s, r, sum_s)
        primal, dual = _gap(data, y, s, r, w, omega, alpha, pen, grad)
        best_dual = max(best_dual, dual)
        gap = max(primal - best_dual, 0.0)
        obj_tol = tol * max(primal, 1e-6 * scale)
        scores = subdiff_vector(pen.kind, w, grad, omega, alpha, pen.param, pen.positive)
        n_support = np.int64(0)  # (not a literal 0: see epochs above)
        for j in range(p):
            if w[j] != 0.0:
                n_support += 1
        progress = allow_progress and rules.tail_trusted(
            n_support, y.shape[0] - (1 if fit_intercept else 0), ridge)
        left_out = rules.outside_gain(scores, curvatures, ws) if outer > 0 else np.inf
        # (``alpha > 0`` rather than the literal True, which numba would compile as a
        # second specialization of stop_reason)
        reason = rules.stop_reason(gap <= obj_tol, alpha > 0.0, progress, remaining, left_out,
                                   obj_tol, cfg.outside_safety, epochs, max_epochs, outer,
                                   cfg.max_outer)
        if reason != rules.GO_ON:
            break
        ws = rules.working_set(w, scores, forced, cfg.ws_min, cfg.ws_growth)
        stats_ws = np.empty((2, ws.shape[0]))
        for c in range(ws.shape[0]):
            stats_ws[0, c] = stats[0, ws[c]]
            stats_ws[1, c] = stats[1, ws[c]]
        top = 0.0
        for j in range(p):
            top = max(top, scores[j])
        left_in = rules.outside_gain(scores, curvatures, ws) if progress else np.inf
        tol_in, obj_in = rules.inner_targets(top, left_in, obj_tol, progress,
                                             cfg.inner_fraction, cfg.settled, cfg.tail_safety)
        with objmode(b="float64", n_epochs="int64", estimate="float64"):
            b, n_epochs, estimate = _run_kernel(
                data, s, r, sum_s, fit_intercept, w, b, ws, stats_ws, alphas_j, pen,
                (max(max_epochs - epochs, 1), tol_in, obj_in, 0), kcfg)
        epochs += n_epochs
        remaining = cfg.tail_safety * estimate
    return b, primal, gap, epochs, reason


@njit(cache=True)
def cd_path(data, y, s, alphas, omega, pen, fit_intercept, tol, scale, max_epochs, progress,
            ridge, cfg, kcfg, coefs, out):
    """Fit every alpha of ``alphas`` (largest first), each warm-started from the last.

    Parameters
    ----------
    data : (n * p,) a dense X raveled in column-major order
    y, s : (n,) target and sample weights (summing to n)
    alphas : (k,) the grid, all > 0; omega : (p,) feature weights, all > 0, read-only
    pen : :class:`.kernels.PenaltyArgs`; fit_intercept, progress, ridge : bool (``ridge``:
        the penalty is strongly convex, see :func:`.rules.tail_trusted`)
    tol, scale, max_epochs : the stopping rule (gap below ``tol * max(objective,
        1e-6 * scale)``) and the epoch budget per alpha
    cfg, kcfg : :class:`.settings.RoundSettings`, :class:`.settings.KernelSettings`
    coefs : (k, p) out, the coefficients
    out : (5, k) out, rows: intercepts, objectives, duality gaps, epochs, stop reasons
        (the codes of :mod:`.rules`)
    """
    n = y.shape[0]
    p = omega.shape[0]
    sum_s = 0.0
    for i in range(n):
        sum_s += s[i]
    stats = weighted_col_stats(data, None, None, n, s, np.arange(p),
                               1.0 if fit_intercept else 0.0)
    w = np.zeros(p)
    b = 0.0
    if fit_intercept and sum_s > 0.0:
        for i in range(n):
            b += s[i] * y[i]
        b /= sum_s
    r = np.empty(n)
    for k in range(alphas.shape[0]):
        b, primal, gap, epochs, reason = _fit_alpha(
            data, y, s, sum_s, alphas[k], omega, pen, fit_intercept, tol, scale, max_epochs,
            progress, ridge, cfg, kcfg, stats, w, b, r)
        for j in range(p):
            coefs[k, j] = w[j]
        out[0, k] = b
        out[1, k] = primal
        out[2, k] = gap
        out[3, k] = epochs
        out[4, k] = reason
