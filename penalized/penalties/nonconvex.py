r"""What the separable non-convex penalties (MCP, SCAD) share.

Each is :math:`\sum_j P_{\lambda_j}(w_j)` with level :math:`\lambda_j = \alpha\,\omega_j`
and a concavity parameter ``gamma``: the lasso near 0 (its subdifferential at 0 is
:math:`[-\lambda_j, \lambda_j]`, so ``alpha_max`` and the KKT score at 0 are the
lasso's), flattening to a constant for large :math:`|w_j|` (no bias on large effects).
The penalty is not homogeneous in ``alpha``: ``value`` is the sum above, not ``alpha``
times something.

Capabilities: ``convex = False`` (no conjugate, no dual norm, no duality gap: the
certificate is the largest KKT score, the distance of ``-grad`` to the (Fréchet)
subdifferential, and a fit says ``stop_reason == "kkt"``); not quadratic on orthants
(no Newton step on the support); no ridge part, no constrained dual (no progress
estimate). The penalties are C^1 away from 0, so the KKT score is a plain derivative
there.

``prox(v, step)`` is the *global* minimizer of ``(u - v)^2 / (2 step) + P(u)``, in
closed form. It is strictly convex (a unique, continuous prox: firm thresholding for
MCP, Fan and Li's for SCAD) only while ``1 / step`` exceeds the penalty's concavity
(``1 / gamma`` for MCP, ``1 / (gamma - 1)`` for SCAD); beyond, the closed forms compare
the candidate minimizers (a hard threshold, as skglm does for SCAD). Coordinate descent
takes ``step = 1 / L_j`` (``L_j`` the column's curvature, 1 on standardized least
squares), but never a curvature below 1.25 times the concavity
(:func:`penalized.penalties.compiled.coordinate_curvature`): its steps stay continuous
descent steps whose fixed points are the KKT points, on any column scaling (there
skglm's MCP prox keeps 0 up to ``step alpha``, a local minimizer, and steps with it;
ncvreg requires standardized columns).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from . import compiled as _dispatch
from .base import Penalty
from .elastic_net import L1, _flat


def subdiff_distance_ref(w, grad, lam, derivative, positive: bool) -> np.ndarray:
    """Distance of ``-grad`` to ``dP(w)`` for a penalty with lasso subdifferential
    ``[-lam, lam]`` at 0 and derivative ``derivative(|w|)`` (for ``|w| > 0``) elsewhere;
    under ``positive``, ``(-inf, lam]`` at 0 and ``|w|`` more where ``w < 0``."""
    at_zero = np.maximum(-grad - lam, 0.0) if positive else np.maximum(np.abs(grad) - lam, 0.0)
    away = np.abs(grad + np.sign(w) * derivative(np.abs(w)))
    if positive:
        away = away + np.where(w < 0, -w, 0.0)
    return np.where(w == 0, at_zero, away)


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class SeparableNonConvex(Penalty):
    """Shared implementation; subclasses give ``gamma`` (a field, with its default and
    its lower bound ``gamma_min``), the numpy reference (``_value_ref``,
    ``_derivative_ref``, ``_prox_ref``) and the compiled vector loops."""

    convex: ClassVar[bool] = False
    smooth: ClassVar[bool] = False
    separable: ClassVar[bool] = True
    bounded_above: ClassVar[bool] = True
    #: ``gamma`` must exceed this (MCP 1, SCAD 2, as ncvreg requires): then a step of 1
    #: (a standardized column) is in the strictly convex regime of the prox
    gamma_min: ClassVar[float] = 1.0

    def _check_params(self) -> None:
        try:
            g = float(self.gamma)
        except (TypeError, ValueError):
            g = np.nan
        if not (np.isfinite(g) and g > self.gamma_min):
            raise ValueError(f"gamma must be a finite number > {self.gamma_min:g} for "
                             f"{type(self).__name__}, got {self.gamma!r}")
        object.__setattr__(self, "gamma", g)

    @property
    def params(self) -> tuple[float, float]:
        return (self.gamma, 0.0)

    def _levels(self, w: np.ndarray) -> np.ndarray:
        """``alpha * omega``, broadcast against ``w`` (one column per class if 2-D)."""
        omega = self.feature_weights(w.shape[0])
        return self.alpha * (omega if w.ndim == 1 else omega[:, None])

    # ---- the reference math (numpy) and the compiled loops, per subclass -----------
    def _value_ref(self, a, lam):
        raise NotImplementedError

    def _derivative_ref(self, a, lam):
        raise NotImplementedError

    def _prox_ref(self, a, step, lam):
        raise NotImplementedError

    def _value_compiled(self, w, omega):
        return _dispatch.value_vector(self.kernel_id, w, omega, self.alpha, self.gamma)

    def _subdiff_compiled(self, w, grad, omega):
        return _dispatch.subdiff_vector(self.kernel_id, w, grad, omega, self.alpha, self.gamma,
                                        self.positive)

    # ---- the protocol ---------------------------------------------------------------
    def value(self, w):
        w = np.asarray(w, dtype=float)
        if w.ndim == 1:
            return float(self._value_compiled(_flat(w), self.feature_weights(w.shape[0])))
        return float(np.sum(self._value_ref(np.abs(w), self._levels(w))))

    def prox(self, v, step):
        """Elementwise global minimizer of ``(u - v)^2 / (2 step) + P(u)``."""
        v = np.asarray(v, dtype=float)
        u = np.sign(v) * self._prox_ref(np.abs(v), float(step), self._levels(v))
        return np.where(v > 0, u, 0.0) if self.positive else u

    def subdiff_distance(self, w, grad):
        w = np.asarray(w, dtype=float)
        if w.ndim == 1:
            return self._subdiff_compiled(_flat(w), _flat(grad),
                                          self.feature_weights(w.shape[0]))
        lam = self._levels(w)
        return subdiff_distance_ref(w, np.asarray(grad, dtype=float), lam,
                                    lambda a: self._derivative_ref(a, lam), self.positive)

    def alpha_max(self, grad_at_zero):
        """The lasso's: the subdifferential at 0 is ``[-alpha omega_j, alpha omega_j]``, so
        ``w = 0`` is a KKT point (a strict local minimum) from there up."""
        return L1(weights=self.weights, positive=self.positive).alpha_max(grad_at_zero)

    def certificate_levels(self, n_features: int) -> np.ndarray | None:
        """The lasso threshold ``alpha * omega_j``: below it a zero coefficient scores 0."""
        if self.alpha <= 0.0:
            return None
        return self.alpha * self.feature_weights(n_features)
