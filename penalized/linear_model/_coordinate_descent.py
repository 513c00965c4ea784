r"""Lasso, ElasticNet and their cross-validated versions (scikit-learn drop-ins).

Objective (scikit-learn's, and penalized's one convention):

.. math::

    \frac{1}{2n} \sum_i s_i (y_i - x_i^\top w - b)^2
    + \alpha \left( r \|w\|_1 + \frac{1 - r}{2} \|w\|_2^2 \right)

with ``r = l1_ratio`` (1 for Lasso) and sample weights ``s`` rescaled to sum
to ``n`` (as scikit-learn does).

``tol`` (default 1e-4, as scikit-learn's) means what it means to scikit-learn: a
relative accuracy of the coefficients. scikit-learn stops when the largest
coefficient update is below ``tol`` times the largest coefficient and its duality
gap below ``tol * ||y - mean(y)||^2 / n``; penalized's engine stops on a relative
excess of the objective (see :func:`penalized.fit`), which is quadratic in the
coefficients' error, so these estimators run it at ``(tol / 10) ** 2`` (a margin
of ten on the coefficients; ``tol`` itself below 1e-12):
:func:`penalized.linear_model._base.sklearn_engine_tol`. At the default the
coefficients are then as close to the optimum as scikit-learn's.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import RegressorMixin

from ..core.datafits import LeastSquares
from ..penalties import L1
from ..penalties import ElasticNet as ElasticNetPenalty
from ..workflows.cv import check_rule, cross_validate
from ._base import (
    LinearModelMixin,
    alphas_argument,
    check_estimator_alpha,
    check_l1_ratio,
    check_max_iter,
    engine_solver,
    fit_single,
    set_cv_attributes,
    set_fit_attributes,
    sklearn_engine_tol,
)


def _penalty(l1_ratio: float, positive: bool):
    if l1_ratio == 1.0:
        return L1(positive=bool(positive))
    return ElasticNetPenalty(l1_ratio=l1_ratio, positive=bool(positive))


class _ElasticNetModel(RegressorMixin, LinearModelMixin):
    """Fit and predict shared by :class:`ElasticNet` and :class:`Lasso`."""

    def _ratio(self) -> float:
        return check_l1_ratio(self.l1_ratio)

    def fit(self, X, y, sample_weight=None, check_input=True, offset=None):
        """Fit on ``X`` (n_samples, n_features), dense or sparse, and ``y`` (n_samples,);
        ``offset`` (n_samples,): a fixed part of the predictor (glmnet's)."""
        alpha = check_estimator_alpha(self.alpha)
        ratio = self._ratio()
        X, y = self._validate_fit(X, y, classifier=False)
        init = None
        if self.warm_start and getattr(self, "coef_", None) is not None \
                and np.shape(self.coef_) == (X.shape[1],):
            init = (self.coef_, self.intercept_)
        res = fit_single(X, y, LeastSquares(), _penalty(ratio, self.positive).with_alpha(alpha),
                         fit_intercept=self.fit_intercept, sample_weight=sample_weight,
                         solver=engine_solver(self.solver),
                         tol=sklearn_engine_tol(self.tol),
                         max_iter=check_max_iter(self.max_iter),
                         standardize=self.standardize, init=init, offset=offset)
        set_fit_attributes(self, res)
        return self

    @property
    def sparse_coef_(self):
        return sp.csr_matrix(self.coef_[None, :])

    def predict(self, X, offset=None):
        """``X @ coef_ + intercept_`` (+ ``offset``), shape (n_samples,)."""
        return self._linear_predictor(X, offset)


class ElasticNet(_ElasticNetModel):
    r"""Linear regression with an elastic-net penalty (drop-in for scikit-learn's).

    Parameters
    ----------
    alpha : float, default=1.0
    l1_ratio : float in [0, 1], default=0.5
    fit_intercept : bool, default=True
    precompute, copy_X, random_state, selection :
        Accepted for compatibility; no effect.
    max_iter : int, default=1000
        Bound on coordinate-descent epochs (over working sets).
    tol : float, default=1e-4
        scikit-learn's: a relative accuracy of the coefficients; the engine runs at
        ``(tol / 10) ** 2`` (see the module docstring).
    warm_start : bool, default=False
        Start from the previous ``coef_``.
    positive : bool, default=False
    solver : {"auto", "cd", "fista"}, default="auto"
    standardize : bool, default=False
        Fit on columns scaled to unit variance; ``coef_`` on the original scale.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : int
    dual_gap_ : float
    certificate_ : penalized.FitResult
        The fit, with its objective and optimality certificate.

    Examples
    --------
    >>> import numpy as np
    >>> from penalized.linear_model import ElasticNet
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 2.0]]); y = X @ [1.0, 0.5]
    >>> ElasticNet(alpha=0.01).fit(X, y).coef_.round(2)
    array([0.97, 0.49])
    """

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, precompute=False,
                 max_iter=1000, copy_X=True, tol=1e-4, warm_start=False, positive=False,
                 random_state=None, selection="cyclic", solver="auto", standardize=False):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.copy_X = copy_X
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.solver = solver
        self.standardize = standardize


