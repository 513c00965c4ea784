"""What the scikit-learn drop-in estimators share: input checks, fitted attributes.

The estimators are thin: they translate scikit-learn's parameters into a
datafit, a penalty and an alpha in penalized's one convention, call
:func:`penalized.fit` or :func:`penalized.cross_validate`, and copy the
result into scikit-learn's attribute names.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from ..core.problem import make_problem
from ..core.results import FitResult
from ..core.validation import check_offset
from ..workflows.cv import CVResult, check_rule
from ..workflows.fitting import solve_problem
from ..workflows.standardize import scale_init, standardized, unscale_fit

#: solver names of scikit-learn that we accept and map onto ours
SOLVER_ALIASES = {"auto": "auto", "cd": "cd", "fista": "fista", "gd": "gd"}


def engine_solver(solver) -> str:
    """scikit-learn's solver names (lbfgs, saga, liblinear...) all map to ``auto``."""
    if not isinstance(solver, str):
        raise ValueError(f"solver must be a string, got {solver!r}")
    return SOLVER_ALIASES.get(solver, "auto")


def check_tol(tol) -> float:
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol > 0:
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    return float(tol)


#: the engine's ``tol`` for a scikit-learn ``tol`` below which it is taken as is
ENGINE_TOL_FLOOR = 1e-12


def sklearn_engine_tol(tol) -> float:
    """The engine's ``tol`` (a relative excess of the objective) for scikit-learn's
    ``tol`` in :class:`~penalized.linear_model.Lasso` and its kin: ``(tol / 10) ** 2``.

    scikit-learn's coordinate descent runs until the largest coefficient update is
    below ``tol`` times the largest coefficient, then until its duality gap is below
    ``tol * ||y - mean(y)||^2 / n``; in practice the first rule decides, and leaves
    coefficients accurate to about ``tol`` relative. The objective is quadratic around
    its minimum, so that accuracy is a relative excess of about ``tol ** 2``; the
    last update understates the remaining error (by the contraction factor of the
    sweeps), so the engine is run at ``(tol / 10) ** 2``: 1e-10 at the default (and
    at ``tol`` itself below :data:`ENGINE_TOL_FLOOR`, where squaring would ask for
    less than rounding allows).
    """
    tol = check_tol(tol)
    return max((tol / 10) ** 2, min(tol, ENGINE_TOL_FLOOR))


def check_max_iter(max_iter) -> int | None:
    if max_iter is None:
        return None
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    return int(max_iter)


def check_l1_ratio(l1_ratio) -> float:
    if isinstance(l1_ratio, bool) or not isinstance(l1_ratio, numbers.Real) \
            or not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"l1_ratio must be a number in [0, 1], got {l1_ratio!r}")
    return float(l1_ratio)


def check_estimator_alpha(alpha, name: str = "alpha") -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"{name} must be a number, got {alpha!r}")
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {alpha!r}")
    return float(alpha)


def alphas_argument(alphas, name: str = "alphas"):
    """``alphas`` as scikit-learn takes it: an int (grid size) or an array-like grid."""
    if isinstance(alphas, numbers.Integral) and not isinstance(alphas, bool):
        if alphas < 1:
            raise ValueError(f"{name} as a grid size must be >= 1, got {alphas}")
        return int(alphas), None
    grid = np.asarray(alphas, dtype=float).ravel()
    if grid.size == 0:
        raise ValueError(f"{name} is empty: give at least one alpha")
    if not np.all(np.isfinite(grid)) or np.any(grid < 0):
        raise ValueError(f"{name} must be finite and >= 0")
    return None, np.sort(grid)[::-1]


class LinearModelMixin(BaseEstimator):
    """Input validation and the linear predictor; estimators add ``fit``."""

    _sparse_formats = ("csc", "csr", "coo")

    def _validate_fit(self, X, y, *, classifier: bool):
        X, y = validate_data(self, X, y, accept_sparse=list(self._sparse_formats),
                             dtype=np.float64, y_numeric=not classifier,
                             ensure_min_samples=2 if classifier else 1)
        if sp.issparse(X):
            X = sp.csc_matrix(X)
        return X, y

    def _validate_predict(self, X):
        check_is_fitted(self)
        return validate_data(self, X, accept_sparse=list(self._sparse_formats),
                             dtype=np.float64, reset=False)

    def _linear_predictor(self, X, offset=None) -> np.ndarray:
        """``X @ coef_.T + intercept_``, plus the rows' ``offset`` (glmnet's ``newoffset``)
        when the model was fitted with one."""
        X = self._validate_predict(X)
        coef = self.coef_
        z = np.asarray(X @ coef.T) + self.intercept_
        if offset is None:
            return z
        offset = check_offset(offset, X.shape[0])
        return z + (offset[:, None] if z.ndim == 2 else offset)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def set_fit_attributes(est, res: FitResult, *, as_row: bool = False) -> None:
    """Copy a :class:`FitResult` into scikit-learn's fitted attributes."""
    coef = np.array(res.coef, dtype=float)
    est.certificate_ = res
    est.n_iter_ = int(res.n_iter)
    est.dual_gap_ = float(res.certificate) if res.certificate_kind == "gap" else np.nan
    if coef.ndim == 2:  # multiclass: (n_features, n_classes) -> (n_classes, n_features)
        est.coef_ = coef.T.copy()
        est.intercept_ = np.array(res.intercept, dtype=float).ravel()
    elif as_row:
        est.coef_ = coef[None, :]
        est.intercept_ = np.array([float(res.intercept)])
    else:
        est.coef_ = coef
        est.intercept_ = float(res.intercept)


def set_cv_attributes(est, cv: CVResult, rule: str) -> FitResult:
    """Attributes every CV estimator shares; returns the fit at the chosen alpha."""
    index = cv.index(check_rule(rule))
    est.cv_result_ = cv
    est.coef_path_ = np.array(cv.path.coefs, dtype=float)
    est.intercept_path_ = np.array(cv.path.intercepts, dtype=float)
    est.alpha_min_ = cv.alpha_min
    est.alpha_1se_ = cv.alpha_1se
    return cv.path[index]


def fit_single(X, y, datafit, penalty, *, fit_intercept: bool, sample_weight, solver: str,
               tol: float, max_iter: int | None, standardize: bool = False,
               init=None, offset=None) -> FitResult:
    """One fit, optionally on standardized columns, reported on the original scale."""
    problem = make_problem(X, y, datafit, penalty, fit_intercept=fit_intercept,
                           sample_weight=sample_weight, offset=offset)
    scaled, shift, scale = standardized(problem, standardize)
    if not standardize:
        return solve_problem(scaled, solver, tol, max_iter, init=init)
    res = solve_problem(scaled, solver, tol, max_iter, init=scale_init(init, shift, scale))
    return unscale_fit(res, shift, scale)
