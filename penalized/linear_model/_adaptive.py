r"""The adaptive lasso with alpha chosen by cross-validation over both stages.

Objective of the second stage (least squares, scikit-learn's scaling):

.. math::

    \frac{1}{2n} \sum_i s_i (y_i - x_i^\top w - b)^2 + \alpha \sum_j \omega_j |w_j|,
    \qquad \omega_j \propto 1 / |\hat w_j|^\gamma

with ``w_hat`` a first ridge or lasso fit (:mod:`penalized.workflows.adaptive`).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin

from ..core.datafits import LeastSquares
from ..workflows.adaptive import adaptive_cross_validate
from ..workflows.cv import check_rule
from ._base import (
    LinearModelMixin,
    alphas_argument,
    check_max_iter,
    set_cv_attributes,
    set_fit_attributes,
    sklearn_engine_tol,
)


class AdaptiveLassoCV(RegressorMixin, LinearModelMixin):
    r"""Adaptive lasso (Zou, 2006) with alpha chosen by K-fold CV of the two stages.

    In every training fold the first stage (``first`` at ``first_alpha``, or at the
    alpha of its own ``first_cv``-fold cross-validation) is refitted on the fold's rows
    and gives that fold's weights, so the CV error never sees a held-out row.

    Parameters
    ----------
    first : {"ridge", "lasso"}, default="ridge"
    gamma : float > 0, default=1.0
        The weights are ``1 / |w_first|^gamma`` (normalized to mean 1; ``inf``, i.e.
        excluded, where the first fit is 0).
    first_alpha : float, optional
        The first stage's alpha; None: chosen by its own cross-validation.
    first_cv : int or splitter, default=5
    eps : float, default=1e-3
        ``alpha_min / alpha_max`` of the second stage's grid.
    alphas : int or array-like, default=100
        Grid size, or the grid itself.
    cv : int, splitter or iterable, default=None (5 folds)
    rule : {"min", "1se"}, default="min"
    fit_intercept : bool, default=True
    standardize : bool, default=False
        Both stages on columns scaled to unit variance; ``coef_`` on the original scale.
    tol : float, default=1e-4
        scikit-learn's meaning (see :class:`penalized.linear_model.Lasso`).
    max_iter : int, default=1000

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    alpha_ : float
    alphas_ : ndarray of shape (n_alphas,)
    mse_path_ : ndarray of shape (n_alphas, n_folds)
    weights_ : ndarray of shape (n_features,)
        The full data's adaptive weights (``inf``: excluded).
    fold_weights_ : ndarray of shape (n_folds, n_features)
        Every training fold's own weights.
    coef_path_ : ndarray of shape (n_features, n_alphas)
    alpha_min_, alpha_1se_ : float
    cv_result_ : penalized.CVResult
    certificate_ : penalized.FitResult
    n_iter_ : int
    dual_gap_ : float
        NaN when some feature is excluded (a bounded fit is certified by its KKT score).

    Examples
    --------
    >>> import numpy as np
    >>> from penalized.linear_model import AdaptiveLassoCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((80, 6)); y = X[:, 0] + 0.1 * rng.standard_normal(80)
    >>> model = AdaptiveLassoCV(cv=4, alphas=20).fit(X, y)
    >>> np.flatnonzero(model.coef_).tolist()
    [0]
    """

    def __init__(self, *, first="ridge", gamma=1.0, first_alpha=None, first_cv=5, eps=1e-3,
                 alphas=100, cv=None, rule="min", fit_intercept=True, standardize=False,
                 tol=1e-4, max_iter=1000):
        self.first = first
        self.gamma = gamma
        self.first_alpha = first_alpha
        self.first_cv = first_cv
        self.eps = eps
        self.alphas = alphas
        self.cv = cv
        self.rule = rule
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X, y, sample_weight=None, groups=None):
        """Cross-validate both stages, then fit them on the full data at the chosen alpha."""
        check_rule(self.rule)
        n_alphas, grid = alphas_argument(self.alphas)
        X, y = self._validate_fit(X, y, classifier=False)
        cv, weights, fold_weights = adaptive_cross_validate(
            X, y, LeastSquares(), first=self.first, gamma=self.gamma,
            first_alpha=self.first_alpha, first_cv=self.first_cv, cv=self.cv or 5,
            n_alphas=n_alphas or 100, alpha_min_ratio=self.eps, alphas=grid,
            scoring="mse", groups=groups, sample_weight=sample_weight,
            fit_intercept=self.fit_intercept, standardize=self.standardize,
            tol=sklearn_engine_tol(self.tol), max_iter=check_max_iter(self.max_iter))
        res = set_cv_attributes(self, cv, self.rule)
        set_fit_attributes(self, res)
        self.coef_path_ = self.coef_path_.T.copy()
        self.alpha_ = float(res.alpha)
        self.alphas_ = np.array(cv.alphas)
        self.mse_path_ = np.array(cv.fold_scores).T
        self.weights_ = weights
        self.fold_weights_ = fold_weights
        return self

    def predict(self, X):
        """``X @ coef_ + intercept_``, shape (n_samples,)."""
        return self._linear_predictor(X)
