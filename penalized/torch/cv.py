"""The penalty strength of an MLP chosen by K-fold cross-validation.

Each fold trains along a decreasing alpha path, warm-starting every fit from the
previous one's weights (as glmnet does for linear models), scores the held-out part,
and the strength is picked by the ``min`` rule (best mean score) or the ``1se`` rule
(glmnet's: the largest alpha whose mean score is within one standard error of the best).
"""

from __future__ import annotations

import dataclasses
import numbers
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import check_cv
from sklearn.utils.validation import check_is_fitted, validate_data

from ..workflows.cv import GridEdgeWarning, check_rule, choose_indices
from ..workflows.paths import check_alphas
from ..workflows.tasks import Task, active_client
from .mlp import MLPClassifier, MLPRegressor
from .training import CollapsedNetworkWarning

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


#: The estimator's parameters that the ``*CV`` classes accept as keywords (scikit-learn's
#: ``*CV`` estimators take their estimator's options); ``alpha`` is what they choose and
#: ``warm_start`` is their own (warm starts along the path).
FORWARDED_PARAMETERS = (
    "hidden_layer_sizes", "activation", "penalty", "penalty_method", "optimizer",
    "learning_rate", "momentum", "batch_size", "max_epochs", "tol", "n_iter_no_change",
    "early_stopping", "validation_fraction", "standardize", "random_state", "device", "verbose",
)

#: Warnings of a single fit that the cross-validation reports once, in aggregate.
FIT_WARNINGS = (ConvergenceWarning, CollapsedNetworkWarning)


def _fit_quietly(model, X, y):
    with warnings.catch_warnings():
        for category in FIT_WARNINGS:
            warnings.simplefilter("ignore", category)
        return model.fit(X, y)


def _fit_path(estimator, alphas, X, y, warm_start, warn_last=False):
    """Fit along ``alphas`` (decreasing), yielding each fitted model.

    Each fit starts from the previous weights unless that network collapsed (a layer
    entirely zero, as a large L1 alpha does): all-zero layers are a saddle point of the
    loss where the gradients of the other layers vanish, so such a fit restarts cold.
    The fits' own warnings are silenced (the caller summarizes them), except the last
    one's when ``warn_last``.
    """
    model = None
    for k, alpha in enumerate(alphas):
        if model is None or not warm_start or max(model.layer_sparsity_) == 1.0:
            model = clone(estimator).set_params(warm_start=warm_start)
        model.set_params(alpha=float(alpha))
        if warn_last and k == len(alphas) - 1:
            model.fit(X, y)
        else:
            _fit_quietly(model, X, y)
        yield model


def _fold_path(estimator, alphas, X, y, train, test, warm_start):
    scores, epochs, converged = [], [], []
    for model in _fit_path(estimator, alphas, X[train], y[train], warm_start):
        scores.append(model.score(X[test], y[test]))
        epochs.append(model.n_iter_)
        converged.append(model.converged_)
    return scores, epochs, converged


def _fold_task(data, estimator, alphas, train, test, warm_start, options):
    """A fold's path as a :class:`penalized.workflows.tasks.Task` runs it (``data``: the
    :class:`_Arrays` every task shares)."""
    return _fold_path(estimator, alphas, data.X, data.y, train, test, warm_start)


@dataclasses.dataclass(frozen=True)
class _Arrays:
    """The folds' data as the Dask runner (:mod:`penalized.workflows.distributed`)
    carries a problem: scattered once to every worker, realigned there through
    ``with_data``; the MLP's penalty is in its estimator, so ``with_penalty`` keeps it."""

    X: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray  # (unused by the fits: the runner realigns every array)
    penalty: None = None

    def with_data(self, **arrays) -> _Arrays:
        return dataclasses.replace(self, **arrays)

    def with_penalty(self, penalty) -> _Arrays:
        return self


def _folds_on_dask(client, estimator, alphas, X, y, folds, warm_start) -> list:
    """Every fold's path as a Dask future (retried on a worker's death; a fold that
    fails every retry is named in the error); results in fold order."""
    from ..workflows.distributed import run_on_dask

    tasks = [Task(f"mlp-fold{k}", f"fold {k}", _fold_task, 0,
                  (estimator, alphas, train, test, warm_start), len(alphas))
             for k, (train, test) in enumerate(folds)]
    results: list = [None] * len(tasks)

    def finished(k, result):
        results[k] = result

    run_on_dask(client, tasks, [_Arrays(X, y, np.ones(X.shape[0]))], {}, finished)
    return results


