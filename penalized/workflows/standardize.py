"""Fitting on standardized columns, reporting on the original ones.

``standardize=True`` (in :func:`penalized.fit`, :func:`penalized.path`,
:func:`penalized.cross_validate`, the CLI and the estimators) scales every
column to unit weighted variance before fitting, so that the penalty treats
features equally (glmnet's default), and maps the coefficients back:
``coef = coef_scaled / scale`` and ``intercept = intercept_scaled - shift @ coef``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from ..core.problem import Problem
from ..core.results import FitResult, PathResult

#: a column whose weighted standard deviation is below this fraction of its root mean
#: square is constant up to rounding (the centered second moment of a truly constant
#: column is ~1e-16 of it); relative, so that a column on any scale counts
CONSTANT_RELATIVE_STD = 1e-10


def unit_scale(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``std``, with 1 for the columns constant up to rounding (:data:`CONSTANT_RELATIVE_STD`
    of the root mean square ``sqrt(mean^2 + std^2)``): the one rule for data in memory
    (:func:`feature_moments`) and for moments (:meth:`.sufficient.Moments.column_scale`)."""
    rms = np.sqrt(mean**2 + std**2)
    return np.where((std == 0) | (std <= CONSTANT_RELATIVE_STD * rms), 1.0, std)


def _centered_second_moment(X, s: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """``sum_i s_i (x_ij - mean_j)^2`` with ``sum(s) == 1``, computed centered (no
    cancellation): for sparse X over the stored entries plus the implicit zeros."""
    if not sp.issparse(X):
        return s @ ((X - mean) ** 2)
    X = sp.csc_matrix(X)
    counts = np.diff(X.indptr)
    cols = np.repeat(np.arange(X.shape[1]), counts)
    w = s[X.indices]
    stored = np.bincount(cols, weights=w * (X.data - mean[cols]) ** 2, minlength=X.shape[1])
    stored_weight = np.bincount(cols, weights=w, minlength=X.shape[1])
    return stored + np.maximum(1.0 - stored_weight, 0.0) * mean**2


def feature_moments(X, sample_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean and standard deviation of every column (std 1 for constant columns,
    judged relative to the column's own scale: :func:`unit_scale`)."""
    s = sample_weight / sample_weight.sum()
    mean = np.asarray(X.T @ s).ravel() if sp.issparse(X) else s @ X
    std = np.sqrt(np.maximum(_centered_second_moment(X, s, mean), 0.0))
    return mean, unit_scale(mean, std)


def standardized(problem: Problem, standardize: bool
                 ) -> tuple[Problem, np.ndarray, np.ndarray]:
    """Columns scaled to unit weighted variance; returns ``(problem, shift, scale)``.

    Dense X is also centered when an intercept is fitted (the intercept absorbs
    the means, and centering keeps the problem well conditioned); sparse X is
    only scaled, so that it stays sparse. The solution is the same either way.
    """
    p = problem.n_features
    if not standardize:
        return problem, np.zeros(p), np.ones(p)
    mean, scale = feature_moments(problem.X, problem.sample_weight)
    if sp.issparse(problem.X) or not problem.fit_intercept:
        shift = np.zeros(p)
        X = (problem.X @ sp.diags(1.0 / scale)).tocsc() if sp.issparse(problem.X) \
            else np.asfortranarray(problem.X / scale)
        if sp.issparse(X):
            X.sort_indices()
    else:
        shift = mean
        X = np.asfortranarray((problem.X - mean) / scale)
    scaled = problem.with_data(X=X)
    return scaled.with_penalty(problem.penalty.for_scaled_columns(scale)), shift, scale


def unscale_path(res: PathResult, shift: np.ndarray, scale: np.ndarray) -> PathResult:
    """A path fitted on ``(X - shift) / scale``, back on the original columns."""
    shape = (1, -1) + (1,) * (res.coefs.ndim - 2)
    coefs = res.coefs / scale.reshape(shape)
    intercepts = res.intercepts - np.tensordot(coefs, shift, axes=([1], [0]))
    return dataclasses.replace(res, coefs=coefs, intercepts=intercepts)


def unscale_fit(res: FitResult, shift: np.ndarray, scale: np.ndarray) -> FitResult:
    """A fit on ``(X - shift) / scale``, back on the original columns."""
    coef = res.coef / (scale if res.coef.ndim == 1 else scale[:, None])
    intercept = res.intercept - shift @ coef
    if np.ndim(intercept) == 0:
        intercept = float(intercept)
    return dataclasses.replace(res, coef=coef, intercept=intercept)


def scale_init(init, shift: np.ndarray, scale: np.ndarray):
    """A warm start ``(coef, intercept)`` on the original columns, in standardized ones."""
    if init is None:
        return None
    if isinstance(init, FitResult):
        coef, b = init.coef, init.intercept
    elif isinstance(init, tuple) and len(init) == 2:
        coef, b = init
    else:
        return None  # a bare coefficient vector: no intercept to map, start cold
    coef = np.asarray(coef, dtype=float)
    scaled = coef * (scale if coef.ndim == 1 else scale[:, None])
    return scaled, np.asarray(b, dtype=float) + shift @ coef
