"""``pz.fit``: one penalized model at one alpha."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from ..core.certificates import optimal_free_part, uses_gap
from ..core.datafits import Datafit, LeastSquares
from ..core.exceptions import NoFiniteMinimizerWarning
from ..core.problem import Problem, make_problem
from ..core.results import FitResult
from ..penalties import L1, Penalty
from ..penalties.bounds import clip
from ..solvers import Iterate, make_solver
from ..solvers.base import warn_not_converged

#: the default ``tol`` of ``fit``, ``path``, ``cross_validate`` and the CLI: a relative
#: excess of the objective (see ``tol`` in :func:`fit`). The scikit-learn estimators
#: keep scikit-learn's 1e-4.
DEFAULT_TOL = 1e-6


def stopping_scale(problem: Problem, null_value: float | None = None) -> float:
    """Units of the stopping rule: the null model's objective (gap) or gradient (KKT).
    ``null_value``: :func:`null_value_of` ``problem`` when the caller has it."""
    if uses_gap(problem):
        return max(null_value_of(problem) if null_value is None else null_value, 1e-300)
    b0 = problem.intercept_at_zero()
    z0 = problem.null_predictor(b0)
    gz = problem.datafit.gradient_z(problem.y, z0, problem.sample_weight)
    return max(float(np.max(np.abs(problem.X.T @ gz))), 1e-12)


def null_value_of(problem: Problem) -> float:
    """The datafit at the intercept-only model (every coefficient 0, the intercept
    optimal): the gap's units and the null deviance."""
    return problem.datafit_value(problem.null_predictor(problem.intercept_at_zero()))


def null_point(problem: Problem) -> tuple[np.ndarray, float]:
    """``(coef, intercept)`` with every penalized coefficient 0 and the rest optimal.

    Unpenalized features (weight 0) and the intercept are fitted (damped Newton),
    so that the starting point of a fit and ``alpha_max`` are exact for them too.
    """
    omega = problem.penalty.feature_weights(problem.n_features)
    free = np.flatnonzero(omega == 0)
    coef = np.zeros(problem.coef_shape)
    b = problem.intercept_at_zero()
    if free.size:
        z0 = problem.null_predictor(b)
        coef[free], b, _ = optimal_free_part(problem, free, problem.null_predictor(0.0), z0)
        # bounded (or positive) free features start at their unconstrained optimum,
        # clipped (a feasible start; the solver and the certificate's intercept update
        # take it from there)
        coef = clip(coef, problem.penalty.bounds(problem.n_features))
        if problem.penalty.positive:
            coef = np.maximum(coef, 0.0)
    return coef, b


def null_gradient(problem: Problem) -> tuple[np.ndarray, float, np.ndarray]:
    """Datafit gradient at :func:`null_point`: ``(grad, intercept, coef)``."""
    coef, b = null_point(problem)
    grad, _, _ = problem.gradient(coef, b)
    return grad, b, coef


def _initial_point(problem: Problem, init) -> tuple[np.ndarray, float]:
    if init is None:  # the null model: penalized features 0, the free part optimal
        return null_point(problem)
    if isinstance(init, FitResult):
        coef, b = init.coef, init.intercept
    elif isinstance(init, tuple) and len(init) == 2:
        coef, b = init
    else:
        coef, b = init, problem.intercept_at_zero()
    coef = np.array(coef, dtype=float)
    if coef.shape != problem.coef_shape:
        raise ValueError(f"init coefficients have shape {coef.shape}, expected "
                         f"{problem.coef_shape}")
    if problem.intercept_shape:  # multiclass: one intercept per class
        b = np.broadcast_to(np.asarray(b, dtype=float), problem.intercept_shape).copy()
        if not problem.fit_intercept:
            b = np.zeros(problem.intercept_shape)
    if not np.all(np.isfinite(coef)) or not np.all(np.isfinite(b)):
        raise ValueError("init contains NaN or infinity")
    if problem.intercept_shape:
        return coef, b
    return coef, float(b) if problem.fit_intercept else 0.0


