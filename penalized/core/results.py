"""Frozen result objects returned by :func:`penalized.fit` and :func:`penalized.path`."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..penalties import Penalty
from .datafits import Datafit


def _freeze(*arrays):
    for a in arrays:
        if isinstance(a, np.ndarray):
            a.setflags(write=False)


@dataclasses.dataclass(frozen=True, eq=False)
class FitResult:
    """One fit at one alpha.

    Attributes
    ----------
    coef : ndarray of shape (n_features,) or (n_features, n_classes)
        The second shape for a multiclass datafit (:class:`~penalized.Multinomial`).
    intercept : float or ndarray of shape (n_classes,)
    objective : float
        Primal objective at ``(coef, intercept)``.
    certificate : float
        Duality gap (``certificate_kind == "gap"``) or largest KKT violation.
    certificate_kind : {"gap", "kkt"}
    n_iter : int
        Outer iterations (epochs for cd, steps for gd and fista).
    converged : bool
        The solver's stopping rule was met (see ``tol`` in :func:`penalized.fit`).
    stop_reason : {"gap", "kkt", "progress", "max_iter"}
        What stopped the solver: the duality gap below ``tol`` times the objective
        (a proof that the relative excess is below ``tol``); the KKT violation below
        ``tol`` times the null model's (no gap: non-convex penalty or ``alpha = 0``);
        coordinate descent's *estimate* of the remaining decrease below the target
        (an L1 part, where the gap is a loose bound: the excess is estimated, not
        proven, and ``certificate`` may exceed ``tol * objective``); or the iteration
        budget (``converged`` is False).
    history : ndarray
        Objective after each certificate check (for plots and tests).
    solver : str
    penalty, datafit : the model that was solved (alpha included).
    classes : ndarray or None
        Labels for classification; ``classes[1]`` is the positive class.
    """

    coef: np.ndarray
    intercept: float
    objective: float
    certificate: float
    certificate_kind: str
    n_iter: int
    converged: bool
    history: np.ndarray
    solver: str
    penalty: Penalty
    datafit: Datafit
    classes: np.ndarray | None = None
    stop_reason: str = ""

    def __post_init__(self):
        _freeze(self.coef, self.history)

    @property
    def alpha(self) -> float:
        return self.penalty.alpha

    @property
    def n_nonzero(self) -> int:
        return int(np.count_nonzero(self.coef))

    def decision_function(self, X) -> np.ndarray:
        """Linear predictor ``X @ coef + intercept``: (n_samples,) or (n_samples, n_classes)."""
        if self.coef.ndim == 2:
            return np.asarray(X @ self.coef) + self.intercept
        return np.asarray(X @ self.coef).ravel() + self.intercept

    def predict(self, X) -> np.ndarray:
        """Mean response (regression) or predicted label (classification)."""
        z = self.decision_function(X)
        if self.classes is None:
            return self.datafit.inverse_link(z)
        if z.ndim == 2:
            return self.classes[np.argmax(z, axis=1)]
        return self.classes[(z > 0).astype(int)]


@dataclasses.dataclass(frozen=True, eq=False)
class PathResult:
    """Fits along a decreasing grid of alphas (warm-started).

    Attributes
    ----------
    alphas : ndarray of shape (n_alphas,), decreasing
    coefs : ndarray of shape (n_alphas, n_features) or (n_alphas, n_features, n_classes)
    intercepts : ndarray of shape (n_alphas,) or (n_alphas, n_classes)
    objectives, certificates : ndarray of shape (n_alphas,)
    n_nonzero, n_iters : ndarray of int, shape (n_alphas,)
    converged : ndarray of bool, shape (n_alphas,)
    stop_reasons : ndarray of str, shape (n_alphas,)
        Each fit's :attr:`FitResult.stop_reason`.
    certificate_kind : {"gap", "kkt"}
    alpha_max : float
        Smallest alpha at which every penalized coefficient is zero.
    penalty, datafit, classes, solver : as in :class:`FitResult`.
    """

    alphas: np.ndarray
    coefs: np.ndarray
    intercepts: np.ndarray
    objectives: np.ndarray
    certificates: np.ndarray
    certificate_kind: str
    n_iters: np.ndarray
    converged: np.ndarray
    alpha_max: float
    solver: str
    penalty: Penalty
    datafit: Datafit
    classes: np.ndarray | None = None
    stop_reasons: np.ndarray | None = None

    def __post_init__(self):
        if self.stop_reasons is None:  # built elsewhere (e.g. loaded): from converged
            object.__setattr__(self, "stop_reasons", np.where(
                self.converged, self.certificate_kind, "max_iter"))
        _freeze(self.alphas, self.coefs, self.intercepts, self.objectives,
                self.certificates, self.n_iters, self.converged, self.stop_reasons)

    @property
    def n_nonzero(self) -> np.ndarray:
        return np.count_nonzero(self.coefs.reshape(self.coefs.shape[0], -1), axis=1)

    def __len__(self) -> int:
        return self.alphas.shape[0]

    def __getitem__(self, k: int) -> FitResult:
        """The k-th fit as a :class:`FitResult`."""
        return FitResult(
            coef=self.coefs[k].copy(),
            intercept=self.intercepts[k].copy() if self.intercepts.ndim > 1
            else float(self.intercepts[k]),
            objective=float(self.objectives[k]), certificate=float(self.certificates[k]),
            certificate_kind=self.certificate_kind, n_iter=int(self.n_iters[k]),
            converged=bool(self.converged[k]), stop_reason=str(self.stop_reasons[k]),
            history=np.empty(0), solver=self.solver,
            penalty=self.penalty.with_alpha(float(self.alphas[k])), datafit=self.datafit,
            classes=self.classes,
        )
