"""The engine's rules, written once and compiled: both drivers call these.

Each outer round of a fit, after its certificate and KKT scores:
:func:`round_estimate` (the progress estimate), then :func:`plan_round` (the stop test,
:func:`stop_reason`; else the working set, :func:`working_set`, and the kernel call's
targets). The drivers supply what they compute their own way: the certificate, the
scores and the coordinate curvatures (:func:`outside_gain`).

A fit stops on the duality gap (a guaranteed bound on the excess) when it is below
``tol`` times the objective. With a pure L1 penalty (``Penalty.constrained_dual``) the
gap is a loose bound near the bottom of a wide path (the dual point is the residual
rescaled to be feasible, which costs the first-order term ``max violation * alpha
||w||_1``; a ridge part needs no rescaling and keeps the gap tight), so a fit may also
stop on its *progress estimate*: the kernel's extrapolation of the decrease still to come
(``tail_safety`` times it) plus ``outside_safety`` times the outside gain. Such a fit
reports ``stop_reason == "progress"``: the excess is estimated, not proven. The
estimate extrapolates a geometric (linear) rate, which coordinate descent has when the
model restricted to the support is strongly convex (:func:`tail_trusted`); elsewhere
(more nonzero coefficients than samples without a ridge part, as at the bottom of a
p >> n lasso path) convergence is sublinear, the extrapolation undershoots (measured: a
true excess of 5x the target on a 30 x 3000 path, 2-3x on permeability_qsar), and only
the gap stops.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ...core.certificates import is_converged
from .kernels import tail_estimate

#: codes returned by :func:`stop_reason` (names in ``STOP_REASONS``)
GO_ON, GAP, PROGRESS, KKT, MAX_ITER = 0, 1, 2, 3, 4
STOP_REASONS = {GAP: "gap", PROGRESS: "progress", KKT: "kkt", MAX_ITER: "max_iter"}


def certified(cert, tol: float, scale: float) -> int:
    """The code a certificate gives :func:`stop_reason`: ``GAP`` or ``KKT`` when it meets
    ``tol`` (:func:`penalized.core.certificates.is_converged`), ``GO_ON`` otherwise."""
    if not is_converged(cert, tol, scale):
        return GO_ON
    return GAP if cert.kind == "gap" else KKT


class FitRules(NamedTuple):
    """What the rules know of one fit, fixed while it runs."""

    progress: bool        # the progress estimate may stop it (where the gap is loose)
    quadratic: bool       # the datafit is its own quadratic model (its weights fixed)
    ridge: bool           # a ridge part on every penalized feature (:func:`tail_trusted`)
    n_free: int           # samples less one for a fitted intercept (:func:`tail_trusted`)
    max_epochs: int
    forced: np.ndarray    # features always in the working set (the unpenalized ones)

    @classmethod
    def of(cls, problem, tol: float, max_epochs: int, settings) -> FitRules:
        """The rules of a fit of ``problem`` to ``tol``. The gap is loose where a pure L1
        part forces a rescaled dual point (``Penalty.constrained_dual``; a ridge part keeps
        it tight, and a bounded fit has no gap): there the progress estimate may stop a
        fit too, unless ``tol`` is below ``settings.progress_min_tol``."""
        pen = problem.penalty
        progress = pen.constrained_dual and not pen.bounded and tol >= settings.progress_min_tol
        return cls(bool(progress), bool(problem.datafit.quadratic), bool(pen.strongly_convex),
                   problem.n_samples - int(problem.fit_intercept), int(max_epochs),
                   pen.feature_weights(problem.n_features) == 0)


@njit(cache=True, nogil=True)
def _count_above(w, scores, level):
    """Features at zero whose score is above ``level``."""
    count = 0
    for j in range(w.shape[0]):
        if w[j] == 0.0 and scores[j] > level:
            count += 1
    return count


@njit(cache=True, nogil=True)
def working_set(w, scores, forced, ws_min, ws_growth):
    """Support, ``forced`` features (unpenalized) and the largest violators at zero:
    ``ws_growth`` times the support in all (at least ``ws_min``), sorted.

    The violators kept are those above a threshold found by bisection (at most the
    number asked for), then ties up to that number: loops rather than ``np.argsort``
    (:mod:`.kernels`, numba facts).
    """
    p = w.shape[0]
    n_support = 0
    top = 0.0
    for j in range(p):
        if w[j] != 0.0:
            n_support += 1
        elif scores[j] > top:
            top = scores[j]
    # the whole set is about ``ws_growth`` times the support: the violators fill the rest
    size = max(ws_min, int(ws_growth * n_support)) - n_support
    if size < 1:
        size = 1
    level = 0.0  # every violator, if they are few enough
    lo = 0.0
    if _count_above(w, scores, level) > size:
        lo, level = 0.0, top  # count(lo) > size >= count(level): bisect between
        for _ in range(60):
            mid = 0.5 * (lo + level)
            if _count_above(w, scores, mid) <= size:
                level = mid
            else:
                lo = mid
    # the violators above ``level`` (at most ``size``), then ties in (lo, level] in index
    # order up to ``size``: duplicated columns (common in real tables) have equal scores,
    # and a set without them would leave their violation in place round after round
    ties = size - _count_above(w, scores, level)
    mask = np.zeros(p, dtype=np.bool_)
    n_ws = 0
    for j in range(p):
        take = w[j] != 0.0 or forced[j] or scores[j] > level
        if not take and ties > 0 and scores[j] > lo:
            take = True
            ties -= 1
        if take:
            mask[j] = True
            n_ws += 1
    ws = np.empty(n_ws, dtype=np.int64)
    c = 0
    for j in range(p):
        if mask[j]:
            ws[c] = j
            c += 1
    return ws


@njit(cache=True, nogil=True)
def tail_trusted(n_support, n_free, ridge):
    """Whether the model restricted to a support of ``n_support`` features can be
    strongly convex: fewer features than ``n_free`` (the samples, less one for a fitted
    intercept, whose centering takes a dimension), or a ``ridge`` part on every
    penalized feature. The progress estimate and the Newton step on the support need it."""
    return ridge or n_support < n_free


@njit(cache=True, nogil=True)
def outside_gain(scores, curvatures, ws):
    """``sum_j v_j^2 / (2 L_j)`` over the violators ``j`` not in ``ws`` (sorted): the
    objective decrease one coordinate step on each would give. ``curvatures`` is read
    only at those violators."""
    gain = 0.0
    c = 0
    m = ws.shape[0]
    for j in range(scores.shape[0]):
        if c < m and ws[c] == j:
            c += 1
            continue
        if scores[j] > 0.0 and curvatures[j] > 0.0:
            gain += scores[j] * scores[j] / (2.0 * curvatures[j])
    return gain


@njit(cache=True, nogil=True)
def stop_reason(certified, progress, remaining, left_out, obj_tol, outside_safety, epochs,
                max_epochs, outer, max_outer):
    """One of the codes above: the certificate's first (:func:`certified`), then the
    progress estimate (``remaining`` already inflated by ``tail_safety``), then the
    budgets (``MAX_ITER``); ``GO_ON`` otherwise."""
    if certified != GO_ON:
        return certified
    if progress and remaining <= obj_tol and \
            remaining + outside_safety * left_out <= obj_tol:
        return PROGRESS
    if epochs >= max_epochs or outer >= max_outer:
        return MAX_ITER
    return GO_ON


@njit(cache=True, nogil=True)
def outer_tail(history, count, cfg):
    """Decrease still to come, extrapolated from the decreases of the objectives
    ``history[:count]`` of the last outer rounds (:func:`.kernels.tail_estimate`, the
    kernel's estimate one level up), inflated by ``tail_safety``; ``inf`` until
    ``rate_window + 2`` rounds exist or while a round did not decrease."""
    window = cfg.rate_window
    if count < window + 2:
        return np.inf
    dec = np.empty(window + 1)
    for k in range(window + 1):
        dec[k] = history[count - window - 2 + k] - history[count - window - 1 + k]
        if dec[k] <= 0.0:
            return np.inf
    ratios = np.empty(window)
    for k in range(window):
        ratios[k] = dec[k + 1] / dec[k]
    return cfg.tail_safety * tail_estimate(dec[window], ratios, window, cfg.max_inflation)


@njit(cache=True, nogil=True)
def round_estimate(fit, cfg, w, history, count, estimate, obj_tol):
    """``(progress, remaining, outside)`` at the start of a round at ``w``.

    ``progress``: whether the progress estimate may stop the fit now
    (:func:`tail_trusted` on the support of ``w``). ``remaining``: the estimate, inflated
    by ``tail_safety``: the last kernel call's ``estimate`` (``inf``: none) for a
    quadratic datafit; otherwise the kernel's estimate is of its model, and the outer
    rounds' objectives ``history[:count]`` are extrapolated instead (:func:`outer_tail`).
    ``outside``: whether the stop test needs the outside gain (the estimate is at the
    target), so that :func:`plan_round` reads the curvatures of the violators.
    """
    remaining = cfg.tail_safety * estimate
    if not fit.quadratic:
        remaining = outer_tail(history, count, cfg)
    n_support = np.int64(0)  # (a literal 0 would compile tail_trusted a second time)
    for j in range(w.shape[0]):
        if w[j] != 0.0:
            n_support += 1
    progress = fit.progress and tail_trusted(n_support, fit.n_free, fit.ridge)
    return progress, remaining, progress and remaining <= obj_tol


@njit(cache=True, nogil=True)
def plan_round(fit, cfg, certified, obj_tol, scores, w, curvatures, ws, progress, remaining,
               outside, violation, undershoot, epochs, outer):
    """The round's decision: ``(reason, ws, tol_in, obj_in, undershoot)``.

    ``certified`` is the certificate's code (:func:`certified`), ``obj_tol`` is ``tol``
    in objective units, ``scores`` are the KKT scores at ``w``; ``progress``,
    ``remaining`` and ``outside`` come from :func:`round_estimate`; ``ws`` is the last
    round's working set (empty at the first), ``violation`` the last kernel call's (0:
    none, or a Newton step followed), ``epochs`` and ``outer`` the epochs and rounds run.
    ``curvatures``, each feature's coordinate curvature (:func:`outside_gain`), are read
    for a quadratic datafit when ``progress``, otherwise only when ``outside``.

    Returns the stop code (:func:`stop_reason`) and, on ``GO_ON``, the new working set
    (:func:`working_set`) and the kernel call's targets. The violation target is
    ``inner_fraction`` of the top KKT score over ``undershoot``: the kernel measures its
    violation during its sweeps, which on an ill-conditioned working set understates the
    certificate's at the end, by the last round's ratio of the two (at most
    ``max_undershoot``; only where the gap alone stops). With the progress estimate on a
    quadratic datafit (the kernel's estimate is then the objective's) the call also
    stops once its estimate is below ``inner_fraction`` of the objective target over
    ``tail_safety``; once the working set holds every feature that matters (the outside
    gain within half the target) it runs to the whole target on the estimate, its
    violation target dropping to ``settled`` times the top score (another round would
    only restart the estimate).
    """
    left_out = outside_gain(scores, curvatures, ws) if outside else np.inf
    reason = stop_reason(certified, progress, remaining, left_out, obj_tol, cfg.outside_safety,
                         epochs, fit.max_epochs, outer, cfg.max_outer)
    if reason != GO_ON:
        return reason, ws, 0.0, 0.0, undershoot
    if violation > 0.0 and not fit.progress:
        last = 0.0
        for c in range(ws.shape[0]):
            last = max(last, scores[ws[c]])
        undershoot = min(max(1.0, last / violation), cfg.max_undershoot)
    ws = working_set(w, scores, fit.forced, cfg.ws_min, cfg.ws_growth)
    top = 0.0
    for j in range(scores.shape[0]):
        top = max(top, scores[j])
    top /= undershoot
    tol_in, obj_in = cfg.inner_fraction * top, 0.0
    if progress and fit.quadratic:
        left_in = outside_gain(scores, curvatures, ws)
        obj_in = cfg.inner_fraction * obj_tol / cfg.tail_safety
        if left_in <= 0.5 * obj_tol:
            tol_in, obj_in = cfg.settled * top, (obj_tol - left_in) / cfg.tail_safety
    return GO_ON, ws, tol_in, obj_in, undershoot