def check_tol(tol) -> float:
    """``tol`` as a float, or one clear error."""
    if isinstance(tol, bool) or not isinstance(tol, int | float | np.floating | np.integer) \
            or not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    return float(tol)


def solve_problem(problem: Problem, solver: str = "auto", tol: float = DEFAULT_TOL,
                  max_iter: int | None = None, init=None, scale: float | None = None
                  ) -> FitResult:
    """Solve an already validated :class:`Problem` (estimators and workflows call this)."""
    coef, b = _initial_point(problem, init)
    res = solve_from(problem, solver, tol, max_iter, Iterate(coef, b), scale)[0]
    warn_not_converged(res, stacklevel=2)
    warn_if_unbounded(problem, res)
    return res


def separates(problem: Problem, coef, b) -> bool:
    """Whether the linear model classifies every (positively weighted) sample
    correctly with a positive margin: then scaling it up lowers a classification
    loss forever, so an unpenalized objective has no finite minimizer."""
    z = problem.linear_predictor(coef, b)
    used = problem.sample_weight > 0
    if problem.datafit.multiclass:
        own = z[np.arange(z.shape[0]), problem.y.astype(int)]
        rivals = z.copy()
        rivals[np.arange(z.shape[0]), problem.y.astype(int)] = -np.inf
        margin = own - rivals.max(axis=1)
    else:
        margin = problem.y * z
    return bool(np.all(margin[used] > 0))


def warn_if_unbounded(problem: Problem, res: FitResult) -> None:
    """At ``alpha = 0``, or with a penalty bounded above (MCP, SCAD), a classification loss on
    separable data has no minimizer: any reported fit is a point on a ray to infinity,
    "converged" or not."""
    flat = res.penalty.bounded_above and res.penalty.alpha > 0
    if (res.penalty.alpha > 0 and not flat) or problem.datafit.task != "classification":
        return
    if separates(problem, res.coef, res.intercept):
        where, remedy = (f"and {type(res.penalty).__name__} is bounded above",
                         "use a convex penalty (L1, elastic net)") if flat \
            else ("at alpha=0", "use alpha > 0")
        warnings.warn(
            f"the classes are perfectly separated {where}: no finite minimizer exists "
            f"(the coefficients, largest |coef| = {np.max(np.abs(res.coef)):.3g}, grow "
            f"without bound as the solver goes on); {remedy}",
            NoFiniteMinimizerWarning, stacklevel=4)


def solve_from(problem: Problem, solver: str, tol: float, max_iter: int | None,
               start: Iterate, scale: float | None = None) -> tuple[FitResult, Iterate]:
    """Solve from ``start``: the result and the final iterate (a path's next start)."""
    s = make_solver(solver, problem, check_tol(tol), check_max_iter(max_iter))
    if scale is None:
        scale = stopping_scale(problem)
    return s.solve(problem, start, scale)


def check_max_iter(max_iter) -> int | None:
    if max_iter is None:
        return None
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) \
            or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    return int(max_iter)