def _warn_about_folds(alphas, mean_scores, converged):
    """One warning for fits that did not converge, one for a best alpha at the grid's edge."""
    n_failed = int(np.size(converged) - np.count_nonzero(converged))
    if n_failed:
        warnings.warn(
            f"{n_failed} of {np.size(converged)} cross-validation fits reached max_epochs "
            "without converging: increase max_epochs", ConvergenceWarning, stacklevel=3)
    best = int(np.argmax(np.where(np.isfinite(mean_scores), mean_scores, -np.inf)))
    if len(alphas) > 2 and best in (0, len(alphas) - 1):
        where = "largest" if best == 0 else "smallest"
        warnings.warn(
            f"the best alpha ({alphas[best]:.4g}) is the {where} of the grid: the optimum "
            "may lie outside it; widen the grid (alphas)", GridEdgeWarning, stacklevel=3)


class _BaseMLPCV(BaseEstimator):
    def __init__(self, estimator=None, alphas=None, n_alphas=5, cv=5, rule="min",
                 warm_start=True, n_jobs=None, client=None, *, hidden_layer_sizes=None,
                 activation=None,
                 penalty=None, penalty_method=None, optimizer=None, learning_rate=None,
                 momentum=None, batch_size=None, max_epochs=None, tol=None,
                 n_iter_no_change=None, early_stopping=None, validation_fraction=None,
                 standardize=None, random_state=None, device=None, verbose=None):
        self.estimator = estimator
        self.alphas = alphas
        self.n_alphas = n_alphas
        self.cv = cv
        self.rule = rule
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.client = client
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.penalty = penalty
        self.penalty_method = penalty_method
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.standardize = standardize
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _template(self):
        """The estimator to cross-validate: ``estimator`` (or the default) with the keywords.

        A keyword left at None keeps the template's value.
        """
        estimator = self._default_estimator() if self.estimator is None else self.estimator
        overrides = {name: getattr(self, name) for name in FORWARDED_PARAMETERS
                     if getattr(self, name) is not None}
        return clone(estimator).set_params(**overrides)

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
        estimator = self._template()
        if estimator.get_params().get("penalty") is None:
            raise ValueError("the estimator has penalty=None: there is no alpha to choose")
        alphas = self._alphas()
        X, y = validate_data(self, X, y, dtype=np.float64, multi_output=not is_classifier(self),
                             y_numeric=not is_classifier(self))
        splitter = check_cv(self.cv, y, classifier=is_classifier(estimator))
        folds = list(splitter.split(X, y))
        client = self.client if self.client is not None else active_client()
        if client is not None:
            results = _folds_on_dask(client, estimator, alphas, X, y, folds, self.warm_start)
        else:
            results = Parallel(n_jobs=self.n_jobs)(
                delayed(_fold_path)(estimator, alphas, X, y, train, test, self.warm_start)
                for train, test in folds
            )
        self.alphas_ = alphas
        self.fold_scores_ = np.array([scores for scores, _, _ in results]).T  # (n_alphas, n_folds)
        self.fold_epochs_ = np.array([epochs for _, epochs, _ in results]).T
        self.mean_score_ = self.fold_scores_.mean(axis=1)
        n_folds = len(folds)
        spread = self.fold_scores_.std(axis=1, ddof=1) if n_folds > 1 else np.zeros(len(alphas))
        self.std_error_ = spread / np.sqrt(n_folds)
        self.alpha_min_ = select_alpha(alphas, self.mean_score_, self.std_error_, "min")
        self.alpha_1se_ = select_alpha(alphas, self.mean_score_, self.std_error_, "1se")
        self.alpha_ = self.alpha_min_ if self.rule == "min" else self.alpha_1se_
        _warn_about_folds(alphas, self.mean_score_, [c for _, _, c in results])
        # Refit along the same warm-started path, down to the chosen alpha, so that the
        # final model is trained the way the validated ones were.
        path = alphas[alphas >= self.alpha_] if self.warm_start else [self.alpha_]
        *_, model = _fit_path(estimator, path, X, y, self.warm_start, warn_last=True)
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
    client : distributed.Client, optional
        Every fold's path as a Dask future on this cluster, retried on the survivors when
        a worker dies (None: the active client, if any, else local with ``n_jobs``); see
        :func:`penalized.cross_validate`.
    hidden_layer_sizes, activation, penalty, penalty_method, optimizer, learning_rate, \
momentum, batch_size, max_epochs, tol, n_iter_no_change, early_stopping, \
validation_fraction, standardize, random_state, device, verbose : optional, keyword-only
        The estimator's parameters (see :class:`MLPClassifier`), as scikit-learn's ``*CV``
        estimators take them: each one given (not None) replaces the template's.

    Warns
    -----
    ConvergenceWarning
        Once, with the count of fold fits that reached ``max_epochs`` without converging.
    GridEdgeWarning
        When the best alpha is the largest or the smallest of three or more.

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
    >>> same = MLPClassifierCV(hidden_layer_sizes=(16,), penalty=pz.L2(), learning_rate=1e-2,
    ...                        max_epochs=30, random_state=0, alphas=[1e-1, 1e-3], cv=3)
    >>> same.fit(X, y).alpha_ == search.alpha_
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # as MLPRegressor
        return tags

    def _default_estimator(self):
        return MLPRegressor()
