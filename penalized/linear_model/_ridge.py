r"""Ridge and RidgeCV (scikit-learn drop-ins), solved in closed form.

scikit-learn's objective, with raw (not normalized) sample weights ``s``:

.. math:: \sum_i s_i (y_i - x_i^\top w - b)^2 + a \|w\|_2^2

which is penalized's ``LeastSquares + L2`` at ``alpha = a / sum(s)``. Dense X
is solved exactly from one eigendecomposition (:mod:`penalized.workflows.selection`);
sparse X by coordinate descent on that equivalent problem. ``RidgeCV`` with
``cv=None`` computes the exact leave-one-out (or GCV) error of every alpha from
the same decomposition; with K folds, one decomposition per fold.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import RegressorMixin

from ..core.datafits import LeastSquares
from ..core.problem import make_problem
from ..penalties import L2
from ..workflows.cv import check_rule, choose_indices, make_splits
from ..workflows.scoring import get_scorer, score_fits
from ..workflows.selection import ridge_coefs, ridge_decompose, ridge_loo
from ._base import (
    LinearModelMixin,
    check_estimator_alpha,
    check_max_iter,
    check_tol,
    engine_solver,
    fit_single,
    set_fit_attributes,
)


class Ridge(RegressorMixin, LinearModelMixin):
    r"""Linear least squares with an L2 penalty (drop-in for scikit-learn's ``Ridge``).

    Parameters
    ----------
    alpha : float, default=1.0
        scikit-learn's units (``a`` above).
    fit_intercept : bool, default=True
    solver : str, default="auto"
        ``"auto"`` and scikit-learn's names: closed form for dense X, coordinate
        descent for sparse X; ``"cd"`` / ``"fista"`` force an iterative solver.
    max_iter, tol : for the iterative solvers.
    positive : bool, default=False
        Non-negative coefficients (iterative solver).
    copy_X, random_state : accepted; no effect.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : None (closed form) or int
    certificate_ : penalized.FitResult or None (closed form)

    Examples
    --------
    >>> import numpy as np
    >>> from penalized.linear_model import Ridge
    >>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([0.0, 1.0, 2.0])
    >>> Ridge(alpha=1.0).fit(X, y).coef_
    array([0.66666667])
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True, copy_X=True, max_iter=None,
                 tol=1e-4, solver="auto", positive=False, random_state=None):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.positive = positive
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        """Fit on ``X`` (n_samples, n_features), dense or sparse, and ``y`` (n_samples,)."""
        a = check_estimator_alpha(self.alpha)
        X, y = self._validate_fit(X, y, classifier=False)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=float)
        iterative = sp.issparse(X) or self.positive or self.solver in ("cd", "fista", "gd")
        if not iterative:
            dec = ridge_decompose(X, y, sample_weight, self.fit_intercept)
            coefs, intercepts = ridge_coefs(dec, [a])
            self.coef_, self.intercept_ = coefs[0], float(intercepts[0])
            self.n_iter_, self.certificate_ = 1, None  # one direct solve
            self.solver_ = "closed-form"
            return self
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=float)
        total = X.shape[0] if sample_weight is None else float(sample_weight.sum())
        res = fit_single(X, y, LeastSquares(), L2(alpha=a / total, positive=self.positive),
                         fit_intercept=self.fit_intercept, sample_weight=sample_weight,
                         solver=engine_solver(self.solver), tol=min(check_tol(self.tol), 1e-8),
                         max_iter=check_max_iter(self.max_iter))
        set_fit_attributes(self, res)
        self.solver_ = res.solver
        return self

    def predict(self, X):
        """``X @ coef_ + intercept_``, shape (n_samples,)."""
        return self._linear_predictor(X)


