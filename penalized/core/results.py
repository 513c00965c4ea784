"""Frozen result objects returned by :func:`penalized.fit` and :func:`penalized.path`."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..penalties import Penalty
from .datafits import Datafit
from .validation import check_offset


def _class_probabilities(datafit: Datafit, z: np.ndarray) -> np.ndarray:
    """(n_samples, n_classes) probabilities from a linear predictor."""
    p = datafit.inverse_link(z)
    return p if z.ndim == 2 else np.column_stack([1.0 - p, p])


def _labels_or_mean(datafit: Datafit, classes, z: np.ndarray) -> np.ndarray:
    if classes is None:
        return datafit.inverse_link(z)
    if z.ndim == 2:
        return classes[np.argmax(z, axis=1)]
    return classes[(z > 0).astype(int)]


def _interpolation(alphas: np.ndarray, alpha: float) -> tuple[int, int, float]:
    """``(k, k + 1, t)``: ``alpha`` is ``(1 - t)`` of grid point ``k`` and ``t`` of the
    next, linearly in log alpha (in alpha where the grid holds 0); clamped to the
    grid's ends (glmnet's ``predict(fit, s=)``)."""
    a = np.asarray(alphas, dtype=float)
    if alpha >= a[0] or a.shape[0] == 1:
        return 0, 0, 0.0
    if alpha <= a[-1]:
        return a.shape[0] - 1, a.shape[0] - 1, 0.0
    k = int(np.flatnonzero(a >= alpha)[-1])
    f = np.log if a[k + 1] > 0 else (lambda v: v)
    t = float((f(a[k]) - f(alpha)) / (f(a[k]) - f(a[k + 1])))
    return k, k + 1, t


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
    feature_names : tuple of str or None
        The columns' names when X was a DataFrame.
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
    feature_names: tuple | None = None

    def __post_init__(self):
        _freeze(self.coef, self.history)

    def __repr__(self) -> str:
        return (f"FitResult({type(self.datafit).__name__}, {type(self.penalty).__name__}, "
                f"alpha={self.alpha:.4g}, n_nonzero={self.n_nonzero} of "
                f"{self.coef.shape[0]}, objective={self.objective:.6g}, "
                f"converged={self.converged} ({self.stop_reason}))")

    def summary(self) -> str:
        """The fit and its nonzero coefficients, by feature name, largest first."""
        coef = self.coef if self.coef.ndim == 1 else np.abs(self.coef).max(axis=1)
        names = self.feature_names or tuple(f"x{j}" for j in range(coef.shape[0]))
        order = np.flatnonzero(coef)[np.argsort(-np.abs(coef[np.flatnonzero(coef)]))]
        lines = [repr(self), f"intercept: {np.round(self.intercept, 6)}"]
        lines += [f"  {names[j]:<24} {coef[j]: .6g}" for j in order]
        return "\n".join(lines)

    @property
    def alpha(self) -> float:
        return self.penalty.alpha

    @property
    def n_nonzero(self) -> int:
        return int(np.count_nonzero(self.coef))

    def decision_function(self, X, offset=None) -> np.ndarray:
        """Linear predictor ``X @ coef + intercept (+ offset)``: (n_samples,) or
        (n_samples, n_classes). ``offset``: the new rows' own (e.g. ``log(exposure)``)."""
        if self.coef.ndim == 2:
            if offset is not None:
                raise ValueError(f"{type(self.datafit).__name__} does not take an offset")
            return np.asarray(X @ self.coef) + self.intercept
        z = np.asarray(X @ self.coef).ravel() + self.intercept
        return z if offset is None else z + check_offset(offset, z.shape[0])

    def predict(self, X, offset=None) -> np.ndarray:
        """Mean response (regression) or predicted label (classification)."""
        return _labels_or_mean(self.datafit, self.classes, self.decision_function(X, offset))

    def predict_proba(self, X, offset=None) -> np.ndarray:
        """Class probabilities, (n_samples, n_classes) in the order of ``classes``."""
        if self.classes is None:
            raise ValueError(f"predict_proba needs a classification fit, this one is "
                             f"{type(self.datafit).__name__}")
        return _class_probabilities(self.datafit, self.decision_function(X, offset))


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
    penalty, datafit, classes, solver, feature_names : as in :class:`FitResult`.
    fit_intercept, standardize : bool
        How the path was fitted (``coef(alpha, exact=True)`` refits the same way).
    deviance_ratio : ndarray of shape (n_alphas,) or None
        Fraction of the null model's deviance (datafit value) each fit explains
        (glmnet's ``dev.ratio``; set by :func:`penalized.path`).
    fitted_with_offset : bool
        Whether the path's training rows had an offset: an exact refit
        (:meth:`fit_at`) then needs it again (``train_offset``).
    truncation : str
        Why the path stopped before the end of its grid (``dfmax`` / ``pmax``:
        :mod:`penalized.workflows.constraints`), "" when it did not.
    relaxed_coefs, relaxed_intercepts : ndarray or None
        With ``relax=True``: per alpha, the unpenalized refit on the fit's support
        (glmnet's relaxed lasso; :mod:`penalized.workflows.relax`), shapes of ``coefs``
        and ``intercepts``. :meth:`mixed` blends them with the penalized fits.
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
    feature_names: tuple | None = None
    fit_intercept: bool = True
    standardize: bool = False
    deviance_ratio: np.ndarray | None = None
    truncation: str = ""
    fitted_with_offset: bool = False
    relaxed_coefs: np.ndarray | None = None
    relaxed_intercepts: np.ndarray | None = None

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
            classes=self.classes, feature_names=self.feature_names,
        )

    # ---- glmnet's verbs ---------------------------------------------------------
    def __repr__(self) -> str:
        return (f"PathResult({type(self.datafit).__name__}, {type(self.penalty).__name__}, "
                f"{len(self)} alphas from {self.alphas[0]:.4g} to {self.alphas[-1]:.4g}, "
                f"n_nonzero {int(self.n_nonzero[0])} -> {int(self.n_nonzero[-1])}, "
                f"{int(np.sum(~self.converged))} not converged"
                + (f"; {self.truncation})" if self.truncation else ")"))

    def mixed(self, gamma: float) -> PathResult:
        """glmnet's relaxed fit at ``gamma``: ``gamma * coefs + (1 - gamma) *
        relaxed_coefs`` (and the intercepts alike) at every alpha; ``gamma = 1`` is the
        penalized path itself, ``gamma = 0`` the unpenalized refits. The blend minimizes
        no objective: its ``objectives`` and ``certificates`` are NaN (but at 1)."""
        if self.relaxed_coefs is None:
            raise ValueError("this path has no relaxed fits: compute it with relax=True")
        gamma = float(gamma)
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {gamma!r}")
        if gamma == 1.0:
            return self
        nan = np.full(len(self), np.nan)
        return dataclasses.replace(
            self, coefs=gamma * self.coefs + (1.0 - gamma) * self.relaxed_coefs,
            intercepts=gamma * self.intercepts + (1.0 - gamma) * self.relaxed_intercepts,
            objectives=nan, certificates=nan.copy(), deviance_ratio=None)

    def summary(self, max_rows: int = 20) -> str:
        """glmnet's ``print(fit)``: alpha, nonzero count and % deviance explained per
        grid point (``max_rows`` of them, evenly spaced)."""
        rows = np.unique(np.linspace(0, len(self) - 1, min(max_rows, len(self))).astype(int))
        dev = 100.0 * (self.deviance_ratio if self.deviance_ratio is not None
                       else np.full(len(self), np.nan))
        lines = [repr(self), f"{'alpha':>12} {'nonzero':>8} {'%dev':>7}"]
        lines += [f"{self.alphas[k]:12.5g} {int(self.n_nonzero[k]):8d} {dev[k]:7.2f}"
                  for k in rows]
        return "\n".join(lines)

    def _at(self, alpha) -> tuple[np.ndarray, np.ndarray]:
        """Interpolated ``(coef, intercept)`` at one alpha."""
        i, j, t = _interpolation(self.alphas, float(alpha))
        coef = (1.0 - t) * self.coefs[i] + t * self.coefs[j]
        return coef, (1.0 - t) * self.intercepts[i] + t * self.intercepts[j]

    def fit_at(self, alpha: float, *, exact: bool = False, X=None, y=None,
               sample_weight=None, tol: float | None = None, train_offset=None) -> FitResult:
        """The model at any ``alpha``: interpolated linearly in log alpha between the two
        neighbouring grid points (clamped at the grid's ends), or, with ``exact=True``,
        refitted on ``X, y`` (the data of the path, as glmnet's ``exact = TRUE``; with
        ``train_offset``, their offset, required when the path had one), warm-started
        from the interpolation."""
        if exact:
            if X is None or y is None:
                raise ValueError("exact=True refits the model: give the path's X and y")
            if self.fitted_with_offset and train_offset is None:
                raise ValueError("this path was fitted with an offset: an exact refit needs "
                                 "the training rows' offset again (train_offset=...)")
            from ..workflows.fitting import DEFAULT_TOL, fit

            return fit(X, y, self.datafit, self.penalty.with_alpha(float(alpha)),
                       fit_intercept=self.fit_intercept, standardize=self.standardize,
                       sample_weight=sample_weight, init=self._at(alpha),
                       tol=DEFAULT_TOL if tol is None else tol, offset=train_offset)
        k = int(np.argmin(np.abs(self.alphas - alpha)))
        coef, intercept = self._at(alpha)
        return dataclasses.replace(
            self[k], coef=coef, intercept=intercept if np.ndim(intercept) else float(intercept),
            penalty=self.penalty.with_alpha(float(alpha)), objective=np.nan,
            certificate=np.nan, converged=bool(alpha in self.alphas))

    def coef(self, alpha=None, **options) -> np.ndarray:
        """Coefficients at ``alpha`` (a number or a list: stacked on axis 0), see
        :meth:`fit_at` for ``exact``; all grid coefficients when ``alpha`` is None."""
        if alpha is None:
            return np.array(self.coefs)
        if np.ndim(alpha):
            return np.stack([self.fit_at(a, **options).coef for a in np.ravel(alpha)])
        return np.array(self.fit_at(alpha, **options).coef)

    def _many(self, method: str, X, alpha, options: dict, offset=None) -> np.ndarray:
        if np.ndim(alpha):
            return np.stack([getattr(self.fit_at(a, **options), method)(X, offset)
                             for a in np.ravel(alpha)], axis=1)
        return getattr(self.fit_at(alpha, **options), method)(X, offset)

    def predict(self, X, alpha, *, exact: bool = False, X_train=None, y=None,
                sample_weight=None, tol: float | None = None, offset=None,
                train_offset=None) -> np.ndarray:
        """glmnet's ``predict(fit, newx, s=alpha, newoffset=offset)``: mean response or
        label at any alpha (a list: one column each). ``exact=True`` refits on the path's
        training data, ``X_train`` (default ``X``), ``y`` and ``train_offset``."""
        return self._many("predict", X, alpha, dict(
            exact=exact, X=X if X_train is None else X_train, y=y,
            sample_weight=sample_weight, tol=tol, train_offset=train_offset)
            if exact else {}, offset)

    def decision_function(self, X, alpha, offset=None) -> np.ndarray:
        """The linear predictor at any alpha (interpolated), plus the rows' ``offset``."""
        return self._many("decision_function", X, alpha, {}, offset)

    def predict_proba(self, X, alpha) -> np.ndarray:
        """Class probabilities at any alpha (interpolated), (n_samples, n_classes)."""
        return self.fit_at(float(alpha)).predict_proba(X)

    def plot(self, ax=None, **options):
        """Coefficient paths against log10(alpha), labelled, with the nonzero count on
        the top axis (glmnet's ``plot(fit)``); returns the matplotlib Axes."""
        from ..workflows.plots import plot_path

        return plot_path(self, ax, **options)
