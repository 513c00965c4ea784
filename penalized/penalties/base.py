"""The penalty protocol shared by every penalty.

A penalty is a frozen dataclass holding its strength ``alpha`` and its shape
parameters. The objective it contributes is ``alpha * P(w)``: ``value`` returns
that product, ``prox`` is the proximal operator of ``step * alpha * P`` and
``subdiff_distance`` measures how far ``-grad`` is from ``alpha * dP(w)``.
Per-feature ``weights`` multiply each coordinate's term (0 means unpenalized),
which folds into the scalar operators: nothing is written twice for weights.
"""

from __future__ import annotations

import dataclasses
import functools
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np


@functools.lru_cache(maxsize=8)
def _unit_weights(n_features: int) -> np.ndarray:
    """Read-only ones, shared: every certificate along a path asks for them."""
    w = np.ones(n_features)
    w.setflags(write=False)
    return w


def _check_weights(weights, n_features: int) -> np.ndarray:
    """The weights as a read-only array of shape (n_features,); ``weights`` is a
    penalty's own (validated at construction: finite and non-negative) or None."""
    if weights is None:
        return _unit_weights(n_features)
    if weights.shape != (n_features,):
        raise ValueError(
            f"penalty weights have shape {weights.shape}, expected ({n_features},) "
            "(one weight per feature)"
        )
    return weights


def _exclude_infinite(pen, w: np.ndarray) -> np.ndarray:
    """An infinite weight forces its coefficient to 0 (the limit of a growing weight):
    it becomes the box ``[0, 0]`` with a finite weight (1), so every solver keeps
    finite arithmetic."""
    infinite = np.isinf(w)
    if not infinite.any():
        return w
    p = w.shape[0]
    sides = []
    for name, default in (("lower", -np.inf), ("upper", np.inf)):
        value = np.asarray(default if getattr(pen, name) is None else getattr(pen, name),
                           dtype=float)
        if value.ndim and value.shape != (p,):
            raise ValueError(f"{name} has shape {value.shape} but the weights have {p} "
                             "entries (one bound per feature)")
        sides.append(np.broadcast_to(value, (p,)).copy())
    lower, upper = sides
    lower[infinite] = upper[infinite] = 0.0
    object.__setattr__(pen, "lower", lower)
    object.__setattr__(pen, "upper", upper)
    w = w.copy()
    w[infinite] = 1.0
    return w


def _check_box(pen) -> None:
    """``lower <= 0 <= upper`` (glmnet's rule: the null model is feasible), as floats or
    read-only 1-D arrays; a side with no finite bound becomes None."""
    for name, sign in (("lower", -1.0), ("upper", 1.0)):
        value = getattr(pen, name)
        if value is None:
            continue
        try:
            a = np.array(value, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a number or an array of numbers, "
                            f"got {value!r}") from None
        if a.ndim > 1:
            raise ValueError(f"{name} must be a number or 1-D (one per feature), "
                             f"got shape {a.shape}")
        bad = np.flatnonzero(np.isnan(a) | (sign * a < 0)) if a.ndim else \
            ([0] if np.isnan(a) or sign * a < 0 else [])
        if len(bad):
            where = f" at feature {bad[0]}" if a.ndim else ""
            shown = a[bad[0]] if a.ndim else a
            rule = "<= 0" if sign < 0 else ">= 0"
            raise ValueError(f"{name} must be {rule} (the null model must be feasible, "
                             f"as glmnet requires), got {float(shown):g}{where}")
        if np.all(np.isinf(a)):
            a = None
        elif a.ndim == 0:
            a = float(a)
        else:
            a.setflags(write=False)
        object.__setattr__(pen, name, a)


def _box_array(pen, name: str, n_features: int) -> np.ndarray:
    value = getattr(pen, name)
    if value is None:
        value = -np.inf if name == "lower" else np.inf
    a = np.asarray(value, dtype=float)
    if a.ndim == 1 and a.shape[0] != n_features:
        raise ValueError(f"{name} has {a.shape[0]} entries but X has {n_features} "
                         "features (one bound per feature)")
    out = np.ascontiguousarray(np.broadcast_to(a, (n_features,)), dtype=float).copy()
    return out


def _checked_alpha(value) -> float:
    alpha = float(value)
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be a finite number >= 0, got {value!r}")
    return alpha


