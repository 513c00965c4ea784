r"""LogisticRegression and LogisticRegressionCV (scikit-learn drop-ins).

scikit-learn's objective with raw sample weights ``s``:

.. math:: C \sum_i s_i \log(1 + e^{-y_i (x_i^\top w + b)})
          + r \|w\|_1 + \frac{1 - r}{2} \|w\|_2^2

is penalized's ``Logistic`` + ``ElasticNet(l1_ratio=r)`` at
``alpha = 1 / (C sum(s))``. ``LogisticRegressionCV`` applies each ``C`` to every
training fold as scikit-learn does: the fold's alpha is ``1 / (C sum(s_train))``
(:func:`penalized.cross_validate` with ``fold_alphas="by_weight"``).

With more than two classes both fit one multinomial model (``Multinomial``:
softmax cross-entropy, the penalty entrywise on the (n_features, n_classes)
coefficients), as scikit-learn does; intercepts are centered to sum to zero.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets

from ..core.datafits import Logistic, Multinomial
from ..penalties import ElasticNet as ElasticNetPenalty
from ..workflows.cv import check_rule, cross_validate
from ..workflows.tall import is_dask_collection
from ._base import (
    LinearModelMixin,
    check_l1_ratio,
    check_max_iter,
    check_tol,
    engine_solver,
    fit_single,
    set_cv_attributes,
    set_fit_attributes,
)
from ._dask import prepare_dask_classifier

_PENALTY_RATIOS = {"l1": 1.0, "l2": 0.0}


def _ratio_from(penalty, l1_ratio) -> float:
    if penalty in ("deprecated", None, "elasticnet"):
        return check_l1_ratio(0.0 if l1_ratio is None else l1_ratio)
    if penalty in _PENALTY_RATIOS:
        return _PENALTY_RATIOS[penalty]
    raise ValueError(f"penalty must be 'l1', 'l2' or 'elasticnet', got {penalty!r}")


def _check_classes(classes: np.ndarray) -> None:
    if classes.shape[0] < 2:
        raise ValueError(f"this solver needs samples of at least 2 classes in the data, "
                         f"but the data contains only one class: {classes[0]!r}")


class _LogisticModel(ClassifierMixin, LinearModelMixin):
    """Prediction shared by the two classifiers."""

    def _prepare(self, X, y, sample_weight):
        X, y = self._validate_fit(X, y, classifier=True)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=float)
            if not np.sum(sample_weight) > 0:
                raise ValueError("sample_weight sums to zero: nothing to fit")
            if sample_weight.shape == y.shape and np.all(sample_weight >= 0):
                _check_classes(np.unique(y[sample_weight > 0]))
        _check_classes(self.classes_)
        if self.class_weight is not None:
            extra = compute_sample_weight(self.class_weight, y)
            sample_weight = extra if sample_weight is None else sample_weight * extra
        return X, y, sample_weight

    def _datafit(self):
        """Two classes: ``Logistic``; more: one ``Multinomial`` model (scikit-learn's choice)."""
        return Logistic() if self.classes_.shape[0] == 2 else Multinomial()

    def _set_fit(self, fit) -> None:
        set_fit_attributes(self, fit, as_row=True)
        self.n_iter_ = np.array([int(fit.n_iter)])

    def decision_function(self, X, offset=None):
        """Scores, shape (n_samples,) for two classes, (n_samples, n_classes) otherwise;
        ``offset``: the rows' own, for a model fitted with one."""
        scores = self._linear_predictor(X, offset)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict_proba(self, X, offset=None):
        """Class probabilities, shape (n_samples, n_classes)."""
        scores = self.decision_function(X, offset)
        if scores.ndim == 1:
            p = expit(scores)
            return np.column_stack([1.0 - p, p])
        return softmax(scores, axis=1)  # multinomial

    def predict_log_proba(self, X, offset=None):
        return np.log(self.predict_proba(X, offset))

    def predict(self, X, offset=None):
        scores = self.decision_function(X, offset)
        index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[index]


class LogisticRegression(_LogisticModel):
    r"""Penalized logistic regression (drop-in for scikit-learn's).

    Parameters
    ----------
    penalty : {"l1", "l2", "elasticnet"} or "deprecated", default="deprecated"
        scikit-learn's old switch; by default ``l1_ratio`` decides.
    C : float, default=1.0
        Inverse strength; ``alpha = 1 / (C sum(s))``; ``np.inf`` is unpenalized.
    l1_ratio : float in [0, 1], default=0.0
    tol : float, default=1e-4
        Duality gap relative to the objective.
    fit_intercept : bool, default=True
    class_weight : dict or "balanced", optional
    max_iter : int, default=100
        Accepted; the engine uses its own bound unless it is larger.
    solver : str, default="lbfgs"
        scikit-learn's names all map to penalized's ``auto`` (coordinate descent).
    dual, intercept_scaling, random_state, verbose, warm_start, n_jobs : accepted; no effect.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : ndarray of shape (1,)
    certificate_ : penalized.FitResult

    Examples
    --------
    >>> import numpy as np
    >>> from penalized.linear_model import LogisticRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> LogisticRegression(C=10.0).fit(X, y).predict([[0.2], [2.8]])
    array([0, 1])
    """

    def __init__(self, penalty="deprecated", *, C=1.0, l1_ratio=0.0, dual=False, tol=1e-4,
                 fit_intercept=True, intercept_scaling=1, class_weight=None,
                 random_state=None, solver="lbfgs", max_iter=100, verbose=0,
                 warm_start=False, n_jobs=None):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.dual = dual
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.random_state = random_state
        self.solver = solver
        self.max_iter = max_iter
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_jobs = n_jobs

    def fit(self, X, y, sample_weight=None, offset=None):
        """Fit on ``X`` (n_samples, n_features), dense or sparse, and labels ``y``;
        ``offset`` (n_samples,): a fixed part of the predictor (two classes only)."""
        if isinstance(self.C, bool) or not isinstance(self.C, numbers.Real) or not self.C > 0:
            raise ValueError(f"C must be a positive number, got {self.C!r}")
        ratio = _ratio_from(self.penalty, self.l1_ratio)
        X, y, sample_weight = self._prepare(X, y, sample_weight)
        total = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
        if total <= 0:
            raise ValueError("sample_weight sums to zero: nothing to fit")
        alpha = 0.0 if np.isinf(self.C) else 1.0 / (float(self.C) * total)
        max_iter = check_max_iter(self.max_iter)
        fit = fit_single(X, y, self._datafit(), ElasticNetPenalty(alpha=alpha, l1_ratio=ratio),
                         fit_intercept=self.fit_intercept, sample_weight=sample_weight,
                         solver=engine_solver(self.solver), tol=check_tol(self.tol),
                         max_iter=None if max_iter is None else max(max_iter, 20_000),
                         offset=offset)
        self._set_fit(fit)
        return self


class LogisticRegressionCV(_LogisticModel):
    r"""Logistic regression with C (and l1_ratio) chosen by K-fold CV, warm-started paths.

    Drop-in for scikit-learn's ``LogisticRegressionCV`` (legacy attributes), plus
    ``rule="min" | "1se"`` and ``standardize``.

    Parameters
    ----------
    Cs : int or array-like, default=10
        An int ``k`` is ``np.logspace(-4, 4, k)``.
    l1_ratios : array-like or "warn", default="warn"
        l1_ratio values to cross-validate (``"warn"`` or None: ``[0.0]``).
    penalty : "deprecated", "l1", "l2" or "elasticnet", default="deprecated"
        ``"l1"`` / ``"l2"`` fix ``l1_ratios`` to ``[1.0]`` / ``[0.0]``.
    cv : int, splitter or iterable, default=None (5 stratified folds)
    scoring : str, callable, "warn" or None, default="warn"
        A scikit-learn scorer name or callable ``scorer(estimator, X, y)``, or one of
        penalized's names (``"deviance"``, ``"class"``...: see
        :func:`penalized.cross_validate`). Default: accuracy (scikit-learn's).
        ``scores_`` hold the scores with scikit-learn's sign (greater is better: a
        loss such as ``"deviance"`` is reported negated).
    rule : {"min", "1se"}, default="min"
    client : distributed.Client, optional
        Every (fold, l1_ratio) path as a Dask future on this cluster (None: the active
        client, if any); see :func:`penalized.cross_validate`. ``fit`` also takes a
        row-chunked ``dask.array`` X (and y, sample_weight): every fold's path is then
        fitted by proximal Newton in shared distributed passes, on this client's cluster
        (:mod:`penalized.workflows.tall_newton_cv`; no ``class_weight``).
    refit, dual, intercept_scaling, random_state, verbose, use_legacy_attributes :
        accepted (the model is always refitted on the full data).

    Attributes
    ----------
    classes_, coef_, intercept_ : as in :class:`LogisticRegression`
    Cs_ : ndarray of shape (n_Cs,), increasing
    C_ : ndarray of shape (1,) or (n_classes,)
    l1_ratio_ : ndarray of shape (1,) or (n_classes,)
    scores_ : dict class -> ndarray of shape (n_folds, n_Cs), or
        (n_folds, n_Cs, n_l1_ratios) when ``l1_ratios`` is given; with
        ``use_legacy_attributes=False`` one ndarray (n_folds, n_l1_ratios, n_Cs) and
        ``C_``, ``l1_ratio_`` floats (scikit-learn's layouts).
    coefs_paths_ : dict class -> ndarray of shape (n_folds, n_Cs, n_features + 1), or
        (n_folds, n_Cs, n_l1_ratios, n_features + 1) when ``l1_ratios`` is given
        (the intercept last, when fitted); with ``use_legacy_attributes=False`` one
        ndarray (n_folds, n_l1_ratios, n_Cs, n_classes, n_features + 1).
    coef_path_ : ndarray of shape (n_Cs, n_features) or (n_Cs, n_features, n_classes)
        Full-data path, in the order of ``Cs_``.
    cv_result_ : penalized.CVResult (alphas decreasing, i.e. C increasing)
    """

    _SCORING = {None: "accuracy", "warn": "accuracy"}

    def __init__(self, *, Cs=10, l1_ratios="warn", fit_intercept=True, cv=None, dual=False,
                 penalty="deprecated", scoring="warn", solver="lbfgs", tol=1e-4,
                 max_iter=100, class_weight=None, n_jobs=None, verbose=0, refit=True,
                 intercept_scaling=1.0, random_state=None, use_legacy_attributes="warn",
                 rule="min", standardize=False, client=None):
        self.Cs = Cs
        self.l1_ratios = l1_ratios
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.dual = dual
        self.penalty = penalty
        self.scoring = scoring
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.refit = refit
        self.intercept_scaling = intercept_scaling
        self.random_state = random_state
        self.use_legacy_attributes = use_legacy_attributes
        self.rule = rule
        self.standardize = standardize
        self.client = client

    def _grid_Cs(self) -> np.ndarray:
        if isinstance(self.Cs, numbers.Integral) and not isinstance(self.Cs, bool):
            if self.Cs < 1:
                raise ValueError(f"Cs as a grid size must be >= 1, got {self.Cs}")
            return np.logspace(-4, 4, int(self.Cs))
        Cs = np.asarray(self.Cs, dtype=float).ravel()
        if Cs.size == 0:
            raise ValueError("Cs is empty: give at least one C")
        if not np.all(np.isfinite(Cs)) or np.any(Cs <= 0):
            raise ValueError(f"Cs must be finite and > 0, got {self.Cs!r}")
        return np.sort(Cs)

    def _ratios(self) -> list[float]:
        if self.penalty in _PENALTY_RATIOS:
            return [_PENALTY_RATIOS[self.penalty]]
        if isinstance(self.l1_ratios, str) or self.l1_ratios is None:
            return [0.0]
        ratios = [check_l1_ratio(r) for r in np.ravel(self.l1_ratios)]
        if not ratios:
            raise ValueError("l1_ratios is empty")
        return ratios

    def fit(self, X, y, sample_weight=None, groups=None, **params):
        """Cross-validate C (and l1_ratio), then refit on the full data."""
        rule = check_rule(self.rule)
        scoring = self._SCORING.get(self.scoring, self.scoring) \
            if isinstance(self.scoring, str | None) else self.scoring
        Cs = self._grid_Cs()
        ratios = self._ratios()
        if is_dask_collection(X):  # the Newton route: every fold in the same passes
            X, y, sample_weight = prepare_dask_classifier(self, X, y, sample_weight)
        else:
            X, y, sample_weight = self._prepare(X, y, sample_weight)
        total = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
        max_iter = check_max_iter(self.max_iter)
        cv = cross_validate(
            X, y, self._datafit(), ElasticNetPenalty(l1_ratio=ratios[0]),
            cv=self.cv or 5, alphas=1.0 / (total * Cs), fold_alphas="by_weight",
            l1_ratios=ratios if len(ratios) > 1 else None, scoring=scoring, groups=groups,
            sample_weight=sample_weight, fit_intercept=self.fit_intercept,
            standardize=self.standardize, solver=engine_solver(self.solver),
            tol=check_tol(self.tol),
            max_iter=None if max_iter is None else max(max_iter, 20_000),
            n_jobs=self.n_jobs, keep_fold_paths=True, client=self.client)
        fit = set_cv_attributes(self, cv, rule)
        self._set_fit(fit)
        self.Cs_ = Cs
        self._set_cv_scores(cv, ratios, 1.0 / (total * fit.alpha))
        self.cv_result_ = cv
        return self

    def _set_cv_scores(self, cv, ratios, C) -> None:
        """``C_``, ``l1_ratio_``, ``scores_`` in scikit-learn's layouts (alphas
        decreasing are Cs increasing, so columns already follow ``Cs_``)."""
        # scikit-learn repeats the multinomial C_, l1_ratio_ and scores once per class
        keys = self.classes_[1:] if self.classes_.shape[0] == 2 else self.classes_
        ratio = cv.l1_ratio if cv.l1_ratio is not None else ratios[0]
        sign = 1.0 if cv.greater_is_better else -1.0  # scikit-learn's: greater is better
        grid = sign * np.asarray(cv.fold_scores_grid)         # (n_l1_ratios, n_folds, n_Cs)
        self.l1_ratios_ = np.array(ratios)
        if self.use_legacy_attributes is False:
            self.C_, self.l1_ratio_ = float(C), float(ratio)
            self.scores_ = grid.transpose(1, 0, 2).copy()     # (n_folds, n_l1_ratios, n_Cs)
            self.coefs_paths_ = self._fold_paths(cv).transpose(1, 0, 2, 3, 4).copy()
            return
        self.C_ = np.full(keys.shape[0], C)
        self.l1_ratio_ = np.full(keys.shape[0], ratio)
        explicit = not (self.l1_ratios is None or isinstance(self.l1_ratios, str))
        scores = grid.transpose(1, 2, 0) if explicit else grid[0]
        self.scores_ = {label: scores.copy() for label in keys}
        paths = self._fold_paths(cv)                                # (L, F, A, K, dof)
        self.coefs_paths_ = {
            label: (paths[:, :, :, k].transpose(1, 2, 0, 3) if explicit
                    else paths[0, :, :, k]).copy()
            for k, label in enumerate(keys)}

    def _fold_paths(self, cv) -> np.ndarray:
        """Every fold's coefficients, intercept last (if fitted): shape (n_l1_ratios,
        n_folds, n_Cs, n_classes or 1, n_features + fit_intercept)."""
        coefs, intercepts = cv.fold_coefs_grid, cv.fold_intercepts_grid
        if coefs.ndim == 4:  # two classes: one row of coefficients
            coefs, intercepts = coefs[:, :, :, None, :], intercepts[..., None]
        else:
            coefs = np.moveaxis(coefs, 4, 3)
        if not self.fit_intercept:
            return coefs
        return np.concatenate([coefs, intercepts[..., None]], axis=-1)
