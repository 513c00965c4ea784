"""The Gram route of tall least squares on sparse X (CSR and CSC read by blocks of rows)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

import penalized as pz
from penalized.core.gram import sparse_gram_pays, use_gram
from penalized.workflows import sparse_moments, sufficient
from penalized.workflows.sufficient import Moments, fold_moments


def _data(n=1500, p=12, density=0.3, seed=0, fmt="csr"):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, format=fmt, random_state=seed,
                  data_rvs=lambda k: rng.standard_normal(k) + 2.0)  # columns of mean != 0
    y = X @ np.r_[1.5, -2.0, 0.7, np.zeros(p - 3)] + rng.standard_normal(n) + 3.0
    return X, y, rng.uniform(0.0, 2.0, n)


def _variant(X, fmt, index, dtype):
    X = X.asformat(fmt).astype(dtype)
    X.indices, X.indptr = X.indices.astype(index), X.indptr.astype(index)
    return X


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("index,dtype", [(np.int32, np.float64), (np.int64, np.float32)])
def test_moments_of_sparse_rows_equal_the_dense_moments(monkeypatch, fmt, index, dtype):
    """Per group of rows, by uneven blocks (the last one shorter), with weights (some 0)
    and rows in no group: the dense route's centered moments, to rounding."""
    monkeypatch.setattr(sparse_moments, "MIN_BLOCK_ROWS", 1)  # blocks of 46 rows
    X, y, s = _data()
    X = _variant(X, fmt, index, dtype)
    dense = X.toarray().astype(np.float64)
    groups = np.random.default_rng(1).integers(-1, 3, X.shape[0])
    parts = sufficient.sparse_moments(X, y, s, groups, 3)
    for k, part in enumerate(parts):
        rows = groups == k
        ref = sufficient.stacked_moments(np.column_stack([dense[rows], y[rows]]), s[rows])
        assert (part.count, part.weight) == (ref.count, pytest.approx(ref.weight))
        np.testing.assert_allclose(part.mean, ref.mean, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(part.comoment, ref.comoment, rtol=1e-11,
                                   atol=1e-11 * np.abs(ref.comoment).max())


def _paths(X, y, **options):
    options = {"n_alphas": 10, "alpha_min_ratio": 1e-2, **options}
    return (pz.path(X, y, precompute=True, **options),
            pz.path(X.toarray().astype(np.float64), y, precompute=True, **options),
            pz.path(X, y, precompute=False, **options))


@pytest.mark.parametrize("fmt,index,dtype,fit_intercept,weighted", [
    ("csr", np.int32, np.float64, True, False),
    ("csr", np.int64, np.float32, True, True),
    ("csc", np.int32, np.float64, False, True),
    ("csc", np.int64, np.float64, True, True),
])
def test_sparse_gram_path_equals_the_dense_gram_and_cd_paths(monkeypatch, fmt, index, dtype,
                                                            fit_intercept, weighted):
    monkeypatch.setattr(sparse_moments, "MIN_BLOCK_ROWS", 1)  # 1500 rows: an uneven last
    X, y, s = _data(fmt=fmt)
    X = _variant(X, fmt, index, dtype)
    options = {"fit_intercept": fit_intercept, "sample_weight": s if weighted else None,
               "tol": 1e-12, "standardize": weighted}
    gram, dense, cd = _paths(X, y, **options)
    np.testing.assert_allclose(gram.alphas, dense.alphas, rtol=1e-10)
    np.testing.assert_allclose(gram.objectives, dense.objectives, rtol=1e-10)
    np.testing.assert_allclose(gram.objectives, cd.objectives, rtol=1e-10)
    scale = np.abs(cd.coefs).max()
    np.testing.assert_allclose(gram.coefs, cd.coefs, atol=1e-6 * scale)
    np.testing.assert_allclose(gram.intercepts, cd.intercepts, atol=1e-6 * np.abs(y).max())
    np.testing.assert_allclose(gram.deviance_ratio, cd.deviance_ratio, atol=1e-9)
    if weighted:  # (standardized: the objectives are those of the scaled columns)
        return
    # the objectives reported are the original problem's at the reported fits
    problem = pz.make_problem(X, y, pz.LeastSquares(), pz.L1(), fit_intercept=fit_intercept,
                              sample_weight=options["sample_weight"])
    k = len(gram.alphas) - 1
    sub = problem.with_penalty(pz.L1(alpha=float(gram.alphas[k])))
    assert sub.objective(gram.coefs[k], gram.intercepts[k]) == pytest.approx(
        gram.objectives[k], rel=1e-10)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_gram_route_copies_nothing_of_x(fmt):
    """The path's extra memory is blocks and p x p arrays: no CSC copy of CSR X (1.0 X),
    no densified X, no n-long solver vectors (the CD route's +0.3 X here)."""
    X, y, _ = _data(n=60_000, p=30, density=0.3, fmt=fmt)
    pz.path(X[:3000], y[:3000], n_alphas=5)  # compiled code and imports loaded
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        res = pz.path(X, y, n_alphas=10)
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    size = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    assert peak < 0.2 * size, peak / size  # (0.12 here: blocks, the weights)
    assert res.solver == "cd" and res.n_nonzero[-1] >= 3


def test_auto_rule_and_refusals():
    X, y, _ = _data(n=3000, p=10, density=0.3)
    assert use_gram(pz.make_problem(X, y, pz.LeastSquares(), pz.L1()), "auto")
    # few entries per feature (an epoch of the Gram form, p^2, costs more than one of X)
    wide = sp.random(3000, 1000, density=0.002, format="csr", random_state=0)
    assert not sparse_gram_pays(wide)
    problem = pz.make_problem(wide, np.arange(3000.0), pz.LeastSquares(), pz.L1())
    assert not use_gram(problem, "auto") and use_gram(problem, True)
    # long rows: forming the Gram matrix costs more passes than a path takes
    long_rows = sp.random(600, 400, density=0.9, format="csr", random_state=0)
    assert not sparse_gram_pays(long_rows)
    with pytest.raises(ValueError, match="offset"):
        pz.path(X, y, precompute=True, offset=np.ones(X.shape[0]))
    with pytest.raises(ValueError, match="least-squares"):
        pz.path(X, y > 0, pz.Logistic(), pz.L1(), precompute=True)


def test_sparse_fold_moments_equal_the_dense_ones():
    """K-fold (one pass, every row labelled) and overlapping subsets (a pass each)."""
    from sklearn.model_selection import KFold, ShuffleSplit

    X, y, s = _data(n=900)
    dense = X.toarray()
    for splitter in (KFold(3, shuffle=True, random_state=0),
                     ShuffleSplit(3, test_size=0.3, random_state=0)):
        splits = list(splitter.split(dense))
        got, ref = fold_moments(X, y, s, splits), fold_moments(dense, y, s, splits)
        for a, b in zip([got[0], *got[1], *got[2]], [ref[0], *ref[1], *ref[2]], strict=True):
            assert a.count == b.count
            np.testing.assert_allclose(a.comoment, b.comoment, rtol=1e-10,
                                       atol=1e-10 * np.abs(b.comoment).max())
    rows = np.array([0, 0, 5])  # a row drawn twice counts twice
    np.testing.assert_allclose(sufficient._sparse_rows_moments(X, y, s, rows).comoment,
                               Moments.of(dense[rows], y[rows], s[rows]).comoment, atol=1e-12)


def test_cross_validate_on_sparse_x_by_fold_moments():
    X, y, s = _data(n=1200, fmt="csr")
    options = {"cv": 4, "n_alphas": 8, "tol": 1e-12, "sample_weight": s}
    by_moments = pz.cross_validate(X, y, precompute=True, **options)
    per_fold = pz.cross_validate(X, y, precompute=False, **options)
    np.testing.assert_allclose(by_moments.fold_scores, per_fold.fold_scores, rtol=1e-7)
    np.testing.assert_allclose(by_moments.path.objectives, per_fold.path.objectives,
                               rtol=1e-10)


def test_duplicate_and_unsorted_entries_are_summed():
    """A CSR matrix with a repeated column in a row and unsorted indices (not canonical:
    each row's outer product assumes distinct columns) has the moments of its sum."""
    X = sp.csr_matrix((np.array([1.0, 2.0, -1.0, 3.0, 0.5]), np.array([2, 0, 2, 1, 1]),
                       np.array([0, 3, 5])), shape=(2, 3))
    assert not X.has_canonical_format
    y, s = np.array([1.0, -2.0]), np.array([0.5, 1.5])
    got = sufficient.sparse_moments(X, y, s)[0]
    ref = sufficient.stacked_moments(np.column_stack([X.toarray(), y]), s)
    np.testing.assert_allclose(got.comoment, ref.comoment, atol=1e-12)
    np.testing.assert_allclose(got.mean, ref.mean, atol=1e-12)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_gram_form_of_a_sparse_problem_equals_the_dense_one(fit_intercept):
    """``gram_form`` of a validated sparse problem (the per-fold route's, CSC) is the
    dense problem's: the same compressed rows' Gram, target norm, means."""
    from penalized.core.gram import gram_form

    X, y, s = _data(n=400, p=8)
    forms = [gram_form(pz.make_problem(A, y, pz.LeastSquares(), pz.L1(),
                                       fit_intercept=fit_intercept, sample_weight=s))
             for A in (X.tocsc(), X.toarray())]
    (a, b) = (f.problem for f in forms)
    np.testing.assert_allclose(a.X.T @ a.X, b.X.T @ b.X, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(a.X.T @ a.y, b.X.T @ b.y, rtol=1e-10, atol=1e-10)
    assert a.y @ a.y == pytest.approx(b.y @ b.y, rel=1e-12)
    np.testing.assert_allclose(forms[0].x_mean, forms[1].x_mean, rtol=1e-12, atol=1e-15)
    assert forms[0].y_mean == pytest.approx(forms[1].y_mean, rel=1e-12)


def test_lasso_cv_on_tall_sparse_x_equals_scikit_learn():
    """``LassoCV`` on tall CSR X (the fold-moments route) against scikit-learn's on the
    same folds: the same alpha, CV curve and coefficients."""
    from sklearn import linear_model as sk

    from penalized import linear_model as pl

    X, y, _ = _data(n=2000, p=15, density=0.25)
    ours = pl.LassoCV(cv=4, tol=1e-10).fit(X, y)
    assert use_gram(pz.make_problem(X, y, pz.LeastSquares(), pz.L1()), "auto")
    peer = sk.LassoCV(cv=4, tol=1e-12).fit(X, y)
    assert ours.alpha_ == pytest.approx(peer.alpha_, rel=1e-12)
    np.testing.assert_allclose(ours.mse_path_, peer.mse_path_, rtol=1e-8)
    np.testing.assert_allclose(ours.coef_, peer.coef_, atol=1e-8)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("offset", [1e4, 1e6])
def test_a_full_column_far_from_zero_keeps_its_digits(fmt, offset):
    """A stored entry in every row, 1e4 +- 1 or 1e6 +- 1 (a year, a price level): its
    implicit centering lost ``offset^2`` of the digits (objectives 6e-5 relative off
    at 1e4, 0.19 at 1e6); it is summed about its mean. The dense Gram route's path, to
    rounding; the column with implicit zeros keeps no shift."""
    rng = np.random.default_rng(0)
    dense = sp.random(4000, 8, density=0.3, random_state=0).toarray()
    dense[:, 0] = offset + rng.standard_normal(4000)
    y = dense[:, 0] - offset + dense[:, 1] + 0.1 * rng.standard_normal(4000)
    X = sp.csr_matrix(dense).asformat(fmt)
    shifts = sparse_moments.full_column_shifts(X)
    assert shifts[0] == pytest.approx(dense[:, 0].mean()) and not shifts[1:].any()
    ours, ref = (pz.path(A, y, n_alphas=10, tol=1e-10, precompute=True) for A in (X, dense))
    np.testing.assert_allclose(ours.objectives, ref.objectives, rtol=1e-10)
    np.testing.assert_allclose(ours.coefs, ref.coefs, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.intercepts, ref.intercepts, rtol=1e-10)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sparse_coordinate_descent_converges_on_a_full_column_far_from_zero(fit_intercept):
    """The CD route's Newton step on the support centers the sparse support products
    implicitly; a stored column of 1e4 +- 1 lost their digits, and each round's step
    returned to the same inexact point (an alpha ended at max_iter after 1,993 epochs,
    the dense route took 3). Its products are now formed about the column's mean (only
    with an intercept: without one they are not centered, and stay as they are)."""
    rng = np.random.default_rng(0)
    dense = sp.random(20000, 50, density=0.3, random_state=0).toarray()
    dense[:, 0] = 1e4 + rng.standard_normal(20000)
    y = dense[:, 0] - 1e4 + dense[:, 1] + 0.1 * rng.standard_normal(20000)
    options = dict(n_alphas=5, tol=1e-6, fit_intercept=fit_intercept, precompute=False)
    ours = pz.path(sp.csc_matrix(dense), y, **options)
    ref = pz.path(dense, y, **options)
    assert "max_iter" not in set(ours.stop_reasons), (ours.stop_reasons, ours.n_iters)
    np.testing.assert_allclose(ours.objectives, ref.objectives, rtol=1e-6)
