"""Memory on one machine (issue 17): the caller's layout is kept where it is usable.

Sparse X keeps its int32 index arrays and the Newton step reads its columns in place (no
copy of X beyond CSR's one conversion to CSC); dense float32 or C-ordered X on the Gram
route is read by blocks of rows (no float64 or Fortran copy of X); float32 X on the
coordinate-descent route serves as the gradient's float32 copy. Each test checks the
result against the route it replaces and bounds the peak of the memory the fit adds
(``tracemalloc``: numpy's allocations; the compiled kernels allocate nothing of X's size).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

import penalized as pz
from penalized.core import gradient
from penalized.core.problem import make_problem
from penalized.solvers.cd import newton
from penalized.solvers.cd.driver import kernel_arrays
from penalized.workflows import sufficient


def _peak_path(X, y, **kwargs):
    """``(the path, peak bytes allocated above the start while it ran)``, after a path on
    the first rows (imports, compiled kernels loaded: objects that are not X's)."""
    _path(X[:2000], y[:2000], **kwargs)
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        out = _path(X, y, **kwargs)
        return out, tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


def _sparse(n=20_000, p=60, density=0.5, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, format="csc", random_state=seed,
                  data_rvs=rng.standard_normal)
    y = X @ rng.standard_normal(p) + rng.standard_normal(n)  # a full support at the end
    return X, y


def _nbytes(X) -> int:
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


def _path(X, y, **kwargs):
    return pz.path(X, y, n_alphas=8, alpha_min_ratio=1e-3, tol=1e-8, **kwargs)


def test_sparse_path_keeps_int32_indices_and_copies_nothing_of_x():
    """int32 CSC: the kernels read the caller's index arrays (the int64 copy was 0.67 X)
    and the Newton step reads the support's columns in place (its scipy products copied
    the columns two or three times); the fit equals the one on int64 indices."""
    X, y = _sparse()
    assert X.indices.dtype == np.int32
    problem = make_problem(X, y, pz.LeastSquares(), pz.L1())
    data, indices, indptr = kernel_arrays(problem)
    assert np.shares_memory(indices, X.indices) and np.shares_memory(indptr, X.indptr)
    res, peak = _peak_path(X, y, precompute=False)  # (the coordinate-descent route)
    assert peak < 0.4 * _nbytes(X), peak / _nbytes(X)
    assert np.count_nonzero(res.coefs[-1]) == X.shape[1]  # the Newton step's whole support
    ref = _path(X.toarray(), y, precompute=False)  # the same fits on dense columns
    np.testing.assert_allclose(res.objectives, ref.objectives, rtol=1e-9)
    np.testing.assert_allclose(res.coefs, ref.coefs, rtol=1e-6, atol=1e-8)


def test_csr_path_makes_one_conversion_to_csc():
    X, y = _sparse(seed=1)
    csr = X.tocsr()
    res, peak = _peak_path(csr, y, precompute=False)  # (the coordinate-descent route)
    assert peak < 1.4 * _nbytes(csr), peak / _nbytes(csr)
    np.testing.assert_allclose(res.objectives, _path(X, y, precompute=False).objectives,
                               rtol=1e-12)


def _tall(n=40_000, p=20, seed=0):
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n, p)) * rng.uniform(0.5, 3.0, p) + 5.0).astype(np.float32)
    y = X[:, :5].astype(np.float64) @ np.array([1.0, -2.0, 0.5, 1.0, 3.0])
    return X, y + rng.standard_normal(n)


