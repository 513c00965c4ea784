"""The engine's rules, written once and compiled: both drivers call these.

* :func:`working_set`: the support plus the worst KKT violators outside it.
* :func:`outside_gain`: what one coordinate step on each violator left out of the
  working set would gain, ``sum_j v_j^2 / (2 L_j)``.
* :func:`inner_targets`: when a kernel call stops.
* :func:`stop_reason`: whether a fit stops, and on what.
* :func:`outer_tail`: the progress estimate of the outer (prox-Newton) rounds.

A fit stops on the duality gap (a guaranteed bound on the excess) when it is below
``tol`` times the objective. With a pure L1 penalty (``Penalty.constrained_dual``) the
gap is a loose bound near the bottom of a wide path (the dual point is the residual
rescaled to be feasible, which costs the first-order term ``max violation * alpha
||w||_1``; a ridge part needs no rescaling and keeps the gap tight), so a fit may also
stop on its
*progress estimate*: the kernel's extrapolation of the decrease still to come
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

import numpy as np
from numba import njit

from .kernels import tail_estimate

#: codes returned by :func:`stop_reason` (names in ``STOP_REASONS``)
GO_ON, GAP, PROGRESS, KKT, MAX_ITER = 0, 1, 2, 3, 4
STOP_REASONS = {GAP: "gap", PROGRESS: "progress", KKT: "kkt", MAX_ITER: "max_iter"}


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
    number asked for; ties may leave it a few short): loops rather than ``np.argsort``,
    whose compilation alone took 1.7 s.
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
def inner_targets(top_score, left_out, obj_tol, progress, inner_fraction, settled,
                  tail_safety):
    """``(violation tol, objective tol)`` of the next kernel call.

    The violation target is ``inner_fraction`` of the round's top KKT score. With the
    progress estimate on, the kernel also stops when its (uninflated) estimate is below
    the objective target divided by ``tail_safety``; once the working set holds every
    feature that matters (``left_out`` within half the target) it runs to the whole
    target on the estimate, its violation target dropping to ``settled`` times the top
    score (another round would only restart the estimate).
    """
    if not progress:
        return inner_fraction * top_score, 0.0
    if left_out <= 0.5 * obj_tol:
        return settled * top_score, (obj_tol - left_out) / tail_safety
    return inner_fraction * top_score, inner_fraction * obj_tol / tail_safety


@njit(cache=True, nogil=True)
def stop_reason(certificate_ok, uses_gap, progress, remaining, left_out, obj_tol,
                outside_safety, epochs, max_epochs, outer, max_outer):
    """One of the codes above: the certificate first (``GAP`` or ``KKT``), then the
    progress estimate (``remaining`` already inflated by ``tail_safety``), then the
    budgets (``MAX_ITER``); ``GO_ON`` otherwise."""
    if certificate_ok:
        return GAP if uses_gap else KKT
    if progress and remaining <= obj_tol and \
            remaining + outside_safety * left_out <= obj_tol:
        return PROGRESS
    if epochs >= max_epochs or outer >= max_outer:
        return MAX_ITER
    return GO_ON


@njit(cache=True, nogil=True)
def outer_tail(history, count, window, max_inflation, tail_safety):
    """Decrease still to come, extrapolated from the decreases of the objectives
    ``history[:count]`` of the last outer rounds (:func:`.kernels.tail_estimate`, the
    kernel's estimate one level up), inflated by ``tail_safety``; ``inf`` until
    ``window + 2`` rounds exist or while a round did not decrease."""
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
    return tail_safety * tail_estimate(dec[window], ratios, window, max_inflation)
