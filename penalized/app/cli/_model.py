"""Cross-validated linear models for the command line (fit and demo).

A thin layer over :func:`penalized.cross_validate` (shuffled folds, a progress
callback that follows every alpha of every fold, the Gram form for tall least
squares) and the :class:`ModelRun` that the report, the summary and the model
folder show.
"""

from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np

from ...core.datafits import Datafit
from ...core.gram import use_gram
from ...core.problem import make_problem
from ...core.validation import check_X
from ...penalties import Penalty
from ...workflows.cv import (
    CVResult,
    GridEdgeWarning,
    check_rule,
    cross_validate,
    feature_moments,
    linear_predictors,
    make_splits,
    standardized,
    subset_problem,
    unscale_path,
)
from ...workflows.fitting import DEFAULT_TOL
from ...workflows.paths import path_problem
from ...workflows.scoring import SCORERS


@dataclasses.dataclass(eq=False)
class ModelRun:
    """One cross-validated model: what the report, the summary and the model folder show.

    Attributes
    ----------
    name : str
    cv : CVResult
        ``path`` holds the full-data path, coefficients in original units.
    rule : {"min", "1se"}
    coef : ndarray of shape (n_features,) or (n_features, n_classes)
        At the chosen alpha, original units (one column per class for a multiclass target).
    intercept : float or ndarray of shape (n_classes,)
    feature_names : list of str
    standardize : bool
    scale : ndarray of shape (n_features,)
        Column scales used when standardizing (ones otherwise).
    test_score : float or None
        On held-out data when the caller has some (demo).
    test_metric : str
    seconds : float
    n_snapped : int
        Coefficients set to exactly zero by :func:`snap_negligible`.
    out_of_fold : ndarray of shape (n_samples,) or (n_samples, n_classes), or None
        Linear predictors of every row from the fold model that did not see it, at the
        chosen alpha (the cross-validated metrics and confusion matrix come from it).
    """

    name: str
    cv: CVResult
    rule: str
    coef: np.ndarray
    intercept: float | np.ndarray
    feature_names: list
    standardize: bool
    scale: np.ndarray
    classes: np.ndarray | None
    seconds: float
    test_score: float | None = None
    test_metric: str = ""
    out_of_fold: np.ndarray | None = None
    n_snapped: int = 0

    @property
    def datafit(self) -> Datafit:
        return self.cv.path.datafit

    @property
    def penalty(self) -> Penalty:
        return self.cv.path.penalty.with_alpha(self.alpha)

    @property
    def alpha(self) -> float:
        return self.cv.alpha_min if self.rule == "min" else self.cv.alpha_1se

    @property
    def index(self) -> int:
        return self.cv.index(self.rule)

    @property
    def selected(self) -> np.ndarray:
        """Features with a nonzero coefficient (in any class)."""
        nonzero = self.coef != 0
        return nonzero.any(axis=1) if nonzero.ndim == 2 else nonzero

    @property
    def n_nonzero(self) -> int:
        return int(np.count_nonzero(self.selected))

    def decision_function(self, X) -> np.ndarray:
        return np.asarray(X) @ self.coef + self.intercept

    def predict(self, X) -> np.ndarray:
        return labels_from_scores(self.decision_function(X), self.classes,
                                  self.datafit.inverse_link)


#: coefficients below this fraction of the largest (in standardized units) are numerical
#: residue (two collinear one-hot columns share a weight up to ~1e-11), not selections
NEGLIGIBLE = 1e-8


def snap_negligible(coef: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, int]:
    """A copy of ``coef`` with its numerically negligible entries set to exactly zero,
    and how many there were (nonzero before)."""
    coef = np.array(coef, dtype=float)
    size = np.abs(coef * (scale[:, None] if coef.ndim == 2 else scale))
    tiny = (size <= NEGLIGIBLE * size.max()) & (coef != 0)
    coef[tiny] = 0.0
    return coef, int(np.count_nonzero(tiny))


def labels_from_scores(z: np.ndarray, classes, inverse_link=None) -> np.ndarray:
    """Predicted labels from linear predictors: the sign for two classes, the largest
    score for more, the mean response (``inverse_link``) for regression."""
    if classes is None:
        return inverse_link(z) if inverse_link is not None else z
    if z.ndim == 2:
        return np.asarray(classes)[np.argmax(z, axis=1)]
    return np.asarray(classes)[(z > 0).astype(int)]


