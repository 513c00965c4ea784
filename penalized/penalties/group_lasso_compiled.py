r"""The sparse group lasso's math, compiled: per group, and over all groups.

.. math::  \alpha \Big( r \sum_j \omega_j |w_j| + (1 - r) \sum_g v_g \|w_g\|_2 \Big)

Per group with thresholds ``a_j = alpha r omega_j`` (the L1 part) and
``c = alpha (1 - r) v_g`` (the group norm), ``r = 0`` being the group lasso:

* prox (step folded into ``a`` and ``c``): soft-threshold each entry by ``a_j``, then
  shrink the block by ``max(0, 1 - c / ||u||)`` (the prox of a sum of an L1 norm and
  a group norm is this composition: Simon, Friedman, Hastie and Tibshirani, 2013);
* distance of ``-grad`` to the subdifferential: at ``w_g = 0`` it is
  ``max(0, ||S(-grad_g, a)|| - c)`` (the subdifferential is a box plus a ball);
  elsewhere ``||grad_g + a sign(w_g) + c w_g / ||w_g||||`` over the nonzero entries and
  ``|S(-grad_j, a_j)|`` at the zero ones;
* the dual norm's per-group part (the gauge of the subdifferential at 0): the smallest
  ``t`` with ``||S(m_g, t r omega_g)|| <= t (1 - r) v_g``, ``m = |v|`` (``max(v, 0)``
  under ``positive``). ``||S(m, t a)|| - t c`` decreases in ``t``: bisection, keeping
  the feasible end (Ndiaye, Fercoq, Gramfort and Salmon, 2016, call it the epsilon-norm).

``S`` is the soft-threshold, one-sided (``max(x - a, 0)``) under ``positive``. Features
in no group (unpenalized) take only the L1 step with ``a_j = 0``. The block solver
(:mod:`penalized.solvers.cd.block`) calls the per-group functions inside its epoch.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: bisection steps of the gauge: the bracket shrinks to rounding level well before
GAUGE_STEPS = 100


@njit(cache=True, inline="always")
def soft(x, a, positive):
    """Soft-threshold of ``x`` by ``a`` (one-sided under ``positive``)."""
    if positive:
        return max(x - a, 0.0)
    if x > a:
        return x - a
    if x < -a:
        return x + a
    return 0.0


@njit(cache=True, nogil=True)
def block_prox(u, lo, hi, indices, l1, c, step, positive):
    """In place on ``u[indices[lo:hi]]``: soft-threshold by ``step * l1[j]``, then
    shrink the block by ``max(0, 1 - step * c / ||block||)``."""
    norm2 = 0.0
    for k in range(lo, hi):
        j = indices[k]
        u[j] = soft(u[j], step * l1[j], positive)
        norm2 += u[j] * u[j]
    if c <= 0.0:
        return
    norm = math.sqrt(norm2)
    scale = 1.0 - step * c / norm if norm > step * c else 0.0
    for k in range(lo, hi):
        j = indices[k]
        u[j] *= scale


@njit(cache=True, nogil=True)
def group_distance(w, grad, lo, hi, indices, l1, c, positive):
    """Distance of ``-grad_g`` to the subdifferential of the group's penalty at ``w_g``
    (thresholds ``l1[j]`` and ``c``)."""
    norm2 = 0.0
    for k in range(lo, hi):
        norm2 += w[indices[k]] * w[indices[k]]
    acc = 0.0
    if norm2 == 0.0:
        for k in range(lo, hi):
            j = indices[k]
            e = soft(-grad[j], l1[j], positive)
            acc += e * e
        return max(math.sqrt(acc) - c, 0.0)
    norm = math.sqrt(norm2)
    for k in range(lo, hi):
        j = indices[k]
        if w[j] == 0.0:
            e = soft(-grad[j], l1[j], positive)
        else:
            e = abs(grad[j] + l1[j] * math.copysign(1.0, w[j]) + c * w[j] / norm)
            if positive and w[j] < 0.0:  # infeasible: add the distance to w >= 0
                e += -w[j]
        acc += e * e
    return math.sqrt(acc)


@njit(cache=True, nogil=True)
def free_distance(w, grad, positive):
    """Distance for an unpenalized coefficient: ``|grad|``, or under ``positive`` the
    distance to ``(-inf, 0]`` at 0 (plus the infeasibility of a negative ``w``)."""
    if not positive:
        return abs(grad)
    if w == 0.0:
        return max(-grad, 0.0)
    return abs(grad) + max(-w, 0.0)


@njit(cache=True, nogil=True)
def group_gauge(m, lo, hi, indices, a, c):
    """Smallest ``t >= 0`` with ``||(m_g - t a_g)_+|| <= t c`` (``m >= 0``; ``a`` the
    L1 weights ``r omega``, ``c = (1 - r) v_g``); 0 for an all-zero block."""
    top = 0.0  # where the L1 part alone zeroes the block
    norm2 = 0.0
    for k in range(lo, hi):
        j = indices[k]
        norm2 += m[j] * m[j]
        if m[j] > 0.0:
            top = max(top, m[j] / a[j]) if a[j] > 0.0 else math.inf
    if norm2 == 0.0:
        return 0.0
    hi_t = top
    if c > 0.0:
        hi_t = min(hi_t, math.sqrt(norm2) / c)
    if c <= 0.0 or top == math.inf:
        return hi_t
    lo_t = 0.0
    for _ in range(GAUGE_STEPS):
        mid = 0.5 * (lo_t + hi_t)
        if mid <= lo_t or mid >= hi_t:
            break
        acc = 0.0
        for k in range(lo, hi):
            j = indices[k]
            e = m[j] - mid * a[j]
            if e > 0.0:
                acc += e * e
        if math.sqrt(acc) <= mid * c:
            hi_t = mid
        else:
            lo_t = mid
    return hi_t


# ---- over every group (the penalty's vector operations) ----------------------------
@njit(cache=True, nogil=True)
def sgl_value(w, indptr, indices, gw, omega, r):
    """``r sum_j omega_j |w_j| + (1 - r) sum_g v_g ||w_g||`` (times alpha by the caller;
    ``omega`` 0 outside the groups)."""
    l1 = 0.0
    if r > 0.0:
        for k in range(indices.shape[0]):
            l1 += omega[indices[k]] * abs(w[indices[k]])
    group = 0.0
    if r < 1.0:
        for g in range(indptr.shape[0] - 1):
            acc = 0.0
            for k in range(indptr[g], indptr[g + 1]):
                acc += w[indices[k]] * w[indices[k]]
            group += gw[g] * math.sqrt(acc)
    return r * l1 + (1.0 - r) * group


@njit(cache=True, nogil=True)
def sgl_prox(v, indptr, indices, gw, l1, c_scale, positive):
    """The prox over every feature: ``l1`` the per-feature thresholds (0 outside the
    groups), group ``g`` shrunk by ``c_scale * gw[g]``."""
    u = v.copy()
    if positive:
        for j in range(u.shape[0]):
            u[j] = max(u[j], 0.0)  # unpenalized features: the constraint alone
    for g in range(indptr.shape[0] - 1):
        lo, hi = indptr[g], indptr[g + 1]
        for k in range(lo, hi):  # (re)start from v: the block prox thresholds v itself
            u[indices[k]] = v[indices[k]]
        block_prox(u, lo, hi, indices, l1, c_scale * gw[g], 1.0, positive)
    return u


@njit(cache=True, nogil=True)
def sgl_distances(w, grad, indptr, indices, gw, group_of, l1, c_scale, positive):
    """Per feature, the distance of its group (its own for an unpenalized one)."""
    n_groups = indptr.shape[0] - 1
    per_group = np.empty(n_groups)
    for g in range(n_groups):
        per_group[g] = group_distance(w, grad, indptr[g], indptr[g + 1], indices, l1,
                                      c_scale * gw[g], positive)
    out = np.empty(w.shape[0])
    for j in range(w.shape[0]):
        g = group_of[j]
        out[j] = per_group[g] if g >= 0 else free_distance(w[j], grad[j], positive)
    return out


@njit(cache=True, nogil=True)
def sgl_group_distances(w, grad, indptr, indices, gw, l1, c_scale, positive):
    """Per group, the distance of ``-grad_g`` to the subdifferential."""
    n_groups = indptr.shape[0] - 1
    out = np.empty(n_groups)
    for g in range(n_groups):
        out[g] = group_distance(w, grad, indptr[g], indptr[g + 1], indices, l1,
                                c_scale * gw[g], positive)
    return out


@njit(cache=True, nogil=True)
def sgl_gauges(m, indptr, indices, gw, a, c_scale):
    """Per group, :func:`group_gauge` of ``m`` (the dual norm is their maximum)."""
    n_groups = indptr.shape[0] - 1
    out = np.empty(n_groups)
    for g in range(n_groups):
        out[g] = group_gauge(m, indptr[g], indptr[g + 1], indices, a, c_scale * gw[g])
    return out
