"""The compiled path driver: a whole path in one compiled call (numba).

The outer loop of :mod:`.driver`, compiled for dense X with every feature penalized and
a datafit with compiled operations (:mod:`penalized.core.datafits_compiled`). Each round
of an alpha: the optimal intercept, the duality gap (the dual point of
:func:`penalized.core.certificates.dual_objective`, best dual point kept), the rules of
:mod:`.rules`, then :func:`.kernels.cd_epochs` on the datafit's quadratic model (with a
line search where the model is not exact). An alpha of a quadratic datafit starts from
the path's prediction where it is better than the last fit (:func:`_predict`). It lacks
the Python driver's Newton step on the support and its bounded gradient passes (where
they pay: :func:`.path_driver.pays`).

The kernel is called directly, never through an object-mode block: no Python object is
made per round (boxing the arguments would cost more than a round on a small table), and
the whole path runs without the GIL (threads of ``n_jobs`` share X).
"""

from __future__ import annotations

import math
from typing import NamedTuple

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
def _datafit_pass(data, kind, y, s, xw, b, weight_floor, exact_intercept, work):
    """The datafit's part of the certificate at ``(w, b)`` (``xw = X w + offset``), one
    pass over the samples and X: returns ``(loss, sum h)``, the loss summed over the
    samples, and fills ``work``'s ``grad`` with the datafit gradient ``X^T (s dloss) / n``,
    ``dl`` with ``dloss``, and ``h``, ``r`` with the datafit's quadratic model there:
    curvature weights and working residual (least squares: the sample weights and the
    residual; as :meth:`.driver.CoordinateDescent._model`). With ``exact_intercept`` (a
    quadratic datafit with an intercept) ``dl`` and ``grad`` are taken at the exactly
    optimal intercept (:func:`penalized.core.certificates.exact_intercept_gradient`).
    None of it depends on alpha: the last certificate of an alpha serves the first round
    of the next one."""
    n = y.shape[0]
    loss = 0.0
    sum_h = 0.0
    sum_g = 0.0
    for i in range(n):
        value, d1, d2 = parts_scalar(kind, y[i], xw[i] + b)
        loss += s[i] * value
        work.dl[i] = d1
        sum_g += s[i] * d1
        d2 = max(d2, weight_floor)  # (least squares: 1)
        work.h[i] = s[i] * d2
        work.r[i] = -d1 / d2
        sum_h += work.h[i]
    if exact_intercept and sum_h > 0.0:  # one exact Newton step on the intercept
        step = sum_g / sum_h
        for i in range(n):
            if s[i] > 0.0:
                work.dl[i] -= work.h[i] / s[i] * step
    for j in range(work.grad.shape[0]):
        work.grad[j] = _dense_dot(data[j * n:(j + 1) * n], s, work.dl) / n
    return loss, sum_h


@njit(cache=True, nogil=True, inline="always")
def _gap_ends(kind, y, s, loss, w, omega, alpha, pen, offset, work):
    """``(primal, dual)`` from the datafit's part (:func:`_datafit_pass`) at alpha.

    The dual point is ``u = -s dloss / n`` rescaled to be feasible, so that
    ``c_i f*(y_i, -u_i / c_i)`` (``c_i = s_i / n``) takes ``dloss_i / scale``; an offset
    ``o_i`` shifts that conjugate by ``-a o_i``."""
    n = y.shape[0]
    v = work.v
    for j in range(v.shape[0]):
        v[j] = -work.grad[j]
    primal = loss / n + value_vector(pen.kind, w, omega, alpha, pen.param)
    scale = dual_scale_vector(pen.kind, v, omega, alpha, pen.param, pen.positive)
    for j in range(v.shape[0]):
        v[j] /= scale
    conj_f = 0.0
    for i in range(n):
        if s[i] > 0.0:
            a = work.dl[i] / scale
            conj_f += s[i] * (conjugate_scalar(kind, y[i], a) - a * offset[i])
    dual = -conj_f / n - conjugate_vector(pen.kind, v, omega, alpha, pen.param, pen.positive)
    return primal, dual


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
def _predict(data, kind, y, s, alphas, k, omega, pen, coefs, out, w, b, loss, offset, xw,
             work):
    """The start of alpha ``k >= 2`` on a quadratic datafit: the last fit ``w`` (loss
    ``loss``, summed over the samples), or the path's first-order prediction, whichever
    has the lower objective at ``alphas[k]``. Returns ``(b, predicted)``; when
    ``predicted``, ``w`` and ``xw`` hold the prediction (in place).

    On a fixed support and signs the minimizer is affine in alpha for the L1 part (the
    orthant's optimality condition ``G_S w_S = c_S - alpha rho sign(w_S)``, ``G_S`` the
    support's Gram block) and smooth with a ridge part, so that the line through the
    last two fits, ``w_k ~ w_{k-1} + q (w_{k-1} - w_{k-2})``, ``q`` the ratio of the
    alpha steps, lands at or next to the minimizer: the gap often certifies it at once,
    where the last fit needs epochs. Only where the last two fits share their support
    and signs (across a support change the line is not the path: a kink); coordinates
    whose sign would change stay 0: the prediction does not leave ``w``'s orthant. The
    intercept is
    extrapolated too, and made optimal by the alpha's first round (the objective test
    only gains from it). The objective test keeps a poor prediction (a support change
    at alpha k) from costing more than one pass over the samples."""
    p, n = w.shape[0], y.shape[0]
    last_step = alphas[k - 1] - alphas[k - 2]
    if last_step == 0.0:  # a repeated alpha: no line to follow
        return b, False
    for j in range(p):  # a support or sign change between the two: a kink, no line
        if (w[j] > 0.0) != (coefs[k - 2, j] > 0.0) or (w[j] < 0.0) != (coefs[k - 2, j] < 0.0):
            return b, False
    q = (alphas[k] - alphas[k - 1]) / last_step
    u = work.w_old
    for j in range(p):
        u[j] = w[j] + q * (w[j] - coefs[k - 2, j])
        if (u[j] > 0.0) != (w[j] > 0.0) or (u[j] < 0.0) != (w[j] < 0.0):
            u[j] = 0.0
    z = work.target  # ``X u + offset``
    _predictor(data, u, offset, z)
    b_u = b + q * (b - out[0, k - 2])  # (made optimal by the alpha's first round)
    loss_u = 0.0
    for i in range(n):
        loss_u += s[i] * loss_scalar(kind, y[i], z[i] + b_u)
    obj_u = loss_u / n + value_vector(pen.kind, u, omega, alphas[k], pen.param)
    if not obj_u < loss / n + value_vector(pen.kind, w, omega, alphas[k], pen.param):
        return b, False
    for j in range(p):
        w[j] = u[j]
    for i in range(n):
        xw[i] = z[i]
    return b_u, True


