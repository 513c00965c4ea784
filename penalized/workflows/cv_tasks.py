"""The tasks of a cross-validation (:func:`penalized.cross_validate`) on its two routes.

* the per-fold route (:func:`fold_plan`): each training fold's path fitted on its rows of
  X, scored on the held-out rows (any datafit, any scorer);
* the moments route (:func:`gram_plan`): least squares with mean squared error from each
  fold's sufficient statistics (:mod:`.sufficient`; tall dense data in memory, Dask arrays).

Both build the same tasks (:class:`.tasks.Task`: the folds' paths candidate-major, then
the full-data paths) over the same alpha grids (:func:`.paths.default_grid`), with the same
fold grids (``fold_alphas``) and results (``keep_fold_paths``), so that a run can move
between routes, workers and checkpoints.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ..core.gram import gram_form_from
from ..core.problem import Problem
from ..core.results import PathResult
from .paths import check_alphas, default_grid, path_problem
from .scoring import Scorer, score_fits
from .standardize import standardized, unscale_path
from .sufficient import (
    check_width,
    gram_fold_scores,
    gram_grid,
    gram_path,
)
from .tasks import Task


# ---- data handling ---------------------------------------------------------------
def replace_data(problem: Problem, **changes) -> Problem:
    """A copy with other data (X, y or weights); memos derived from the old X are dropped."""
    return problem.with_data(**changes)


def subset_problem(problem: Problem, rows: np.ndarray) -> Problem:
    """The problem restricted to some samples (weights renormalized to sum to n)."""
    if sp.issparse(problem.X):
        X = problem.X[rows].tocsc()
        X.sort_indices()
    else:  # rows of a Fortran X taken as columns of its (C-ordered) transpose: one
        # copy, already Fortran-ordered (not a C-ordered copy, then a Fortran one)
        X = np.asfortranarray(problem.X.T[:, rows].T)
    s = problem.sample_weight[rows]
    total = s.sum()
    if total <= 0:
        raise ValueError("a training fold has sample weights summing to zero")
    offset = None if problem.offset is None else problem.offset[rows]
    return replace_data(problem, X=X, y=problem.y[rows],
                        sample_weight=s * (rows.shape[0] / total), offset=offset)


def linear_predictors(X, coefs: np.ndarray, intercepts: np.ndarray) -> np.ndarray:
    """``X @ coef + intercept`` for every fit: (n, n_fits) or (n, n_fits, n_classes)."""
    n_fits, p = coefs.shape[0], coefs.shape[1]
    if coefs.ndim == 2:
        return np.asarray(X @ coefs.T) + intercepts[None, :]
    k = coefs.shape[2]
    flat = np.asarray(X @ coefs.transpose(1, 0, 2).reshape(p, n_fits * k))
    return flat.reshape(-1, n_fits, k) + intercepts.reshape(1, n_fits, k)


# ---- the work ----------------------------------------------------------------------
def _fold_scores(problem: Problem, train, test, grid, scorer: Scorer, standardize: bool,
                 keep_path: bool, options: dict):
    """Fit a path on ``train`` over ``grid`` and score every alpha on ``test``; with
    ``keep_path``, ``(scores, coefs, intercepts)``."""
    sub, shift, scale = standardized(subset_problem(problem, train), standardize)
    res = unscale_path(path_problem(sub, alphas=grid, **options), shift, scale)
    scores = score_path(problem, test, scorer, res.coefs, res.intercepts)
    return (scores, np.array(res.coefs), np.array(res.intercepts)) if keep_path else scores


def score_path(problem: Problem, test, scorer: Scorer, coefs, intercepts) -> np.ndarray:
    """The score of every fit ``(coefs[k], intercepts[k])`` on the rows ``test``."""
    if scorer.uses_data:
        return score_fits(scorer, problem.datafit, problem.X[test], problem.y[test],
                          problem.sample_weight[test], coefs, intercepts, problem.classes)
    Z = linear_predictors(problem.X[test], coefs, intercepts)
    if problem.offset is not None:  # the held-out rows' own offset
        Z = Z + problem.offset[test][:, None]
    return scorer(problem.datafit, problem.y[test], Z, problem.sample_weight[test])


FOLD_ALPHAS = ("shared", "by_weight")


def _fold_grid(grid, fold_alphas: str, total_weight: float, train_weight: float
               ) -> np.ndarray:
    """The alphas a training fold is fitted at: the full data's (``"shared"``), or
    those times ``sum(weights) / sum(training weights)`` (``"by_weight"``: the product
    ``alpha * sum(weights)``, scikit-learn's ``1 / C``, is what the folds share)."""
    if fold_alphas == "shared":
        return grid
    return grid * (total_weight / train_weight)


def _full_path(problem: Problem, grid, standardize: bool, options: dict) -> PathResult:
    sub, shift, scale = standardized(problem, standardize)
    return unscale_path(path_problem(sub, alphas=grid, **options), shift, scale)


def _grid_for(problem: Problem, standardize: bool, n_alphas, alpha_min_ratio, alphas):
    if alphas is not None:
        return check_alphas(alphas)
    return default_grid(standardized(problem, standardize)[0], n_alphas, alpha_min_ratio)[0]


def limited_grid(problem: Problem, candidates, how: RouteOptions, options: dict,
                  dfmax, pmax) -> np.ndarray:
    """The grid of the full data's path cut at ``dfmax`` / ``pmax`` (one candidate)."""
    if len(candidates) > 1:
        raise ValueError("dfmax and pmax take one penalty: no l1_ratios grid")
    full = problem.with_penalty(candidates[0])
    grid = _grid_for(full, how.standardize, **how.grid)
    scaled = standardized(full, how.standardize)[0]
    return path_problem(scaled, alphas=grid, dfmax=dfmax, pmax=pmax, **options).alphas


class RouteOptions(NamedTuple):
    """The options of a cross-validation that shape its tasks (one place for the plans)."""

    standardize: bool
    fit_intercept: bool
    refit: bool
    is_grid: bool
    fold_alphas: str
    keep_fold_paths: bool
    feature_names: tuple | None
    grid: dict  # n_alphas, alpha_min_ratio, alphas


class Plan(NamedTuple):
    """The tasks of a cross-validation and the problems (one per candidate) they run on."""

    problems: list
    grids: list
    tasks: list
    n_folds: int


def fold_plan(problem: Problem, splits, candidates, scorer: Scorer, how: RouteOptions) -> Plan:
    """Each fold's path fitted on its rows of X."""
    problems = [problem.with_penalty(pen) for pen in candidates]
    grids = [_grid_for(pb, how.standardize, **how.grid) for pb in problems]
    s = problem.sample_weight
    tasks = _make_tasks(
        candidates, grids, len(splits),
        lambda k, c: (_fold_scores, (
            *splits[k], _fold_grid(grids[c], how.fold_alphas, s.sum(), s[splits[k][0]].sum()),
            scorer, how.standardize, how.keep_fold_paths)),
        lambda c: (_full_path, (grids[c], how.standardize)), how,
        rows=fitted_rows(splits, problem.n_samples))

    return Plan(problems, grids, tasks, len(splits))


def fitted_rows(splits, n_samples: int) -> list[int]:
    """The rows each path fits (the folds' training rows, then all): a path's cost per
    alpha is about proportional to them (:attr:`.tasks.Task.cost`)."""
    return [train.shape[0] for train, _ in splits] + [n_samples]


def gram_plan(total, trains, tests, datafit, candidates, how: RouteOptions,
              scorer: Scorer | None = None) -> Plan:
    """Each fold's path on the Gram form of its moments (:mod:`.sufficient`): the
    problems the tasks receive are the small full-data Gram forms (datafit, penalty)."""
    check_width(total.mean.shape[0] - 1)
    statistics = total.statistics(how.fit_intercept)
    problems = [gram_form_from(statistics, datafit, pen, how.fit_intercept).problem
                for pen in candidates]
    grids = [gram_grid(pb, total, how.standardize, how.fit_intercept, **how.grid)
             for pb in problems]
    tasks = _make_tasks(
        candidates, grids, len(tests),
        lambda k, c: (gram_fold_scores, (
            trains[k], tests[k], _fold_grid(grids[c], how.fold_alphas, total.weight,
                                            trains[k].weight),
            how.standardize, how.fit_intercept, how.keep_fold_paths,
            None if scorer is None else scorer.moment_form)),
        lambda c: (gram_path, (total, grids[c], how.standardize, how.fit_intercept)), how)

    return Plan(problems, grids, tasks, len(tests))


def _make_tasks(candidates, grids, n_folds: int, fold_task, full_task, how: RouteOptions,
                rows=None) -> list[Task]:
    """The folds' paths (candidate-major), then the full-data paths when ``how.refit``;
    ``fold_task(k, c)`` and ``full_task(c)`` give ``(function, arguments)``; ``rows``: the
    rows each fold's path fits, then the full data's (None: every path costs the same per
    alpha, as on the Gram form)."""
    def name(c: int) -> str:
        return f", l1_ratio {candidates[c].ratio:g}" if how.is_grid else ""

    def task(key: str, label: str, c: int, function_arguments, k: int) -> Task:
        function, arguments = function_arguments
        size = grids[c].shape[0]
        return Task(key, label, function, c, arguments, size,
                    0.0 if rows is None else float(size * rows[k]))

    tasks = [task(f"fold{k}-ratio{c}", f"fold {k}{name(c)}", c, fold_task(k, c), k)
             for c in range(len(grids)) for k in range(n_folds)]
    if how.refit:
        tasks += [task(f"full-ratio{c}", f"the full-data path{name(c)}", c, full_task(c),
                       n_folds) for c in range(len(grids))]
    return tasks
