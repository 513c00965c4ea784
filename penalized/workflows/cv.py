r"""``pz.cross_validate``: K-fold cross-validation along a regularization path.

One alpha grid is computed on the full data (glmnet's and scikit-learn's
choice) and shared by every fold, so that the fold scores can be averaged per
alpha; each fold is a warm-started path (:func:`penalized.workflows.paths.path_problem`).
Folds (and the full-data path that the result carries) run in parallel with
joblib.

Rules for choosing alpha (``score`` a loss, lower is better; a greater-is-better
score is negated first):

* ``alpha_min``: the alpha with the best mean score;
* ``alpha_1se``: glmnet's one-standard-error rule, the *largest* alpha whose
  mean score is within one standard error of the best one,
  :math:`\max\{\alpha_k : \bar s_k \le \bar s_{k^*} + \mathrm{SE}_{k^*}\}`.

The mean over folds is unweighted (as scikit-learn's ``*CV`` and
``GridSearchCV``), the standard error is ``std(fold scores, ddof=1) / sqrt(K)``;
sample weights enter the fit and the score of every fold.
"""

from __future__ import annotations

import dataclasses
import numbers
import warnings

import numpy as np

from ..core.datafits import Datafit, LeastSquares
from ..core.gram import use_gram
from ..core.problem import Problem, make_problem
from ..core.results import FitResult, PathResult
from ..penalties import L1, ElasticNet, Penalty
from .checkpoint import open_checkpoint, run_fingerprint
from .constraints import exclude_features, n_columns
from .cv_tasks import (  # noqa: F401 (replace_data, subset_problem, linear_predictors re-exported)
    FOLD_ALPHAS,
    Plan,
    RouteOptions,
    fold_plan,
    gram_plan,
    limited_grid,
    linear_predictors,
    replace_data,
    subset_problem,
)
from .fitting import DEFAULT_TOL, check_max_iter, check_tol, column_names
from .paths import describe_path
from .relax import DEFAULT_GAMMAS, check_gammas, relax_plan, relaxed_path
from .scoring import Scorer, get_scorer
from .standardize import feature_moments, standardized, unscale_path  # noqa: F401 (re-exported)
from .sufficient import fold_moments
from .tall import dask_fold_moments, is_dask_collection
from .tasks import run_tasks

RULES = ("min", "1se")


class GridEdgeWarning(UserWarning):
    """The best alpha sits on the edge of the grid: widen the grid."""


