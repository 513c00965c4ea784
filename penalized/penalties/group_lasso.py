r"""Group penalties: the group lasso and the sparse group lasso.

.. math::  \alpha \Big( r \sum_j \omega_j |w_j| + (1 - r) \sum_g v_g \|w_g\|_2 \Big)

``GroupLasso`` is ``r = 0`` (Yuan and Lin, 2006), ``SparseGroupLasso(l1_ratio=r)``
the mix (Simon, Friedman, Hastie and Tibshirani, 2013); ``r = 1`` is the lasso. The
group weights ``v_g`` default to ``sqrt(|g|)`` (skglm's and grpreg's default). Not
separable: coordinate descent cannot serve them; the block coordinate descent solver
(:mod:`penalized.solvers.cd.block`) does, and FISTA through :meth:`prox`. Solvers read
``block_separable`` and :meth:`group_structure`, never the class.

The math is written once, compiled, in :mod:`.group_lasso_compiled`; this module
validates and routes. Coefficients are 1-D (one column per class is not supported).
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, ClassVar

import numpy as np

from . import group_lasso_compiled as _compiled
from .base import Penalty
from .groups import GroupStructure, normalize_groups, structure

#: relative slack of the dual feasibility test of :meth:`conjugate` (the gauge is found
#: by bisection and the dual point divided by it: both round)
FEASIBLE_SLACK = 1e-9


def _flat(a) -> np.ndarray:
    """C-contiguous writable float64 (one numba specialization for every caller)."""
    a = np.ascontiguousarray(a, dtype=float)
    return a if a.flags.writeable else a.copy()


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class _GroupFamily(Penalty):
    """Shared implementation; the public classes fix or expose ``l1_ratio``.

    ``weights`` (per feature) multiply the L1 part; a weight of 0 takes a feature out
    of its group, unpenalized. ``group_weights``: one per group named in ``groups``.
    """

    groups: Any = 1
    group_weights: np.ndarray | None = None

    separable: ClassVar[bool] = False
    #: separable over the blocks of :meth:`group_structure` (block coordinate descent)
    block_separable: ClassVar[bool] = True

    @property
    def mix(self) -> float:
        """``r``: the share of the L1 part."""
        raise NotImplementedError

    def _check_params(self) -> None:
        object.__setattr__(self, "groups", normalize_groups(self.groups))
        if self.group_weights is not None:
            v = np.array(self.group_weights, dtype=float)
            if v.ndim != 1 or not np.all(np.isfinite(v)) or np.any(v < 0):
                raise ValueError("group_weights must be a 1-D array of finite numbers >= 0")
            v.setflags(write=False)
            object.__setattr__(self, "group_weights", v)
        object.__setattr__(self, "_structures", {})

    # ---- the groups ----------------------------------------------------------------
    def with_alpha(self, alpha: float) -> _GroupFamily:
        """A copy with another strength; it shares the memo of group structures (they do
        not depend on alpha, and a path makes a copy per alpha)."""
        other = dataclasses.replace(self, alpha=alpha)
        object.__setattr__(other, "_structures", self._structures)
        return other

    def _memo(self, n_features: int):
        """``(structure, feature weights)`` over ``n_features`` features; memoized (pure
        functions of the fields other than alpha)."""
        memo = self._structures
        if n_features not in memo:
            omega = super().feature_weights(n_features)
            s = structure(self.groups, self.group_weights, omega, self.mix)
            free = s.group_of < 0
            if np.any(free & (omega > 0)):
                omega = np.where(free, 0.0, omega)
                omega.setflags(write=False)
            memo[n_features] = (s, omega)
        return memo[n_features]

    def group_structure(self, n_features: int) -> GroupStructure:
        """The groups over ``n_features`` features (:class:`.groups.GroupStructure`),
        checked against them."""
        return self._memo(n_features)[0]

    def check_n_features(self, n_features: int) -> None:
        self.group_structure(n_features)

    def feature_weights(self, n_features: int) -> np.ndarray:
        """The L1 weights, 0 on the unpenalized features (in no group)."""
        return self._memo(n_features)[1]

    def _parts(self, n_features: int, step: float = 1.0):
        """``(structure, per-feature L1 thresholds, group-norm scale)`` of
        ``step * alpha * P``."""
        s = self.group_structure(n_features)
        scale = step * self.alpha
        l1 = np.ascontiguousarray(scale * self.mix * self.feature_weights(n_features))
        return s, l1, scale * (1.0 - self.mix)

    @staticmethod
    def _vector(w) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        if w.ndim != 1:
            raise ValueError(f"group penalties take one coefficient per feature (1-D), got "
                             f"shape {w.shape}; multiclass coefficients are not supported")
        return _flat(w)

    # ---- the math --------------------------------------------------------------------
    def value(self, w):
        w = self._vector(w)
        s = self.group_structure(w.shape[0])
        omega = np.ascontiguousarray(self.feature_weights(w.shape[0]))
        return float(self.alpha * _compiled.sgl_value(w, s.indptr, s.indices, s.weights,
                                                      omega, self.mix))

    def prox(self, v, step):
        v = self._vector(v)
        s, l1, c = self._parts(v.shape[0], step)
        return _compiled.sgl_prox(v, s.indptr, s.indices, s.weights, l1, c, self.positive)

    def subdiff_distance(self, w, grad):
        """Per feature, the distance of its group's ``-grad_g`` to ``alpha dP(w)_g``
        (the KKT violation of the group; the maximum is the certificate's)."""
        w = self._vector(w)
        s, l1, c = self._parts(w.shape[0])
        return _compiled.sgl_distances(w, _flat(grad), s.indptr, s.indices, s.weights,
                                       s.group_of, l1, c, self.positive)

    def group_distances(self, w, grad) -> np.ndarray:
        """Per group of :meth:`group_structure`, the KKT violation."""
        w = self._vector(w)
        s, l1, c = self._parts(w.shape[0])
        return _compiled.sgl_group_distances(w, _flat(grad), s.indptr, s.indices,
                                             s.weights, l1, c, self.positive)

    def _gauges(self, v) -> np.ndarray:
        v = self._vector(v)
        m = np.maximum(v, 0.0) if self.positive else np.abs(v)
        s = self.group_structure(v.shape[0])
        a = np.ascontiguousarray(self.mix * self.feature_weights(v.shape[0]))
        return _compiled.sgl_gauges(m, s.indptr, s.indices, s.weights, a, 1.0 - self.mix)

    def dual_norm(self, v):
        """``max_g`` of each group's gauge: ``||v_g|| / v_g`` for the group lasso, the
        epsilon-norm of the group for the sparse group lasso (unpenalized features
        left out)."""
        return float(np.max(self._gauges(v), initial=0.0))

    def alpha_max(self, grad_at_zero):
        """The dual norm of ``-grad`` (two units of rounding above it: the prox of a
        gradient step from 0 then stays exactly 0)."""
        return float(self.dual_norm(-np.asarray(grad_at_zero, dtype=float))
                     * (1.0 + 4.0 * np.finfo(float).eps))

    def conjugate(self, v):
        """``alpha P`` is a norm (on the penalized features): its conjugate is 0 on the
        dual ball of radius alpha and infinite outside (unpenalized features are left
        out, as for the elastic net: the KKT part of a certificate covers them)."""
        return 0.0 if self.dual_norm(v) <= self.alpha * (1.0 + FEASIBLE_SLACK) else np.inf

    def dual_scale(self, v) -> float:
        if self.alpha == 0.0:
            return 1.0
        return max(1.0, self.dual_norm(v) / self.alpha)

    @property
    def constrained_dual(self) -> bool:
        return self.alpha > 0.0

    def __repr__(self) -> str:
        groups = self.groups
        if not isinstance(groups, int):  # a digest: repr names a penalty exactly (the
            # checkpoint fingerprint reads it) without printing thousands of indices
            labels = isinstance(groups, np.ndarray)
            text = repr(groups.tolist() if labels else groups)
            digest = hashlib.sha1(text.encode()).hexdigest()[:10]
            groups = f"<{len(groups)} {'labels' if labels else 'groups'} {digest}>"
        fields = [f"alpha={self.alpha:g}", f"groups={groups}"]
        for f in dataclasses.fields(self):
            if f.name not in ("alpha", "weights", "positive", "groups", "group_weights"):
                fields.append(f"{f.name}={getattr(self, f.name)!r}")
        if self.group_weights is not None:
            fields.append(f"group_weights=<{self.group_weights.shape[0]} values>")
        if self.weights is not None:
            fields.append(f"weights=<{self.weights.shape[0]} values>")
        if self.positive:
            fields.append("positive=True")
        return f"{type(self).__name__}({', '.join(fields)})"


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class GroupLasso(_GroupFamily):
    r"""Group lasso :math:`\alpha \sum_g v_g \|w_g\|_2`: whole groups become exactly 0.

    Parameters
    ----------
    alpha : float, default=1.0
    groups : int, sequence of index arrays, or array-like of labels, default=1
        A group size (consecutive groups), the features of each group (a feature in
        no group is a group of its own), or one label per feature (equal labels form
        a group; groups in the order of first appearance).
    group_weights : array-like, optional
        ``v_g``, one per group named in ``groups`` (default ``sqrt(|g|)``); 0 leaves a
        group unpenalized.
    weights : array-like of shape (n_features,), optional
        0 takes a feature out of its group, unpenalized (other values are the L1
        weights of :class:`SparseGroupLasso` and change nothing here).
    positive : bool, default=False

    Examples
    --------
    >>> import penalized as pz
    >>> pz.GroupLasso(alpha=1.0, groups=[[0, 1], [2]]).prox([3.0, 4.0, 0.5], step=1.0)
    array([2.15147186, 2.86862915, 0.        ])
    """

    name: ClassVar[str] = "group-lasso"

    @property
    def mix(self) -> float:
        return 0.0


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class SparseGroupLasso(_GroupFamily):
    r"""Sparse group lasso
    :math:`\alpha (r \sum_j \omega_j |w_j| + (1 - r) \sum_g v_g \|w_g\|_2)`.

    Zeros whole groups and single features inside the others. ``l1_ratio = 1`` is the
    lasso, ``0`` the group lasso; ``groups``, ``group_weights``, ``weights`` (the
    ``omega_j``; 0: unpenalized) and ``positive`` as in :class:`GroupLasso`.

    Examples
    --------
    >>> import penalized as pz
    >>> pen = pz.SparseGroupLasso(alpha=1.0, groups=[[0, 1], [2]], l1_ratio=0.5)
    >>> pen.prox([3.0, 0.2, 0.5], step=1.0).round(3).tolist()
    [1.793, 0.0, 0.0]
    """

    l1_ratio: float = 0.5
    name: ClassVar[str] = "sparse-group-lasso"

    def _check_params(self) -> None:
        r = float(self.l1_ratio)
        if not (0.0 <= r <= 1.0):
            raise ValueError(f"l1_ratio must be in [0, 1], got {self.l1_ratio!r}")
        object.__setattr__(self, "l1_ratio", r)
        super()._check_params()

    @property
    def mix(self) -> float:
        return self.l1_ratio
