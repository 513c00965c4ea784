"""A ridge path of least squares solved by one decomposition (``paths.ridge_path``):
equal to scikit-learn's Ridge at every alpha, certified by the duality gap, never worse
than coordinate descent, and used only where the penalty declares itself a ridge."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge

import penalized as pz


def _wide(n=40, p=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) @ np.diag(np.linspace(0.2, 3.0, p))
    k = min(5, p)
    y = X[:, :k] @ rng.standard_normal(k) + 0.3 * rng.standard_normal(n) + 2.0
    return X, y


@pytest.mark.parametrize("shape", [(40, 120), (150, 12)])
def test_ridge_path_equals_sklearn_ridge_with_weights(shape):
    X, y = _wide(*shape)
    n, p = X.shape
    rng = np.random.default_rng(1)
    omega = rng.uniform(0.5, 2.0, p)
    s = rng.uniform(0.5, 1.5, n)
    res = pz.path(X, y, pz.LeastSquares(), pz.L2(weights=omega), sample_weight=s,
                  n_alphas=8, alpha_min_ratio=1e-6)
    assert res.converged.all() and np.all(res.certificates <= 1e-12 * res.objectives)
    s_n = s * n / s.sum()  # the objective's weights sum to n: sklearn's alpha is n alpha
    root = np.sqrt(omega)
    for k, a in enumerate(res.alphas):
        ref = Ridge(alpha=n * a, solver="svd").fit(X / root, y, sample_weight=s_n)
        np.testing.assert_allclose(res.coefs[k], ref.coef_ / root, rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(res.intercepts[k], ref.intercept_, rtol=1e-9, atol=1e-10)


def test_exact_path_is_never_worse_than_coordinate_descent():
    """The p >> n ridge of tiny alpha, coordinate descent's worst case: at the bottom of
    the grid its objective (tight tol, many epochs) is not below the decomposition's."""
    X, y = _wide()
    exact = pz.path(X, y, pz.LeastSquares(), pz.L2(), n_alphas=20)
    cd = pz.path(X, y, pz.LeastSquares(), pz.L2(), n_alphas=20, engine="python",
                 tol=1e-10, max_iter=200_000)
    assert exact.n_iters.sum() == 0  # certified where it started
    assert np.all(cd.objectives >= exact.objectives * (1 - 1e-14))
    np.testing.assert_allclose(cd.objectives, exact.objectives, rtol=1e-8)


@pytest.mark.parametrize("penalty, ridge", [
    (pz.L2(), True), (pz.ElasticNet(l1_ratio=0.0), True), (pz.ElasticNet(l1_ratio=0.5), False),
    (pz.L1(), False), (pz.L2(positive=True), False), (pz.L2(weights=[1.0, 0.0, 1.0]), False),
    (pz.L2(lower=-0.1, upper=0.1), False),
])
def test_only_a_declared_ridge_takes_the_decomposition(penalty, ridge):
    assert penalty.ridge is ridge
    X, y = _wide(30, 3)
    res = pz.path(X, y, pz.LeastSquares(), penalty, n_alphas=5)
    assert bool(res.n_iters.sum() == 0) == ridge  # (coordinate descent runs epochs)


@pytest.mark.parametrize("datafit", [pz.LeastSquares(), pz.Logistic(), pz.Poisson()])
def test_batched_ridge_certificates_equal_certify(datafit):
    """``certificates.ridge_certificates`` (a path's points at once) against
    ``certify`` at each point: weights, sample weights and an offset."""
    from penalized.core.certificates import certify, ridge_certificates

    X, y = _wide(60, 20)
    if datafit.task != "regression" or isinstance(datafit, pz.Poisson):
        y = (y > np.median(y)).astype(float) if isinstance(datafit, pz.Logistic) else \
            np.round(np.exp(np.clip(y / np.abs(y).max(), -2, 2)))
    rng = np.random.default_rng(3)
    omega, s = rng.uniform(0.5, 2.0, 20), rng.uniform(0.5, 1.5, 60)
    offset = rng.uniform(-0.3, 0.3, 60)
    problem = pz.make_problem(X, y, datafit, pz.L2(weights=omega), sample_weight=s,
                              offset=offset)
    res = pz.path(X, y, datafit, pz.L2(weights=omega), sample_weight=s, offset=offset,
                  n_alphas=6, tol=1e-3)  # points short of the optimum: gaps of all sizes
    objectives, gaps = ridge_certificates(problem, res.alphas, res.coefs, res.intercepts)
    for k, a in enumerate(res.alphas):
        cert = certify(problem.with_penalty(problem.penalty.with_alpha(float(a))),
                       res.coefs[k], res.intercepts[k])
        assert objectives[k] == pytest.approx(cert.objective, rel=1e-12)
        assert gaps[k] == pytest.approx(cert.value, rel=1e-6, abs=1e-13 * cert.objective)