@dataclasses.dataclass(frozen=True, eq=False)
class Penalty(ABC):
    """Base class: ``alpha * P(w)`` with optional per-feature weights.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength; the objective is ``datafit + alpha * P(w)``.
    weights : array-like of shape (n_features,), optional
        Per-feature multipliers of the penalty; 0 leaves a feature unpenalized.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    lower, upper : float or array-like of shape (n_features,), optional
        Box constraints ``lower_j <= w_j <= upper_j`` (glmnet's ``lower.limits`` and
        ``upper.limits``): ``lower <= 0 <= upper``, infinite values allowed (None:
        unbounded). ``positive`` is the special case ``lower = 0``; ``lower = upper = 0``
        excludes a feature (glmnet's ``exclude``), and so does an infinite weight.
        The solvers clip the prox into the box (:mod:`penalized.penalties.bounds`); a
        bounded fit is certified by its KKT score (no duality gap).
    """

    alpha: float = 1.0
    weights: np.ndarray | None = None
    positive: bool = False
    lower: float | np.ndarray | None = None
    upper: float | np.ndarray | None = None

    #: Declared capabilities, read by solvers and estimators (no ``hasattr``).
    convex: ClassVar[bool] = True
    smooth: ClassVar[bool] = False
    separable: ClassVar[bool] = True
    #: Separable over blocks of features (``group_structure(n_features)`` gives them,
    #: ``group_distances(w, grad)`` the KKT violation of each): block coordinate descent.
    block_separable: ClassVar[bool] = False
    #: Registry name used by the CLI.
    name: ClassVar[str] = ""
    #: Row of the compiled operations in :mod:`penalized.penalties.compiled` (-1: none,
    #: the coordinate-descent kernel cannot serve this penalty).
    kernel_id: ClassVar[int] = -1
    #: ``r |w| + (1 - r) w^2 / 2`` with ``r = self.ratio`` (the PyTorch prox serves these).
    elastic_net_family: ClassVar[bool] = False
    #: Whether :meth:`orthant_model` gives the penalty exactly (quadratic on orthants).
    orthant_quadratic: ClassVar[bool] = False
    #: The PyTorch prox acts on whole units of a layer, not coordinates (only
    #: :class:`penalized.torch.NeuronGroupLasso`, which is not a linear-model penalty).
    unit_groups: ClassVar[bool] = False
    #: Whether ``P`` is bounded above (MCP, SCAD): a classification loss on separable
    #: data then has no finite minimizer at any alpha, as at alpha = 0.
    bounded_above: ClassVar[bool] = False

    def __post_init__(self):
        object.__setattr__(self, "alpha", _checked_alpha(self.alpha))
        if self.weights is not None:
            w = np.array(self.weights, dtype=float)
            if w.ndim != 1:
                raise ValueError(f"penalty weights must be 1-D, got shape {w.shape}")
            if np.any(np.isnan(w)) or np.any(w < 0):
                raise ValueError("penalty weights must be non-negative numbers "
                                 "(+inf excludes a feature)")
            w = _exclude_infinite(self, w)
            w.setflags(write=False)
            object.__setattr__(self, "weights", w)
        _check_box(self)
        self._check_params()

    def _check_params(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Validate shape parameters (override when there are some)."""

    # ---- helpers -----------------------------------------------------
    def with_alpha(self, alpha: float) -> Penalty:
        """Return a copy with another strength (never mutates ``self``). The other
        fields were validated when ``self`` was built and do not depend on alpha: they
        are shared, not validated again (``dataclasses.replace`` would, at several times
        the cost, once per alpha of a path)."""
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        object.__setattr__(other, "alpha", _checked_alpha(alpha))
        return other

    def check_n_features(self, n_features: int) -> None:  # noqa: B027 - optional hook
        """Raise one clear error if the penalty cannot apply to ``n_features`` features
        (e.g. groups naming a feature beyond them); :func:`make_problem` calls it."""

    @property
    def bounded(self) -> bool:
        """Whether box constraints (``lower`` / ``upper``) are set."""
        return self.lower is not None or self.upper is not None

    def bounds(self, n_features: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``(lower, upper)`` as arrays of shape (n_features,), or None when unbounded."""
        if not self.bounded:
            return None
        return tuple(_box_array(self, name, n_features) for name in ("lower", "upper"))

    def with_bounds(self, lower, upper) -> Penalty:
        """A copy with other box constraints (None: unbounded on that side)."""
        return dataclasses.replace(self, lower=lower, upper=upper)

    def for_scaled_columns(self, scale: np.ndarray) -> Penalty:
        """The penalty on columns divided by ``scale`` (standardization), whose
        coefficients are ``w_j * scale_j``: the bounds scale with them (glmnet's, on the
        original columns); the weights do not (they penalize the scaled coefficients)."""
        box = self.bounds(scale.shape[0])
        if box is None:
            return self
        return self.with_bounds(box[0] * scale, box[1] * scale)

    def feature_weights(self, n_features: int) -> np.ndarray:
        """Per-feature weights as a read-only array of shape (n_features,)."""
        return _check_weights(self.weights, n_features)

    def certificate_levels(self, n_features: int) -> np.ndarray | None:
        """Per-feature levels ``t_j`` below which a certificate cannot see the gradient.

        At a zero coefficient, an entry of ``v = -gradient`` with ``|v_j| <= t_j``
        (``v_j <= t_j`` if ``positive``) has KKT score 0 and changes neither
        :meth:`dual_scale` nor :meth:`conjugate`, so it may be known only within a
        bound (:mod:`penalized.core.gradient`). None, the default: every entry counts.
        """
        return None

    @property
    def params(self) -> tuple[float, float]:
        """Two shape parameters handed to the compiled scalar operators."""
        return (0.0, 0.0)

    def generalized_support(self, w: np.ndarray) -> np.ndarray:
        """Boolean mask of the features where the penalty is differentiable-away-from-0."""
        return np.asarray(w) != 0

    def __repr__(self) -> str:
        fields = [f"alpha={self.alpha:g}"]
        for f in dataclasses.fields(self):
            if f.name in ("alpha", "weights", "positive", "lower", "upper"):
                continue
            fields.append(f"{f.name}={getattr(self, f.name)!r}")
        if self.weights is not None:
            fields.append(f"weights=<{self.weights.shape[0]} values>")
        if self.positive:
            fields.append("positive=True")
        for name in ("lower", "upper"):
            value = getattr(self, name)
            if value is not None:
                fields.append(f"{name}={value:g}" if np.ndim(value) == 0
                              else f"{name}=<{np.size(value)} values>")
        return f"{type(self).__name__}({', '.join(fields)})"

    def __eq__(self, other) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        for f in dataclasses.fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if a is None or b is None or not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    # ---- the math (per coordinate, vectorized) -------------------------
    @abstractmethod
    def value(self, w: np.ndarray) -> float:
        """``alpha * P(w)``; ``w`` of shape (n_features,) or (n_features, n_outputs)."""

    @abstractmethod
    def prox(self, v: np.ndarray, step: float) -> np.ndarray:
        """``argmin_u ||u - v||^2 / (2 step) + alpha * P(u)`` (elementwise for separable)."""

    @abstractmethod
    def subdiff_distance(self, w: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """Per-feature distance of ``-grad`` to ``alpha * dP(w)`` (0 at a KKT point)."""

    @abstractmethod
    def alpha_max(self, grad_at_zero: np.ndarray) -> float:
        """Smallest alpha for which ``w = 0`` is optimal, given the datafit gradient at 0."""

    def gradient(self, w: np.ndarray) -> np.ndarray:
        """Gradient of ``alpha * P`` (smooth penalties only)."""
        raise TypeError(f"{type(self).__name__} is not smooth: it has no gradient")

    def dual_norm(self, v: np.ndarray) -> float:
        """Dual norm of ``v`` for the (homogeneous part of the) penalty, convex penalties."""
        raise TypeError(f"{type(self).__name__} has no dual norm")

    def conjugate(self, v: np.ndarray) -> float:
        """Fenchel conjugate of ``alpha * P`` at ``v`` (convex penalties)."""
        raise TypeError(f"{type(self).__name__} has no conjugate")

    def orthant_model(self, w: np.ndarray):
        """Gradient and diagonal Hessian of ``alpha P`` on the orthant of ``w``, or None.

        Used by the Newton step on the support; None when the penalty is not
        quadratic on orthants (``orthant_quadratic`` is False; the step is then skipped).
        """
        return None

    @property
    def strongly_convex(self) -> bool:
        """Whether ``alpha P`` has positive curvature in every penalized coordinate (a
        ridge part): a model restricted to any set of features then has a unique
        minimizer, whatever the rank of its columns."""
        return False

    @property
    def ridge(self) -> bool:
        """Whether ``alpha P(w) = alpha / 2 sum_j omega_j w_j^2`` with every ``omega_j > 0``
        and no constraint: with a quadratic datafit the minimizer is then one linear
        solve, and a whole path one decomposition (:mod:`penalized.workflows.paths`)."""
        return False

    @property
    def constrained_dual(self) -> bool:
        """Whether the conjugate of ``alpha P`` is finite only on a bounded set (a pure
        L1 part): the dual point of a certificate is then rescaled into it, and the
        duality gap is a loose bound until every feature's KKT violation is small."""
        return False

    def row_shifts(self, W: np.ndarray) -> np.ndarray | None:
        """Per row of a multiclass ``W``, the shift ``c_j`` minimizing ``P(W[j] - c_j)``,
        or None when the penalty offers none (softmax is invariant to such shifts, so
        the multinomial solver applies them as free descent steps)."""
        return None

    def dual_scale(self, v: np.ndarray) -> float:
        """Factor (>= 1) to divide a dual point by so that :meth:`conjugate` is finite."""
        return 1.0
