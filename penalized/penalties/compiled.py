"""The compiled dispatcher: a penalty's scalar and vector operations by its integer id.

The coordinate-descent kernel and the compiled path driver call these with the
penalty's ``kernel_id`` (:attr:`penalized.penalties.Penalty.kernel_id`); numba inlines
the scalar ones, so one compiled kernel serves every separable penalty. (Passing the
operators as compiled function pointers cost 25% of a sparse epoch: an indirect call
that nothing inlines.) A new separable penalty adds its id here, a branch in each
function, and its own module with the operations; the solvers name no penalty.

``param`` is the penalty's one shape parameter (:attr:`Penalty.params`);
``positive`` a bool; ``omega`` the per-feature weights, read-only.
"""

from __future__ import annotations

from numba import njit

from .elastic_net_compiled import (
    enet_conjugate_sum,
    enet_dual_scale,
    enet_prox_scalar,
    enet_subdiff_distance,
    enet_subdiff_scalar,
    enet_value,
    enet_value_scalar,
)

#: ``kernel_id`` of the elastic-net family (L1, L2, ElasticNet)
ELASTIC_NET = 0


# ---- scalar operations (inlined into the kernel) ---------------------------------
# Only the elastic-net family so far: a new family adds
# ``if kind == 1: return its_prox(...)`` before the default.
@njit(cache=True, inline="always")
def prox_scalar(kind, x, step, alpha_j, param, positive):
    """``argmin_u (u - x)^2 / (2 step) + alpha_j P(u)``."""
    return enet_prox_scalar(x, step, alpha_j, param, positive)


@njit(cache=True, inline="always")
def subdiff_scalar(kind, w, grad, alpha_j, param, positive):
    """Distance of ``-grad`` to ``alpha_j dP(w)`` (the KKT violation of one coordinate)."""
    return enet_subdiff_scalar(w, grad, alpha_j, param, positive)


@njit(cache=True, inline="always")
def value_scalar(kind, w, alpha_j, param, positive):
    """``alpha_j P(w)``."""
    return enet_value_scalar(w, alpha_j, param, positive)


# ---- vector operations (the compiled path driver's certificate) --------------------
@njit(cache=True)
def value_vector(kind, w, omega, alpha, param):
    """``alpha sum_j omega_j P(w_j)``."""
    return enet_value(w, omega, alpha, param)


@njit(cache=True)
def subdiff_vector(kind, w, grad, omega, alpha, param, positive):
    """Per-feature KKT violations."""
    return enet_subdiff_distance(w, grad, omega, alpha, param, positive)


@njit(cache=True)
def dual_scale_vector(kind, v, omega, alpha, param, positive):
    """Factor (>= 1) making ``v / factor`` dual-feasible."""
    return enet_dual_scale(v, omega, alpha, param, positive)


@njit(cache=True)
def conjugate_vector(kind, v, omega, alpha, param, positive):
    """Sum over penalized features of the conjugate of ``alpha omega_j P`` at ``v_j``."""
    return enet_conjugate_sum(v, omega, alpha, param, positive)


# ---- box constraints (any penalty): the scalar operations above, clipped -------------
# For a convex 1-D function, the minimizer over an interval is the unconstrained one
# clipped into it: the prox of ``alpha_j P + indicator[lo, hi]`` is the prox, clipped.
@njit(cache=True, inline="always")
def box_prox_scalar(kind, x, step, alpha_j, param, positive, lo, hi):
    """``argmin_{lo <= u <= hi} (u - x)^2 / (2 step) + alpha_j P(u)``."""
    u = prox_scalar(kind, x, step, alpha_j, param, positive)
    if u < lo:
        return lo
    if u > hi:
        return hi
    return u


@njit(cache=True, inline="always")
def box_subdiff_scalar(kind, w, grad, alpha_j, param, positive, lo, hi):
    """Distance of ``-grad`` to ``alpha_j dP(w) + N_[lo, hi](w)``: at a bound, the
    normal cone absorbs a violation pointing out of the box. Which side ``-grad``
    leaves the subdifferential on is the sign of ``prox(w - grad) - w`` (the prox is
    monotone and fixes ``w`` exactly when ``-grad`` is in ``alpha_j dP(w)``)."""
    d = subdiff_scalar(kind, w, grad, alpha_j, param, positive)
    if d > 0.0 and (w >= hi or w <= lo):
        push = prox_scalar(kind, w - grad, 1.0, alpha_j, param, positive) - w
        if (w >= hi and push > 0.0) or (w <= lo and push < 0.0):
            return 0.0
    return d
