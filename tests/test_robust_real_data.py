"""Coordinate descent converges on raw real-data columns: collinear dummies (every level
of a factor with an intercept), and columns far from zero (a year, 1e4 +- 1).

The references are the Gram route (``precompute=True``: the path's statistics centered
explicitly, its gaps at 1e-14) and the compiled dense route, run here on the same data.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import penalized as pz
from penalized import datasets
from penalized.core.certificates import certify
from penalized.solvers.cd import newton


def _far_from_zero(n=20000, offset=1e4):
    """Sparse-ish X with one stored column of ``offset +- 1``, as in
    ``tests/test_sparse_gram.py``'s far-from-zero tests."""
    rng = np.random.default_rng(0)
    X = sp.random(n, 50, density=0.3, random_state=0).toarray()
    X[:, 0] = offset + rng.standard_normal(n)
    y = X[:, 0] - offset + X[:, 1] + 0.1 * rng.standard_normal(n)
    return X, y


def test_cps1985_raw_converges_on_every_route():
    """cps1985 unstandardized stores every level of its factors (gender=female and
    gender=male, ...) and age = education + experience + 6: with an intercept the support
    model is singular and the Newton step on the support does not apply. CD stopped on
    stable signs for that step anyway, each round after 10 epochs, until the fit ended at
    200 rounds: alpha 47 of 50 at ``max_iter``, gap 1e-2 of the objective (dense and
    sparse, Python driver). The compiled route, which has no Newton step, converges."""
    t = datasets.load("cps1985", standardize=False)
    X, y = np.asarray(t.X, float), np.asarray(t.y, float)
    options = dict(tol=1e-8, precompute=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pz.ConvergenceWarning)
        ref = pz.path(X, y, n_alphas=50, engine="compiled", **options)
        for data in (X, sp.csc_matrix(X)):
            ours = pz.path(data, y, alphas=ref.alphas, engine="python", **options)
            assert "max_iter" not in set(ours.stop_reasons), (ours.stop_reasons, ours.n_iters)
            # (both within tol of the optimum: their difference within 2 tol)
            np.testing.assert_allclose(ours.objectives, ref.objectives, rtol=2e-8)


@pytest.mark.parametrize("route", ["python-dense", "python-sparse", "compiled"])
def test_a_column_far_from_zero_is_certified_at_tol_1e_10(route):
    """A stored column of 1e4 +- 1: the intercept is optimal only up to the rounding of
    ``X w + b`` (their terms cancel 8 digits), ``sum u`` of the dual point was off by
    1e-11 to 1e-8 of ``sum |u|``, and ``x_0^T u`` carried 1e4 times that: a gap floor
    of up to 5e-6 of the objective at an excess of 1e-12, every alpha after the third
    at ``max_iter``. The dense Newton step on the support centered its products
    implicitly and returned each round to a point 3e-9 off. Now every alpha is
    certified in a few epochs."""
    X, y = _far_from_zero()
    options = dict(n_alphas=10, tol=1e-10)
    ref = pz.path(X, y, precompute=True, **options)
    data = sp.csc_matrix(X) if route == "python-sparse" else X
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pz.ConvergenceWarning)
        ours = pz.path(data, y, precompute=False,
                       engine="compiled" if route == "compiled" else "python", **options)
    assert set(ours.stop_reasons) == {"gap"}, (ours.stop_reasons, ours.n_iters)
    assert np.all(ours.certificates <= 1e-10 * ours.objectives)
    assert int(ours.n_iters.sum()) <= 100, ours.n_iters
    np.testing.assert_allclose(ours.objectives, ref.objectives, rtol=1e-11)


def test_the_certificate_at_the_gram_routes_solution_has_no_floor():
    """The gap at the Gram route's solution (excess 1e-14), computed on X, dense and
    sparse: 1.5e-8 and 5e-6 of the objective at the last alpha before the dual point was
    taken at the exactly optimal intercept."""
    X, y = _far_from_zero()
    ref = pz.path(X, y, n_alphas=10, tol=1e-13, precompute=True)
    for data in (X, sp.csc_matrix(X)):
        for k in (3, 9):
            problem = pz.make_problem(data, y, pz.LeastSquares(), pz.L1(alpha=ref.alphas[k]))
            cert = certify(problem, ref.coefs[k], float(ref.intercepts[k]))
            assert cert.value <= 1e-10 * cert.objective, (k, cert)


def test_dense_newton_products_are_formed_about_the_column_means():
    """The Newton step's centered Gram of a dense column of 1e4 +- 1 (the products of
    ``GramCache`` with an intercept, less ``sum h`` times the outer product of their
    means): formed about the column's mean it keeps its digits (implicitly centered it
    lost 8 of them)."""
    rng = np.random.default_rng(1)
    X = np.asfortranarray(np.column_stack([1e4 + rng.standard_normal(3000),
                                           rng.standard_normal(3000) + 2.0]))
    h = rng.uniform(0.5, 2.0, 3000)
    gram, xh = newton.GramCache(X, h, True).get(np.array([0, 1]))
    centered = gram - np.outer(xh, xh) / h.sum()
    exact = X - np.average(X, axis=0, weights=h)  # explicitly centered
    np.testing.assert_allclose(centered, exact.T @ (exact * h[:, None]), rtol=1e-11)
