"""The compiled dispatcher: a penalty's scalar and vector operations by its integer id.

The coordinate-descent kernel and the compiled path driver call these with the
penalty's ``kernel_id`` (:attr:`penalized.penalties.Penalty.kernel_id`), so one
compiled kernel serves every separable penalty. (Passing the operators as compiled
function pointers cost 25% of a sparse epoch: an indirect call that nothing inlines.)
The scalar dispatchers are inlined into the kernel by numba (as plain calls they made
a sparse epoch 1.5x slower); the families' own functions stay compiled calls, each
typed once: inlined too, numba typed them again at every call site, a third of the
first call's compilation. A new separable penalty adds its id here, a branch in each
function, and its own module with the operations; the solvers name no penalty.

``param`` is the penalty's one shape parameter (:attr:`Penalty.params`);
``positive`` a bool; ``omega`` the per-feature weights, read-only.
"""

from __future__ import annotations

import numpy as np
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
from .mcp_compiled import (
    mcp_concavity,
    mcp_prox_scalar,
    mcp_subdiff_scalar,
    mcp_value_scalar,
)
from .scad_compiled import (
    scad_concavity,
    scad_prox_scalar,
    scad_subdiff_scalar,
    scad_value_scalar,
)

#: ``kernel_id`` of the elastic-net family (L1, L2, ElasticNet)
ELASTIC_NET = 0
#: ``kernel_id`` of the minimax concave penalty (``param``: gamma)
MCP = 1
#: ``kernel_id`` of SCAD (``param``: gamma)
SCAD = 2

#: A coordinate step of a non-convex penalty uses at least this multiple of the
#: penalty's concavity as its curvature (:func:`coordinate_curvature`): the prox is then
#: strictly convex and continuous, with slope at most ``1 / (1 - 1 / 1.25) = 5``.
CURVATURE_MARGIN = 1.25


# ---- scalar operations (inlined into the kernel) ---------------------------------
# A new family adds ``if kind == ITS_ID: return its_prox(...)`` before the default
# (the elastic net).
@njit(cache=True, inline="always")
def prox_scalar(kind, x, step, alpha_j, param, positive):
    """``argmin_u (u - x)^2 / (2 step) + alpha_j P(u)``."""
    if kind == MCP:
        return mcp_prox_scalar(x, step, alpha_j, param, positive)
    if kind == SCAD:
        return scad_prox_scalar(x, step, alpha_j, param, positive)
    return enet_prox_scalar(x, step, alpha_j, param, positive)


@njit(cache=True, inline="always")
def subdiff_scalar(kind, w, grad, alpha_j, param, positive):
    """Distance of ``-grad`` to ``alpha_j dP(w)`` (the KKT violation of one coordinate)."""
    if kind == MCP:
        return mcp_subdiff_scalar(w, grad, alpha_j, param, positive)
    if kind == SCAD:
        return scad_subdiff_scalar(w, grad, alpha_j, param, positive)
    return enet_subdiff_scalar(w, grad, alpha_j, param, positive)


@njit(cache=True, inline="always")
def value_scalar(kind, w, alpha_j, param, positive):
    """``alpha_j P(w)``."""
    if kind == MCP:
        return mcp_value_scalar(w, alpha_j, param, positive)
    if kind == SCAD:
        return scad_value_scalar(w, alpha_j, param, positive)
    return enet_value_scalar(w, alpha_j, param, positive)


@njit(cache=True, inline="always")
def coordinate_curvature(kind, curvature, param):
    """The curvature a coordinate step takes, given the datafit model's ``curvature``.

    Convex penalties: the model's own (the step minimizes the model exactly). A
    non-convex penalty's prox is a global minimizer that jumps between local minima
    once ``1 / step`` is below the penalty's concavity (a hard threshold): a step that
    trusts the quadratic model far from the current point (a prox-Newton model of
    logistic stalled on such jumps, every line search rejecting them), and that leaves
    zero coefficients where their KKT score is 0. Raised to ``CURVATURE_MARGIN`` times
    the concavity, the step majorizes the model (a descent step on it, exact where the
    model's curvature is larger: standardized least squares, ``gamma`` above 1.25 for
    MCP, 2.25 for SCAD) and its fixed points are the KKT points (Breheny and Huang, 2011,
    need the same convexity of each coordinate problem).
    """
    if kind == MCP:
        return max(curvature, CURVATURE_MARGIN * mcp_concavity(param))
    if kind == SCAD:
        return max(curvature, CURVATURE_MARGIN * scad_concavity(param))
    return curvature


# ---- vector operations (the compiled path driver's certificate) --------------------
@njit(cache=True)
def value_vector(kind, w, omega, alpha, param):
    """``alpha sum_j omega_j P(w_j)`` (the elastic net's own loop; the other families
    through their scalar operation)."""
    if kind == ELASTIC_NET:
        return enet_value(w, omega, alpha, param)
    acc = 0.0
    for j in range(w.shape[0]):  # (np.bool_: a literal False compiles a second copy)
        acc += value_scalar(kind, w[j], alpha * omega[j], param, np.bool_(False))
    return acc


@njit(cache=True)
def subdiff_vector(kind, w, grad, omega, alpha, param, positive):
    """Per-feature KKT violations (as :func:`value_vector`)."""
    if kind == ELASTIC_NET:
        return enet_subdiff_distance(w, grad, omega, alpha, param, positive)
    out = np.empty(w.shape[0])
    for j in range(w.shape[0]):
        out[j] = subdiff_scalar(kind, w[j], grad[j], alpha * omega[j], param, positive)
    return out


@njit(cache=True)
def dual_scale_vector(kind, v, omega, alpha, param, positive):
    """Factor (>= 1) making ``v / factor`` dual-feasible (1 for the non-convex penalties,
    which have no dual: :func:`conjugate_vector` is infinite for them)."""
    if kind == MCP or kind == SCAD:
        return 1.0
    return enet_dual_scale(v, omega, alpha, param, positive)


@njit(cache=True)
def conjugate_vector(kind, v, omega, alpha, param, positive):
    """Sum over penalized features of the conjugate of ``alpha omega_j P`` at ``v_j``
    (``inf`` for the non-convex penalties: no duality gap certifies them)."""
    if kind == MCP or kind == SCAD:
        return np.inf
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
