"""Cross-validated linear models for the command line (fit and demo).

The same computation as :func:`penalized.cross_validate` (built from its pieces),
run fold by fold so that a progress bar can follow every alpha of every fold.
"""

from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np

from ..cv import (
    CVResult,
    GridEdgeWarning,
    check_rule,
    choose_indices,
    linear_predictors,
    make_splits,
    subset_problem,
)
from ..datafits import Datafit
from ..path import alpha_grid, null_gradient, path_problem
from ..penalties import Penalty
from ..problem import Problem, make_problem
from ..results import PathResult
from ..scoring import get_scorer


@dataclasses.dataclass(eq=False)
class ModelRun:
    """One cross-validated model: what the report, the summary and the model folder show.

    Attributes
    ----------
    name : str
    cv : CVResult
        ``path`` holds the full-data path, coefficients in original units.
    rule : {"min", "1se"}
    coef : ndarray of shape (n_features,)
        At the chosen alpha, original units.
    intercept : float
    feature_names : list of str
    standardize : bool
    scale : ndarray of shape (n_features,)
        Column scales used when standardizing (ones otherwise).
    test_score : float or None
        On held-out data when the caller has some (demo).
    test_metric : str
    seconds : float
    """

    name: str
    cv: CVResult
    rule: str
    coef: np.ndarray
    intercept: float
    feature_names: list
    standardize: bool
    scale: np.ndarray
    classes: np.ndarray | None
    seconds: float
    test_score: float | None = None
    test_metric: str = ""

    @property
    def datafit(self) -> Datafit:
        return self.cv.path.datafit

    @property
    def penalty(self) -> Penalty:
        return self.cv.path.penalty.with_alpha(self.alpha)

    @property
    def alpha(self) -> float:
        return self.cv.alpha_min if self.rule == "min" else self.cv.alpha_1se

    @property
    def index(self) -> int:
        return self.cv.index(self.rule)

    @property
    def n_nonzero(self) -> int:
        return int(np.count_nonzero(self.coef))

    def decision_function(self, X) -> np.ndarray:
        return np.asarray(X) @ self.coef + self.intercept

    def predict(self, X) -> np.ndarray:
        z = self.decision_function(X)
        if self.classes is None:
            return self.datafit.inverse_link(z)
        return self.classes[(z > 0).astype(int)]


def standardize_problem(problem: Problem, standardize: bool):
    """``(problem on (X - shift) / scale, shift, scale)``: unit weighted variance columns.

    Dense columns are centered too (better conditioned; the intercept absorbs
    the means): the solution in original units is the same.
    """
    p = problem.n_features
    if not standardize:
        return problem, np.zeros(p), np.ones(p)
    s = problem.sample_weight / problem.sample_weight.sum()
    X = np.asarray(problem.X)
    mean = s @ X
    std = np.sqrt(np.maximum(s @ (X * X) - mean**2, 0.0))
    scale = np.where(std > 1e-12 * (1.0 + np.abs(mean)), std, 1.0)
    shift = mean if problem.fit_intercept else np.zeros(p)
    return dataclasses.replace(problem, X=np.asfortranarray((X - shift) / scale)), shift, scale


def unstandardize_path(res: PathResult, shift: np.ndarray, scale: np.ndarray) -> PathResult:
    """A path fitted on ``(X - shift) / scale``, back in original units."""
    coefs = res.coefs / scale[None, :]
    return dataclasses.replace(res, coefs=coefs, intercepts=res.intercepts - coefs @ shift)


#: compress least squares to its Gram form when n_samples >= this times n_features
GRAM_RATIO = 4


def gram_compressed(problem: Problem):
    """An equivalent least-squares problem with at most ``n_features`` rows.

    For centered columns and unit sample weights,
    ``||y - X w||^2 = ||y_t - R w||^2 + const`` with ``X^T X = R^T R`` (from the
    eigendecomposition, so collinear one-hot columns are fine) and
    ``y_t = R^{-T} X^T y``; rows are scaled so that the mean over ``n`` rows
    becomes a mean over ``R``'s rows: same alpha, same minimizer, and each
    solver pass costs ``p^2`` instead of ``n p`` (scikit-learn's ``precompute``).

    Returns ``(compressed problem, intercept, constant)``, or None when the
    problem does not qualify (not least squares, weighted, sparse, or not tall).
    """
    n, p = problem.X.shape
    if (not problem.datafit.quadratic or problem.datafit.task != "regression"
            or problem.is_sparse or n < GRAM_RATIO * p
            or not np.all(problem.sample_weight == problem.sample_weight[0])):
        return None
    X = np.asarray(problem.X)
    x_mean = X.mean(axis=0) if problem.fit_intercept else np.zeros(p)
    y_mean = float(problem.y.mean()) if problem.fit_intercept else 0.0
    Xc, yc = X - x_mean, problem.y - y_mean
    eigenvalues, vectors = np.linalg.eigh(Xc.T @ Xc)
    keep = eigenvalues > 1e-12 * max(eigenvalues.max(), 1e-300)
    root = np.sqrt(eigenvalues[keep])
    R = root[:, None] * vectors[:, keep].T  # (rank, p)
    y_t = (vectors[:, keep].T @ (Xc.T @ yc)) / root
    m = R.shape[0]
    factor = np.sqrt(m / n)
    constant = 0.5 * (yc @ yc - y_t @ y_t) / n
    small = make_problem(np.asfortranarray(factor * R), factor * y_t, problem.datafit,
                         problem.penalty, fit_intercept=False)
    # centered columns: the intercept is fixed, ``b = mean(y) - mean(X) @ w``
    return small, (y_mean, x_mean), constant


