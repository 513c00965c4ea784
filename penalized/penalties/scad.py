r"""The smoothly clipped absolute deviation penalty (SCAD; Fan and Li, 2001).

.. math::  \sum_j P_{\lambda_j}(w_j), \quad
           P_\lambda(u) = \lambda |u| \ (|u| \le \lambda), \quad
           \frac{2\gamma\lambda|u| - u^2 - \lambda^2}{2(\gamma - 1)}
           \ (\lambda < |u| \le \gamma\lambda), \quad
           \frac{(\gamma + 1)\lambda^2}{2} \ \text{beyond}, \qquad \lambda_j = \alpha\,\omega_j.

The lasso up to :math:`\lambda`, its slope then relaxed linearly to 0 at
:math:`\gamma\lambda` (skglm's ``SCAD``, ncvreg's ``penalty="SCAD"``; ``gamma`` is
Fan and Li's ``a``, 3.7 their recommendation). What the non-convex penalties share is in
:mod:`.nonconvex`; the compiled operations in :mod:`.scad_compiled`.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from . import compiled as _dispatch
from .nonconvex import SeparableNonConvex


def scad_value(a, lam, gamma):
    """``P_lam(a)`` for ``a = |u| >= 0`` (elementwise)."""
    middle = (2.0 * gamma * lam * a - a**2 - lam**2) / (2.0 * (gamma - 1.0))
    return np.where(a <= lam, lam * a,
                    np.where(a <= gamma * lam, middle, 0.5 * (gamma + 1.0) * lam**2))


def scad_derivative(a, lam, gamma):
    """``P_lam'(a)`` for ``a > 0``."""
    return np.where(a <= lam, lam, np.maximum(gamma * lam - a, 0.0) / (gamma - 1.0))


def scad_prox(a, step, lam, gamma):
    """``argmin_{u >= 0} (u - a)^2 / (2 step) + P_lam(u)`` for ``a = |v|``.

    ``step < gamma - 1``: soft thresholding up to ``(1 + step) lam``, Fan and Li's
    interpolation up to ``gamma lam``, the identity beyond. Otherwise the middle piece
    is concave: the better of the outer pieces' minimizers (the nearer on a tie).
    """
    soft = np.maximum(a - step * lam, 0.0)
    if step < gamma - 1.0:
        middle = ((gamma - 1.0) * a - step * gamma * lam) / (gamma - 1.0 - step)
        return np.where(a <= (1.0 + step) * lam, soft, np.where(a <= gamma * lam, middle, a))
    near = np.minimum(soft, lam)
    far = np.maximum(a, gamma * lam)
    f_near = 0.5 * (near - a) ** 2 / step + scad_value(near, lam, gamma)
    f_far = 0.5 * (far - a) ** 2 / step + scad_value(far, lam, gamma)
    return np.where(f_far < f_near, far, near)


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class SCAD(SeparableNonConvex):
    r"""Smoothly clipped absolute deviation penalty, non-convex: unbiased for large
    coefficients.

    Parameters
    ----------
    alpha : float, default=1.0
        The level :math:`\lambda` (the lasso's slope at 0).
    gamma : float > 2, default=3.7
        Fan and Li's ``a``: the penalty is flat beyond ``gamma * alpha``. With least
        squares on standardized columns the coordinate problems are convex for
        ``gamma > 2``.
    weights, positive : see :class:`penalized.penalties.Penalty`.

    Examples
    --------
    >>> import penalized as pz
    >>> pz.SCAD(alpha=1.0, gamma=3.7).prox([0.5, 1.5, 3.0, 5.0], step=1.0)
    array([0.        , 0.5       , 2.58823529, 5.        ])
    """

    gamma: float = 3.7
    name: ClassVar[str] = "scad"
    kernel_id: ClassVar[int] = _dispatch.SCAD
    gamma_min: ClassVar[float] = 2.0

    def _value_ref(self, a, lam):
        return scad_value(a, lam, self.gamma)

    def _derivative_ref(self, a, lam):
        return scad_derivative(a, lam, self.gamma)

    def _prox_ref(self, a, step, lam):
        return scad_prox(a, step, lam, self.gamma)