@pytest.mark.parametrize("standardize", [False, True])
def test_float32_on_the_gram_route_is_read_by_row_blocks(monkeypatch, standardize):
    """float32 X on the Gram route: no n x p float64 array (it would be twice X), and the
    path of the same values given as float64."""
    monkeypatch.setattr(sufficient, "BLOCK_ROWS", 1000)
    X, y = _tall()
    res, peak = _peak_path(X, y, standardize=standardize)
    assert peak < 0.4 * X.nbytes, peak / X.nbytes
    ref = _path(np.asfortranarray(X, dtype=np.float64), y, standardize=standardize)
    np.testing.assert_allclose(res.objectives, ref.objectives, rtol=1e-10)
    np.testing.assert_allclose(res.alphas, ref.alphas, rtol=1e-10)
    np.testing.assert_allclose(res.coefs, ref.coefs, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(res.intercepts, ref.intercepts, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(res.deviance_ratio, ref.deviance_ratio, rtol=1e-9, atol=1e-12)


def test_c_ordered_float64_on_the_gram_route_is_not_copied(monkeypatch):
    monkeypatch.setattr(sufficient, "BLOCK_ROWS", 1000)
    X, y = _tall(seed=2)
    X = np.ascontiguousarray(X, dtype=np.float64)
    res, peak = _peak_path(X, y)
    assert peak < 0.2 * X.nbytes, peak / X.nbytes  # a Fortran copy would be 1.0
    ref = _path(np.asfortranarray(X), y, relax=True)
    np.testing.assert_allclose(res.objectives, ref.objectives, rtol=1e-10)
    relaxed = _path(X, y, relax=True)  # (the refits read a Fortran copy)
    np.testing.assert_array_equal(relaxed.coefs, res.coefs)
    np.testing.assert_allclose(relaxed.relaxed_coefs, ref.relaxed_coefs, rtol=1e-7,
                               atol=1e-9)


def test_float32_on_coordinate_descent_is_the_gradients_float32_copy(monkeypatch):
    """precompute=False: X becomes float64 Fortran for the kernels (twice float32 X), and
    the certificate gradient's float32 passes (the Python driver's) read the caller's
    array instead of a third copy (the same values: float32 -> float64 -> float32 is
    exact)."""
    monkeypatch.setattr(gradient, "MIN_SIZE", 0)
    monkeypatch.setattr(gradient, "LOWPREC_MIN_SIZE", 0)
    monkeypatch.setattr(newton, "ROWS", 1000)  # (the Newton step's blocks of rows)
    X, y = _tall(n=10_000, p=100, seed=3)
    problem = make_problem(X, y, pz.LeastSquares(), pz.L1(), keep_dense=True)
    assert problem.X is X
    assert problem.with_solver_layout().memo["float32_X"] is X
    res, peak = _peak_path(X, y, precompute=False, engine="python")
    assert peak < 2.5 * X.nbytes, peak / X.nbytes  # with a float32 copy: 3.0 and more
    ref = _path(np.asfortranarray(X, dtype=np.float64), y, precompute=False,
                engine="python")
    np.testing.assert_allclose(res.objectives, ref.objectives, rtol=1e-10)


def test_cross_validation_reads_float32_x_by_row_blocks(monkeypatch):
    """The folds' moments (the tall least-squares CV route) read float32 X as given: no
    float64 copy (twice X); the same CV curve and path as float64 Fortran input."""
    monkeypatch.setattr(sufficient, "BLOCK_ROWS", 500)
    X, y = _tall(n=20_000, p=100, seed=4)  # (the folds' index arrays are 32 bytes a row)
    options = {"cv": 4, "n_alphas": 8, "alpha_min_ratio": 1e-4, "tol": 1e-8}
    pz.cross_validate(X[:2000], y[:2000], **options)  # (imports, compiled kernels)
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        res = pz.cross_validate(X, y, **options)
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    assert peak < 0.5 * X.nbytes, peak / X.nbytes  # a float64 copy: 2.0
    ref = pz.cross_validate(np.asfortranarray(X, dtype=np.float64), y, **options)
    np.testing.assert_allclose(res.alphas, ref.alphas, rtol=1e-10)
    np.testing.assert_allclose(res.mean, ref.mean, rtol=1e-9)
    np.testing.assert_allclose(res.fold_scores, ref.fold_scores, rtol=1e-9)
    np.testing.assert_allclose(res.path.objectives, ref.path.objectives, rtol=1e-10)
    assert res.index_min == ref.index_min