@dataclasses.dataclass(frozen=True, eq=False)
class CVResult:
    """Cross-validated scores along a path.

    Attributes
    ----------
    alphas : ndarray of shape (n_alphas,), decreasing
    mean, std_error : ndarray of shape (n_alphas,)
        Mean fold score and its standard error, per alpha.
    fold_scores : ndarray of shape (n_folds, n_alphas)
    alpha_min, alpha_1se : float
        The best alpha and the one-standard-error alpha (``alpha_1se >= alpha_min``).
    index_min, index_1se : int
        Their positions in ``alphas``.
    scoring : str
    greater_is_better : bool
    path : PathResult or None
        The path refitted on the full data over ``alphas`` (coefficients on
        the original scale); None when ``refit=False``.
    l1_ratio : float or None
        The l1_ratio that was chosen (elastic-net grid), else None.
    l1_ratios : ndarray of shape (n_l1_ratios,) or None
    alphas_grid, mean_grid, std_error_grid : ndarray of shape (n_l1_ratios, n_alphas)
    fold_scores_grid : ndarray of shape (n_l1_ratios, n_folds, n_alphas)
    paths : tuple of PathResult
        One full-data path per l1_ratio (a single one without a grid).
    fold_coefs_grid : ndarray of shape (n_l1_ratios, n_folds, n_alphas, n_features[, n_classes])
    fold_intercepts_grid : ndarray of shape (n_l1_ratios, n_folds, n_alphas[, n_classes])
        Every fold's path (only with ``keep_fold_paths=True``).
    gamma : float or None
        With ``relax=True``: the chosen blend of the penalized and the relaxed fits
        (:meth:`PathResult.mixed`); the ``*_grid`` arrays then have one row per gamma
        of ``gammas`` (instead of per l1_ratio), and ``best_fit`` is the blend.
    gammas : ndarray or None
    """

    alphas: np.ndarray
    mean: np.ndarray
    std_error: np.ndarray
    fold_scores: np.ndarray
    index_min: int
    index_1se: int
    scoring: str
    greater_is_better: bool
    path: PathResult | None
    l1_ratio: float | None
    l1_ratios: np.ndarray | None
    alphas_grid: np.ndarray
    mean_grid: np.ndarray
    std_error_grid: np.ndarray
    fold_scores_grid: np.ndarray
    paths: tuple
    fold_coefs_grid: np.ndarray | None = None
    fold_intercepts_grid: np.ndarray | None = None
    gamma: float | None = None
    gammas: np.ndarray | None = None

    @property
    def alpha_min(self) -> float:
        return float(self.alphas[self.index_min])

    @property
    def alpha_1se(self) -> float:
        return float(self.alphas[self.index_1se])

    @property
    def n_folds(self) -> int:
        return self.fold_scores.shape[0]

    def index(self, rule: str = "min") -> int:
        """Position in ``alphas`` of the alpha chosen by ``rule`` ("min" or "1se")."""
        return self.index_min if check_rule(rule) == "min" else self.index_1se

    def best_fit(self, rule: str = "min") -> FitResult:
        """The full-data fit at the alpha chosen by ``rule``."""
        if self.path is None:
            raise ValueError("this CVResult was computed with refit=False: no path")
        path = self.path if self.gamma is None else self.path.mixed(self.gamma)
        return path[self.index(rule)]

    def coef(self, rule: str = "min") -> np.ndarray:
        """glmnet's ``coef(cvfit, s="lambda.min" | "lambda.1se")``: full-data
        coefficients at the alpha chosen by ``rule``."""
        return np.array(self.best_fit(rule).coef)

    def predict(self, X, rule: str = "min", offset=None) -> np.ndarray:
        """Mean response or label of the full-data fit chosen by ``rule`` (``offset``: the
        rows' own, for a model cross-validated with one)."""
        return self.best_fit(rule).predict(X, offset)

    def predict_proba(self, X, rule: str = "min") -> np.ndarray:
        """Class probabilities of the full-data fit chosen by ``rule``."""
        return self.best_fit(rule).predict_proba(X)

    def __repr__(self) -> str:
        return (f"CVResult({self.n_folds} folds, {self.alphas.shape[0]} alphas, "
                f"{self.scoring}: alpha_min={self.alpha_min:.4g} "
                f"({self.mean[self.index_min]:.4g} +- {self.std_error[self.index_min]:.2g}), "
                f"alpha_1se={self.alpha_1se:.4g})")

    def plot(self, ax=None):
        """The CV curve with +-1 SE bars and both rules marked (glmnet's
        ``plot(cvfit)``); returns the matplotlib Axes."""
        from .plots import plot_cv

        return plot_cv(self, ax)


def check_rule(rule) -> str:
    """``"min"`` or ``"1se"``, or a clear error."""
    if not isinstance(rule, str) or rule not in RULES:
        raise ValueError(f"rule must be 'min' or '1se', got {rule!r}")
    return rule


def choose_indices(mean: np.ndarray, std_error: np.ndarray,
                   greater_is_better: bool) -> tuple[int, int]:
    """``(index_min, index_1se)`` on a decreasing alpha grid (ties: the largest alpha)."""
    loss = -np.asarray(mean, float) if greater_is_better else np.asarray(mean, float)
    if not np.any(np.isfinite(loss)):
        raise ValueError("every cross-validation score is NaN or infinite")
    loss = np.where(np.isfinite(loss), loss, np.inf)
    best = int(np.argmin(loss))
    se = std_error[best] if np.isfinite(std_error[best]) else 0.0
    within = np.flatnonzero(loss <= loss[best] + se)
    return best, int(within[0])