class _Work(NamedTuple):
    """A path's buffers, allocated once: a round on a small table (a Gram form of a few
    rows) costs not much more than a dozen allocations. ``p`` entries: the datafit
    gradient, the dual point's ``X^T u``, ``alpha omega_j``, the round's starting
    ``w``; ``n`` entries: ``dloss``, the quadratic model's weights and working residual,
    the working response; one per outer round: the objectives."""

    grad: np.ndarray
    v: np.ndarray
    alphas_j: np.ndarray
    w_old: np.ndarray
    dl: np.ndarray
    h: np.ndarray
    r: np.ndarray
    target: np.ndarray
    history: np.ndarray


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _round(data, kind, quadratic, y, s, omega, alpha, pen, fit_intercept, w, b, obj, xw, ws,
           stats_ws, tol_in, obj_in, budget, sum_h, kcfg, work):
    """One working-set round from ``(w, b)`` (objective ``obj``): kernel epochs on the
    model ``(work.h, work.r)``, then (for a datafit that is not quadratic) the line
    search. Updates ``w`` and ``xw`` in place; returns ``(b, epochs, violation,
    estimate)``: the kernel's last violation and progress estimate of its model."""
    r, target = work.r, work.target  # the working response: the kernel keeps r = t - z
    for i in range(xw.shape[0]):
        target[i] = xw[i] + b + r[i]
    for j in range(w.shape[0]):
        work.w_old[j] = w[j]
    b_old = b
    b, n_epochs, violation, estimate = cd_epochs(data, None, None, work.h, r, sum_h,
                                                 fit_intercept, w, b, ws, stats_ws,
                                                 work.alphas_j, pen,
                                                 InnerTarget(budget, tol_in, obj_in, 0), kcfg)
    for i in range(xw.shape[0]):
        target[i] -= r[i]  # the new predictor X w + b
    if quadratic:
        for i in range(xw.shape[0]):
            xw[i] = target[i] - b
    else:
        b = _line_search(kind, y, s, omega, alpha, pen, work.w_old, b_old, obj, xw, w, b,
                         target)
    return b, n_epochs, violation, estimate