def solve_path(problem: Problem, grid: np.ndarray, options: dict) -> PathResult:
    """:func:`path_problem` over ``grid``, through the Gram form when that is exact."""
    compressed = gram_compressed(problem)
    if compressed is None:
        return path_problem(problem, alphas=grid, **options)
    small, (y_mean, x_mean), constant = compressed
    res = path_problem(small, alphas=grid, **options)
    return dataclasses.replace(res, intercepts=y_mean - res.coefs @ x_mean,
                               objectives=res.objectives + constant)


def _splitter(cv: int, task: str, seed: int):
    from sklearn.model_selection import KFold, StratifiedKFold

    if isinstance(cv, bool) or not isinstance(cv, int) or cv < 2:
        raise ValueError(f"--cv must be an integer >= 2, got {cv!r}")
    # shuffled: user files are often sorted (by date, by target...)
    cls = StratifiedKFold if task == "classification" else KFold
    return cls(n_splits=cv, shuffle=True, random_state=seed)


def cross_validated_model(X, y, datafit: Datafit, penalty: Penalty, *, name: str = "model",
                          feature_names=None, cv: int = 5, n_alphas: int = 100,
                          alpha_min_ratio: float = 1e-3, rule: str = "min",
                          standardize: bool = True, tol: float = 1e-6, seed: int = 0,
                          progress=None) -> ModelRun:
    """K-fold CV along a path, then the full-data path; the model at the chosen alpha.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    datafit, penalty : the model (the penalty's alpha is ignored)
    cv : int
        Shuffled (stratified for classification) K-fold.
    rule : {"min", "1se"}
    standardize : bool
        Scale columns to unit variance inside every training fold (and for the
        full-data path); coefficients are reported in original units.
    progress : callable, optional
        ``progress(done, total, description)`` after every alpha of every fold.

    Returns
    -------
    ModelRun
    """
    rule = check_rule(rule)
    start = time.perf_counter()
    problem = make_problem(X, y, datafit, penalty)
    splits = make_splits(_splitter(cv, datafit.task, seed), problem)
    scorer = get_scorer(None, datafit)
    full, full_shift, full_scale = standardize_problem(problem, standardize)
    grid = alpha_grid(full.penalty.alpha_max(null_gradient(full)[0]), n_alphas,
                      alpha_min_ratio)
    total = (len(splits) + 1) * grid.shape[0]
    state = {"done": 0, "what": ""}

    def tick(k, _n):
        if progress is not None:
            progress(state["done"] + k, total, state["what"])

    options = {"solver": "auto", "tol": tol, "callback": tick}
    fold_scores = np.empty((len(splits), grid.shape[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridEdgeWarning)
        for k, (train, test) in enumerate(splits):
            state["what"] = f"{name}: fold {k + 1}/{len(splits)}"
            sub, shift, scale = standardize_problem(subset_problem(problem, train), standardize)
            res = unstandardize_path(solve_path(sub, grid, options), shift, scale)
            Z = linear_predictors(problem.X[test], res.coefs, res.intercepts)
            fold_scores[k] = scorer(problem.datafit, problem.y[test], Z,
                                    problem.sample_weight[test])
            state["done"] += grid.shape[0]
        state["what"] = f"{name}: full data"
        full_path = unstandardize_path(solve_path(full, grid, options), full_shift,
                                       full_scale)
    mean = fold_scores.mean(axis=0)
    se = fold_scores.std(axis=0, ddof=1) / np.sqrt(len(splits))
    i_min, i_1se = choose_indices(mean, se, scorer.greater_is_better)
    result = CVResult(
        alphas=grid, mean=mean, std_error=se, fold_scores=fold_scores, index_min=i_min,
        index_1se=i_1se, scoring=scorer.name, greater_is_better=scorer.greater_is_better,
        path=full_path, l1_ratio=None, l1_ratios=None, alphas_grid=grid[None],
        mean_grid=mean[None], std_error_grid=se[None], fold_scores_grid=fold_scores[None],
        paths=(full_path,))
    k = result.index(rule)
    names = list(feature_names) if feature_names is not None else \
        [f"x{j}" for j in range(problem.n_features)]
    return ModelRun(name=name, cv=result, rule=rule, coef=full_path.coefs[k].copy(),
                    intercept=float(full_path.intercepts[k]), feature_names=names,
                    standardize=standardize, scale=full_scale, classes=problem.classes,
                    seconds=time.perf_counter() - start)


def edge_warning(run: ModelRun) -> str | None:
    """A sentence when the chosen alpha sits on the edge of the grid."""
    n = run.cv.alphas.shape[0]
    if n > 2 and run.cv.index_min in (0, n - 1):
        where = "largest" if run.cv.index_min == 0 else "smallest"
        return (f"{run.name}: the best alpha is the {where} of the grid; the optimum may lie "
                "outside it" + (" (try a smaller --alpha-min-ratio)" if where == "smallest"
                                else ""))
    return None
