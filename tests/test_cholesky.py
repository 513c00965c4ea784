"""The compiled Cholesky factorization and solves (:mod:`penalized.solvers.cd.cholesky`)
against numpy / scipy, and the Newton step's solve built on them."""

import numpy as np
import pytest
import scipy.linalg as sla
from numba import njit

from penalized.solvers.cd import cholesky, newton
from penalized.workflows import tasks


@njit(cache=False)
def _factor(A):  # (factor_in_place has no CPython wrapper: compiled callers only)
    return cholesky.factor_in_place(A)


def _spd(m, seed=0, condition=1.0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m + 3, m))
    return A.T @ A + condition * np.eye(m)


@pytest.mark.parametrize("m", [1, 2, 7, 60])
def test_factor_in_place_is_numpys_cholesky(m):
    G = _spd(m, seed=m)
    A = G.copy()
    assert _factor(A)
    np.testing.assert_allclose(np.tril(A), np.linalg.cholesky(G), rtol=1e-12, atol=1e-12)


def test_factor_in_place_refuses_an_indefinite_matrix():
    G = _spd(5)
    G[2, 2] = -1.0
    assert not _factor(G.copy())
    G[2, 2] = np.nan
    assert not _factor(G.copy())


@pytest.mark.parametrize("m", [1, 3, 40, 300])
def test_solve_in_place_solves_the_system(m):
    G = _spd(m, seed=m, condition=0.1)
    rhs = np.random.default_rng(1).standard_normal(m)
    x = rhs.copy()
    cholesky.solve_in_place(np.linalg.cholesky(G), x)
    np.testing.assert_allclose(x, np.linalg.solve(G, rhs), rtol=1e-9)
    np.testing.assert_allclose(G @ x, rhs, rtol=1e-9, atol=1e-9)


def test_solve_in_place_reads_only_the_lower_triangle():
    G = _spd(12)
    L = np.linalg.cholesky(G)
    junk = L + np.triu(np.full_like(L, 7.0), k=1)
    rhs = np.arange(12.0)
    a, b = rhs.copy(), rhs.copy()
    cholesky.solve_in_place(L, a)
    cholesky.solve_in_place(junk, b)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shape", [(25,), (25, 1), (25, 4)])
def test_newton_solve_matches_scipy_cho_solve(shape):
    G = _spd(25, seed=3)
    rhs = np.random.default_rng(2).standard_normal(shape)
    got = newton._solve(np.linalg.cholesky(G), rhs)
    want = sla.cho_solve(sla.cho_factor(G), rhs)
    assert got.shape == rhs.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_the_newton_solve_releases_the_gil():
    # threads of n_jobs reach Newton steps at once: scipy's LAPACK wrappers hold the GIL
    assert cholesky.solve_in_place.targetoptions.get("nogil", False)
    assert tasks.kernels_release_gil()
