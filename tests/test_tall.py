"""Least squares from sufficient statistics: Dask arrays by rows, and the in-memory
route where each training fold's Gram is the total's minus its held-out fold's
(issue 17, section 2)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import ShuffleSplit

import penalized as pz
from penalized.core.gram import GRAM_MAX_FEATURES
from penalized.workflows.sufficient import Moments

da = pytest.importorskip("dask.array")


def _data(n=600, p=12, seed=0):
    rng = np.random.default_rng(seed)
    # column means far from 0 and unequal scales: centering by blocks must not lose digits
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 3.0, p) + 50.0
    y = X[:, :4] @ np.array([1.0, -2.0, 0.5, 1.0]) + rng.standard_normal(n)
    return X, y, rng.uniform(0.5, 2.0, n)


def test_moments_merge_and_remove_equal_direct_computation():
    X, y, s = _data(n=300, p=4)
    whole = Moments.of(X, y, s)
    a, b = Moments.of(X[:70], y[:70], s[:70]), Moments.of(X[70:], y[70:], s[70:])
    Z = np.column_stack([X, y])
    mean = s @ Z / s.sum()
    np.testing.assert_allclose(whole.mean, mean, rtol=1e-14)
    np.testing.assert_allclose(whole.comoment, (Z - mean).T @ ((Z - mean) * s[:, None]),
                               rtol=1e-11)
    for combined, direct in ((a + b, whole), (whole - a, b), (whole - b, a)):
        assert combined.count == direct.count
        np.testing.assert_allclose(combined.mean, direct.mean, rtol=1e-12)
        np.testing.assert_allclose(combined.comoment, direct.comoment, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_dask_path_with_uneven_chunks_equals_the_in_memory_fit(fit_intercept):
    X, y, s = _data()
    reference = pz.path(X, y, sample_weight=s, fit_intercept=fit_intercept, n_alphas=20,
                        tol=1e-12, precompute=False)
    Xd = da.from_array(X, chunks=((37, 250, 13, 300), (12,)))
    result = pz.path(Xd, da.from_array(y, chunks=100), sample_weight=da.from_array(s),
                     fit_intercept=fit_intercept, n_alphas=20, tol=1e-12)
    np.testing.assert_allclose(result.alphas, reference.alphas, rtol=1e-10)
    np.testing.assert_allclose(result.objectives, reference.objectives, rtol=1e-10)
    np.testing.assert_allclose(result.coefs, reference.coefs, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(result.intercepts, reference.intercepts, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("standardize", [False, True])
def test_cross_validation_from_moments_equals_the_per_fold_route(standardize):
    X, y, s = _data()
    options = {"sample_weight": s, "cv": 5, "n_alphas": 15, "tol": 1e-12,
               "standardize": standardize, "l1_ratios": [0.5, 1.0]}
    per_fold = pz.cross_validate(X, y, precompute=False, **options)
    in_memory = pz.cross_validate(X, y, **options)  # the Gram route (tall, mse)
    on_dask = pz.cross_validate(da.from_array(X, chunks=(170, 12)), da.from_array(y), **options)
    for result in (in_memory, on_dask):
        np.testing.assert_allclose(result.fold_scores_grid, per_fold.fold_scores_grid,
                                   rtol=1e-10)
        np.testing.assert_allclose(result.path.coefs, per_fold.path.coefs, rtol=1e-8,
                                   atol=1e-10)
        assert result.l1_ratio == per_fold.l1_ratio
        assert result.alpha_min == pytest.approx(per_fold.alpha_min, rel=1e-12)


def test_training_folds_that_are_not_complements_are_computed_directly():
    X, y, s = _data()
    splitter = ShuffleSplit(n_splits=3, test_size=0.2, train_size=0.5, random_state=0)
    options = {"sample_weight": s, "cv": splitter, "n_alphas": 10, "tol": 1e-12}
    np.testing.assert_allclose(pz.cross_validate(X, y, **options).fold_scores,
                               pz.cross_validate(X, y, precompute=False, **options).fold_scores,
                               rtol=1e-10)


def test_dask_input_errors_are_clear():
    X, y, _ = _data(n=40, p=5)
    Xd, yd = da.from_array(X, chunks=20), da.from_array(y, chunks=20)
    with pytest.raises(ValueError, match="Logistic needs exactly two classes"):
        pz.cross_validate(Xd, (yd > 0).astype(int), pz.Logistic())  # (the Newton route)
    with pytest.raises(ValueError, match="scoring='mae'"):
        pz.cross_validate(Xd, yd, scoring="mae")
    with pytest.raises(ValueError, match="do not overlap"):
        pz.cross_validate(Xd, yd, cv=ShuffleSplit(3, test_size=0.5, random_state=0))
    wide = da.zeros((10, GRAM_MAX_FEATURES + 1), chunks=(5, -1))
    with pytest.raises(ValueError, match=f"{GRAM_MAX_FEATURES + 1} features: .* at most"):
        pz.path(wide, da.zeros(10, chunks=5))
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        pz.path(da.from_array(bad, chunks=20), yd)


@pytest.mark.parametrize("penalty", [pz.L2(), pz.L1()], ids=["ridge", "lasso"])
@pytest.mark.parametrize("standardize", [False, True])
def test_moments_route_has_the_grid_of_the_per_fold_route(penalty, standardize):
    from penalized.workflows.paths import L1_MIN_RATIO, RIDGE_BOTTOM, RIDGE_TOP

    X, y, s = _data()
    options = {"sample_weight": s, "cv": 3, "n_alphas": 8, "standardize": standardize}
    per_fold = pz.cross_validate(X, y, pz.LeastSquares(), penalty, precompute=False, **options)
    in_memory = pz.cross_validate(X, y, pz.LeastSquares(), penalty, **options)
    on_dask = pz.cross_validate(da.from_array(X, chunks=(170, 12)), da.from_array(y),
                                pz.LeastSquares(), penalty, **options)
    for result in (in_memory, on_dask):
        np.testing.assert_allclose(result.alphas, per_fold.alphas, rtol=1e-10)
    # the default rule of each penalty (ridge: curvature, down to a bottom set by n)
    expected = RIDGE_BOTTOM / (RIDGE_TOP * X.shape[0]) if penalty.ratio == 0 else L1_MIN_RATIO
    assert per_fold.alphas[-1] / per_fold.alphas[0] == pytest.approx(expected, rel=1e-12)
    path = pz.path(da.from_array(X, chunks=(170, 12)), da.from_array(y), pz.LeastSquares(),
                   penalty, sample_weight=da.from_array(s), n_alphas=8, standardize=standardize)
    np.testing.assert_allclose(path.alphas, per_fold.alphas, rtol=1e-10)


def test_moments_route_keeps_fold_paths_with_foldid_and_alphas_by_weight():
    import pandas as pd

    X, y, s = _data(n=400, p=6)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(6)])
    foldid = np.random.default_rng(1).integers(0, 4, X.shape[0])
    options = {"sample_weight": s, "foldid": foldid, "n_alphas": 10, "tol": 1e-12,
               "fold_alphas": "by_weight", "keep_fold_paths": True, "standardize": True}
    per_fold = pz.cross_validate(frame, y, precompute=False, **options)
    in_memory = pz.cross_validate(frame, y, **options)
    on_dask = pz.cross_validate(da.from_array(X, chunks=(150, 6)), da.from_array(y),
                                **{**options, "sample_weight": da.from_array(s)})
    shared = pz.cross_validate(frame, y, **{**options, "fold_alphas": "shared"})
    assert not np.allclose(shared.fold_coefs_grid, per_fold.fold_coefs_grid, rtol=1e-6)
    assert per_fold.fold_coefs_grid.shape == (1, 4, 10, 6)
    for result in (in_memory, on_dask):
        np.testing.assert_allclose(result.fold_scores_grid, per_fold.fold_scores_grid,
                                   rtol=1e-9)
        np.testing.assert_allclose(result.fold_coefs_grid, per_fold.fold_coefs_grid,
                                   rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(result.fold_intercepts_grid,
                                   per_fold.fold_intercepts_grid, rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(result.path.deviance_ratio, per_fold.path.deviance_ratio,
                                   rtol=1e-9, atol=1e-12)
        assert result.path.standardize and result.path.fit_intercept
    assert in_memory.path.feature_names == per_fold.path.feature_names == tuple(frame.columns)


def test_dask_path_standardized_equals_the_in_memory_path():
    X, y, s = _data()
    reference = pz.path(X, y, sample_weight=s, n_alphas=12, tol=1e-12, standardize=True,
                        precompute=False)
    result = pz.path(da.from_array(X, chunks=(250, 12)), da.from_array(y), n_alphas=12,
                     sample_weight=da.from_array(s), tol=1e-12, standardize=True)
    np.testing.assert_allclose(result.alphas, reference.alphas, rtol=1e-10)
    np.testing.assert_allclose(result.coefs, reference.coefs, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(result.deviance_ratio, reference.deviance_ratio, rtol=1e-9,
                               atol=1e-12)  # (0 at alpha_max, up to rounding)
    assert result.standardize


def test_moments_judge_constant_columns_as_the_data_do():
    """One rule for constant columns: a column on a tiny scale (1e-13) is kept and a
    constant one (3e7) gets scale 1, whether the scales come from the data in memory or
    from their moments (the Gram and Dask routes)."""
    from penalized.workflows.standardize import feature_moments
    from penalized.workflows.sufficient import Moments

    rng = np.random.default_rng(4)
    X = rng.standard_normal((500, 4))
    X[:, 1] *= 1e-13
    X[:, 2] = 3e7
    s = rng.uniform(0.5, 2.0, 500)
    _, scale = feature_moments(X, s)
    np.testing.assert_allclose(Moments.of(X, np.zeros(500), s).column_scale(), scale,
                               rtol=1e-9)
    assert scale[2] == 1.0 and 0 < scale[1] < 1e-12
