"""The penalty strength of an MLP chosen by K-fold cross-validation.

Each fold trains along a decreasing alpha path, warm-starting every fit from the
previous one's weights (as glmnet does for linear models), scores the held-out part,
and the strength is picked by the ``min`` rule (best mean score) or the ``1se`` rule
(glmnet's: the largest alpha whose mean score is within one standard error of the best).
"""

from __future__ import annotations

import numbers

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone, is_classifier
from sklearn.model_selection import check_cv
from sklearn.utils.validation import check_is_fitted, validate_data

from ..workflows.cv import check_rule, choose_indices
from ..workflows.paths import check_alphas
from .mlp import MLPClassifier, MLPRegressor

#: Default strengths (for standardized features), largest first.
DEFAULT_ALPHA_RANGE = (1e-1, 1e-5)


def select_alpha(alphas, mean_scores, std_errors, rule: str = "min") -> float:
    """Pick a strength from cross-validated scores (higher is better).

    Parameters
    ----------
    alphas : array-like of shape (n_alphas,)
    mean_scores : array-like of shape (n_alphas,)
        Mean held-out score of each alpha.
    std_errors : array-like of shape (n_alphas,)
        Standard error of that mean (``std(ddof=1) / sqrt(n_folds)``).
    rule : {"min", "1se"}
        "min": the alpha with the best mean score (the largest one on ties).
        "1se": the largest alpha whose mean score is at least
        ``best mean - standard error of the best`` (glmnet's ``lambda.1se``).

    Returns
    -------
    float
    """
    check_rule(rule)
    alphas = np.asarray(alphas, dtype=float)
    mean_scores = np.asarray(mean_scores, dtype=float)
    std_errors = np.asarray(std_errors, dtype=float)
    if not (alphas.shape == mean_scores.shape == std_errors.shape) or alphas.ndim != 1:
        raise ValueError("alphas, mean_scores and std_errors must be 1-D of the same length")
    order = np.argsort(-alphas, kind="stable")  # the linear models' rule wants alphas decreasing
    index_min, index_1se = choose_indices(mean_scores[order], std_errors[order],
                                          greater_is_better=True)
    return float(alphas[order][index_min if rule == "min" else index_1se])


def _fit_path(estimator, alphas, X, y, warm_start):
    """Fit along ``alphas`` (decreasing), yielding each fitted model.

    Each fit starts from the previous weights unless that network collapsed (a layer
    entirely zero, as a large L1 alpha does): all-zero layers are a saddle point of the
    loss where the gradients of the other layers vanish, so such a fit restarts cold.
    """
    model = None
    for alpha in alphas:
        if model is None or not warm_start or max(model.layer_sparsity_) == 1.0:
            model = clone(estimator).set_params(warm_start=warm_start)
        model.set_params(alpha=float(alpha)).fit(X, y)
        yield model


def _fold_path(estimator, alphas, X, y, train, test, warm_start):
    scores, epochs = [], []
    for model in _fit_path(estimator, alphas, X[train], y[train], warm_start):
        scores.append(model.score(X[test], y[test]))
        epochs.append(model.n_iter_)
    return scores, epochs


