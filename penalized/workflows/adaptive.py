r"""The adaptive lasso (Zou, 2006): an L1 penalty weighted by a first fit.

Stage one fits ``first`` ("ridge" or "lasso") at a given alpha or at the alpha chosen by
its own K-fold cross-validation; stage two is the lasso with per-feature weights

.. math::  \omega_j = 1 / |\hat w_j|^\gamma,

so that features the first fit finds large are penalized little (the oracle property
for ``gamma > 0`` and a consistent first stage). A feature the first fit sets to 0 gets
an infinite weight: it is excluded (the box ``[0, 0]``, :mod:`penalized.penalties.bounds`).

Cross-validating the second stage's alpha (:func:`adaptive_cross_validate`) refits the
*whole* two-stage procedure on every training fold, its first stage and that stage's own
choice of alpha included: weights computed once on all rows would have seen the
held-out fold, and the CV error would be optimistic. The folds share the full data's
alpha grid, so each fit's weights are normalized to mean 1 over the penalized features
(glmnet rescales ``penalty.factor`` the same way): the grid then means the same in
every fold.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..core.datafits import Datafit, LeastSquares
from ..core.problem import Problem, make_problem
from ..penalties import L1, L2
from .cv import GridEdgeWarning, _summarize, cross_validate, make_splits
from .cv_tasks import _full_path, _grid_for, score_path, subset_problem
from .fitting import DEFAULT_TOL, column_names, fit
from .paths import describe_path, path_problem
from .scoring import get_scorer
from .standardize import standardized, unscale_path

FIRST_STAGES = {"ridge": L2, "lasso": L1}


def _check(first, gamma) -> float:
    if first not in FIRST_STAGES:
        raise ValueError(f"first must be 'ridge' or 'lasso', got {first!r}")
    if isinstance(gamma, bool) or not isinstance(gamma, int | float | np.number) \
            or not (np.isfinite(gamma) and gamma > 0):
        raise ValueError(f"gamma must be a positive number, got {gamma!r}")
    return float(gamma)


def adaptive_weights(X, y, datafit: Datafit | None = None, *, first: str = "ridge",
                     gamma: float = 1.0, alpha: float | None = None, cv=5,
                     n_alphas: int = 50, fit_intercept: bool = True, sample_weight=None,
                     standardize: bool = False, normalize: bool = False,
                     tol: float = DEFAULT_TOL) -> np.ndarray:
    r"""Adaptive-lasso weights ``1 / |w_j|^gamma`` from a first-stage fit.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    datafit : Datafit, default=LeastSquares()
    first : {"ridge", "lasso"}, default="ridge"
        The first stage's penalty.
    gamma : float > 0, default=1.0
        The exponent.
    alpha : float, optional
        The first stage's alpha; None: the ``alpha_min`` of its own K-fold
        cross-validation (``cv`` folds, ``n_alphas`` alphas, the default scoring of
        :func:`penalized.cross_validate`).
    fit_intercept, sample_weight, standardize, tol :
        As in :func:`penalized.fit`, for the first stage (with ``standardize`` its
        coefficients are on the original scale, as the second stage sees them).
    normalize : bool, default=False
        Divide the weights by their mean over the finite ones (what cross-validation
        over the two stages does in each fit; module docstring).

    Returns
    -------
    ndarray of shape (n_features,)
        The weights; ``inf`` where the first fit is 0 (``pz.L1(weights=...)`` then
        excludes the feature). For a multiclass datafit ``|w_j|`` is the norm of the
        feature's row of coefficients.

    Examples
    --------
    >>> import numpy as np, penalized as pz
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 4)); y = 2 * X[:, 0] + 0.1 * rng.standard_normal(60)
    >>> w = pz.adaptive_weights(X, y, alpha=0.01)
    >>> bool(w[0] < w[1:].min())
    True
    """
    gamma = _check(first, gamma)
    datafit = LeastSquares() if datafit is None else datafit
    pen = FIRST_STAGES[first]()
    options = dict(fit_intercept=fit_intercept, sample_weight=sample_weight,
                   standardize=standardize, tol=tol)
    if alpha is None:
        chosen = cross_validate(X, y, datafit, pen, cv=cv, n_alphas=n_alphas, **options)
        coef = chosen.coef("min")
    else:
        coef = fit(X, y, datafit, pen, alpha=alpha, **options).coef
    size = np.abs(coef) if coef.ndim == 1 else np.linalg.norm(coef, axis=1)
    with np.errstate(divide="ignore"):
        weights = np.where(size > 0, 1.0 / size**gamma, np.inf)
    return normalized(weights) if normalize else weights


def normalized(weights: np.ndarray) -> np.ndarray:
    """``weights`` divided by their mean over the finite, positive ones."""
    finite = np.isfinite(weights) & (weights > 0)
    return weights / np.mean(weights[finite]) if finite.any() else weights


def _stage_two(problem: Problem, first: str, gamma: float, first_alpha, first_cv,
               standardize: bool, tol: float) -> Problem:
    """``problem`` with the adaptive L1 penalty of its own first stage (normalized)."""
    weights = adaptive_weights(problem.X, problem.y, problem.datafit, first=first,
                               gamma=gamma, alpha=first_alpha, cv=first_cv,
                               fit_intercept=problem.fit_intercept,
                               sample_weight=problem.sample_weight,
                               standardize=standardize, normalize=True, tol=tol)
    return problem.with_penalty(L1(weights=weights))


def adaptive_cross_validate(X, y, datafit: Datafit | None = None, *, first: str = "ridge",
                            gamma: float = 1.0, first_alpha: float | None = None,
                            first_cv=5, cv=5, n_alphas: int = 100,
                            alpha_min_ratio: float | None = None, alphas=None,
                            scoring=None, groups=None, sample_weight=None,
                            fit_intercept: bool = True, standardize: bool = False,
                            tol: float = DEFAULT_TOL, max_iter: int | None = None):
    """K-fold cross-validation of the whole adaptive lasso (module docstring).

    Parameters are those of :func:`penalized.cross_validate` and of
    :func:`adaptive_weights` (``first_alpha``, ``first_cv``: its ``alpha`` and ``cv``).

    Returns
    -------
    (CVResult, weights, fold_weights)
        The scores along the full data's alpha grid (``result.path``: the full data's
        adaptive path), the full data's weights (n_features,) and every training fold's
        (n_folds, n_features): each fold's first stage saw its training rows only.
    """
    gamma = _check(first, gamma)
    datafit = LeastSquares() if datafit is None else datafit
    scorer = get_scorer(scoring, datafit)
    problem = make_problem(X, y, datafit, L1(), fit_intercept=fit_intercept,
                           sample_weight=sample_weight)
    splits = make_splits(cv, problem, groups)
    stage = dict(first=first, gamma=gamma, first_alpha=first_alpha, first_cv=first_cv,
                 standardize=standardize, tol=tol)
    full = _stage_two(problem, **stage)
    grid = _grid_for(full, standardize, n_alphas, alpha_min_ratio, alphas)
    options = {"tol": tol, "max_iter": max_iter}
    scores, fold_weights = [], []
    for train, test in splits:
        with warnings.catch_warnings():  # a fold's first stage at its grid's edge: noise
            warnings.simplefilter("ignore", GridEdgeWarning)
            fold = _stage_two(subset_problem(problem, train), **stage)
        fold_weights.append(_weights_of(fold))
        sub, shift, scale = standardized(fold, standardize)
        res = unscale_path(path_problem(sub, alphas=grid, **options), shift, scale)
        scores.append(score_path(problem, test, scorer, res.coefs, res.intercepts))
    path = describe_path(_full_path(full, grid, standardize, options), full.fit_intercept,
                         standardize, column_names(X))
    result = _summarize(grid[None, :], np.array(scores)[None], scorer, (path,),
                        [full.penalty], None)
    return result, _weights_of(full), np.array(fold_weights)


def _weights_of(problem: Problem) -> np.ndarray:
    """The penalty's weights, ``inf`` where the feature is excluded (box [0, 0])."""
    weights = np.array(problem.penalty.feature_weights(problem.n_features))
    box = problem.penalty.bounds(problem.n_features)
    if box is None:
        return weights
    return np.where((box[0] == 0) & (box[1] == 0), np.inf, weights)
