"""Ridge LOO/GCV in closed form against brute-force refits; AIC/BIC by hand."""

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LassoLarsIC
from sklearn.linear_model import Ridge as SklearnRidge

from penalized.workflows.selection import (
    information_criteria,
    ridge_coefs,
    ridge_cv_errors,
    ridge_decompose,
    ridge_loo,
)


@pytest.mark.parametrize("shape", [(25, 4), (12, 30)])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_loo_equals_brute_force(shape, fit_intercept):
    rng = np.random.default_rng(1)
    n, p = shape
    X = rng.standard_normal((n, p))
    y = X[:, 0] + rng.standard_normal(n)
    s = rng.uniform(0.5, 2.0, n)
    alphas = np.array([10.0, 1.0, 0.1])
    errors = ridge_cv_errors(X, y, alphas, sample_weight=s, fit_intercept=fit_intercept)
    brute = np.zeros(alphas.shape[0])
    for k, a in enumerate(alphas):
        for i in range(n):
            keep = np.arange(n) != i
            model = SklearnRidge(alpha=a, fit_intercept=fit_intercept, solver="svd")
            model.fit(X[keep], y[keep], sample_weight=s[keep])
            brute[k] += s[i] * (y[i] - model.predict(X[i:i + 1])[0]) ** 2
    np.testing.assert_allclose(errors, brute / s.sum(), rtol=1e-8)


def test_gcv_formula_and_coefficients():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((30, 6))
    y = rng.standard_normal(30)
    dec = ridge_decompose(X, y)
    residual, _ = ridge_loo(dec, [2.0], mode="gcv")
    coefs, intercepts = ridge_coefs(dec, [2.0])
    model = SklearnRidge(alpha=2.0).fit(X, y)
    np.testing.assert_allclose(coefs[0], model.coef_, rtol=1e-10)
    Xc = np.column_stack([np.ones(30), X])
    hat = Xc @ np.linalg.solve(Xc.T @ Xc + np.diag([0.0] + [2.0] * 6), Xc.T)
    expected = (y - hat @ y) / (1.0 - np.trace(hat) / 30)
    np.testing.assert_allclose(residual[:, 0], expected, rtol=1e-10)


def test_information_criteria_by_hand():
    X, y = load_diabetes(return_X_y=True)
    lars = LassoLarsIC(criterion="bic").fit(X, y)
    ic = information_criteria(X, y, n_alphas=20, tol=1e-12)
    n, p = X.shape
    # noise variance: OLS residual variance (as scikit-learn's LassoLarsIC)
    design = np.column_stack([X, np.ones(n)])
    resid = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    sigma2 = resid @ resid / (n - p - 1)
    assert ic.noise_variance == pytest.approx(sigma2, rel=1e-10)
    assert ic.noise_variance == pytest.approx(lars.noise_variance_, rel=1e-10)
    for k in range(0, 20, 5):
        coef, b = ic.path.coefs[k], ic.path.intercepts[k]
        rss = np.sum((y - X @ coef - b) ** 2)
        df = np.count_nonzero(coef)
        base = n * np.log(2 * np.pi * sigma2) + rss / sigma2
        assert ic.aic[k] == pytest.approx(base + 2 * df, rel=1e-10)
        assert ic.bic[k] == pytest.approx(base + np.log(n) * df, rel=1e-10)


def test_elastic_net_degrees_of_freedom_and_wide_noise():
    import penalized as pz

    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 80))
    y = X[:, :3].sum(axis=1) + 0.5 * rng.standard_normal(40)
    ic = information_criteria(X, y, pz.ElasticNet(l1_ratio=0.5), n_alphas=10)
    assert ic.noise_variance_method == "reid-cv"
    assert 0.05 < ic.noise_variance < 2.0   # true value 0.25
    k = 5
    active = np.flatnonzero(ic.path.coefs[k])
    XA = X[:, active] - X[:, active].mean(axis=0)
    gram = XA.T @ XA
    lam = 40 * ic.alphas[k] * 0.5
    expected = np.trace(np.linalg.solve(gram + lam * np.eye(active.size), gram))
    assert ic.degrees_of_freedom[k] == pytest.approx(expected, rel=1e-10)
    assert np.all(np.isfinite(ic.ebic)) and np.all(ic.ebic >= ic.bic)
