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
from ...core.validation import check_X
from ...penalties import Penalty
from ...workflows.cv import CVResult, GridEdgeWarning, check_rule, cross_validate, feature_moments
from ...workflows.fitting import DEFAULT_TOL


@dataclasses.dataclass(eq=False)
class ModelRun:
    """One cross-validated model: what the report, the summary and the model folder show.

    Attributes
    ----------
    name : str
    cv : CVResult
        ``path`` holds the full-data path, coefficients in original units.
    rule : {"min", "1se"}
    coef : ndarray of shape (n_features,)
        At the chosen alpha, original units.
    intercept : float
    feature_names : list of str
    standardize : bool
    scale : ndarray of shape (n_features,)
        Column scales used when standardizing (ones otherwise).
    test_score : float or None
        On held-out data when the caller has some (demo).
    test_metric : str
    seconds : float
    """

    name: str
    cv: CVResult
    rule: str
    coef: np.ndarray
    intercept: float
    feature_names: list
    standardize: bool
    scale: np.ndarray
    classes: np.ndarray | None
    seconds: float
    test_score: float | None = None
    test_metric: str = ""

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
    def n_nonzero(self) -> int:
        return int(np.count_nonzero(self.coef))

    def decision_function(self, X) -> np.ndarray:
        return np.asarray(X) @ self.coef + self.intercept

    def predict(self, X) -> np.ndarray:
        z = self.decision_function(X)
        if self.classes is None:
            return self.datafit.inverse_link(z)
        return self.classes[(z > 0).astype(int)]


def _splitter(cv: int, task: str, seed: int):
    from sklearn.model_selection import KFold, StratifiedKFold

    if isinstance(cv, bool) or not isinstance(cv, int) or cv < 2:
        raise ValueError(f"--cv must be an integer >= 2, got {cv!r}")
    # shuffled: user files are often sorted (by date, by target...)
    cls = StratifiedKFold if task == "classification" else KFold
    return cls(n_splits=cv, shuffle=True, random_state=seed)


def cross_validated_model(X, y, datafit: Datafit, penalty: Penalty, *, name: str = "model",
                          feature_names=None, cv: int = 5, n_alphas: int = 100,
                          alpha_min_ratio: float = 1e-3, rule: str = "min",
                          standardize: bool = True, tol: float = DEFAULT_TOL, seed: int = 0,
                          progress=None, client=None, checkpoint=None) -> ModelRun:
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

    Returns
    -------
    ModelRun
    """
    rule = check_rule(rule)
    start = time.perf_counter()
    splitter = _splitter(cv, datafit.task, seed)
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
            precompute="auto", callback=None if progress is None else tick, client=client,
            checkpoint=checkpoint)
    scale = feature_moments(X, np.ones(X.shape[0]))[1] if standardize \
        else np.ones(X.shape[1])
    k = result.index(rule)
    names = list(feature_names) if feature_names is not None else \
        [f"x{j}" for j in range(X.shape[1])]
    return ModelRun(name=name, cv=result, rule=rule, coef=result.path.coefs[k].copy(),
                    intercept=float(result.path.intercepts[k]), feature_names=names,
                    standardize=standardize, scale=scale, classes=result.path.classes,
                    seconds=time.perf_counter() - start)


def edge_warning(run: ModelRun) -> str | None:
    """A sentence when the chosen alpha sits on the edge of the grid."""
    n = run.cv.alphas.shape[0]
    if n > 2 and run.cv.index_min in (0, n - 1):
        where = "largest" if run.cv.index_min == 0 else "smallest"
        return (f"{run.name}: the best alpha is the {where} of the grid; the optimum may lie "
                "outside it" + (" (try a smaller --alpha-min-ratio)" if where == "smallest"
                                else ""))
    return None
