"""The elastic net's compiled math (numba, ``cache=True``): scalar and vector operations.

Scalar operations (one coordinate, called by the coordinate-descent kernel through
:mod:`.compiled`): the prox, the distance to the subdifferential and the value.

Vector operations, one pass each:

A certificate along a path evaluates the penalty, its dual norm, its conjugate and
the KKT scores of every feature, at every alpha. In numpy each is several passes over
``p`` with temporaries (on 50,000 features about 0.8 ms per certificate, as much as
the ``X^T r`` it certifies on the wide sparse benchmark); here each is one loop.
The numpy versions in :mod:`.elastic_net` stay the reference (tests compare the two)
and serve 2-D coefficients (one column per class).

Arguments: 1-D float64 arrays; ``omega`` holds the per-feature weights (0 =
unpenalized), ``alpha`` the strength, ``r`` the l1_ratio.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, no_cpython_wrapper=True)
def enet_prox_scalar(x, step, alpha_j, r, positive):
    """``argmin_u (u - x)^2 / (2 step) + alpha_j (r |u| + (1 - r) u^2 / 2)`` (u >= 0 if
    ``positive``)."""
    thresh = step * alpha_j * r
    if positive:
        u = x - thresh
        if u < 0.0:
            u = 0.0
    elif x > thresh:
        u = x - thresh
    elif x < -thresh:
        u = x + thresh
    else:
        u = 0.0
    return u / (1.0 + step * alpha_j * (1.0 - r))


@njit(cache=True, no_cpython_wrapper=True)
def enet_subdiff_scalar(w, grad, alpha_j, r, positive):
    """Distance of ``-grad`` to ``alpha_j dP(w)``, plus ``|w|`` for an infeasible
    ``w < 0`` under ``positive`` (as :func:`enet_subdiff_distance`)."""
    l1 = alpha_j * r
    if w == 0.0:
        d = -grad - l1 if positive else abs(grad) - l1
        return d if d > 0.0 else 0.0
    s = 1.0 if w > 0.0 else -1.0
    d = abs(grad + l1 * s + alpha_j * (1.0 - r) * w)
    if positive and w < 0.0:
        d += -w
    return d


@njit(cache=True, no_cpython_wrapper=True)
def enet_value_scalar(w, alpha_j, r, positive):
    """``alpha_j P(w)`` (``inf`` for ``w < 0`` under ``positive``)."""
    if positive and w < 0.0:
        return np.inf
    return alpha_j * (r * abs(w) + 0.5 * (1.0 - r) * w * w)


@njit(cache=True)
def enet_value(w, omega, alpha, r):
    """``alpha sum_j omega_j (r |w_j| + (1 - r) w_j^2 / 2)``."""
    acc = 0.0
    for j in range(w.shape[0]):
        x = w[j]
        acc += omega[j] * (r * abs(x) + 0.5 * (1.0 - r) * x * x)
    return alpha * acc


@njit(cache=True)
def enet_subdiff_distance(w, grad, omega, alpha, r, positive):
    """Per feature: distance of ``-grad_j`` to ``alpha omega_j dP(w_j)`` (plus ``|w_j|``
    where ``positive`` and ``w_j < 0``, the distance to the feasible set)."""
    p = w.shape[0]
    out = np.empty(p)
    for j in range(p):
        a = alpha * omega[j]
        l1 = a * r
        x = w[j]
        g = grad[j]
        if x == 0.0:
            d = -g - l1 if positive else abs(g) - l1
            out[j] = d if d > 0.0 else 0.0
        else:
            s = 1.0 if x > 0.0 else -1.0
            d = abs(g + l1 * s + a * (1.0 - r) * x)
            if positive and x < 0.0:
                d += -x
            out[j] = d
    return out


@njit(cache=True)
def enet_dual_norm(v, omega, positive):
    """``max_j |v_j| / omega_j`` over the penalized features (``max(v_j, 0)`` if positive)."""
    best = 0.0
    for j in range(v.shape[0]):
        if omega[j] > 0.0:
            a = (v[j] if v[j] > 0.0 else 0.0) if positive else abs(v[j])
            q = a / omega[j]
            if q > best:
                best = q
    return best


@njit(cache=True)
def enet_conjugate_sum(v, omega, alpha, r, positive):
    """Sum over the penalized features of the conjugate of ``alpha omega_j P`` at ``v_j``
    (``inf`` where a pure L1 constraint is violated beyond rounding)."""
    acc = 0.0
    for j in range(v.shape[0]):
        if omega[j] <= 0.0:
            continue
        a = alpha * omega[j]
        x = v[j] if positive else abs(v[j])
        e = x - a * r
        if e <= 0.0:
            continue
        quad = a * (1.0 - r)
        if quad > 0.0:
            acc += e * e / (2.0 * quad)
        elif e > 1e-12 * (1.0 + abs(v[j])):
            return np.inf
    return acc


@njit(cache=True)
def enet_dual_scale(v, omega, alpha, r, positive):
    """Factor (>= 1) to divide a dual point by so that the conjugate is finite: only a
    pure L1 (``r = 1``) has a constraint, ``||v / omega||_inf <= alpha``."""
    if r < 1.0 or alpha == 0.0:
        return 1.0
    return max(1.0, enet_dual_norm(v, omega, positive) / alpha)