class _BaseMLPCV(BaseEstimator):
    def __init__(self, estimator=None, alphas=None, n_alphas=5, cv=5, rule="min",
                 warm_start=True, n_jobs=None):
        self.estimator = estimator
        self.alphas = alphas
        self.n_alphas = n_alphas
        self.cv = cv
        self.rule = rule
        self.warm_start = warm_start
        self.n_jobs = n_jobs

    def _alphas(self) -> np.ndarray:
        if self.alphas is None:
            if not isinstance(self.n_alphas, numbers.Integral) or self.n_alphas < 1:
                raise ValueError(f"n_alphas must be a positive integer, got {self.n_alphas!r}")
            return np.geomspace(*DEFAULT_ALPHA_RANGE, int(self.n_alphas))
        return check_alphas(self.alphas)  # decreasing: warm starts go from sparse to dense

    def fit(self, X, y):
        """Cross-validate the alpha path, then refit on all of ``X`` at the chosen alpha.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self
        """
        check_rule(self.rule)
        estimator = self._default_estimator() if self.estimator is None else self.estimator
        if estimator.get_params().get("penalty") is None:
            raise ValueError("the estimator has penalty=None: there is no alpha to choose")
        alphas = self._alphas()
        X, y = validate_data(self, X, y, dtype=np.float64, multi_output=not is_classifier(self),
                             y_numeric=not is_classifier(self))
        splitter = check_cv(self.cv, y, classifier=is_classifier(estimator))
        folds = list(splitter.split(X, y))
        results = Parallel(n_jobs=self.n_jobs)(
            delayed(_fold_path)(estimator, alphas, X, y, train, test, self.warm_start)
            for train, test in folds
        )
        self.alphas_ = alphas
        self.fold_scores_ = np.array([scores for scores, _ in results]).T  # (n_alphas, n_folds)
        self.fold_epochs_ = np.array([epochs for _, epochs in results]).T
        self.mean_score_ = self.fold_scores_.mean(axis=1)
        n_folds = len(folds)
        spread = self.fold_scores_.std(axis=1, ddof=1) if n_folds > 1 else np.zeros(len(alphas))
        self.std_error_ = spread / np.sqrt(n_folds)
        self.alpha_min_ = select_alpha(alphas, self.mean_score_, self.std_error_, "min")
        self.alpha_1se_ = select_alpha(alphas, self.mean_score_, self.std_error_, "1se")
        self.alpha_ = self.alpha_min_ if self.rule == "min" else self.alpha_1se_
        # Refit along the same warm-started path, down to the chosen alpha, so that the
        # final model is trained the way the validated ones were.
        path = alphas[alphas >= self.alpha_] if self.warm_start else [self.alpha_]
        *_, model = _fit_path(estimator, path, X, y, self.warm_start)
        self.best_estimator_ = model.set_params(warm_start=estimator.get_params()["warm_start"])
        return self

    def predict(self, X):
        """Predictions of the refitted model."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(X)

    @property
    def history_(self):
        """Training history of the refitted model (see ``MLPClassifier.history_``)."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.history_

    @property
    def coef_sparsity_(self) -> float:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.coef_sparsity_


class MLPClassifierCV(ClassifierMixin, _BaseMLPCV):
    """:class:`MLPClassifier` with ``alpha`` chosen by K-fold cross-validation (accuracy).

    Parameters
    ----------
    estimator : MLPClassifier, optional
        Template (architecture, penalty, optimizer, ...); its ``alpha`` is replaced.
        Default: ``MLPClassifier()`` (L2).
    alphas : array-like, optional
        Strengths to try; default ``n_alphas`` values from 1e-1 down to 1e-5.
    n_alphas : int, default=5
    cv : int or splitter, default=5
        Stratified K-fold for an integer.
    rule : {"min", "1se"}, default="min"
        See :func:`select_alpha`.
    warm_start : bool, default=True
        Train each fold along the decreasing alpha path from the previous weights
        (restarting cold after a fit whose network collapsed to an all-zero layer).
    n_jobs : int, optional
        Folds in parallel (joblib).

    Attributes
    ----------
    alphas_ : ndarray of shape (n_alphas,), decreasing
    fold_scores_ : ndarray of shape (n_alphas, n_folds)
    fold_epochs_ : ndarray of shape (n_alphas, n_folds)
        Epochs each fit ran (warm starts usually need fewer).
    mean_score_, std_error_ : ndarray of shape (n_alphas,)
    alpha_min_, alpha_1se_, alpha_ : float
        Both rules' choices and the one used (``rule``).
    best_estimator_ : MLPClassifier
        Refitted on all the data at ``alpha_``.

    Examples
    --------
    >>> import penalized as pz
    >>> from sklearn.datasets import load_iris
    >>> from penalized.torch import MLPClassifier, MLPClassifierCV
    >>> X, y = load_iris(return_X_y=True)
    >>> template = MLPClassifier((16,), penalty=pz.L2(), learning_rate=1e-2, max_epochs=30,
    ...                          random_state=0)
    >>> search = MLPClassifierCV(template, alphas=[1e-1, 1e-3], cv=3).fit(X, y)
    >>> search.alpha_ in (1e-1, 1e-3)
    True
    """

    def _default_estimator(self):
        return MLPClassifier()

    @property
    def classes_(self):
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.classes_

    def predict_proba(self, X):
        """Class probabilities of the refitted model, shape (n_samples, n_classes)."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_proba(X)


class MLPRegressorCV(RegressorMixin, _BaseMLPCV):
    """:class:`MLPRegressor` with ``alpha`` chosen by K-fold cross-validation (R^2).

    Same parameters and attributes as :class:`MLPClassifierCV` (plain K-fold for an
    integer ``cv``; default estimator ``MLPRegressor()``).
    """

    def _default_estimator(self):
        return MLPRegressor()
