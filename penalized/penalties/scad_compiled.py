r"""SCAD's compiled math (numba, ``cache=True``): scalar operations.

The smoothly clipped absolute deviation penalty (Fan and Li, 2001) of one coordinate,
with level ``lam`` (``alpha * omega_j``) and ``gamma > 2`` (their ``a``):

.. math::  P(u) = \lambda |u| \ (|u| \le \lambda), \quad
           \frac{2\gamma\lambda|u| - u^2 - \lambda^2}{2(\gamma - 1)}
           \ (\lambda < |u| \le \gamma\lambda), \quad
           \frac{(\gamma + 1)\lambda^2}{2} \ \text{beyond}.

Scalar operations are called by the coordinate-descent kernel through
:mod:`.compiled`, whose vector operations loop over them. The numpy reference is
:mod:`.scad` (tests compare).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .nonconvex_compiled import folded_subdiff_scalar


@njit(cache=True, no_cpython_wrapper=True)
def scad_value_scalar(w, lam, gamma, positive):
    """``P(w)`` at level ``lam`` (``inf`` for ``w < 0`` under ``positive``)."""
    if positive and w < 0.0:
        return np.inf
    a = abs(w)
    if a <= lam:
        return lam * a
    if a <= gamma * lam:
        return (2.0 * gamma * lam * a - a * a - lam * lam) / (2.0 * (gamma - 1.0))
    return 0.5 * (gamma + 1.0) * lam * lam


@njit(cache=True, no_cpython_wrapper=True)
def scad_concavity(gamma):
    """The largest negative curvature of ``P``, ``1 / (gamma - 1)``: ``(u - x)^2 /
    (2 step) + P(u)`` is strictly convex in ``u`` exactly when ``1 / step`` exceeds it."""
    return 1.0 / (gamma - 1.0)


@njit(cache=True, no_cpython_wrapper=True)
def scad_derivative(a, lam, gamma):
    """``P'(a)`` for ``a > 0``: ``lam`` up to ``lam``, ``(gamma lam - a) / (gamma - 1)``
    up to ``gamma lam``, then 0."""
    if a <= lam:
        return lam
    d = (gamma * lam - a) / (gamma - 1.0)
    return d if d > 0.0 else 0.0


@njit(cache=True, no_cpython_wrapper=True)
def scad_prox_scalar(x, step, lam, gamma, positive):
    """The global minimizer of ``(u - x)^2 / (2 step) + P(u)`` (``u >= 0`` if positive).

    For ``step < gamma - 1`` the problem is strictly convex: soft thresholding up to
    ``(1 + step) lam``, the linear interpolation of Fan and Li up to ``gamma lam``, the
    identity beyond. For ``step >= gamma - 1`` the middle piece is concave: the
    minimizer is the best of the outer pieces' (soft thresholding clipped to ``lam``,
    and ``max(|x|, gamma lam)``), the smaller one on a tie.
    """
    if positive and x <= 0.0:
        return 0.0
    a = abs(x)
    s = 1.0 if x > 0.0 else -1.0
    soft = a - step * lam if a > step * lam else 0.0
    if step < gamma - 1.0:
        if a <= (1.0 + step) * lam:
            return s * soft
        if a <= gamma * lam:
            return s * ((gamma - 1.0) * a - step * gamma * lam) / (gamma - 1.0 - step)
        return x
    near = soft if soft < lam else lam
    far = a if a > gamma * lam else gamma * lam
    no = np.bool_(False)  # (a literal False would compile a second scad_value_scalar)
    f_near = 0.5 * (near - a) * (near - a) / step + scad_value_scalar(near, lam, gamma, no)
    f_far = 0.5 * (far - a) * (far - a) / step + scad_value_scalar(far, lam, gamma, no)
    return s * far if f_far < f_near else s * near


@njit(cache=True, no_cpython_wrapper=True)
def scad_subdiff_scalar(w, grad, lam, gamma, positive):
    """Distance of ``-grad`` to ``dP(w)`` (:func:`.nonconvex_compiled.folded_subdiff_scalar`)."""
    return folded_subdiff_scalar(w, grad, lam, scad_derivative(abs(w), lam, gamma), positive)
