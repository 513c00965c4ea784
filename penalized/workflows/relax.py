r"""The relaxed lasso (glmnet's ``relax = TRUE``): each fit of a path refitted without
penalty on its support, and the blend of the two chosen by cross-validation.

For the fit at ``alpha`` with support ``S`` (its nonzero coefficients), the relaxed fit
minimizes the datafit alone over ``(w_S, b)``, the other coefficients 0 (damped Newton,
:func:`penalized.core.newton.damped_newton`: one exact step for least squares). The
model at ``gamma`` in [0, 1] is ``gamma * penalized + (1 - gamma) * relaxed``
(:meth:`penalized.PathResult.mixed`): 1 is the lasso, 0 the unpenalized refit, which
keeps the lasso's selection without its shrinkage (Meinshausen, 2007; Hastie, Tibshirani
and Tibshirani, 2020).

A support whose refit has no unique finite minimizer (columns, intercept included, of
rank below ``|S| + 1``; or, for a classification loss, classes that the refit separates
perfectly) is refitted with a tiny ridge, ``RELAX_RIDGE`` times the mean curvature of its
columns, and a :class:`RelaxWarning` names the alphas concerned: the ridge picks the
minimizer of smallest norm, or a large but finite point along the separating direction.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from ..core.newton import damped_newton
from ..core.problem import Problem
from ..core.results import PathResult
from .constraints import features_used
from .cv_tasks import (
    Plan,
    RouteOptions,
    _full_path,
    _grid_for,
    _make_tasks,
    fitted_rows,
    score_path,
    subset_problem,
)
from .fitting import separates
from .paths import path_problem
from .scoring import Scorer
from .standardize import standardized, unscale_path

#: the relative ridge of a refit without a unique finite minimizer (module docstring)
RELAX_RIDGE = 1e-6
#: glmnet's default gammas for ``cv.glmnet(relax = TRUE)``
DEFAULT_GAMMAS = (0.0, 0.25, 0.5, 0.75, 1.0)


class RelaxWarning(UserWarning):
    """A relaxed refit had no unique finite minimizer and used a tiny ridge."""


def check_relaxable(problem: Problem) -> None:
    """One clear error where the relaxed refit is not defined here."""
    if problem.datafit.multiclass:
        raise ValueError(f"relax=True is not available for the multiclass datafit "
                         f"{type(problem.datafit).__name__}")
    box = problem.penalty.bounds(problem.n_features)
    if box is not None and np.any((box[0] != 0) & np.isfinite(box[0])
                                  | (box[1] != 0) & np.isfinite(box[1])):
        raise ValueError("relax=True refits without constraints: it serves excluded "
                         "features (bounds [0, 0]) but no other lower / upper bounds")


def check_gammas(gammas) -> np.ndarray:
    """``gammas`` as a sorted array in [0, 1], or one clear error."""
    g = np.atleast_1d(np.asarray(gammas, dtype=float))
    if g.size == 0 or g.ndim != 1 or not np.all((g >= 0) & (g <= 1)):
        raise ValueError(f"gammas must be a non-empty list of numbers in [0, 1], "
                         f"got {gammas!r}")
    return np.unique(g)


def refit_support(problem: Problem, support: np.ndarray, coef_s: np.ndarray, b: float,
                  ridge: float = 0.0) -> np.ndarray:
    """``(w_S, b)`` minimizing ``datafit + ridge ||w_S||^2 / 2`` from ``(coef_s, b)``."""
    y, s, datafit, n = problem.y, problem.sample_weight, problem.datafit, problem.n_samples
    X_s = problem.X[:, support]
    A = X_s.toarray() if problem.is_sparse else np.asarray(X_s, dtype=float)
    if problem.fit_intercept:
        A = np.column_stack([A, np.ones(n)])
    penalized = np.arange(A.shape[1]) < support.shape[0]  # the intercept is not
    theta = np.append(coef_s, b) if problem.fit_intercept else np.array(coef_s, float)
    if theta.size == 0:  # no intercept and an empty support: nothing to fit
        return theta

    def value(theta):
        return datafit.value(y, A @ theta, s) + 0.5 * ridge * float(theta[penalized] @
                                                                    theta[penalized])

    def direction(theta):
        z = A @ theta
        g = A.T @ (s * datafit.dloss(y, z)) / n + ridge * penalized * theta
        H = A.T @ ((s * datafit.d2loss(y, z))[:, None] * A) / n + np.diag(ridge * penalized)
        return np.linalg.lstsq(H, g, rcond=None)[0]

    quadratic = datafit.quadratic
    return damped_newton(value, direction, theta, max_iter=1 if quadratic and ridge == 0
                         else 100, max_halvings=40)


def _degenerate(problem: Problem, support: np.ndarray, theta: np.ndarray) -> bool:
    """Whether the refit on ``support`` has no unique finite minimizer (module docstring)."""
    X_s = problem.X[:, support]
    A = X_s.toarray() if problem.is_sparse else np.asarray(X_s, dtype=float)
    if problem.fit_intercept:
        A = np.column_stack([A, np.ones(problem.n_samples)])
    used = problem.sample_weight > 0
    if A.shape[1] and np.linalg.matrix_rank(A[used]) < A.shape[1]:
        return True
    if problem.datafit.task != "classification":
        return False
    coef = np.zeros(problem.n_features)
    coef[support] = theta[:support.shape[0]]
    return separates(problem, coef, theta[-1] if problem.fit_intercept else 0.0)


def _ridge_level(problem: Problem, support: np.ndarray) -> float:
    """``RELAX_RIDGE`` times the mean weighted second moment of the support's columns."""
    norms = problem.column_norms2[support]
    return RELAX_RIDGE * float(np.mean(norms)) if norms.size else RELAX_RIDGE


