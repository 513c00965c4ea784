r"""The minimax concave penalty (MCP; Zhang, 2010): numpy reference and the class.

.. math::  \sum_j P_{\lambda_j}(w_j), \quad
           P_\lambda(u) = \lambda |u| - \frac{u^2}{2\gamma} \ (|u| \le \gamma\lambda),
           \quad \frac{\gamma\lambda^2}{2} \ \text{beyond}, \qquad \lambda_j = \alpha\,\omega_j.

The lasso's slope at 0, relaxed linearly to 0 at :math:`\gamma\lambda` (skglm's
``MCPenalty``, ncvreg's ``penalty="MCP"``; ``gamma`` is their ``gamma``). What the
non-convex penalties share (capabilities, certificate, prox regimes) is in
:mod:`.nonconvex`; the compiled operations in :mod:`.mcp_compiled`.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from . import compiled as _dispatch
from .nonconvex import SeparableNonConvex


def mcp_value(a, lam, gamma):
    """``P_lam(a)`` for ``a = |u| >= 0`` (elementwise)."""
    return np.where(a <= gamma * lam, lam * a - 0.5 * a**2 / gamma, 0.5 * gamma * lam**2)


def mcp_derivative(a, lam, gamma):
    """``P_lam'(a)`` for ``a > 0``."""
    return np.maximum(lam - a / gamma, 0.0)


def mcp_prox(a, step, lam, gamma):
    """``argmin_{u >= 0} (u - a)^2 / (2 step) + P_lam(u)`` for ``a = |v|``.

    ``step < gamma``: firm thresholding (0 up to ``step lam``, the identity beyond
    ``gamma lam``, linear between). ``step >= gamma``: the problem is concave on
    ``[0, gamma lam]``, the minimizer is 0 or ``max(a, gamma lam)`` (0 on a tie).
    """
    if step < gamma:
        firm = (a - step * lam) / (1.0 - step / gamma)
        return np.where(a <= step * lam, 0.0, np.where(a <= gamma * lam, firm, a))
    far = np.maximum(a, gamma * lam)
    better = 0.5 * (far - a) ** 2 / step + 0.5 * gamma * lam**2 < 0.5 * a**2 / step
    return np.where(better, far, 0.0)


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class MCP(SeparableNonConvex):
    r"""Minimax concave penalty, non-convex: unbiased for large coefficients.

    Parameters
    ----------
    alpha : float, default=1.0
        The level :math:`\lambda` (the lasso's slope at 0).
    gamma : float > 1, default=3.0
        Concavity: the penalty is flat beyond ``gamma * alpha`` (small ``gamma`` is
        closer to hard thresholding, large to the lasso). With least squares on
        standardized columns the coordinate problems are convex for ``gamma > 1``.
    weights, positive : see :class:`penalized.penalties.Penalty`.

    Examples
    --------
    >>> import penalized as pz
    >>> pz.MCP(alpha=1.0, gamma=3.0).prox([0.5, 2.0, 4.0], step=1.0)
    array([0. , 1.5, 4. ])
    """

    gamma: float = 3.0
    name: ClassVar[str] = "mcp"
    kernel_id: ClassVar[int] = _dispatch.MCP
    gamma_min: ClassVar[float] = 1.0

    def _value_ref(self, a, lam):
        return mcp_value(a, lam, self.gamma)

    def _derivative_ref(self, a, lam):
        return mcp_derivative(a, lam, self.gamma)

    def _prox_ref(self, a, step, lam):
        return mcp_prox(a, step, lam, self.gamma)
