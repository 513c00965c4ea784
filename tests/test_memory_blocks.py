"""The memory reductions of issue 17 ("Memory on one machine") compute what the
whole-array forms computed: products by blocks of rows (dense, and sparse read in
place from the CSC arrays), the CLI's out-of-fold predictors from the folds' moments."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.model_selection import KFold

import penalized as pz
from penalized.app.cli._model import out_of_fold
from penalized.solvers.cd import newton, support_products
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


@pytest.mark.parametrize("index", [np.int32, np.int64])
def test_sparse_support_products_by_row_blocks_equal_scipy(monkeypatch, index):
    """The Newton step's sparse products read X's CSC arrays in place, by blocks of rows
    (several blocks here, and empty rows and columns), in either index type."""
    monkeypatch.setattr(support_products, "MAX_BLOCK_ROWS", 7)
    D = sp.random(60, 9, density=0.3, format="csc", random_state=0).toarray()
    D[:, 4] = 0.0
    D[10:20] = 0.0
    X = sp.csc_matrix(D)
    X.indices, X.indptr = X.indices.astype(index), X.indptr.astype(index)
    h = np.random.default_rng(0).uniform(0.5, 2.0, 60)
    old, new = np.array([4, 0, 7]), np.array([2, 8, 5])
    cross, gram, xh = support_products.sparse_support_products(X, h, old, new)
    np.testing.assert_allclose(cross, D[:, old].T @ (D[:, new] * h[:, None]), rtol=1e-13)
    np.testing.assert_allclose(gram, D[:, new].T @ (D[:, new] * h[:, None]), rtol=1e-13)
    np.testing.assert_allclose(xh, h @ D[:, new], rtol=1e-13)
    cache = newton.GramCache(X, h)
    cache.get(np.array([3, 1]))
    cols = np.array([1, 5, 3])
    G, g = cache.get(cols)  # grows by one column
    np.testing.assert_allclose(G, D[:, cols].T @ (D[:, cols] * h[:, None]), rtol=1e-13)
    np.testing.assert_allclose(g, h @ D[:, cols], rtol=1e-13)


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
