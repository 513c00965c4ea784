r"""Datafits: the ``(1/n) sum_i s_i loss(y_i, z_i)`` part of the objective.

Each datafit is written once, per sample, on the linear predictor
``z = X w + b``; the solvers wrap it (gradient ``X^T (s * dloss) / n``).
Sample weights ``s`` are normalized to sum to ``n``, so the datafit is a
weighted mean. ``curvature_bound`` bounds ``d2loss`` and gives every
Lipschitz constant; ``conjugate`` gives the duality gap.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
from scipy.special import expit, log1p, xlogy


@dataclasses.dataclass(frozen=True)
class Datafit(ABC):
    """Pointwise loss on the linear predictor ``z``."""

    #: upper bound on ``d2loss`` (1 for least squares, 1/4 for logistic)
    curvature_bound: ClassVar[float] = 1.0
    #: "regression" or "classification"
    task: ClassVar[str] = "regression"
    #: registry name (CLI, kernels)
    name: ClassVar[str] = ""
    #: whether ``conjugate`` exists (so a duality gap can be computed)
    has_conjugate: ClassVar[bool] = True
    #: whether the loss is quadratic in z (one Newton step is exact)
    quadratic: ClassVar[bool] = False

    def prepare_target(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Validate ``y`` and map it to the internal coding; returns ``(y, classes)``."""
        return np.asarray(y, dtype=float), None

    @abstractmethod
    def loss(self, y, z):
        """Per-sample loss."""

    @abstractmethod
    def dloss(self, y, z):
        """Derivative of the loss with respect to ``z``."""

    @abstractmethod
    def d2loss(self, y, z):
        """Second derivative with respect to ``z``."""

    @abstractmethod
    def conjugate(self, y, a):
        """Per-sample Fenchel conjugate ``loss_y^*(a)`` (``inf`` outside the domain)."""

    @abstractmethod
    def intercept_at_zero(self, y, sample_weight) -> float:
        """Optimal intercept when every coefficient is zero."""

    @abstractmethod
    def inverse_link(self, z):
        """Prediction on the response scale (mean, or probability of the positive class)."""

    def value(self, y, z, sample_weight) -> float:
        """``(1/n) sum_i s_i loss(y_i, z_i)`` with ``sum s = n``."""
        return float(np.mean(sample_weight * self.loss(y, z)))

    def gradient_z(self, y, z, sample_weight):
        """Gradient of :meth:`value` with respect to ``z`` (shape of ``z``)."""
        return sample_weight * self.dloss(y, z) / y.shape[0]


@dataclasses.dataclass(frozen=True)
class LeastSquares(Datafit):
    r"""``loss(y, z) = (y - z)^2 / 2``: the datafit of Lasso, Ridge, ElasticNet.

    Examples
    --------
    >>> import numpy as np, penalized as pz
    >>> pz.LeastSquares().loss(np.array([1.0]), np.array([0.0]))
    array([0.5])
    """

    curvature_bound: ClassVar[float] = 1.0
    name: ClassVar[str] = "leastsquares"
    quadratic: ClassVar[bool] = True

    def loss(self, y, z):
        return 0.5 * (y - z) ** 2

    def dloss(self, y, z):
        return z - y

    def d2loss(self, y, z):
        return np.ones_like(z)

    def conjugate(self, y, a):
        # sup_z a z - (y - z)^2 / 2  at z = y + a
        return a * y + 0.5 * a**2

    def intercept_at_zero(self, y, sample_weight):
        return float(np.average(y, weights=sample_weight))

    def inverse_link(self, z):
        return z


@dataclasses.dataclass(frozen=True)
class Logistic(Datafit):
    r"""``loss(y, z) = log(1 + exp(-y z))`` with ``y`` in {-1, +1}.

    Any two labels are accepted: the larger (``classes[1]``, as in
    scikit-learn) is coded +1.
    """

    curvature_bound: ClassVar[float] = 0.25
    task: ClassVar[str] = "classification"
    name: ClassVar[str] = "logistic"

    def prepare_target(self, y):
        classes, codes = np.unique(np.asarray(y), return_inverse=True)
        if classes.shape[0] != 2:
            raise ValueError(
                f"Logistic needs exactly two classes in y, got {classes.shape[0]}"
                + (f" ({classes.tolist()[:5]})" if classes.shape[0] < 6 else "")
            )
        return np.where(codes.ravel() == 1, 1.0, -1.0), classes

    def loss(self, y, z):
        return np.logaddexp(0.0, -y * z)

    def dloss(self, y, z):
        return -y * expit(-y * z)

    def d2loss(self, y, z):
        p = expit(z)
        return p * (1.0 - p)

    def conjugate(self, y, a):
        # loss_y^*(a) with a = -y t, t in [0, 1]: t log t + (1 - t) log(1 - t)
        t = -y * a
        inside = (t >= -1e-12) & (t <= 1 + 1e-12)
        t = np.clip(t, 0.0, 1.0)
        val = xlogy(t, t) + xlogy(1.0 - t, 1.0 - t)
        return np.where(inside, val, np.inf)

    def intercept_at_zero(self, y, sample_weight):
        p = np.average(y > 0, weights=sample_weight)
        return float(np.log(p) - log1p(-p))

    def inverse_link(self, z):
        return expit(z)


DATAFITS: dict[str, type[Datafit]] = {cls.name: cls for cls in (LeastSquares, Logistic)}


def ALL_DATAFITS() -> list[Datafit]:  # noqa: N802 - a registry
    """One instance of each registered datafit."""
    return [cls() for cls in DATAFITS.values()]