def check_folds(cv) -> int:
    """``--cv``, or a clear error."""
    if isinstance(cv, bool) or not isinstance(cv, int) or cv < 2:
        raise ValueError(f"--cv must be an integer >= 2, got {cv!r}")
    return cv


def _splitter(cv: int, task: str, seed: int, stratify: bool = True):
    from sklearn.model_selection import KFold, StratifiedKFold

    check_folds(cv)
    # shuffled: user files are often sorted (by date, by target...)
    cls = StratifiedKFold if task == "classification" and stratify else KFold
    return cls(n_splits=cv, shuffle=True, random_state=seed)


def cross_validated_model(X, y, datafit: Datafit, penalty: Penalty, *, name: str = "model",
                          feature_names=None, cv: int = 5, n_alphas: int = 100,
                          alpha_min_ratio: float | None = None, rule: str = "min",
                          standardize: bool = True, tol: float = DEFAULT_TOL,
                          max_iter: int | None = None, stratify: bool = True, seed: int = 0,
                          progress=None, client=None, checkpoint=None,
                          dfmax: int | None = None) -> ModelRun:
    """K-fold CV along a path, then the full-data path; the model at the chosen alpha.

    :func:`penalized.cross_validate` with shuffled folds, its progress callback
    and (for tall least squares) the Gram form.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    datafit, penalty : the model (the penalty's alpha is ignored)
    cv : int
        Shuffled (stratified for classification) K-fold.
    rule : {"min", "1se"}
    standardize : bool
        Scale columns to unit variance inside every training fold (and for the
        full-data path); coefficients are reported in original units.
    progress : callable, optional
        ``progress(done, total, description)`` after every alpha of every fold.
    client, checkpoint : as in :func:`penalized.cross_validate` (a Dask client; a
        checkpoint folder).
    dfmax : int, optional
        glmnet's ``dfmax`` (:func:`penalized.cross_validate`).

    Returns
    -------
    ModelRun
    """
    rule = check_rule(rule)
    start = time.perf_counter()
    splitter = _splitter(cv, datafit.task, seed, stratify)
    X = check_X(X)

    def tick(done: int, total: int) -> None:
        fold = (done - 1) // n_alphas
        what = f"fold {fold + 1}/{cv}" if fold < cv else "full data"
        progress(done, total, f"{name}: {what}")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridEdgeWarning)  # the caller words its own
        result = cross_validate(
            X, y, datafit, penalty, cv=splitter, n_alphas=n_alphas,
            alpha_min_ratio=alpha_min_ratio, standardize=standardize, tol=tol,
            max_iter=max_iter,
            precompute="auto", callback=None if progress is None else tick, client=client,
            checkpoint=checkpoint, dfmax=dfmax)
    scale = feature_moments(X, np.ones(X.shape[0]))[1] if standardize \
        else np.ones(X.shape[1])
    k = result.index(rule)
    coef, n_snapped = snap_negligible(result.path.coefs[k], scale)
    names = list(feature_names) if feature_names is not None else \
        [f"x{j}" for j in range(X.shape[1])]
    intercept = result.path.intercepts[k]
    oof = out_of_fold(X, y, datafit, penalty.with_alpha(float(result.alphas[k])), splitter,
                      standardize=standardize, tol=tol, max_iter=max_iter)
    return ModelRun(name=name, cv=result, rule=rule, coef=coef, n_snapped=n_snapped,
                    intercept=float(intercept) if np.ndim(intercept) == 0 else intercept.copy(),
                    feature_names=names, standardize=standardize, scale=scale,
                    classes=result.path.classes, seconds=time.perf_counter() - start,
                    out_of_fold=oof)