class Lasso(_ElasticNetModel):
    r"""Linear regression with an L1 penalty (drop-in for scikit-learn's ``Lasso``).

    Same parameters and attributes as :class:`ElasticNet`, with ``l1_ratio = 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from penalized.linear_model import Lasso
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 2.0]]); y = X @ [1.0, 0.0]
    >>> Lasso(alpha=0.01).fit(X, y).coef_.round(2)
    array([0.99, 0.  ])
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True, precompute=False, copy_X=True,
                 max_iter=1000, tol=1e-4, warm_start=False, positive=False,
                 random_state=None, selection="cyclic", solver="auto", standardize=False):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.solver = solver
        self.standardize = standardize

    def _ratio(self) -> float:
        return 1.0


class _ElasticNetCVModel(RegressorMixin, LinearModelMixin):
    """Fit and predict shared by :class:`ElasticNetCV` and :class:`LassoCV`."""

    def _ratios(self):
        if np.ndim(self.l1_ratio) == 0:
            return [check_l1_ratio(self.l1_ratio)], False
        ratios = [check_l1_ratio(r) for r in np.ravel(self.l1_ratio)]
        if not ratios:
            raise ValueError("l1_ratio is an empty list")
        return ratios, True

    def fit(self, X, y, sample_weight=None, groups=None, **params):
        """Cross-validate, then set the fit at the chosen alpha on the full data."""
        check_rule(self.rule)
        ratios, is_grid = self._ratios()
        n_alphas, grid = alphas_argument(self.alphas)
        X, y = self._validate_fit(X, y, classifier=False)
        cv = cross_validate(
            X, y, LeastSquares(), _penalty(ratios[0], self.positive), cv=self.cv or 5,
            n_alphas=n_alphas or 100, alpha_min_ratio=self.eps, alphas=grid,
            l1_ratios=ratios if is_grid else None, scoring="mse", groups=groups,
            sample_weight=sample_weight, fit_intercept=self.fit_intercept,
            standardize=self.standardize, solver=engine_solver(self.solver),
            tol=sklearn_engine_tol(self.tol), max_iter=check_max_iter(self.max_iter),
            n_jobs=self.n_jobs, client=self.client)
        res = set_cv_attributes(self, cv, self.rule)
        set_fit_attributes(self, res)
        self.coef_path_ = self.coef_path_.T.copy()
        self.alpha_ = float(res.alpha)
        self.l1_ratio_ = float(cv.l1_ratio) if is_grid else ratios[0]
        if is_grid:
            self.alphas_ = np.array(cv.alphas_grid)
            self.mse_path_ = np.array(cv.fold_scores_grid).transpose(0, 2, 1)
        else:
            self.alphas_ = np.array(cv.alphas)
            self.mse_path_ = np.array(cv.fold_scores).T
        return self

    def predict(self, X):
        """``X @ coef_ + intercept_``, shape (n_samples,)."""
        return self._linear_predictor(X)


class ElasticNetCV(_ElasticNetCVModel):
    r"""Elastic net with alpha (and optionally l1_ratio) chosen by K-fold CV.

    Drop-in for scikit-learn's ``ElasticNetCV``, plus ``rule`` and ``standardize``.

    Parameters
    ----------
    l1_ratio : float or list of float, default=0.5
        A list is cross-validated too.
    eps : float, default=1e-3
        ``alpha_min / alpha_max`` of the grid.
    alphas : int or array-like, default=100
        Grid size, or the grid itself.
    cv : int, splitter or iterable, default=None (5 folds)
    rule : {"min", "1se"}, default="min"
        ``"1se"``: the largest alpha within one standard error of the best score.
    n_jobs : int, optional
        Folds in parallel.
    client : distributed.Client, optional
        Every (fold, l1_ratio) path as a Dask future on this cluster (None: the active
        client, if any); see :func:`penalized.cross_validate`.
    fit_intercept, max_iter, tol, positive, solver, standardize : as in :class:`ElasticNet`.
    precompute, copy_X, verbose, random_state, selection : accepted; no effect.

    Attributes
    ----------
    alpha_, l1_ratio_ : float
    alphas_ : ndarray of shape (n_alphas,) or (n_l1_ratios, n_alphas)
    mse_path_ : ndarray of shape (n_alphas, n_folds) or (n_l1_ratios, n_alphas, n_folds)
    coef_ : ndarray of shape (n_features,)
    intercept_, dual_gap_ : float
    n_iter_ : int
    coef_path_ : ndarray of shape (n_features, n_alphas)
        Full-data path at the chosen l1_ratio.
    alpha_min_, alpha_1se_ : float
    cv_result_ : penalized.CVResult
    certificate_ : penalized.FitResult
    """

    def __init__(self, *, l1_ratio=0.5, eps=1e-3, alphas=100, fit_intercept=True,
                 precompute="auto", max_iter=1000, tol=1e-4, cv=None, copy_X=True,
                 verbose=0, n_jobs=None, positive=False, random_state=None,
                 selection="cyclic", rule="min", solver="auto", standardize=False,
                 client=None):
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.tol = tol
        self.cv = cv
        self.copy_X = copy_X
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.rule = rule
        self.solver = solver
        self.standardize = standardize
        self.client = client


class LassoCV(_ElasticNetCVModel):
    r"""Lasso with alpha chosen by K-fold CV (drop-in for scikit-learn's ``LassoCV``).

    Same parameters and attributes as :class:`ElasticNetCV` with ``l1_ratio = 1``,
    plus ``rule="min" | "1se"``.

    Examples
    --------
    >>> import numpy as np
    >>> from penalized.linear_model import LassoCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((80, 6)); y = X[:, 0] + 0.1 * rng.standard_normal(80)
    >>> model = LassoCV(cv=4, rule="1se").fit(X, y)
    >>> bool(model.alpha_ >= model.alpha_min_), int(np.count_nonzero(model.coef_))
    (True, 1)
    """

    def __init__(self, *, eps=1e-3, alphas=100, fit_intercept=True, precompute="auto",
                 max_iter=1000, tol=1e-4, copy_X=True, cv=None, verbose=False, n_jobs=None,
                 positive=False, random_state=None, selection="cyclic", rule="min",
                 solver="auto", standardize=False, client=None):
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.tol = tol
        self.copy_X = copy_X
        self.cv = cv
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.rule = rule
        self.solver = solver
        self.standardize = standardize
        self.client = client

    def _ratios(self):
        return [1.0], False