# ---- data handling ---------------------------------------------------------------

def make_splits(cv, problem: Problem, groups=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test indices from an int (K-fold; stratified for classification) or a splitter."""
    from sklearn.model_selection import KFold, StratifiedKFold

    n = problem.n_samples
    if cv is None:
        cv = 5
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"cv must be at least 2 folds, got {cv}")
        if cv > n:
            raise ValueError(f"cv={cv} folds but only {n} samples: use at most {n} folds")
        if problem.datafit.task == "classification":
            counts = np.bincount(np.unique(problem.y, return_inverse=True)[1].ravel())
            if counts.min() < cv:
                raise ValueError(
                    f"the smallest class has {counts.min()} samples, fewer than cv={cv} "
                    "folds: every training fold must hold every class; use fewer folds")
            splitter = StratifiedKFold(cv)
        else:
            splitter = KFold(cv)
    elif hasattr(cv, "split"):
        splitter = cv
    elif hasattr(cv, "__iter__"):
        splitter = None
        splits = list(cv)
    else:
        raise TypeError(f"cv must be an int, a scikit-learn splitter or an iterable of "
                        f"(train, test) index arrays, got {cv!r}")
    if splitter is not None:
        splits = list(splitter.split(np.zeros((n, 1)), problem.y, groups))
    out = [(np.asarray(tr, dtype=np.intp), np.asarray(te, dtype=np.intp)) for tr, te in splits]
    if len(out) < 2:
        raise ValueError(f"cross-validation needs at least 2 splits, got {len(out)}")
    if problem.classes is not None:
        n_classes = problem.classes.shape[0]
        for k, (train, _) in enumerate(out):
            if np.unique(problem.y[train]).shape[0] < n_classes:
                raise ValueError(
                    f"training fold {k} lacks a class (it has "
                    f"{np.unique(problem.y[train]).shape[0]} of {n_classes}): use a "
                    "stratified splitter or fewer folds")
    return out


def folds_from_labels(foldid, n_samples: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """glmnet's ``foldid``: one fold label per sample; fold ``k`` is validated on the
    samples labelled ``k`` and trained on the others."""
    from .tall_folds import foldid_labels

    labels = foldid_labels(foldid, n_samples)
    return [(np.flatnonzero(labels != k), np.flatnonzero(labels == k))
            for k in range(int(labels.max()) + 1)]


# ---- the work ----------------------------------------------------------------------
def _check_l1_ratios(l1_ratios, penalty: Penalty) -> list[Penalty] | None:
    if l1_ratios is None:
        return None
    if not penalty.elastic_net_family:
        raise ValueError(f"l1_ratios cross-validates the elastic net's l1_ratio; "
                         f"{type(penalty).__name__} is not in the elastic-net family")
    ratios = np.atleast_1d(np.asarray(l1_ratios, dtype=float))
    if ratios.size == 0 or np.any(~np.isfinite(ratios)) or np.any((ratios < 0) | (ratios > 1)):
        raise ValueError(f"l1_ratios must be a non-empty list of numbers in [0, 1], "
                         f"got {l1_ratios!r}")
    return [ElasticNet(alpha=penalty.alpha, weights=penalty.weights, positive=penalty.positive,
                       lower=penalty.lower, upper=penalty.upper, l1_ratio=float(r))
            for r in ratios]


def cross_validate(X, y, datafit: Datafit | None = None, penalty: Penalty | None = None, *,
                   cv=5, n_alphas: int = 100, alpha_min_ratio: float | None = None, alphas=None,
                   l1_ratios=None, scoring: str | None = None, groups=None,
                   sample_weight=None, fit_intercept: bool = True, standardize: bool = False,
                   solver: str = "auto", tol: float = DEFAULT_TOL, max_iter: int | None = None,
                   n_jobs: int | None = None, refit: bool = True, precompute="auto",
                   callback=None, foldid=None, fold_alphas: str = "shared",
                   keep_fold_paths: bool = False, client=None, checkpoint=None,
                   exclude=None, dfmax: int | None = None, pmax: int | None = None,
                   relax: bool = False, gammas=DEFAULT_GAMMAS, offset=None) -> CVResult:
    r"""K-fold cross-validation of a penalized model along a path of alphas.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
        Or a ``dask.array.Array`` chunked by rows (or a Dask DataFrame) for least
        squares scored by ``mse`` or ``r2``: one distributed pass computes every fold's
        sufficient statistics and the paths run here (:mod:`penalized.workflows.tall`);
        for a smooth datafit with one predictor (logistic, Poisson), proximal Newton with
        every fold's path in the same passes, one per outer step
        (:mod:`penalized.workflows.tall_newton_cv`).
        Tall least squares in memory (dense, or sparse by the rule of
        :mod:`penalized.core.gram`) takes the same route
        (:mod:`penalized.workflows.sufficient`; ``precompute=False`` to fit each fold's
        rows instead). Both routes give the same grid and serve ``foldid``,
        ``fold_alphas`` and ``keep_fold_paths``.
    y : array-like of shape (n_samples,)
    datafit : Datafit, default=LeastSquares()
    penalty : Penalty, default=L1()
        Its alpha is ignored; its weights, ``positive`` and shape parameters are kept.
    cv : int, scikit-learn splitter or iterable of (train, test), default=5
        An int is ``KFold`` (``StratifiedKFold`` for classification), unshuffled.
    n_alphas, alpha_min_ratio :
        The grid: ``n_alphas`` values from ``alpha_max`` (of the full data) down to
        ``alpha_min_ratio * alpha_max``, geometric (the rule of
        :func:`penalized.workflows.paths.default_grid`: default ratio 1e-3; a pure ridge
        is measured against the datafit's curvature, not against ``alpha_max``).
    alphas : array-like, optional
        A user grid instead (sorted largest first; must be non-empty and >= 0).
    l1_ratios : array-like, optional
        Also cross-validate the elastic-net ``l1_ratio`` over these values (each with its
        own alpha grid); the result reports the best pair.
    scoring : str or callable, optional
        ``"mse"``, ``"mae"``, ``"deviance"``, ``"log_loss"``, ``"accuracy"``,
        ``"auc"`` or ``"class"`` (misclassification error): glmnet's
        ``type.measure`` names; or a scikit-learn scorer name (``"r2"``,
        ``"neg_log_loss"``...) or callable ``scorer(estimator, X, y)``, with
        scikit-learn's sign (see :mod:`penalized.workflows.scoring`).
        Default: "mse" for regression, "deviance" for classification.
    groups : array-like of shape (n_samples,), optional
        Group labels for group splitters (``GroupKFold``...).
    sample_weight : array-like of shape (n_samples,), optional
        Used in every fit and every fold's score.
    fit_intercept : bool, default=True
    standardize : bool, default=False
        Scale each training fold's columns to unit variance before fitting (the
        penalty then treats features equally); coefficients are reported on the
        original scale.
    solver, tol, max_iter : as in :func:`penalized.fit`.
    n_jobs : int, optional
        Folds in parallel (joblib; -1 for all cores).
    refit : bool, default=True
        Also fit the path on the full data (``result.path``), in parallel with the folds.
    precompute : {"auto", True, False}, default="auto"
        Tall least squares in Gram form, as in :func:`penalized.path` (per fold).
    foldid : array-like of shape (n_samples,), optional
        glmnet's ``foldid``: a fold label per sample (any values); replaces ``cv``.
    fold_alphas : {"shared", "by_weight"}, default="shared"
        "shared": every fold is fitted at the full data's alphas (glmnet's choice:
        alpha is a per-sample strength). "by_weight": at those times
        ``sum(weights) / sum(fold's training weights)``, so that
        ``alpha * sum(weights)`` is shared (scikit-learn's ``C`` in
        ``LogisticRegressionCV``); ``result.alphas`` are the full data's.
    keep_fold_paths : bool, default=False
        Keep every fold's coefficients and intercepts (``result.fold_coefs_grid``,
        ``result.fold_intercepts_grid``).
    callback : callable, optional
        Progress: ``callback(done, total)`` with ``total`` the number of fits (alphas
        times paths, the folds' and the full-data one(s)). Run in this process
        (``n_jobs`` None or 1) it is called after every alpha of every path; with
        parallel workers, once per finished path (``done`` jumps by ``n_alphas``).
    client : distributed.Client, optional
        Run every (fold, l1_ratio) path as a Dask future on this cluster (None: the
        active client, if any, else ``n_jobs``): X and y are scattered once to every
        worker, a task lost with its worker is retried on the others, and the result
        equals the serial one bit for bit (:mod:`penalized.workflows.distributed`).
    checkpoint : str or path, optional
        Folder storing each finished path; a run with the same data and options
        resumes from it (skipping finished paths, same result), a checkpoint of
        another run is refused (:mod:`penalized.workflows.checkpoint`).
    exclude : indices, column names or boolean mask, optional
        Features forced to 0 (glmnet's ``exclude``), in every fit.
    dfmax, pmax : int, optional
        glmnet's limits (:func:`penalized.path`): the full data's path decides where the
        grid stops, and every fold is fitted over that shorter grid.
    relax : bool, default=False
        Cross-validate the relaxed lasso (glmnet's ``cv.glmnet(relax = TRUE)``): every
        fold's path is refitted without penalty on each support and scored at each
        blend ``gamma`` of ``gammas``; the best (alpha, gamma) pair is chosen
        (``result.gamma``; :mod:`penalized.workflows.relax`).
    gammas : sequence of float in [0, 1], default=(0, 0.25, 0.5, 0.75, 1)
    offset : array-like of shape (n_samples,), optional
        A fixed part of the linear predictor, as in :func:`penalized.fit`: split with
        the folds (each training fold fitted with its rows' offset, each held-out fold
        scored with its own). Not with a Dask X nor a scikit-learn scorer.

    Returns
    -------
    CVResult
        ``alphas``, ``mean``, ``std_error``, ``fold_scores`` (n_folds, n_alphas),
        ``alpha_min``, ``alpha_1se``, ``path``.

    Examples
    --------
    >>> import numpy as np, penalized as pz
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 8)); y = X[:, 0] + 0.5 * rng.standard_normal(60)
    >>> cv = pz.cross_validate(X, y, pz.LeastSquares(), pz.L1(), cv=3, n_alphas=20)
    >>> cv.fold_scores.shape, bool(cv.alpha_1se >= cv.alpha_min)
    ((3, 20), True)
    """
    datafit = LeastSquares() if datafit is None else datafit
    penalty = L1() if penalty is None else penalty
    scorer = get_scorer(scoring, datafit)
    if fold_alphas not in FOLD_ALPHAS:
        raise ValueError(f"fold_alphas must be one of {FOLD_ALPHAS}, got {fold_alphas!r}")
    penalty = exclude_features(penalty, exclude, n_columns(X), column_names(X))
    candidates = _check_l1_ratios(l1_ratios, penalty) or [penalty]
    limits = dfmax is not None or pmax is not None
    if relax:
        gammas = check_gammas(gammas)
        if l1_ratios is not None or keep_fold_paths:
            raise ValueError("relax=True cross-validates gamma: it takes no l1_ratios "
                             "and no keep_fold_paths")
    options = {"solver": solver, "tol": check_tol(tol), "max_iter": check_max_iter(max_iter),
               "precompute": precompute}
    how = RouteOptions(standardize, fit_intercept, refit, l1_ratios is not None, fold_alphas,
               keep_fold_paths, column_names(X),
               {"n_alphas": n_alphas, "alpha_min_ratio": alpha_min_ratio, "alphas": alphas})
    if offset is not None:
        _check_offset_route(X, scorer)
    if is_dask_collection(X):
        if limits or relax:
            raise ValueError("dfmax, pmax and relax need X in memory, not a Dask array")
        if not datafit.quadratic:  # proximal Newton: every fold's path in the same passes
            from .tall_newton_cv import dask_newton_cv

            return dask_newton_cv(X, y, datafit, candidates, scorer, how, cv=cv, foldid=foldid,
                                  groups=groups, sample_weight=sample_weight, tol=options["tol"],
                                  client=client, callback=callback, checkpoint=checkpoint)
        total, trains, tests, data = dask_fold_moments(X, y, sample_weight, cv, datafit, scorer,
                                                       client, foldid, groups)
        plan = gram_plan(total, trains, tests, datafit, candidates, how, scorer)
    else:
        problem = make_problem(X, y, datafit, penalty, fit_intercept=fit_intercept,
                               sample_weight=sample_weight, offset=offset, keep_dense=True)
        # the folds' moments read X by blocks of rows as given (float32, C order); every
        # other route reads it in the solvers' layout
        by_moments = (not relax and scorer.name == "mse" and not scorer.uses_data
                      and use_gram(problem, precompute))
        problem = problem if by_moments else problem.with_solver_layout()
        splits = make_splits(cv if foldid is None else folds_from_labels(foldid, problem.n_samples),
                             problem, groups)
        data = (problem.X, problem.y, problem.sample_weight,
                [part for pair in splits for part in pair]
                + ([] if problem.offset is None else [problem.offset]))
        if limits:  # the full data's path decides where the grid stops
            how = how._replace(grid={"n_alphas": None, "alpha_min_ratio": None, "alphas":
                                     limited_grid(problem.with_solver_layout(), candidates,
                                                  how, options, dfmax, pmax)})
        if relax:
            plan = relax_plan(problem, splits, candidates[0], scorer, how, gammas)
        elif by_moments:
            moments = fold_moments(problem.X, problem.y, problem.sample_weight, splits)
            plan = gram_plan(*moments, datafit, candidates, how)
        else:
            plan = fold_plan(problem, splits, candidates, scorer, how)
    store = None
    if checkpoint is not None:  # the options that change a task's result are in its print
        store = open_checkpoint(checkpoint, run_fingerprint(
            data, datafit, fit_intercept, candidates, plan.grids, scorer.name, standardize,
            {**options, "fold_alphas": fold_alphas, "keep_fold_paths": keep_fold_paths,
             **({"gammas": gammas.tolist()} if relax else {})},
            [task.key for task in plan.tasks]))
    outputs = run_tasks(plan.tasks, plan.problems, options, n_jobs=n_jobs, callback=callback,
                        client=client, checkpoint=store)
    if relax:
        return _collect_relaxed(outputs, plan, scorer, gammas, how)
    return _collect(outputs, plan, scorer, candidates, l1_ratios, how)


def _collect_relaxed(outputs: list, plan: Plan, scorer: Scorer, gammas,
                     how: RouteOptions) -> CVResult:
    """The relaxed tasks' results: one row of the ``*_grid`` arrays per gamma."""
    folds = np.array(outputs[:plan.n_folds], dtype=float)  # (n_folds, n_gammas, n_alphas)
    fold_grid = folds.transpose(1, 0, 2)
    paths = tuple(relaxed_path(describe_path(res, how.fit_intercept, how.standardize,
                                             how.feature_names), plan.problems[c])
                  for c, res in enumerate(outputs[plan.n_folds:]))
    grids = np.tile(plan.grids[0], (gammas.shape[0], 1))
    res = _summarize(grids, fold_grid, scorer, paths * gammas.shape[0], [None] * len(gammas),
                     None)
    return dataclasses.replace(res, paths=paths, gammas=gammas,
                               gamma=float(gammas[best_row(res.mean_grid, scorer)]))


def _check_offset_route(X, scorer: Scorer) -> None:
    """The routes that cannot take an offset, refused with one clear error."""
    if is_dask_collection(X):
        raise ValueError("offset: a Dask X is cross-validated by its sufficient statistics, "
                         "which do not take an offset; use a NumPy array")
    if scorer.uses_data:
        raise ValueError(f"offset: scoring={scorer.name!r} (a scikit-learn scorer) predicts "
                         "from X alone; use one of penalized's scorings (e.g. 'deviance')")


def _collect(outputs: list, plan: Plan, scorer: Scorer, candidates, l1_ratios,
             how: RouteOptions) -> CVResult:
    """The tasks' results as a :class:`CVResult` (fold paths stacked when kept)."""
    n_cells = len(candidates) * plan.n_folds
    folds = outputs[:n_cells]
    fold_paths = None
    if how.keep_fold_paths:
        shape = (len(candidates), plan.n_folds)
        fold_paths = tuple(np.array([f[i] for f in folds]).reshape(shape + folds[0][i].shape)
                           for i in (1, 2))
        folds = [f[0] for f in folds]
    fold_grid = np.array(folds, dtype=float).reshape(len(candidates), plan.n_folds, -1)
    paths = tuple(describe_path(res, how.fit_intercept, how.standardize, how.feature_names)
                  for res in outputs[n_cells:])
    res = _summarize(np.array(plan.grids), fold_grid, scorer, paths, candidates, l1_ratios)
    if fold_paths is None:
        return res
    return dataclasses.replace(res, fold_coefs_grid=fold_paths[0],
                               fold_intercepts_grid=fold_paths[1])


def best_row(mean_grid: np.ndarray, scorer: Scorer) -> int:
    """The row (l1_ratio, or gamma) of the grid holding the best mean score."""
    sign = scorer.sign()
    best_rows = [np.nanmin(np.where(np.isfinite(m), sign * m, np.inf)) for m in mean_grid]
    return int(np.argmin(best_rows))


def _summarize(grids, fold_grid, scorer: Scorer, paths, candidates, l1_ratios) -> CVResult:
    n_folds = fold_grid.shape[1]
    mean_grid = fold_grid.mean(axis=1)
    se_grid = (fold_grid.std(axis=1, ddof=1) / np.sqrt(n_folds)) if n_folds > 1 \
        else np.zeros_like(mean_grid)
    row = best_row(mean_grid, scorer)
    i_min, i_1se = choose_indices(mean_grid[row], se_grid[row], scorer.greater_is_better)
    n_alphas = grids.shape[1]
    if n_alphas > 2 and i_min in (0, n_alphas - 1):
        where = "largest" if i_min == 0 else "smallest"
        warnings.warn(
            f"the best alpha ({grids[row, i_min]:.4g}) is the {where} of the grid: the "
            f"optimum may lie outside it; widen the grid"
            + (" (lower alpha_min_ratio)" if i_min else ""), GridEdgeWarning, stacklevel=4)
    ratio = float(candidates[row].ratio) if l1_ratios is not None else None
    return CVResult(
        alphas=grids[row], mean=mean_grid[row], std_error=se_grid[row],
        fold_scores=fold_grid[row], index_min=i_min, index_1se=i_1se,
        scoring=scorer.name, greater_is_better=scorer.greater_is_better,
        path=paths[row] if paths else None, l1_ratio=ratio,
        l1_ratios=None if l1_ratios is None else np.array([c.ratio for c in candidates]),
        alphas_grid=grids, mean_grid=mean_grid, std_error_grid=se_grid,
        fold_scores_grid=fold_grid, paths=paths,
    )
