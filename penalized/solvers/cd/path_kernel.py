"""The compiled path driver: a whole path in one compiled call (numba).

The Python driver (:mod:`.driver`) runs its outer loop in numpy: about 400
Python-level calls per alpha, 0.15 ms (0.5 ms for logistic). On small data that is the
whole cost. Here the same loop runs compiled, on dense X with every feature penalized,
for the datafits with compiled operations (:mod:`penalized.core.datafits_compiled`:
least squares and logistic): per alpha, the optimal intercept, the duality gap (the
dual point and formulas of :func:`penalized.core.certificates.dual_objective`, best
dual point kept), the stop test (:func:`.rules.stop_reason`), a working set
(:func:`.rules.working_set`), epochs of the one kernel (:func:`.kernels.cd_epochs`) on
the datafit's quadratic model (exact for least squares, a prox-Newton step with a
backtracking line search otherwise) with the inner targets of
:func:`.rules.inner_targets`. The rules and the kernel are the Python driver's; only
the loop around them is written again, in compiled form.

It lacks the Python driver's Newton step on the support and its bounded (float32,
reused) gradient passes, which pay on large problems or at a tight tol with about as
many features as samples (:func:`.path_driver.pays`).

The kernel is called directly, never through an object-mode block: no Python object is
made per round (boxing the arguments would cost more than a round on a small table), and
the whole path runs without the GIL (threads of ``n_jobs`` share X).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ...core.datafits_compiled import (
    conjugate_scalar,
    derivatives_scalar,
    log_link,
    loss_scalar,
    parts_scalar,
)
from ...penalties.compiled import (
    conjugate_vector,
    dual_scale_vector,
    subdiff_vector,
    value_vector,
)
from . import rules
from .kernels import InnerTarget, _col_axpy, _dense_dot, cd_epochs, weighted_col_stats


@njit(cache=True, nogil=True, inline="always")
def _predictor(data, w, offset, xw):
    """``xw = X w + offset`` from scratch (no drift from the kernel's updates): the
    predictor less the intercept, as the Python driver's ``xw``."""
    n = xw.shape[0]
    for i in range(n):
        xw[i] = offset[i]
    for j in range(w.shape[0]):
        if w[j] != 0.0:
            _col_axpy(data, None, None, n, j, -w[j], xw)


@njit(cache=True, nogil=True, inline="always")
def _optimal_intercept(kind, quadratic, y, s, xw, b):
    """The intercept minimizing the datafit for fixed ``X w``: Newton's method, one step
    (exact) for a quadratic datafit (as
    :func:`penalized.core.certificates.optimal_intercept`); in closed form for a log
    link (Newton overshoots from far below). Newton converges quadratically, the error
    after a step of ``delta`` about ``delta^2 |l'''| / (2 l'')`` (at most ``delta^2 / 2``
    for the logistic loss): a step below ``1e-7 (1 + |b|)`` leaves it at rounding level,
    and no further pass is needed to see it."""
    if log_link(kind):
        sum_y, sum_mu = 0.0, 0.0
        for i in range(y.shape[0]):
            sum_y += s[i] * y[i]
            sum_mu += s[i] * math.exp(xw[i] + b)
        return b + math.log(sum_y / sum_mu)
    for _ in range(50):
        g = 0.0
        hess = 0.0
        for i in range(y.shape[0]):
            d1, d2 = derivatives_scalar(kind, y[i], xw[i] + b)
            g += s[i] * d1
            hess += s[i] * d2
        if hess <= 0.0:
            break
        delta = g / hess
        b -= delta
        if quadratic or abs(delta) <= 1e-7 * (1.0 + abs(b)):
            break
    return b


@njit(cache=True, nogil=True, inline="always")
def _certify(data, kind, y, s, xw, b, w, omega, alpha, pen, offset, grad, weight_floor, h, r):
    """``(primal, dual, sum h)`` at ``(w, b)``; fills ``grad`` with the datafit gradient
    ``X^T (s dloss) / n``, and ``h``, ``r`` with the datafit's quadratic model there:
    curvature weights and working residual (least squares: the sample weights and the
    residual; as :meth:`.driver.CoordinateDescent._model`), from the same pass.

    The dual point is ``u = -s dloss / n`` rescaled to be feasible, so that
    ``c_i f*(y_i, -u_i / c_i)`` (``c_i = s_i / n``) takes ``dloss_i / scale``; an offset
    ``o_i`` shifts that conjugate by ``-a o_i``."""
    n = y.shape[0]
    p = w.shape[0]
    dl = np.empty(n)
    loss = 0.0
    sum_h = 0.0
    for i in range(n):
        value, d1, d2 = parts_scalar(kind, y[i], xw[i] + b)
        loss += s[i] * value
        dl[i] = d1
        d2 = max(d2, weight_floor)  # (least squares: 1)
        h[i] = s[i] * d2
        r[i] = -d1 / d2
        sum_h += h[i]
    v = np.empty(p)
    for j in range(p):
        grad[j] = _dense_dot(data[j * n:(j + 1) * n], s, dl) / n
        v[j] = -grad[j]
    primal = loss / n + value_vector(pen.kind, w, omega, alpha, pen.param)
    scale = dual_scale_vector(pen.kind, v, omega, alpha, pen.param, pen.positive)
    for j in range(p):
        v[j] /= scale
    conj_f = 0.0
    for i in range(n):
        if s[i] > 0.0:
            a = dl[i] / scale
            conj_f += s[i] * (conjugate_scalar(kind, y[i], a) - a * offset[i])
    dual = -conj_f / n - conjugate_vector(pen.kind, v, omega, alpha, pen.param, pen.positive)
    return primal, dual, sum_h


@njit(cache=True, nogil=True, inline="always")
def _line_search(kind, y, s, omega, alpha, pen, w_old, b_old, old, xw, w, b, z_new):
    """Backtracking on the true objective from ``(w_old, b_old)`` (objective ``old``,
    ``xw = X w_old``) towards ``(w, b)`` (with predictor ``z_new``), as
    :meth:`.driver.CoordinateDescent._line_search`: sets ``w`` and ``xw`` to the point
    taken and returns its intercept."""
    n = y.shape[0]
    w_new = w.copy()
    z = np.empty(n)
    step = 1.0
    for _ in range(30):
        for j in range(w.shape[0]):
            w[j] = w_old[j] + step * (w_new[j] - w_old[j])
        obj = 0.0
        for i in range(n):
            z[i] = xw[i] + b_old + step * (z_new[i] - xw[i] - b_old)
            obj += s[i] * loss_scalar(kind, y[i], z[i])
        obj = obj / n + value_vector(pen.kind, w, omega, alpha, pen.param)
        if obj <= old + 1e-14 * abs(old):
            b_step = b_old + step * (b - b_old)
            for i in range(n):
                xw[i] = z[i] - b_step
            return b_step
        step *= 0.5
    for j in range(w.shape[0]):
        w[j] = w_old[j]
    return b_old


@njit(cache=True, nogil=True, inline="always")
def _stats(data, quadratic, h, ws, stats, fit_intercept):
    """The kernel's column statistics of ``ws`` under the weights ``h``: those of the
    whole X computed once (``stats``) for a quadratic datafit, whose weights are fixed."""
    if not quadratic:
        return weighted_col_stats(data, None, None, h.shape[0], h, ws,
                                  1.0 if fit_intercept else 0.0)
    out = np.empty((2, ws.shape[0]))
    for c in range(ws.shape[0]):
        out[0, c] = stats[0, ws[c]]
        out[1, c] = stats[1, ws[c]]
    return out


@njit(cache=True, nogil=True, inline="always")
def _left_out(data, quadratic, h, scores, ws, stats, fit_intercept):
    """:func:`.rules.outside_gain` of the violators outside ``ws`` under the weights
    ``h`` (the curvatures priced at every feature: as much as one gradient pass)."""
    if quadratic:
        return rules.outside_gain(scores, stats[0], ws)
    every = weighted_col_stats(data, None, None, h.shape[0], h, np.arange(scores.shape[0]),
                               1.0 if fit_intercept else 0.0)
    return rules.outside_gain(scores, every[0], ws)


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _round(data, kind, quadratic, y, s, omega, alpha, pen, fit_intercept, w, b, obj, xw, ws,
           stats_ws, tol_in, obj_in, budget, h, r, sum_h, kcfg):
    """One working-set round from ``(w, b)`` (objective ``obj``): kernel epochs on the
    model ``(h, r)``, then (for a datafit that is not quadratic) the line search. Updates
    ``w`` and ``xw`` in place; returns ``(b, epochs, violation, estimate)``: the kernel's
    last violation and progress estimate of its model."""
    p = w.shape[0]
    alphas_j = np.empty(p)
    for j in range(p):
        alphas_j[j] = alpha * omega[j]
    target = np.empty(xw.shape[0])  # the working response: the kernel keeps r = t - z
    for i in range(xw.shape[0]):
        target[i] = xw[i] + b + r[i]
    w_old, b_old = w.copy(), b
    b, n_epochs, violation, estimate = cd_epochs(data, None, None, h, r, sum_h, fit_intercept,
                                                 w, b, ws, stats_ws, alphas_j, pen,
                                                 InnerTarget(budget, tol_in, obj_in, 0), kcfg)
    for i in range(xw.shape[0]):
        target[i] -= r[i]  # the new predictor X w + b
    if quadratic:
        for i in range(xw.shape[0]):
            xw[i] = target[i] - b
        return b, n_epochs, violation, estimate
    b = _line_search(kind, y, s, omega, alpha, pen, w_old, b_old, obj, xw, w, b, target)
    return b, n_epochs, violation, np.inf


@njit(cache=True, nogil=True, inline="always")
def _fit_alpha(data, kind, quadratic, y, s, alpha, omega, pen, fit_intercept, tol, scale,
               max_epochs, allow_progress, ridge, cfg, kcfg, stats, w, b, offset, xw):
    """One alpha from ``(w, b)`` (``w`` updated in place): returns
    ``(b, primal, gap, epochs, reason)``."""
    n, p = y.shape[0], w.shape[0]
    grad, h, r = np.empty(p), np.empty(n), np.empty(n)
    history = np.empty(cfg.max_outer + 1)
    _predictor(data, w, offset, xw)
    best_dual, remaining = -np.inf, np.inf
    ws = np.empty(0, dtype=np.int64)
    forced = np.zeros(p, dtype=np.bool_)
    # (np.int64: a literal 0 would compile rules.stop_reason a second time)
    epochs, primal, gap, reason = np.int64(0), 0.0, 0.0, rules.GO_ON
    # the kernel's own violation understates the certificate's on an ill-conditioned
    # working set: as in the Python driver (``undershoot`` there, where the gap alone stops)
    violation, undershoot = 0.0, 1.0
    for outer in range(cfg.max_outer + 1):
        # the intercept optimal for ``w`` does not depend on alpha: at the first round it
        # is the last alpha's (or the null model's), already optimal
        if fit_intercept and outer > 0:
            b = _optimal_intercept(kind, quadratic, y, s, xw, b)
        primal, dual, sum_h = _certify(data, kind, y, s, xw, b, w, omega, alpha, pen, offset,
                                       grad, cfg.weight_floor, h, r)
        best_dual = max(best_dual, dual)
        gap = max(primal - best_dual, 0.0)
        history[outer] = primal
        obj_tol = tol * max(primal, 1e-6 * scale)
        scores = subdiff_vector(pen.kind, w, grad, omega, alpha, pen.param, pen.positive)
        if not quadratic:  # the outer rounds' decreases extrapolated
            remaining = rules.outer_tail(history, outer + 1, kcfg.rate_window,
                                         kcfg.max_inflation, cfg.tail_safety)
        n_support = np.int64(0)  # (not a literal 0: see epochs above)
        for j in range(p):
            if w[j] != 0.0:
                n_support += 1
        progress = allow_progress and rules.tail_trusted(
            n_support, n - (1 if fit_intercept else 0), ridge)
        left_out = np.inf
        if progress and outer > 0 and remaining <= obj_tol:
            left_out = _left_out(data, quadratic, h, scores, ws, stats, fit_intercept)
        # (``alpha > 0`` rather than the literal True, which numba would compile as a
        # second specialization of stop_reason)
        reason = rules.stop_reason(gap <= obj_tol, alpha > 0.0, progress, remaining, left_out,
                                   obj_tol, cfg.outside_safety, epochs, max_epochs, outer,
                                   cfg.max_outer)
        if reason != rules.GO_ON:
            break
        if violation > 0.0 and not allow_progress:  # (ws is still the last round's)
            last = 0.0
            for c in range(ws.shape[0]):
                last = max(last, scores[ws[c]])
            undershoot = min(max(1.0, last / violation), cfg.max_undershoot)
        ws = rules.working_set(w, scores, forced, cfg.ws_min, cfg.ws_growth)
        top = 0.0
        for j in range(p):
            top = max(top, scores[j])
        top /= undershoot
        # the kernel's estimate is of its model's decrease: the objective's only for a
        # quadratic datafit
        inner_progress = progress and quadratic
        left_in = rules.outside_gain(scores, stats[0], ws) if inner_progress else np.inf
        tol_in, obj_in = rules.inner_targets(top, left_in, obj_tol, inner_progress,
                                             cfg.inner_fraction, cfg.settled, cfg.tail_safety)
        b, n_epochs, violation, estimate = _round(
            data, kind, quadratic, y, s, omega, alpha, pen, fit_intercept, w, b, primal, xw, ws,
            _stats(data, quadratic, h, ws, stats, fit_intercept), tol_in, obj_in,
            max(max_epochs - epochs, 1), h, r, sum_h, kcfg)
        epochs += n_epochs
        if quadratic:
            remaining = cfg.tail_safety * estimate
    return b, primal, gap, epochs, reason


@njit(cache=True, nogil=True)
def cd_path(data, kind, quadratic, y, s, alphas, omega, pen, fit_intercept, b, tol, scale,
            max_epochs, progress, ridge, cfg, kcfg, offset, coefs, out):
    """Fit every alpha of ``alphas`` (largest first), each warm-started from the last.

    Parameters
    ----------
    data : (n * p,) a dense X raveled in column-major order
    kind : the datafit's ``kernel_id`` (:mod:`penalized.core.datafits_compiled`);
        quadratic : whether it is quadratic (its model is exact, its weights fixed)
    y, s : (n,) target (internal coding) and sample weights (summing to n)
    alphas : (k,) the grid, all > 0; omega : (p,) feature weights, all > 0, read-only
    pen : :class:`.kernels.PenaltyArgs`; fit_intercept, progress, ridge : bool (``ridge``:
        the penalty is strongly convex, see :func:`.rules.tail_trusted`)
    b : the starting intercept (the null model's)
    tol, scale, max_epochs : the stopping rule (gap below ``tol * max(objective,
        1e-6 * scale)``) and the epoch budget per alpha
    cfg, kcfg : :class:`.settings.RoundSettings`, :class:`.settings.KernelSettings`
    offset : (n,) the fixed part of the predictor ``z = X w + b + offset`` (zeros: none)
    coefs : (k, p) out, the coefficients
    out : (6, k) out, rows: intercepts, objectives, duality gaps, epochs, stop reasons
        (the codes of :mod:`.rules`), datafit values (for the deviance ratios)
    """
    n = y.shape[0]
    p = omega.shape[0]
    # a quadratic datafit: the kernel's column statistics once (its weights are fixed);
    # other datafits weigh the columns anew every round (none here)
    stats = weighted_col_stats(data, None, None, n, s, np.arange(p if quadratic else 0),
                               1.0 if fit_intercept else 0.0)
    w = np.zeros(p)
    xw = np.empty(n)
    if fit_intercept:  # each alpha starts from an optimal intercept (see _fit_alpha)
        _predictor(data, w, offset, xw)
        b = _optimal_intercept(kind, quadratic, y, s, xw, b)
    for k in range(alphas.shape[0]):
        b, primal, gap, epochs, reason = _fit_alpha(
            data, kind, quadratic, y, s, alphas[k], omega, pen, fit_intercept, tol, scale,
            max_epochs, progress, ridge, cfg, kcfg, stats, w, b, offset, xw)
        for j in range(p):
            coefs[k, j] = w[j]
        out[0, k] = b
        out[1, k] = primal
        out[2, k] = gap
        out[3, k] = epochs
        out[4, k] = reason
        out[5, k] = primal - value_vector(pen.kind, w, omega, alphas[k], pen.param)
