"""Results are never silently non-finite or degenerate (issue 15): overflowing
inputs, tiny-scale columns under standardization, separable classes at alpha=0,
a continuous target for Multinomial, max_iter=0."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes

import penalized as pz
from penalized import linear_model as pl
from penalized.core.exceptions import NoFiniteMinimizerWarning


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


@pytest.mark.parametrize("call", [
    lambda X, y: pz.fit(X, y),
    lambda X, y: pz.path(X, y, n_alphas=5),
    lambda X, y: pz.cross_validate(X, y, cv=3, n_alphas=5, standardize=True),
    lambda X, y: pl.Lasso(alpha=0.1).fit(X, y),
])
def test_overflowing_X_is_refused_naming_the_cause(diabetes, call):
    X, y = diabetes
    with pytest.raises(ValueError, match=r"X has values as large as .*column \d+.*overflow"):
        call(X * 1e200, y)
    with pytest.raises(ValueError, match="y has values as large as"):
        call(X, y * 1e200)


def test_tiny_scale_column_is_not_constant_under_standardize(diabetes):
    X, y = diabetes
    tiny = X.copy()
    tiny[:, 2] *= 1e-13
    for fit in (lambda A: pz.fit(A, y, alpha=0.5, standardize=True, tol=1e-12).coef,
                lambda A: pz.path(A, y, n_alphas=5, standardize=True, tol=1e-12).coefs[-1]):
        ref, got = fit(X), fit(tiny)
        assert ref[2] != 0
        # standardization makes the fit scale-invariant: coefficient x scale is the same
        np.testing.assert_allclose(got[2] * 1e-13, ref[2], rtol=1e-8)
        np.testing.assert_allclose(np.delete(got, 2), np.delete(ref, 2), rtol=1e-8, atol=1e-10)


def test_constant_columns_stay_constant():
    from penalized.workflows.standardize import feature_moments

    rng = np.random.default_rng(0)
    X = np.column_stack([np.full(50, 0.1), np.full(50, 3e7), rng.standard_normal(50) * 1e-13])
    _, std = feature_moments(X, np.ones(50))
    assert std[0] == 1.0 and std[1] == 1.0  # rounding noise is not a variance
    np.testing.assert_allclose(std[2], X[:, 2].std())


def _separable(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((60, 3))
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)


@pytest.mark.parametrize("datafit, penalty", [
    (pz.Logistic(), pz.L1()), (pz.Logistic(), pz.L2()), (pz.Multinomial(), pz.L1())])
def test_separable_classes_at_alpha_zero_warn(datafit, penalty):
    X, y = _separable()
    if datafit.multiclass:
        y = y + (X[:, 2] > 1.0) * 2 * (y == 1)  # three classes, still separable
    with pytest.warns(NoFiniteMinimizerWarning, match="no finite minimizer"):
        pz.fit(X, y, datafit, penalty, alpha=0.0)
    with warnings.catch_warnings():  # a penalty bounds the coefficients: no warning
        warnings.simplefilter("error", NoFiniteMinimizerWarning)
        pz.fit(X, y, datafit, penalty, alpha=0.01)


def test_unpenalized_logistic_regression_on_separable_classes_warns():
    X, y = _separable()
    with pytest.warns(NoFiniteMinimizerWarning):
        pl.LogisticRegression(C=np.inf).fit(X, y)


def test_overlapping_classes_at_alpha_zero_do_not_warn():
    X, y = _separable()
    y[:6] = 1 - y[:6]
    with warnings.catch_warnings():
        warnings.simplefilter("error", NoFiniteMinimizerWarning)
        res = pz.fit(X, y, pz.Logistic(), pz.L2(), alpha=0.0)
    assert np.all(np.isfinite(res.coef))


def test_multinomial_refuses_a_continuous_target(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="continuous"):
        pz.fit(X, y / 7.0, pz.Multinomial(), pz.L1(), alpha=0.1)
    labels = (y > np.median(y)).astype(float) + (y > np.quantile(y, 0.8))  # 0., 1., 2.
    assert pz.fit(X, labels, pz.Multinomial(), pz.L1(), alpha=0.01).coef.shape == (10, 3)


@pytest.mark.parametrize("call", [
    lambda X, y: pz.fit(X, y, max_iter=0),
    lambda X, y: pz.path(X, y, n_alphas=3, max_iter=0),
    lambda X, y: pz.cross_validate(X, y, cv=3, n_alphas=3, max_iter=0),
    lambda X, y: pl.Lasso(max_iter=0).fit(X, y),
])
def test_max_iter_zero_is_refused(diabetes, call):
    with pytest.raises(ValueError, match="max_iter must be a positive integer"):
        call(*diabetes)