@njit(cache=True, nogil=True, inline="always")
def _fit_alpha(data, kind, y, s, alpha, omega, pen, fit_intercept, tol, scale, fit, cfg, kcfg,
               stats, w, b, offset, xw, work, passed, loss, sum_h):
    """One alpha from ``(w, b)`` (``w`` and ``xw`` updated in place), the rounds of
    :mod:`.rules`: returns ``(b, primal, gap, epochs, reason, loss, sum_h)``.
    ``xw`` is ``X w + offset`` (the kernel's, or computed afresh). ``passed``: whether
    ``work`` holds :func:`_datafit_pass` at ``(w, b)`` (the last alpha's final
    certificate), ``(loss, sum_h)`` its return; the fit returns those of its final
    point (where its last round ends)."""
    n, p, quadratic = y.shape[0], w.shape[0], fit.quadratic
    for j in range(p):
        work.alphas_j[j] = alpha * omega[j]
    best_dual, estimate = -np.inf, np.inf
    ws = np.empty(0, dtype=np.int64)
    # (np.int64: a literal 0 would compile rules.plan_round a second time)
    epochs, primal, gap, reason = np.int64(0), 0.0, 0.0, rules.GO_ON
    violation, undershoot = 0.0, 1.0
    for outer in range(cfg.max_outer + 1):
        # the intercept optimal for ``w`` does not depend on alpha: at the first round it
        # is the last alpha's (or the null model's), already optimal, unless predicted
        if fit_intercept and (outer > 0 or not passed):
            b = _optimal_intercept(kind, quadratic, y, s, xw, b)
        if outer > 0 or not passed:
            loss, sum_h = _datafit_pass(data, kind, y, s, xw, b, cfg.weight_floor,
                                        quadratic and fit_intercept, work)
        primal, dual = _gap_ends(kind, y, s, loss, w, omega, alpha, pen, offset, work)
        best_dual = max(best_dual, dual)
        gap = max(primal - best_dual, 0.0)
        work.history[outer] = primal
        obj_tol = tol * max(primal, 1e-6 * scale)
        scores = subdiff_vector(pen.kind, w, work.grad, omega, alpha, pen.param, pen.positive)
        progress, remaining, outside = rules.round_estimate(fit, cfg, w, work.history,
                                                            outer + 1, estimate, obj_tol)
        curvatures = stats[0]
        if outside and not quadratic:  # every column's, under h: one pass over X
            curvatures = weighted_col_stats(data, None, None, n, work.h, np.arange(p),
                                            1.0 if fit_intercept else 0.0)[0]
        reason, ws, tol_in, obj_in, undershoot = rules.plan_round(
            fit, cfg, rules.GAP if gap <= obj_tol else rules.GO_ON, obj_tol, scores, w,
            curvatures, ws, progress, remaining, outside, violation, undershoot, epochs, outer)
        if reason != rules.GO_ON:
            break
        b, n_epochs, violation, estimate = _round(
            data, kind, quadratic, y, s, omega, alpha, pen, fit_intercept, w, b, primal, xw, ws,
            _stats(data, quadratic, work.h, ws, stats, fit_intercept), tol_in, obj_in,
            max(fit.max_epochs - epochs, 1), sum_h, kcfg, work)
        epochs += n_epochs
    return b, primal, gap, epochs, reason, loss, sum_h


@njit(cache=True, nogil=True)
def cd_path(data, kind, y, s, alphas, omega, pen, fit_intercept, b, tol, scale, fit, cfg,
            kcfg, offset, coefs, out):
    """Fit every alpha of ``alphas`` (largest first), each warm-started from the last.

    Parameters
    ----------
    data : (n * p,) a dense X raveled in column-major order
    kind : the datafit's ``kernel_id`` (:mod:`penalized.core.datafits_compiled`)
    y, s : (n,) target (internal coding) and sample weights (summing to n)
    alphas : (k,) the grid, all > 0; omega : (p,) feature weights, all > 0, read-only
    pen : :class:`.kernels.PenaltyArgs`; fit_intercept : bool
    b : the starting intercept (the null model's)
    tol, scale : the stopping rule: gap below ``tol * max(objective, 1e-6 * scale)``
    fit : :class:`.rules.FitRules` (its epoch budget is per alpha)
    cfg, kcfg : :class:`.settings.RoundSettings`, :class:`.settings.KernelSettings`
    offset : (n,) the fixed part of the predictor ``z = X w + b + offset`` (zeros: none)
    coefs : (k, p) out, the coefficients
    out : (6, k) out, rows: intercepts, objectives, duality gaps, epochs, stop reasons
        (the codes of :mod:`.rules`), datafit values (for the deviance ratios)
    """
    n, p, quadratic = y.shape[0], omega.shape[0], fit.quadratic
    # a quadratic datafit: the kernel's column statistics once (its weights are fixed);
    # other datafits weigh the columns anew every round (none here)
    stats = weighted_col_stats(data, None, None, n, s, np.arange(p if quadratic else 0),
                               1.0 if fit_intercept else 0.0)
    w = np.zeros(p)
    xw = np.empty(n)
    work = _Work(np.empty(p), np.empty(p), np.empty(p), np.empty(p), np.empty(n), np.empty(n),
                 np.empty(n), np.empty(n), np.empty(cfg.max_outer + 1))
    _predictor(data, w, offset, xw)
    if fit_intercept:  # each alpha starts from an optimal intercept (see _fit_alpha)
        b = _optimal_intercept(kind, quadratic, y, s, xw, b)
    loss, sum_h = 0.0, 0.0
    for k in range(alphas.shape[0]):
        passed = k > 0  # (the last alpha's final certificate holds, unless predicted)
        if quadratic and k >= 2:
            b, predicted = _predict(data, kind, y, s, alphas, k, omega, pen, coefs, out, w, b,
                                    loss, offset, xw, work)
            passed = not predicted
        b, primal, gap, epochs, reason, loss, sum_h = _fit_alpha(
            data, kind, y, s, alphas[k], omega, pen, fit_intercept, tol, scale, fit, cfg, kcfg,
            stats, w, b, offset, xw, work, passed, loss, sum_h)
        for j in range(p):
            coefs[k, j] = w[j]
        out[0, k] = b
        out[1, k] = primal
        out[2, k] = gap
        out[3, k] = epochs
        out[4, k] = reason
        out[5, k] = primal - value_vector(pen.kind, w, omega, alphas[k], pen.param)
