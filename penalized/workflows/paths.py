"""``pz.path``: fits along a decreasing grid of alphas, warm-started."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from ..core.certificates import ridge_certificates, tolerance_at
from ..core.datafits import Datafit, LeastSquares
from ..core.exceptions import ConvergenceWarning
from ..core.gram import gram_form, use_gram
from ..core.problem import Problem, make_problem
from ..core.results import PathResult
from ..penalties import L1, Penalty
from ..penalties.bounds import box_alpha_max
from ..solvers import Iterate
from ..solvers.cd import path_driver
from . import row_space
from .constraints import PathLimits, exclude_features, n_columns, truncation_note
from .fitting import (
    DEFAULT_TOL,
    check_max_iter,
    check_tol,
    column_names,
    null_gradient,
    null_point,
    null_value_of,
    solve_from,
    stopping_scale,
)
from .tall import dask_moments, is_dask_collection


def alpha_max(X, y, datafit: Datafit | None = None, penalty: Penalty | None = None, *,
              fit_intercept: bool = True, sample_weight=None, offset=None) -> float:
    """Smallest alpha at which every penalized coefficient is exactly zero."""
    problem = make_problem(X, y, datafit or LeastSquares(), penalty or L1(),
                           fit_intercept=fit_intercept, sample_weight=sample_weight,
                           offset=offset)
    pen = problem.penalty
    return box_alpha_max(pen, null_gradient(problem)[0], pen.bounds(problem.n_features))


#: A pure ridge (no L1 part) has no alpha that zeroes it, and its alpha is measured
#: against the datafit's curvature, not against the gradient: the default ridge grid
#: runs from RIDGE_TOP * t (every direction of the fit shrunk at least 100-fold: the
#: null-model end) down to RIDGE_BOTTOM * t / n, where t is the trace of the datafit's
#: Hessian at the null model over the penalized features (the sum of their curvature-
#: weighted variances; the number of features when standardized). The LOO-optimal
#: ridge alpha of an isotropic design is about (t / n) / SNR, so the minimum is interior
#: unless the signal-to-noise ratio exceeds 1 / RIDGE_BOTTOM (R^2 > 0.999).
RIDGE_TOP = 1e2
RIDGE_BOTTOM = 1e-3
#: default alpha_min_ratio of grids that start where every coefficient is zero
L1_MIN_RATIO = 1e-3


def default_grid(problem: Problem, n_alphas: int = 100, alpha_min_ratio: float | None = None,
                 grad0: np.ndarray | None = None, n_samples: int | None = None
                 ) -> tuple[np.ndarray, float]:
    """The default alpha grid of ``problem``: ``(grid, alpha_max)``.

    The one rule behind :func:`path` and :func:`penalized.cross_validate` (and so the
    estimators and the command line). With an L1 part, ``alpha_max`` zeroes every
    penalized coefficient and the grid ends at ``alpha_min_ratio`` (default
    ``L1_MIN_RATIO``) times it. A pure ridge uses the curvature rule above
    (``alpha_min_ratio``, when given, still sets the bottom). ``n_samples``: the rows
    of the original data when ``problem`` is its Gram form (same gradient and
    curvature, ``p + 1`` rows), so that both give the same grid.
    """
    penalty = problem.penalty
    ridge = penalty.elastic_net_family and penalty.ratio == 0
    if not ridge:
        if grad0 is None:
            grad0 = null_gradient(problem)[0]
        a_max = box_alpha_max(penalty, grad0, penalty.bounds(problem.n_features))
        ratio = L1_MIN_RATIO if alpha_min_ratio is None else alpha_min_ratio
        return alpha_grid(a_max, n_alphas, ratio), a_max
    t = curvature_trace(problem)
    a_max = RIDGE_TOP * t
    n = problem.n_samples if n_samples is None else int(n_samples)
    ratio = RIDGE_BOTTOM / (RIDGE_TOP * n) if alpha_min_ratio is None else alpha_min_ratio
    return alpha_grid(a_max, n_alphas, ratio), a_max


def curvature_trace(problem: Problem) -> float:
    """Trace of the datafit's Hessian at the null model over the penalized coefficients,
    each divided by its penalty weight (the scale a ridge alpha is measured against)."""
    coef0, b0 = null_point(problem)
    z0 = problem.linear_predictor(coef0, b0)
    s = problem.sample_weight / problem.sample_weight.sum()
    c = mean_curvature(problem.datafit, problem.y, z0, s)
    X = problem.X
    mean = np.asarray(X.T @ s).ravel() if problem.fit_intercept else 0.0
    second = np.asarray((X.multiply(X) if problem.is_sparse else X * X).T @ s).ravel()
    variance = np.maximum(second - mean**2, 0.0)
    omega = problem.penalty.feature_weights(problem.n_features)
    penalized = omega > 0
    t = c * float(np.sum(variance[penalized] / omega[penalized]))
    return t if t > 0 else 1.0


def mean_curvature(datafit, y, z0, s) -> float:
    """The datafit's curvature at ``z0`` averaged under the weights ``s`` (summing to 1;
    per class, then over the classes)."""
    curvature = np.asarray(datafit.d2loss(y, z0), dtype=float)
    return float(s @ (curvature.mean(axis=1) if curvature.ndim == 2 else curvature))


def alpha_grid(alpha_max_value: float, n_alphas: int = 100,
               alpha_min_ratio: float = 1e-3) -> np.ndarray:
    """Geometric grid from ``alpha_max`` down to ``alpha_min_ratio * alpha_max``."""
    if isinstance(n_alphas, bool) or not isinstance(n_alphas, int | np.integer) or n_alphas < 1:
        raise ValueError(f"n_alphas must be a positive integer, got {n_alphas!r}")
    if not (0 < alpha_min_ratio < 1):
        raise ValueError(f"alpha_min_ratio must be in (0, 1), got {alpha_min_ratio!r}")
    if alpha_max_value <= 0:  # y constant (or nothing penalized): a flat grid
        alpha_max_value = 1.0
    # np.geomspace, without its generality (a tenth of its cost): exact endpoints
    n_alphas = int(n_alphas)
    step = np.log(alpha_min_ratio) / max(n_alphas - 1, 1)
    grid = np.exp(np.arange(n_alphas) * step)
    grid *= alpha_max_value
    grid[0] = alpha_max_value
    if n_alphas > 1:
        grid[-1] = alpha_max_value * alpha_min_ratio
    return grid


def check_alphas(alphas) -> np.ndarray:
    """User grid: non-empty, finite, non-negative; sorted largest first."""
    a = np.asarray(alphas, dtype=float).ravel()
    if a.size == 0:
        raise ValueError("alphas is empty: give at least one alpha")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        bad = a[~(np.isfinite(a) & (a >= 0))][:3]
        raise ValueError(f"alphas must be finite and >= 0, got {bad}")
    return np.sort(a)[::-1].copy()


def path(X, y, datafit: Datafit | None = None, penalty: Penalty | None = None, *,
         n_alphas: int = 100, alpha_min_ratio: float | None = None, alphas=None,
         solver: str = "auto", tol: float = DEFAULT_TOL, max_iter: int | None = None,
         fit_intercept: bool = True, sample_weight=None, callback=None,
         precompute="auto", engine: str = "auto", standardize: bool = False,
         exclude=None, dfmax: int | None = None, pmax: int | None = None,
         relax: bool = False, offset=None) -> PathResult:
    """Regularization path with warm starts.

    Parameters
    ----------
    X, y, datafit, penalty, solver, tol, max_iter, fit_intercept, sample_weight :
        As in :func:`penalized.fit` (the penalty's own alpha is ignored). X may be a
        ``dask.array.Array`` chunked by rows (or a Dask DataFrame), for least squares:
        one distributed pass computes its sufficient statistics, and the path runs
        here on the Gram form (:mod:`penalized.workflows.tall`). A smooth datafit
        (logistic, multinomial, Poisson): proximal Newton, a distributed pass per outer
        step (:mod:`penalized.workflows.tall_newton`).
    n_alphas : int, default=100
    alpha_min_ratio : float, optional
        The grid ends at ``alpha_min_ratio * alpha_max`` (glmnet's
        ``lambda.min.ratio``; scikit-learn's ``eps``). Default: 1e-3, and for a pure
        ridge the curvature rule of :func:`default_grid`.
    alphas : array-like, optional
        A user grid instead (sorted largest first).
    callback : callable, optional
        Called as ``callback(k, n_alphas)`` after each alpha (progress bars).
    precompute : {"auto", True, False}, default="auto"
        Solve tall least squares in Gram form: an exactly equivalent problem with at
        most ``n_features + 1`` rows (same coefficients, objectives and certificates;
        see :mod:`penalized.core.gram`). ``"auto"``: for least squares when
        ``n_samples >= 2 * n_features`` and ``n_features <= 2000`` (sparse X: also when
        its entries are many beside ``n_features^2`` and its rows short enough, the rule
        of :mod:`penalized.core.gram`); ``True``: for any least squares without an
        offset (else a ValueError); ``False``: never. Dense float32 or C-ordered X, and
        CSR or CSC X, is then read by blocks of rows as it is (no float64, Fortran or
        CSC copy; :func:`penalized.workflows.sufficient.path_by_row_blocks`).

    Returns
    -------
    PathResult
        ``alphas``, ``coefs`` (n_alphas, n_features) (or (n_alphas, n_features,
        n_classes) for :class:`~penalized.Multinomial`), ``intercepts``,
        ``objectives``, ``certificates``, ``n_nonzero``...

    engine : {"auto", "compiled", "python"}, default="auto"
        Which driver of the coordinate-descent engine runs the path. "compiled": the
        whole path in one compiled call (least squares on dense X, a convex penalty
        with compiled operations, every feature penalized; otherwise a ValueError
        says why); "python": each alpha through the Python driver (any datafit);
        "auto": the compiled one where it serves and pays
        (:func:`penalized.solvers.cd.path_driver.pays`). Both use the same kernel,
        working-set rule and stopping rule.
    standardize : bool, default=False
        Fit on columns scaled to unit variance (glmnet's default); the alphas are
        then in standardized units, the coefficients in the original ones.
    exclude : indices, column names or boolean mask, optional
        Features forced to 0 (glmnet's ``exclude``): the box ``[0, 0]``
        (:mod:`penalized.penalties.bounds`; the penalty's ``lower`` / ``upper`` set
        other bounds).
    dfmax, pmax : int, optional
        Stop the path before the first fit with more than ``dfmax`` nonzero
        coefficients, or at which more than ``pmax`` features have ever been nonzero
        (glmnet's); ``result.truncation`` says where and why
        (:mod:`penalized.workflows.constraints`).
    relax : bool, default=False
        Also refit each alpha's support without penalty (glmnet's relaxed lasso):
        ``result.relaxed_coefs``, ``result.relaxed_intercepts`` and
        ``result.mixed(gamma)`` (:mod:`penalized.workflows.relax`).
    offset : array-like of shape (n_samples,), optional
        A fixed part of the linear predictor, as in :func:`penalized.fit` (not with a
        Dask X, nor in Gram form).

    Examples
    --------
    >>> import numpy as np, penalized as pz
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 5)); y = X[:, 0] + 0.1 * rng.standard_normal(50)
    >>> p = pz.path(X, y, pz.LeastSquares(), pz.L1(), n_alphas=10)
    >>> p.coefs.shape, int(p.n_nonzero[0])
    ((10, 5), 0)
    """
    datafit = LeastSquares() if datafit is None else datafit
    penalty = L1() if penalty is None else penalty
    penalty = exclude_features(penalty, exclude, n_columns(X), column_names(X))
    dask = is_dask_collection(X)
    if dask and offset is not None:
        raise ValueError("a Dask X is fitted through its sufficient statistics or Newton "
                         "passes, which do not take an offset: fit it on a NumPy array")
    if dask and not datafit.quadratic:  # a pass per Newton step
        return _dask_newton(X, y, datafit, penalty, sample_weight, n_alphas, alpha_min_ratio,
                            alphas, tol, fit_intercept, standardize)
    if dask:  # one pass for the moments, then the Gram form here
        if dfmax is not None or pmax is not None or relax:
            raise ValueError("dfmax, pmax and relax need X in memory, not a Dask array")
        from ..core.gram import gram_form_from
        from .sufficient import gram_grid, gram_path

        moments = dask_moments(X, y, sample_weight, datafit)
        small = gram_form_from(moments.statistics(fit_intercept), datafit, penalty,
                               fit_intercept).problem
        grid = gram_grid(small, moments, standardize, fit_intercept, n_alphas,
                         alpha_min_ratio, alphas)
        res = gram_path(small, moments, grid, standardize, fit_intercept,
                        {"solver": solver, "tol": tol, "max_iter": max_iter,
                         "callback": callback, "engine": engine})
        return describe_path(res, fit_intercept, standardize,
                                     column_names(X))
    problem = make_problem(X, y, datafit, penalty, fit_intercept=fit_intercept,
                           sample_weight=sample_weight, offset=offset, keep_dense=True)
    options = dict(n_alphas=n_alphas, alpha_min_ratio=alpha_min_ratio, alphas=alphas,
                   solver=solver, tol=tol, max_iter=max_iter, callback=callback,
                   precompute=precompute, engine=engine, dfmax=dfmax, pmax=pmax)
    names = column_names(X)
    if _by_row_blocks(problem, precompute):
        from .sufficient import path_by_row_blocks

        res = describe_path(path_by_row_blocks(problem, standardize, options), fit_intercept,
                            standardize, names)
    else:
        problem = problem.with_solver_layout()
        if standardize:
            res = describe_path(_path_standardized(problem, standardize, options),
                                fit_intercept, standardize, names)
        else:  # (described as it is built: a copy of the result costs a small path's time)
            res = path_problem(problem, feature_names=names, **options)
    if relax:  # (the refits on each support read X in the solvers' layout)
        from .relax import relaxed_path

        res = relaxed_path(res, problem.with_solver_layout())
    return res


def _by_row_blocks(problem: Problem, precompute) -> bool:
    """Whether the Gram form is computed from the caller's X by blocks of rows: the Gram
    route is taken and X is sparse (its CSR or CSC arrays as given: no CSC copy) or dense
    but not in the solvers' layout (float32, or C-ordered: a float64 Fortran copy would
    cost one or two times X)."""
    X = problem.X
    return ((problem.is_sparse or not (X.dtype == np.float64 and X.flags.f_contiguous))
            and use_gram(problem, precompute))


def _path_standardized(problem: Problem, standardize: bool, options: dict) -> PathResult:
    """:func:`path_problem`, on standardized columns if asked (reported unscaled)."""
    if not standardize:
        return path_problem(problem, **options)
    from .standardize import standardized, unscale_path

    scaled, shift, scale = standardized(problem, True)
    return unscale_path(path_problem(scaled, **options), shift, scale)


def describe_path(res: PathResult, fit_intercept: bool, standardize: bool, feature_names
                  ) -> PathResult:
    """The path with how it was fitted (for refits)."""
    return dataclasses.replace(res, fit_intercept=bool(fit_intercept),
                               standardize=bool(standardize), feature_names=feature_names)


def deviance_ratios(problem: Problem, coefs: np.ndarray, intercepts: np.ndarray,
                    datafits: np.ndarray | None = None, null: float | None = None
                    ) -> np.ndarray:
    """The fraction of the null deviance each fit explains (glmnet's ``dev.ratio``).
    Invariant under standardization and exact on a Gram form (the same datafit at every
    ``w``), so the problem as solved gives it: on a tall table that is ``p + 1`` rows
    instead of ``n``. ``datafits``: the datafit at each fit when the solver already has
    it (the compiled path driver), instead of another pass over the data per fit.
    ``null``: :func:`.fitting.null_value_of` ``problem``, when the caller has it."""
    null = null_value_of(problem) if null is None else null
    if not null > 0:
        return np.full(coefs.shape[0], np.nan)
    if datafits is None:
        datafits = _datafit_values(problem, coefs, intercepts)
    return 1.0 - datafits / null


def _dask_newton(X, y, datafit, penalty, sample_weight, n_alphas, alpha_min_ratio, alphas,
                 tol, fit_intercept, standardize) -> PathResult:
    """:func:`path` of a smooth datafit on a Dask array (:mod:`.tall_newton`)."""
    from .tall_newton import newton_path

    if getattr(X, "moments_source", False) or not fit_intercept:
        raise ValueError(f"{type(datafit).__name__} on Dask arrays is fitted by proximal "
                         "Newton with an intercept: use fit_intercept=True")
    return newton_path(X, y, datafit, penalty, sample_weight=sample_weight,
                       n_alphas=n_alphas, alpha_min_ratio=alpha_min_ratio, alphas=alphas,
                       tol=tol, standardize=standardize)[0]


#: rows (dense X) or fits (sparse X) per block when every fit of a path is evaluated
ROWS, FITS = 8192, 8


def _datafit_values(problem: Problem, coefs: np.ndarray, intercepts: np.ndarray):
    """The datafit at each fit of a path, from one product ``X W^T``
    (:func:`.cv_tasks.linear_predictors`) rather than a Python loop over the alphas
    (whose overhead dominates on small tables)."""
    from .cv_tasks import linear_predictors  # (cv_tasks imports this module)

    if problem.datafit.multiclass:
        Z = linear_predictors(problem.X, coefs, intercepts)  # (n, k, n_classes)
        return np.array([problem.datafit_value(Z[:, k]) for k in range(Z.shape[1])])
    offset = np.zeros(problem.n_samples) if problem.offset is None else problem.offset
    # by blocks: Z and the losses of every fit would be (n, n_alphas) each, as large as
    # X itself for a 100-alpha path on 100 features (rows of dense X; fits for sparse X,
    # whose rows are not contiguous)
    total = np.zeros(coefs.shape[0])
    if problem.is_sparse:
        step = _fits_per_block(problem.X)
        for first in range(0, coefs.shape[0], step):
            fits = slice(first, first + step)
            Z = linear_predictors(problem.X, coefs[fits], intercepts[fits]) + offset[:, None]
            total[fits] = problem.sample_weight @ problem.datafit.loss(problem.y[:, None], Z)
        return total / problem.n_samples
    for start in range(0, problem.n_samples, ROWS):
        rows = slice(start, start + ROWS)
        Z = linear_predictors(problem.X[rows], coefs, intercepts) + offset[rows, None]
        total += problem.sample_weight[rows] @ problem.datafit.loss(problem.y[rows, None], Z)
    return total / problem.n_samples


def _fits_per_block(X) -> int:
    """Fits per block of sparse X: at most ``FITS``, and few enough that the block's
    predictors and losses (a few ``n x fits`` arrays) stay small beside X (a tenth of
    its 12 bytes per entry, for sparse rows of a few entries)."""
    return int(min(FITS, max(1, X.nnz // (30 * X.shape[0]))))


ENGINES = ("auto", "compiled", "python")


def path_problem(problem: Problem, *, n_alphas: int = 100,
                 alpha_min_ratio: float | None = None,
                 alphas=None, solver: str = "auto", tol: float = DEFAULT_TOL,
                 max_iter: int | None = None, callback=None,
                 precompute="auto", engine: str = "auto",
                 n_samples: int | None = None, dfmax: int | None = None,
                 pmax: int | None = None, feature_names=None) -> PathResult:
    """:func:`path` on an already validated problem (cross-validation calls this).

    ``n_samples``: the rows of the original data when ``problem`` is already its Gram
    form (:mod:`.sufficient`): the choice of the engine depends on them. ``dfmax``,
    ``pmax``: :mod:`.constraints`. ``feature_names``: the columns' names, for the result
    (which says how it was fitted: the problem's ``fit_intercept``, unstandardized)."""
    limits = PathLimits(dfmax, pmax, problem.n_features)
    gram = gram_form(problem) if use_gram(problem, precompute) else None
    original, problem = problem, (gram.problem if gram is not None else problem)
    rows = _row_space(problem, solver, engine)
    problem = rows.problem if rows is not None else problem
    grad0, b0, coef0 = null_gradient(problem)
    n_samples = original.n_samples if n_samples is None else int(n_samples)
    # (the Gram form has the same gradient and curvature as the original in p + 1 rows)
    grid, a_max = default_grid(problem if rows is None else original, n_alphas,
                               alpha_min_ratio, grad0, n_samples)
    grid = grid if alphas is None else check_alphas(alphas)
    k_alphas = grid.shape[0]
    tol, max_iter = check_tol(tol), check_max_iter(max_iter)
    null = null_value_of(problem)  # (the stopping scale's unit and the null deviance)
    scale = stopping_scale(problem.with_penalty(problem.penalty.with_alpha(float(grid[0]))),
                           null)
    if _exact_ridge(problem, solver, engine):
        out = _ridge_fits(problem, grid, tol, max_iter, scale, callback, limits)
    elif _compiled_engine(problem, solver, grid, tol, n_samples, engine):
        out = path_driver.solve_path(problem, grid, tol, max_iter, scale)
        out["solver"], out["kind"] = "cd", "gap"
        _report_all(callback, k_alphas)
        out["kept"], out["why"] = limits.cut(out["coefs"], grid)
    else:
        out = _solve_each(problem, grid, solver, tol, max_iter, Iterate(coef0, b0), scale,
                          callback, limits)
    note = ""
    if out["kept"] < k_alphas:  # dfmax / pmax: the fits within the limits
        note = truncation_note(out["why"], out["kept"], k_alphas)
        grid, k_alphas = grid[:out["kept"]], out["kept"]
        for key in ("coefs", "intercepts", "objectives", "certificates", "n_iters",
                    "stop_reasons", "datafits"):
            if key in out:
                out[key] = out[key][:k_alphas]
    converged = out["stop_reasons"] != "max_iter"
    if not converged.all():
        bad = np.flatnonzero(~converged)
        warnings.warn(
            f"{bad.size} of {k_alphas} alphas did not converge (worst {out['kind']} "
            f"{out['certificates'][bad].max():.3e} at alpha={grid[bad[0]]:.4g}); "
            "increase max_iter or tol", ConvergenceWarning, stacklevel=3)
    coefs = out["coefs"]
    ratio = deviance_ratios(problem, coefs, out["intercepts"], out.get("datafits"), null)
    if rows is not None:  # the same predictors, objectives and certificates
        coefs = rows.coefs(coefs)
    if gram is not None:  # the same objectives and certificates; only b maps back
        out["intercepts"] = gram.intercepts(coefs)
    return PathResult(
        alphas=grid, coefs=coefs, intercepts=out["intercepts"],
        objectives=out["objectives"], certificates=out["certificates"],
        certificate_kind=out["kind"], n_iters=out["n_iters"], converged=converged,
        stop_reasons=out["stop_reasons"], alpha_max=a_max, solver=out["solver"],
        penalty=original.penalty.with_alpha(float(grid[-1])), datafit=original.datafit,
        classes=original.classes, deviance_ratio=ratio, truncation=note,
        fitted_with_offset=original.offset is not None, feature_names=feature_names,
        fit_intercept=bool(original.fit_intercept),
    )


def _compiled_engine(problem, solver, grid, tol, n_samples, engine) -> bool:
    """Whether the path runs in the compiled path driver (``engine``: "compiled" where
    it can serve, else an error saying why; "python" never; "auto" where it pays)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if engine == "python":
        return False
    why_not = path_driver.refusal(problem, solver, grid)
    if engine == "compiled":
        if why_not:
            raise ValueError(f"engine='compiled' cannot serve this path: {why_not}; "
                             "use engine='auto' or 'python'")
        return True
    return not why_not and path_driver.pays(problem, tol, n_samples)


#: The largest ``min(n, p)`` of a ridge path solved by one decomposition (its cost grows
#: as ``min(n, p)^2 max(n, p)``; coordinate descent's does not).
EXACT_RIDGE_MAX_RANK = 2000


def _exact_ridge(problem: Problem, solver: str, engine: str) -> bool:
    """Whether ``engine="auto"`` solves the path by one decomposition (:func:`ridge_path`):
    a quadratic datafit and a ridge penalty (declared by ``datafit.quadratic`` and
    ``penalty.ridge``), dense X of moderate rank. A ridge of tiny alpha is the worst case
    of coordinate descent (the condition number of X^T X); the decomposition does not see
    it."""
    return (engine == "auto" and solver in ("auto", "cd") and problem.datafit.quadratic
            and not problem.datafit.multiclass and problem.penalty.ridge
            and not problem.is_sparse and min(problem.X.shape) <= EXACT_RIDGE_MAX_RANK)


def _row_space(problem: Problem, solver: str, engine: str) -> row_space.RowSpace | None:
    """With ``engine="auto"``, a wide ridge problem of a datafit that is not quadratic
    is solved in the row space of X (:mod:`.row_space`), when its rank is lower."""
    if engine == "auto" and solver in ("auto", "cd") and row_space.applies(problem):
        return row_space.reduce(problem)
    return None


def ridge_path(problem: Problem, alphas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exact minimizers ``(coefs (k, p), intercepts (k,))`` of a ridge problem
    (:func:`_exact_ridge`) at every alpha, from one decomposition of X: in the columns
    ``X_j / sqrt(omega_j)`` the penalty is ``alpha / 2 ||v||^2``, scikit-learn's Ridge
    with ``alpha n`` (the sample weights sum to ``n``)."""
    from .selection import decompose_validated, ridge_coefs

    root = np.sqrt(problem.penalty.feature_weights(problem.n_features))
    y = problem.y if problem.offset is None else problem.y - problem.offset  # (exact: LS)
    dec = decompose_validated(np.asarray(problem.X) / root, np.asarray(y, dtype=float),
                              problem.sample_weight, problem.fit_intercept)
    coefs, intercepts = ridge_coefs(dec, problem.n_samples * np.asarray(alphas, dtype=float))
    return coefs / root, intercepts


def _ridge_fits(problem: Problem, grid, tol, max_iter, scale, callback,
                limits: PathLimits) -> dict:
    """The exact ridge path (:func:`ridge_path`), every alpha certified in one batch; if
    a gap misses ``tol`` (rounding on a nearly singular X) or ``limits`` are set, each
    alpha goes through the solver from its exact point instead (:func:`_solve_each`)."""
    coefs, intercepts = ridge_path(problem, grid)
    objectives, gaps = ridge_certificates(problem, grid, coefs, intercepts)
    if limits.active or np.any(gaps > tolerance_at(objectives, tol, scale)):
        return _solve_each(problem, grid, "cd", tol, max_iter, None, scale, callback,
                           limits, starts=(coefs, intercepts))
    k_alphas = grid.shape[0]
    _report_all(callback, k_alphas)
    return {"coefs": coefs, "intercepts": intercepts, "objectives": objectives,
            "certificates": gaps, "n_iters": np.zeros(k_alphas, dtype=int),
            "stop_reasons": np.full(k_alphas, "gap"), "kept": k_alphas, "why": "",
            "kind": "gap", "solver": "cd"}


def _report_all(callback, k_alphas: int) -> None:
    """The progress ``callback(k, k_alphas)`` of each alpha, for a path solved at once."""
    for k in range(k_alphas) if callback is not None else ():
        callback(k + 1, k_alphas)


def _solve_each(problem: Problem, grid, solver, tol, max_iter, start, scale, callback,
                limits: PathLimits, starts=None) -> dict:
    """Each alpha of ``grid`` solved by the solver, warm-started from the last (or from
    ``starts = (coefs, intercepts)``, one point per alpha: the solver certifies it, and
    goes on from it only if it falls short of ``tol``); the results as
    :func:`.path_driver.solve_path` returns them, plus the certificate ``kind``, the
    ``solver`` name and the fits ``kept`` within ``limits`` (``why``: the reason it
    stopped early, ""). (Solvers do not warn: the caller summarizes the alphas that did
    not converge.)"""
    k_alphas = grid.shape[0]
    out = {"coefs": np.zeros((k_alphas,) + problem.coef_shape),
           "intercepts": np.zeros((k_alphas,) + problem.intercept_shape),
           "objectives": np.zeros(k_alphas), "certificates": np.zeros(k_alphas),
           "n_iters": np.zeros(k_alphas, dtype=int),
           "stop_reasons": np.empty(k_alphas, dtype=object), "kept": k_alphas, "why": ""}
    for k, a in enumerate(grid):
        sub = problem.with_penalty(problem.penalty.with_alpha(float(a)))
        if starts is not None:
            start = Iterate(starts[0][k], float(starts[1][k]))
        res, start = solve_from(sub, solver, tol, max_iter, start, scale)
        why = limits.exceeded(res.coef, float(a)) if limits.active else ""
        if why:
            out["kept"], out["why"] = k, why
            break
        out["coefs"][k] = res.coef
        out["intercepts"][k], out["objectives"][k] = res.intercept, res.objective
        out["certificates"][k], out["n_iters"][k] = res.certificate, res.n_iter
        out["stop_reasons"][k], out["kind"] = res.stop_reason, res.certificate_kind
        if callback is not None:
            callback(k + 1, k_alphas)
    out["solver"] = res.solver
    out["stop_reasons"] = out["stop_reasons"].astype(str)
    return out
