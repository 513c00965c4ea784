"""What the non-convex penalties' compiled operations share (numba, ``cache=True``):
the KKT score of one coordinate, as :func:`.nonconvex.subdiff_distance_ref`."""

from __future__ import annotations

from numba import njit


@njit(cache=True, no_cpython_wrapper=True)
def folded_subdiff_scalar(w, grad, lam, slope, positive):
    """Distance of ``-grad`` to ``dP(w)`` for a penalty with the lasso's subdifferential
    ``[-lam, lam]`` at 0 (``(-inf, lam]`` under ``positive``) and derivative ``slope`` at
    ``|w| > 0``, plus ``|w|`` for an infeasible ``w < 0`` under ``positive``."""
    if w == 0.0:
        d = -grad - lam if positive else abs(grad) - lam
        return d if d > 0.0 else 0.0
    s = 1.0 if w > 0.0 else -1.0
    d = abs(grad + s * slope)
    if positive and w < 0.0:
        d += -w
    return d
