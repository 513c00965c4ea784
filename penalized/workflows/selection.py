r"""Choosing alpha without refitting: ridge LOO / GCV in closed form, AIC / BIC / EBIC.

Ridge (here in scikit-learn's ``Ridge`` units, ``a = alpha * sum(s)``):

.. math:: \min_{w, b} \sum_i s_i (y_i - x_i^\top w - b)^2 + a \|w\|^2

After weighted centering, with :math:`X_s = S^{1/2} X_c = U \Sigma V^\top` (one
eigendecomposition of :math:`X_s^\top X_s`, or of :math:`X_s X_s^\top` when
``p > n``), the hat matrix of the fit (intercept included) has diagonal

.. math:: H_{ii} = \frac{s_i}{\sum_j s_j} + \sum_k U_{ik}^2 \frac{\sigma_k^2}{\sigma_k^2 + a},

and the leave-one-out residual of a penalized least-squares fit is exactly
:math:`e_i / (1 - H_{ii})` (Sherman-Morrison); GCV replaces :math:`H_{ii}` by
:math:`\mathrm{tr}(H) / n`. Every alpha costs O(n r) after the decomposition.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from ..core.validation import check_sample_weight, check_X, check_y


@dataclasses.dataclass(frozen=True, eq=False)
class RidgeDecomposition:
    """The spectral pieces of a weighted, centered design (see the module docstring)."""

    U: np.ndarray          # (n, r) left singular vectors of X_s
    sigma2: np.ndarray     # (r,) squared singular values
    Xs: np.ndarray         # (n, p) S^{1/2} (X - x_mean)
    x_mean: np.ndarray     # (p,) weighted means (zeros without intercept)
    y_mean: float
    y_centered_scaled: np.ndarray  # (n,) S^{1/2} (y - y_mean)
    sample_weight: np.ndarray      # (n,) as given (not normalized)
    fit_intercept: bool


def ridge_decompose(X, y, sample_weight=None, fit_intercept: bool = True
                    ) -> RidgeDecomposition:
    """Center (weighted), scale rows by sqrt(s), and decompose once."""
    X = check_X(X)
    if sp.issparse(X):
        X = X.toarray()
    y = check_y(y, X.shape[0]).astype(float)
    n = X.shape[0]
    s = np.ones(n) if sample_weight is None else \
        check_sample_weight(sample_weight, n) * (np.sum(sample_weight) / n)
    return decompose_validated(X, y, s, fit_intercept)


def decompose_validated(X: np.ndarray, y: np.ndarray, s: np.ndarray,
                        fit_intercept: bool = True) -> RidgeDecomposition:
    """:func:`ridge_decompose` of validated dense float X, float y and weights ``s``
    (a problem's: validating them again costs as much as a small ridge path)."""
    n, p = X.shape
    if fit_intercept:
        x_mean = s @ X / s.sum()
        y_mean = float(s @ y / s.sum())
    else:
        x_mean, y_mean = np.zeros(p), 0.0
    root = np.sqrt(s)
    Xs = root[:, None] * (X - x_mean)
    ys = root * (y - y_mean)
    if p >= n:
        sigma2, U = np.linalg.eigh(Xs @ Xs.T)
    else:
        sigma2, V = np.linalg.eigh(Xs.T @ Xs)
    keep = sigma2 > 1e-12 * max(float(sigma2.max(initial=0.0)), 1e-300)
    sigma2 = sigma2[keep]
    if p < n:
        U = (Xs @ V[:, keep]) / np.sqrt(sigma2)
    else:
        U = U[:, keep]
    return RidgeDecomposition(U, sigma2, Xs, x_mean, y_mean, ys, s, bool(fit_intercept))


def ridge_coefs(dec: RidgeDecomposition, alphas) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients ``(n_alphas, p)`` and intercepts ``(n_alphas,)`` for Ridge alphas ``a``."""
    a = np.atleast_1d(np.asarray(alphas, dtype=float))
    c = dec.U.T @ dec.y_centered_scaled                      # (r,)
    # w = X_s^T U diag(1 / (sigma^2 + a)) c
    factors = c[:, None] / (dec.sigma2[:, None] + a[None, :])  # (r, A)
    coefs = (dec.Xs.T @ (dec.U @ factors)).T                  # (A, p)
    intercepts = dec.y_mean - coefs @ dec.x_mean
    return coefs, intercepts


def ridge_loo(dec: RidgeDecomposition, alphas, mode: str = "loo"
              ) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-out (``mode="loo"``) or GCV residuals for every alpha.

    Returns ``(residuals, weights)`` with residuals of shape (n_samples, n_alphas):
    ``y_i - prediction of the fit without sample i`` (LOO) or the GCV analogue;
    the error per alpha is ``sum_i s_i r_i^2 / sum_i s_i``.
    """
    if mode not in ("loo", "gcv"):
        raise ValueError(f"mode must be 'loo' or 'gcv', got {mode!r}")
    a = np.atleast_1d(np.asarray(alphas, dtype=float))
    shrink = dec.sigma2[:, None] / (dec.sigma2[:, None] + a[None, :])   # (r, A)
    c = dec.U.T @ dec.y_centered_scaled
    fitted_scaled = dec.U @ (c[:, None] * shrink)                        # (n, A)
    root = np.sqrt(dec.sample_weight)
    residual = (dec.y_centered_scaled[:, None] - fitted_scaled) / root[:, None]
    base = dec.sample_weight / dec.sample_weight.sum() if dec.fit_intercept \
        else np.zeros_like(dec.sample_weight)
    if mode == "loo":
        h = base[:, None] + (dec.U**2) @ shrink
    else:
        n = dec.U.shape[0]
        h = np.broadcast_to((base.sum() + shrink.sum(axis=0)) / n, residual.shape)
    return residual / (1.0 - h), dec.sample_weight


def ridge_cv_errors(X, y, alphas, *, sample_weight=None, fit_intercept: bool = True,
                    mode: str = "loo") -> np.ndarray:
    """Mean LOO (or GCV) squared error per alpha (Ridge units), shape (n_alphas,)."""
    dec = ridge_decompose(X, y, sample_weight, fit_intercept)
    residual, s = ridge_loo(dec, alphas, mode)
    return (s @ residual**2) / s.sum()


# ---- information criteria along a lasso / elastic-net path ---------------------------
@dataclasses.dataclass(frozen=True, eq=False)
class InformationCriteria:
    """AIC / BIC / EBIC along a path.

    Attributes
    ----------
    alphas, aic, bic, ebic, degrees_of_freedom, rss : ndarray of shape (n_alphas,)
    noise_variance : float
    noise_variance_method : str
    path : PathResult
    """

    alphas: np.ndarray
    aic: np.ndarray
    bic: np.ndarray
    ebic: np.ndarray
    degrees_of_freedom: np.ndarray
    rss: np.ndarray
    noise_variance: float
    noise_variance_method: str
    path: object

    def best(self, criterion: str = "bic") -> tuple[float, int]:
        """``(alpha, index)`` minimizing ``criterion`` ("aic", "bic" or "ebic")."""
        if criterion not in ("aic", "bic", "ebic"):
            raise ValueError(f"criterion must be 'aic', 'bic' or 'ebic', got {criterion!r}")
        k = int(np.argmin(getattr(self, criterion)))
        return float(self.alphas[k]), k


def degrees_of_freedom(problem, coefs: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    r"""Degrees of freedom of each fit of a least-squares path.

    Lasso: the number of nonzero coefficients (Zou, Hastie & Tibshirani, 2007).
    Elastic net and ridge: :math:`\mathrm{tr}[(G_A + n \alpha (1 - r) \Omega_A)^{-1} G_A]`
    on the active set ``A``, with :math:`G_A = X_A^\top S X_A` (X centered when an
    intercept is fitted). The intercept is not counted (as scikit-learn's
    ``LassoLarsIC``).
    """
    pen = problem.penalty
    ratio = float(getattr(pen, "ratio", 1.0))
    omega = pen.feature_weights(problem.n_features)
    df = np.zeros(coefs.shape[0])
    dense = problem.X.toarray() if sp.issparse(problem.X) else np.asarray(problem.X)
    s = problem.sample_weight
    if problem.fit_intercept:
        dense = dense - (s @ dense) / s.sum()
    n = problem.n_samples
    for k in range(coefs.shape[0]):
        active = np.flatnonzero(coefs[k])
        if active.size == 0:
            continue
        if ratio >= 1.0:
            df[k] = active.size
            continue
        XA = dense[:, active]
        gram = XA.T @ (s[:, None] * XA)
        ridge = n * alphas[k] * (1.0 - ratio) * omega[active]
        df[k] = np.trace(np.linalg.solve(gram + np.diag(ridge), gram))
    return df


def _residual_sum_of_squares(problem, coefs, intercepts) -> np.ndarray:
    from .cv import linear_predictors

    Z = linear_predictors(problem.X, coefs, intercepts)
    return problem.sample_weight @ (problem.y[:, None] - Z) ** 2


def estimate_noise_variance(problem, *, tol: float = 1e-8, solver: str = "auto"
                            ) -> tuple[float, str]:
    """Noise variance estimate and the name of the method used.

    ``n > p + intercept``: the unbiased OLS estimate ``RSS_ols / (n - p - intercept)``
    (scikit-learn's ``LassoLarsIC``). Otherwise (``p >= n``) OLS interpolates and is
    useless; we use Reid, Tibshirani & Friedman (2016), "A study of error variance
    estimation in lasso regression": ``RSS(alpha_cv) / (n - df(alpha_cv))`` at the
    alpha chosen by 5-fold cross-validation, which is consistent when p >> n.
    """
    from .cv import cross_validate

    n, p = problem.n_samples, problem.n_features
    dof_intercept = int(problem.fit_intercept)
    if n > p + dof_intercept:
        dense = problem.X.toarray() if sp.issparse(problem.X) else np.asarray(problem.X)
        design = np.column_stack([dense, np.ones(n)]) if problem.fit_intercept else dense
        root = np.sqrt(problem.sample_weight)
        coef = np.linalg.lstsq(root[:, None] * design, root * problem.y, rcond=None)[0]
        rss = float(problem.sample_weight @ (problem.y - design @ coef) ** 2)
        return rss / (n - p - dof_intercept), "ols"
    cv = cross_validate(problem.X, problem.y, problem.datafit, problem.penalty, cv=5,
                        n_alphas=50, sample_weight=problem.sample_weight,
                        fit_intercept=problem.fit_intercept, tol=tol, solver=solver)
    fit = cv.best_fit("min")
    coefs, intercepts = fit.coef[None, :], np.array([fit.intercept])
    rss = float(_residual_sum_of_squares(problem, coefs, intercepts)[0])
    df = degrees_of_freedom(problem, coefs, np.array([fit.alpha]))[0]
    return rss / max(n - df - dof_intercept, 1.0), "reid-cv"


def information_criteria(X, y, penalty=None, *, n_alphas: int = 100,
                         alpha_min_ratio: float = 1e-3, alphas=None,
                         fit_intercept: bool = True, sample_weight=None,
                         noise_variance: float | None = None, ebic_gamma: float = 1.0,
                         solver: str = "auto", tol: float = 1e-8) -> InformationCriteria:
    r"""AIC, BIC and EBIC along a lasso / elastic-net / ridge path (least squares).

    .. math::

        \mathrm{AIC} = n \log(2\pi\sigma^2) + \mathrm{RSS}/\sigma^2 + 2\,\mathrm{df}, \quad
        \mathrm{BIC} = n \log(2\pi\sigma^2) + \mathrm{RSS}/\sigma^2 + \log(n)\,\mathrm{df},

        \mathrm{EBIC} = \mathrm{BIC} + 2 \gamma \log \binom{p}{\mathrm{df}}
        \quad \text{(Chen \& Chen, 2008; for } p > n\text{)}

    with ``df`` from :func:`degrees_of_freedom` and ``sigma^2`` from
    :func:`estimate_noise_variance` unless given (the formulas of scikit-learn's
    ``LassoLarsIC``).

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    penalty : Penalty, default=L1()
    n_alphas, alpha_min_ratio, alphas, fit_intercept, sample_weight, solver, tol :
        As in :func:`penalized.path`.
    noise_variance : float, optional
        Known noise variance; estimated otherwise.
    ebic_gamma : float in [0, 1], default=1.0

    Returns
    -------
    InformationCriteria
    """
    from scipy.special import gammaln

    from ..core.datafits import LeastSquares
    from ..core.problem import make_problem
    from ..penalties import L1
    from .paths import path_problem

    problem = make_problem(X, y, LeastSquares(), penalty or L1(), fit_intercept=fit_intercept,
                           sample_weight=sample_weight)
    res = path_problem(problem, n_alphas=n_alphas, alpha_min_ratio=alpha_min_ratio,
                       alphas=alphas, solver=solver, tol=tol)
    rss = _residual_sum_of_squares(problem, res.coefs, res.intercepts)
    df = degrees_of_freedom(problem, res.coefs, res.alphas)
    if noise_variance is None:
        sigma2, method = estimate_noise_variance(problem, tol=tol, solver=solver)
    else:
        sigma2, method = float(noise_variance), "given"
        if not (np.isfinite(sigma2) and sigma2 > 0):
            raise ValueError(f"noise_variance must be a positive number, got {noise_variance!r}")
    n, p = problem.n_samples, problem.n_features
    base = n * np.log(2 * np.pi * sigma2) + rss / sigma2
    log_binomial = gammaln(p + 1) - gammaln(df + 1) - gammaln(np.maximum(p - df, 0) + 1)
    bic = base + np.log(n) * df
    return InformationCriteria(
        alphas=res.alphas, aic=base + 2 * df, bic=bic,
        ebic=bic + 2 * ebic_gamma * log_binomial, degrees_of_freedom=df, rss=rss,
        noise_variance=sigma2, noise_variance_method=method, path=res)