def out_of_fold(X, y, datafit: Datafit, penalty: Penalty, splitter, *, standardize: bool,
                tol: float, max_iter: int | None = None) -> np.ndarray:
    """Every row's linear predictor from the fold model that did not see it (one alpha).

    The same folds, standardization and solver as :func:`cross_validate`, so these
    predictions are the ones its score was computed from at that alpha.
    """
    problem = make_problem(check_X(X), y, datafit, penalty)
    if use_gram(problem, "auto"):
        return _out_of_fold_gram(problem, make_splits(splitter, problem), standardize, tol,
                                 max_iter)
    out = None
    for train, test in make_splits(splitter, problem):
        sub, shift, scale = standardized(subset_problem(problem, train), standardize)
        res = unscale_path(path_problem(sub, alphas=[penalty.alpha], tol=tol,
                                        max_iter=max_iter), shift, scale)
        z = linear_predictors(problem.X[test], res.coefs, res.intercepts)[:, 0]
        if out is None:
            out = np.empty((problem.n_samples,) + z.shape[1:])
        out[test] = z
    return out


def _out_of_fold_gram(problem, splits, standardize: bool, tol: float, max_iter) -> np.ndarray:
    """:func:`out_of_fold` for tall least squares: each training fold's fit from its
    moments (one pass over X for all folds, no copy of a fold), the held-out rows'
    predictors by blocks of rows (the route :func:`cross_validate` scored them by)."""
    from ...workflows.sufficient import BLOCK_ROWS, fold_moments, gram_path

    _, trains, _ = fold_moments(problem.X, problem.y, problem.sample_weight, splits)
    out = np.empty(problem.n_samples)
    alphas = np.array([problem.penalty.alpha])
    for (_, test), moments in zip(splits, trains, strict=True):
        res = gram_path(problem, moments, alphas, standardize, problem.fit_intercept,
                        {"tol": tol, "max_iter": max_iter})
        for start in range(0, test.size, BLOCK_ROWS):
            rows = test[start:start + BLOCK_ROWS]
            out[rows] = linear_predictors(problem.X[rows], res.coefs, res.intercepts)[:, 0]
    return out


def edge_warning(run: ModelRun) -> str | None:
    """A sentence when the chosen alpha sits on the edge of the grid."""
    n = run.cv.alphas.shape[0]
    if n > 2 and run.cv.index_min in (0, n - 1):
        where = "largest" if run.cv.index_min == 0 else "smallest"
        return (f"{run.name}: the best alpha is the {where} of the grid; the optimum may lie "
                "outside it" + (" (try a smaller --alpha-min-ratio)" if where == "smallest"
                                else ""))
    return None


def cross_validated_metrics(run: ModelRun, y) -> dict:
    """Metrics a person reads, from the out-of-fold predictions at the chosen alpha.

    Regression: R² and RMSE, and for a datafit that is not least squares its deviance
    (twice the mean loss: the Poisson deviance for Poisson). Classification: accuracy,
    log-loss, AUC (one class against the rest, averaged, for more than two classes) and
    the confusion matrix (rows: true class, columns: predicted class).
    """
    from sklearn import metrics

    z, y = run.out_of_fold, np.asarray(y)
    if z is None:
        return {}
    if run.classes is None:
        fitted = run.datafit.inverse_link(z)
        residual = y.astype(float) - fitted
        total = np.sum((y - y.mean()) ** 2)
        out = {"R2": float(1 - residual @ residual / total) if total > 0 else float("nan"),
               "RMSE": float(np.sqrt(np.mean(residual**2)))}
        if not run.datafit.quadratic:
            out["deviance"] = float(SCORERS["deviance"](run.datafit, y.astype(float), z))
        return out
    classes = np.asarray(run.classes)
    proba = run.datafit.inverse_link(z)
    if proba.ndim == 1:
        proba = np.column_stack([1 - proba, proba])
    truth = np.asarray(y).astype(classes.dtype)
    predicted = labels_from_scores(z, classes)
    out = {"accuracy": float(np.mean(predicted == truth)),
           "log_loss": float(metrics.log_loss(truth, np.clip(proba, 1e-15, 1), labels=classes))}
    if np.unique(truth).shape[0] == classes.shape[0]:
        out["AUC"] = float(metrics.roc_auc_score(truth, proba[:, 1]) if classes.shape[0] == 2
                           else metrics.roc_auc_score(truth, proba, multi_class="ovr",
                                                      labels=classes))
    out["confusion"] = metrics.confusion_matrix(truth, predicted, labels=classes)
    return out
