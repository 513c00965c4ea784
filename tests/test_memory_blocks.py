"""The memory reductions of issue 17 ("Memory on one machine") compute what the
whole-array forms computed: products by blocks of rows, sparse row scaling on the
index arrays, the CLI's out-of-fold predictors from the folds' moments."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.model_selection import KFold

import penalized as pz
from penalized.app.cli._model import out_of_fold
from penalized.solvers.cd import newton
from penalized.workflows import paths


def _tall(n, p=7, seed=0):
    rng = np.random.default_rng(seed)
    X = np.asfortranarray(rng.standard_normal((n, p)) * 3.0 + 1.0)
    return X, X[:, :3] @ np.array([1.0, -1.0, 0.5]) + rng.standard_normal(n)


def test_dense_gram_products_by_row_blocks_equal_the_whole_products(monkeypatch):
    monkeypatch.setattr(newton, "ROWS", 37)  # several blocks and a short last one
    X, _ = _tall(200)
    h = np.random.default_rng(1).uniform(0.5, 2.0, 200)
    old, new = np.array([4, 0]), np.array([2, 6, 5])
    cross, gram, xh = newton._dense_products(X, h, old, new)
    np.testing.assert_allclose(cross, X[:, old].T @ (X[:, new] * h[:, None]), rtol=1e-13)
    np.testing.assert_allclose(gram, X[:, new].T @ (X[:, new] * h[:, None]), rtol=1e-13)
    np.testing.assert_allclose(xh, h @ X[:, new], rtol=1e-13)
    cache = newton.GramCache(X, h)
    G, g = cache.get(np.array([3, 1]))
    G, g = cache.get(np.array([1, 5, 3]))  # grows by one column
    cols = np.array([1, 5, 3])
    np.testing.assert_allclose(G, X[:, cols].T @ (X[:, cols] * h[:, None]), rtol=1e-13)
    np.testing.assert_allclose(g, h @ X[:, cols], rtol=1e-13)


def test_sparse_row_scaling_equals_multiply():
    X = sp.random(60, 9, density=0.3, format="csc", random_state=0)
    h = np.random.default_rng(0).uniform(0.5, 2.0, 60)
    np.testing.assert_array_equal(newton._scaled_rows(X, h).toarray(),
                                  X.multiply(h[:, None]).toarray())


@pytest.mark.parametrize("sparse", [False, True])
def test_path_deviance_ratio_by_blocks_equals_the_per_fit_objectives(monkeypatch, sparse):
    monkeypatch.setattr(paths, "ROWS", 50)
    monkeypatch.setattr(paths, "FITS", 3)
    X, y = _tall(230)
    X = sp.csc_matrix(X) if sparse else X
    res = pz.path(X, y, n_alphas=7, tol=1e-10, precompute=False)
    residual = y[None, :] - (X @ res.coefs.T).T - res.intercepts[:, None]
    fits = 0.5 * np.mean(residual**2, axis=1)
    null = 0.5 * np.mean((y - y.mean()) ** 2)
    np.testing.assert_allclose(res.deviance_ratio, 1 - fits / null, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("standardize", [False, True])
def test_cli_out_of_fold_from_moments_equals_refits_on_each_fold(standardize):
    X, y = _tall(900)
    splitter = KFold(4, shuffle=True, random_state=0)
    penalty = pz.L1(alpha=0.05)
    got = out_of_fold(X, y, pz.LeastSquares(), penalty, splitter, standardize=standardize,
                      tol=1e-12)
    expected = np.empty(900)
    for train, test in splitter.split(X):
        fit = pz.fit(X[train], y[train], penalty=penalty, tol=1e-12, standardize=standardize)
        expected[test] = X[test] @ fit.coef + fit.intercept
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)