class RidgeCV(RegressorMixin, LinearModelMixin):
    r"""Ridge with alpha chosen by leave-one-out, GCV or K-fold CV, in closed form.

    Drop-in for scikit-learn's ``RidgeCV``, plus ``rule="min" | "1se"``.

    Parameters
    ----------
    alphas : array-like, default=(0.1, 1.0, 10.0)
        scikit-learn's units; sorted largest first internally.
    fit_intercept : bool, default=True
    scoring : str, callable or None, default=None
        As scikit-learn's: None is the mean squared error with ``cv=None`` (of the
        leave-one-out predictions) and the estimator's score, R^2, averaged over the
        folds with K folds; any scikit-learn scorer name or callable
        ``scorer(estimator, X, y)``, or penalized's names (``"mse"``...). With
        ``cv=None`` a scorer is applied to all leave-one-out predictions at once
        (scikit-learn's choice), with K folds to each fold (unweighted, as
        scikit-learn's ``GridSearchCV``).
    cv : None (leave-one-out), int or splitter, default=None
    gcv_mode : {None, "auto", "svd", "eigen"}, default=None
        Accepted; the decomposition is chosen by shape.
    store_cv_results : bool, default=False
        Keep ``cv_results_`` (n_samples, n_alphas): the LOO squared errors.
    alpha_per_target : bool, default=False
        Only False is supported (one target).
    loo_mode : {"loo", "gcv"}, default="loo"
        With ``cv=None``: exact leave-one-out, or generalized cross-validation.
    rule : {"min", "1se"}, default="min"

    Attributes
    ----------
    alpha_ : float
    best_score_ : float
        The score at ``alpha_``, with scikit-learn's sign (negative mean squared
        error by default with ``cv=None``, mean R^2 with K folds).
    alphas_ : ndarray of shape (n_alphas,), decreasing
    score_path_ : ndarray of shape (n_alphas,)
        Mean CV score per alpha, with the scorer's sign.
    mse_path_ : ndarray of shape (n_alphas,)
        Mean CV squared error per alpha (only when that is the score).
    std_error_path_ : ndarray of shape (n_alphas,)
    coef_path_ : ndarray of shape (n_features, n_alphas)
    coef_ : ndarray of shape (n_features,)
    intercept_ : float

    Examples
    --------
    >>> import numpy as np
    >>> from penalized.linear_model import RidgeCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 3)); y = X @ [1.0, 0.0, -1.0] + rng.standard_normal(40)
    >>> RidgeCV(alphas=np.logspace(-2, 2, 9)).fit(X, y).alpha_ > 0
    True
    """

    def __init__(self, alphas=(0.1, 1.0, 10.0), *, fit_intercept=True, scoring=None,
                 cv=None, gcv_mode=None, store_cv_results=False, alpha_per_target=False,
                 loo_mode="loo", rule="min"):
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.scoring = scoring
        self.cv = cv
        self.gcv_mode = gcv_mode
        self.store_cv_results = store_cv_results
        self.alpha_per_target = alpha_per_target
        self.loo_mode = loo_mode
        self.rule = rule

    def _check_alphas(self) -> np.ndarray:
        grid = np.atleast_1d(np.asarray(self.alphas, dtype=float)).ravel()
        if grid.size == 0:
            raise ValueError("alphas is empty: give at least one alpha")
        if not np.all(np.isfinite(grid)) or np.any(grid <= 0):
            raise ValueError(f"alphas must be finite and > 0, got {self.alphas!r}")
        return np.sort(grid)[::-1]

    def _scorer(self):
        """``None`` (squared error per sample, LOO) or a :class:`Scorer`."""
        if self.scoring is None and self.cv is None:
            return None
        return get_scorer("r2" if self.scoring is None else self.scoring, LeastSquares())

    def fit(self, X, y, sample_weight=None, groups=None, **params):
        """Choose alpha, then fit on the full data."""
        rule = check_rule(self.rule)
        if self.alpha_per_target:
            raise ValueError("alpha_per_target=True is not supported (one target only)")
        grid = self._check_alphas()
        scorer = self._scorer()
        X, y = self._validate_fit(X, y, classifier=False)
        if X.shape[0] < 3:
            raise ValueError(f"RidgeCV needs at least 3 samples, got n_samples = {X.shape[0]}")
        if sp.issparse(X):
            X = X.toarray()
        s = np.ones(X.shape[0]) if sample_weight is None \
            else np.asarray(sample_weight, dtype=float)
        full = ridge_decompose(X, y, s, self.fit_intercept)
        if self.cv is None:
            scores = self._loo_scores(full, y, s, grid, scorer)            # (A, n) or (A, 1)
        else:
            scores = self._kfold_scores(X, y, s, grid, groups, scorer)    # (A, K)
        greater = scorer is not None and scorer.greater_is_better
        mean = scores.mean(axis=1)
        std_error = scores.std(axis=1, ddof=1) / np.sqrt(scores.shape[1]) \
            if scores.shape[1] > 1 else np.zeros_like(mean)
        i_min, i_1se = choose_indices(mean, std_error, greater_is_better=greater)
        index = i_min if rule == "min" else i_1se
        coefs, intercepts = ridge_coefs(full, grid)
        self.alphas_, self.std_error_path_ = grid, std_error
        self.score_path_ = mean if scorer is not None else -mean
        if scorer is None or scorer.name == "mse":
            self.mse_path_ = mean
        self.alpha_, self.best_score_ = float(grid[index]), float(self.score_path_[index])
        self.alpha_min_, self.alpha_1se_ = float(grid[i_min]), float(grid[i_1se])
        self.coef_path_ = coefs.T.copy()
        self.coef_, self.intercept_ = coefs[index].copy(), float(intercepts[index])
        return self

    def _loo_scores(self, dec, y, s, grid, scorer) -> np.ndarray:
        """Leave-one-out: squared errors per sample (A, n), or the scorer on all the
        leave-one-out predictions at once (A, 1)."""
        residual, weights = ridge_loo(dec, grid, self.loo_mode)
        if scorer is None:
            per_sample = weights[:, None] * residual**2 / weights.mean()   # (n, A)
            if self.store_cv_results:
                self.cv_results_ = per_sample  # columns follow alphas_ (decreasing)
            return per_sample.T
        predictions = y[:, None] - residual                               # (n, A)
        if self.store_cv_results:
            self.cv_results_ = predictions
        if not scorer.uses_data:
            return np.atleast_1d(scorer(LeastSquares(), y, predictions, s))[:, None]
        identity = (np.ones((grid.shape[0], 1)), np.zeros(grid.shape[0]))
        return np.array([score_fits(scorer, LeastSquares(), predictions[:, [k]], y, s,
                                    identity[0][[k]], identity[1][[k]], None)[0]
                         for k in range(grid.shape[0])])[:, None]

    def _kfold_scores(self, X, y, s, grid, groups, scorer) -> np.ndarray:
        problem = make_problem(X, y, LeastSquares(), L2(), sample_weight=s)
        splits = make_splits(self.cv, problem, groups)
        scores = np.empty((grid.shape[0], len(splits)))
        for k, (train, test) in enumerate(splits):
            dec = ridge_decompose(X[train], y[train], s[train], self.fit_intercept)
            coefs, intercepts = ridge_coefs(dec, grid)
            ones = np.ones(test.shape[0])  # unweighted, as GridSearchCV
            if scorer.uses_data:
                scores[:, k] = score_fits(scorer, LeastSquares(), X[test], y[test], ones,
                                          coefs, intercepts, None)
            else:
                scores[:, k] = scorer(LeastSquares(), y[test],
                                      X[test] @ coefs.T + intercepts, ones)
        return scores

    def predict(self, X):
        """``X @ coef_ + intercept_``, shape (n_samples,)."""
        return self._linear_predictor(X)
