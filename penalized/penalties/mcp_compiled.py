r"""MCP's compiled math (numba, ``cache=True``): scalar operations.

The minimax concave penalty (Zhang, 2010) of one coordinate, with level ``lam``
(``alpha * omega_j``) and concavity ``gamma > 1``:

.. math::  P(u) = \lambda |u| - u^2 / (2 \gamma) \ (|u| \le \gamma\lambda), \quad
           \gamma \lambda^2 / 2 \ \text{beyond}.

Scalar operations are called by the coordinate-descent kernel through
:mod:`.compiled`, whose vector operations loop over them. The numpy reference is
:mod:`.mcp` (tests compare).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .nonconvex_compiled import folded_subdiff_scalar


@njit(cache=True, no_cpython_wrapper=True)
def mcp_value_scalar(w, lam, gamma, positive):
    """``P(w)`` at level ``lam`` (``inf`` for ``w < 0`` under ``positive``)."""
    if positive and w < 0.0:
        return np.inf
    a = abs(w)
    if a <= gamma * lam:
        return lam * a - 0.5 * a * a / gamma
    return 0.5 * gamma * lam * lam


@njit(cache=True, no_cpython_wrapper=True)
def mcp_concavity(gamma):
    """The largest negative curvature of ``P``, ``1 / gamma``: ``(u - x)^2 / (2 step) +
    P(u)`` is strictly convex in ``u`` exactly when ``1 / step`` exceeds it."""
    return 1.0 / gamma


@njit(cache=True, no_cpython_wrapper=True)
def mcp_derivative(a, lam, gamma):
    """``P'(a)`` for ``a > 0``: ``lam - a / gamma`` up to ``gamma lam``, then 0."""
    d = lam - a / gamma
    return d if d > 0.0 else 0.0


@njit(cache=True, no_cpython_wrapper=True)
def mcp_prox_scalar(x, step, lam, gamma, positive):
    """The global minimizer of ``(u - x)^2 / (2 step) + P(u)`` (``u >= 0`` if positive).

    For ``step < gamma`` the problem is strictly convex: firm thresholding. For
    ``step >= gamma`` it is concave on ``|u| < gamma lam``, so the minimizer is 0 or
    ``sign(x) max(|x|, gamma lam)``, the smaller objective (0 on a tie): a hard
    threshold at ``sqrt(step gamma) lam``.
    """
    if positive and x <= 0.0:
        return 0.0
    a = abs(x)
    s = 1.0 if x > 0.0 else -1.0
    if step < gamma:
        if a <= step * lam:
            return 0.0
        if a <= gamma * lam:
            return s * (a - step * lam) / (1.0 - step / gamma)
        return x
    u = a if a > gamma * lam else gamma * lam
    far = 0.5 * (u - a) * (u - a) / step + 0.5 * gamma * lam * lam
    if far < 0.5 * a * a / step:
        return s * u
    return 0.0


@njit(cache=True, no_cpython_wrapper=True)
def mcp_subdiff_scalar(w, grad, lam, gamma, positive):
    """Distance of ``-grad`` to ``dP(w)`` (:func:`.nonconvex_compiled.folded_subdiff_scalar`)."""
    return folded_subdiff_scalar(w, grad, lam, mcp_derivative(abs(w), lam, gamma), positive)