def relaxed_fit(problem: Problem, coef: np.ndarray, b: float) -> tuple[np.ndarray, float, bool]:
    """The relaxed refit of one fit: ``(coef, intercept, used_ridge)``."""
    support = np.flatnonzero(features_used(coef))
    theta = refit_support(problem, support, coef[support], b)
    ridge = _degenerate(problem, support, theta)
    if ridge:
        theta = refit_support(problem, support, coef[support], b, _ridge_level(problem, support))
    out = np.zeros_like(coef)
    out[support] = theta[:support.shape[0]]
    intercept = float(theta[-1]) if problem.fit_intercept else 0.0
    return out, intercept, ridge


def relaxed_path(res: PathResult, problem: Problem) -> PathResult:
    """``res`` with ``relaxed_coefs`` and ``relaxed_intercepts`` (one refit per distinct
    support, reused along the path); ``problem``: the data of the path, unstandardized
    (the unpenalized refit does not depend on the columns' scale)."""
    check_relaxable(problem)
    coefs = np.zeros_like(res.coefs)
    intercepts = np.zeros_like(res.intercepts)
    done: dict[bytes, tuple] = {}
    degenerate = []
    for k in range(len(res)):
        key = features_used(res.coefs[k]).tobytes()
        if key not in done:
            done[key] = relaxed_fit(problem, res.coefs[k], float(res.intercepts[k]))
            if done[key][2]:
                degenerate.append(k)
        coefs[k], intercepts[k] = done[key][0], done[key][1]
    if degenerate:
        warnings.warn(
            f"the relaxed refit has no unique finite minimizer at {len(degenerate)} "
            f"support(s) (the first at alpha={res.alphas[degenerate[0]]:.4g}: collinear "
            "columns, more features than samples, or separated classes); those refits "
            f"use a ridge of {RELAX_RIDGE:g} times the columns' mean curvature",
            RelaxWarning, stacklevel=3)
    return dataclasses.replace(res, relaxed_coefs=coefs, relaxed_intercepts=intercepts)


# ---- cross-validation over (alpha, gamma) --------------------------------------------
def _relaxed_fold_scores(problem: Problem, train, test, grid, scorer: Scorer,
                         standardize: bool, gammas, options: dict) -> np.ndarray:
    """The training fold's relaxed path over ``grid``, scored on ``test`` at every
    ``gamma``: shape (n_gammas, n_alphas)."""
    fold = subset_problem(problem, train)
    sub, shift, scale = standardized(fold, standardize)
    res = unscale_path(path_problem(sub, alphas=grid, **options), shift, scale)
    with warnings.catch_warnings():  # (the full-data path reports its own refits)
        warnings.simplefilter("ignore", RelaxWarning)
        res = relaxed_path(res, fold)
    rows = []
    for gamma in gammas:
        mix = res.mixed(gamma)
        rows.append(score_path(problem, test, scorer, mix.coefs, mix.intercepts))
    return np.array(rows)


def relax_plan(problem: Problem, splits, penalty, scorer: Scorer, how: RouteOptions,
               gammas: np.ndarray) -> Plan:
    """The tasks of :func:`penalized.cross_validate` with ``relax=True``: each fold's
    path, relaxed and scored at every gamma; the full-data path, relaxed."""
    check_relaxable(problem)
    problems = [problem.with_penalty(penalty)]
    grids = [_grid_for(problems[0], how.standardize, **how.grid)]
    tasks = _make_tasks(
        [penalty], grids, len(splits),
        lambda k, c: (_relaxed_fold_scores, (*splits[k], grids[0], scorer, how.standardize,
                                             tuple(gammas))),
        lambda c: (_full_path, (grids[0], how.standardize)), how,
        rows=fitted_rows(splits, problem.n_samples))

    return Plan(problems, grids, tasks, len(splits))