def fit(X, y, datafit: Datafit | None = None, penalty: Penalty | None = None,
        alpha: float | None = None, *, solver: str = "auto", tol: float = DEFAULT_TOL,
        max_iter: int | None = None, fit_intercept: bool = True, sample_weight=None,
        init=None, standardize: bool = False, exclude=None, offset=None) -> FitResult:
    r"""Fit a penalized linear model at one alpha.

    Minimizes

    .. math:: \frac{1}{n} \sum_i s_i\, \ell(y_i, x_i^\top w + b) + \alpha P(w)

    Parameters
    ----------
    X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Targets; for :class:`~penalized.Logistic` any two labels, for
        :class:`~penalized.Multinomial` any labels (then ``coef`` has shape
        (n_features, n_classes) and ``intercept`` shape (n_classes,)).
    datafit : Datafit, default=LeastSquares()
    penalty : Penalty, default=L1()
        Its ``alpha`` is used unless ``alpha`` is given; never mutated.
    alpha : float, optional
        Penalty strength (scikit-learn's ``Lasso`` scaling).
    solver : {"auto", "cd", "fista", "gd"}, default="auto"
        ``auto`` is working-set coordinate descent for separable penalties.
    tol : float, default=1e-6
        Target relative accuracy of the objective. Every solver stops when the
        duality gap (a guaranteed bound on the excess) is below ``tol`` times the
        objective (``stop_reason == "gap"``), or, without a gap, when the KKT
        violation is below ``tol`` times the null model's gradient (``"kkt"``).
        Coordinate descent with an L1 part (and ``tol`` not below
        ``CDSettings.progress_min_tol``) may also stop when its *estimate* of the
        excess is below the target (``"progress"``): near the bottom of a wide path
        the gap is a very loose bound and waiting for it costs many times the work.
        ``certificate`` is always the gap at the returned point, so it may exceed
        ``tol * objective`` then; the estimate and its safety factors are in
        :mod:`penalized.solvers.cd.settings`.
    max_iter : int, optional
        Solver-specific bound (epochs for cd, steps for gd and fista).
    fit_intercept : bool, default=True
        Fit an unpenalized intercept.
    sample_weight : array-like of shape (n_samples,), optional
        Normalized to sum to n_samples.
    init : FitResult, (coef, intercept) or coef array, optional
        Starting point (warm start), on the original columns.
    standardize : bool, default=False
        Fit on columns scaled to unit variance (the penalty then treats features
        equally, glmnet's default); ``coef`` is reported in the original units.
    exclude : indices, column names or boolean mask, optional
        Features forced to 0 (glmnet's ``exclude``; see :func:`penalized.path`).
    offset : array-like of shape (n_samples,), optional
        A fixed part of the linear predictor, ``z = X w + b + offset`` (glmnet's
        ``offset``): ``log(exposure)`` for :class:`~penalized.Poisson` rates. Predict
        with the new rows' offset: ``res.predict(X_new, offset=...)``.

    Returns
    -------
    FitResult
        ``coef``, ``intercept``, ``objective``, ``certificate``, ``n_iter``,
        ``converged``...

    Examples
    --------
    >>> import numpy as np, penalized as pz
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])
    >>> y = np.array([1.0, 0.0, 1.0, 2.0])
    >>> res = pz.fit(X, y, pz.LeastSquares(), pz.L1(), alpha=0.01)
    >>> bool(res.converged), res.coef.round(2).tolist()
    (True, [0.98, 0.0])
    """
    datafit = LeastSquares() if datafit is None else datafit
    penalty = L1() if penalty is None else penalty
    if alpha is not None:
        penalty = penalty.with_alpha(alpha)
    if exclude is not None:
        from .constraints import exclude_features, n_columns

        penalty = exclude_features(penalty, exclude, n_columns(X), column_names(X))
    problem = make_problem(X, y, datafit, penalty, fit_intercept=fit_intercept,
                           sample_weight=sample_weight, offset=offset)
    res = _solve_standardized(problem, standardize, solver, tol, max_iter, init)
    return dataclasses.replace(res, feature_names=column_names(X))


def column_names(X) -> tuple | None:
    """A DataFrame's column names (as strings), else None."""
    columns = getattr(X, "columns", None)
    return None if columns is None else tuple(str(c) for c in columns)


def _solve_standardized(problem: Problem, standardize: bool, solver, tol, max_iter, init
                        ) -> FitResult:
    """:func:`solve_problem`, on standardized columns if asked (reported unscaled)."""
    if not standardize:
        return solve_problem(problem, solver, tol, max_iter, init)
    from .standardize import scale_init, standardized, unscale_fit

    scaled, shift, scale = standardized(problem, True)
    if init is not None and scale_init(init, shift, scale) is None:
        raise ValueError("with standardize=True, init must be a FitResult or "
                         "(coef, intercept)")
    res = solve_problem(scaled, solver, tol, max_iter, scale_init(init, shift, scale))
    return unscale_fit(res, shift, scale)
