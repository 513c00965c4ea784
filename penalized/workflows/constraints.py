"""glmnet's constraint options on a path: ``exclude``, ``dfmax`` and ``pmax``.

* ``exclude``: features forced to 0. They become the box ``[0, 0]``
  (:mod:`penalized.penalties.bounds`), so every solver serves them by the same clip.
* ``dfmax``: the path stops before the first fit with more than ``dfmax`` nonzero
  coefficients (features, for a multiclass fit: a row with any nonzero entry).
* ``pmax``: the path stops before the first fit at which more than ``pmax`` features have
  ever been nonzero along the path.

A path cut short keeps the fits within the limits (every returned fit satisfies them;
glmnet also keeps the first fit beyond ``dfmax``) and says so in
:attr:`penalized.PathResult.truncation`.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..penalties import Penalty


def check_limit(value, name: str) -> int | None:
    """``dfmax`` / ``pmax`` as a non-negative int (None: no limit), or one clear error."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def n_columns(X) -> int:
    """The number of columns of X before validation (0 if it is not 2-D: the validation
    of X then says what is wrong)."""
    shape = getattr(X, "shape", None)
    if shape is None:
        shape = np.shape(X)
    return int(shape[1]) if len(shape) == 2 else 0


def exclusion_mask(exclude, n_features: int, feature_names=None) -> np.ndarray:
    """``exclude`` (indices, column names when X has them, or a boolean mask) as a
    boolean mask of shape (n_features,)."""
    items = np.atleast_1d(np.asarray(exclude, dtype=object))
    mask = np.zeros(n_features, dtype=bool)
    if items.size and all(isinstance(v, bool | np.bool_) for v in items):
        if items.size != n_features:
            raise ValueError(f"exclude as a mask has {items.size} entries but X has "
                             f"{n_features} features")
        return items.astype(bool)
    names = list(feature_names) if feature_names is not None else []
    for item in items:
        if isinstance(item, str):
            if item not in names:
                raise ValueError(f"exclude names the column {item!r}, which X does not have"
                                 + (f" (columns: {', '.join(names[:8])}...)" if names else
                                    ": give column indices for an array"))
            mask[names.index(item)] = True
        elif isinstance(item, numbers.Integral) and -n_features <= int(item) < n_features:
            mask[int(item)] = True
        else:
            raise ValueError(f"exclude holds {item!r}: give column indices in "
                             f"[0, {n_features}) or column names")
    return mask


def exclude_features(penalty: Penalty, exclude, n_features: int, feature_names=None
                     ) -> Penalty:
    """The penalty with the ``exclude`` d features boxed into ``[0, 0]`` (None: as is)."""
    if exclude is None:
        return penalty
    mask = exclusion_mask(exclude, n_features, feature_names)
    if not mask.any():
        return penalty
    box = penalty.bounds(n_features)
    lower, upper = box if box is not None else (np.full(n_features, -np.inf),
                                                np.full(n_features, np.inf))
    lower, upper = lower.copy(), upper.copy()
    lower[mask] = upper[mask] = 0.0
    return penalty.with_bounds(lower, upper)


def features_used(coef: np.ndarray) -> np.ndarray:
    """Boolean mask of the features with a nonzero coefficient (any class)."""
    return np.any(coef.reshape(coef.shape[0], -1) != 0, axis=1)


class PathLimits:
    """Tracks ``dfmax`` / ``pmax`` along a path: :meth:`exceeded` after each fit."""

    def __init__(self, dfmax: int | None, pmax: int | None, n_features: int):
        self.dfmax, self.pmax = check_limit(dfmax, "dfmax"), check_limit(pmax, "pmax")
        self.ever = np.zeros(n_features, dtype=bool)

    @property
    def active(self) -> bool:
        return self.dfmax is not None or self.pmax is not None

    def exceeded(self, coef: np.ndarray, alpha: float) -> str:
        """Why the fit ``coef`` at ``alpha`` breaks a limit ("" if it does not)."""
        used = features_used(coef)
        self.ever |= used
        if self.dfmax is not None and used.sum() > self.dfmax:
            return (f"dfmax={self.dfmax}: the fit at alpha={alpha:.4g} has {int(used.sum())} "
                    "nonzero coefficients")
        if self.pmax is not None and self.ever.sum() > self.pmax:
            return (f"pmax={self.pmax}: {int(self.ever.sum())} features have been nonzero "
                    f"by alpha={alpha:.4g}")
        return ""

    def cut(self, coefs: np.ndarray, alphas: np.ndarray) -> tuple[int, str]:
        """``(fits kept, reason)`` for a path solved in full (the compiled driver)."""
        if not self.active:
            return coefs.shape[0], ""
        for k in range(coefs.shape[0]):
            why = self.exceeded(coefs[k], float(alphas[k]))
            if why:
                return k, why
        return coefs.shape[0], ""


def truncation_note(why: str, kept: int, total: int) -> str:
    """The sentence :attr:`PathResult.truncation` holds (or a clear error at the first fit)."""
    if kept == 0:
        raise ValueError(f"{why} already at the first alpha: start the grid at a larger "
                         "alpha or raise the limit")
    return f"stopped after {kept} of {total} alphas: {why}"
