"""``standardize=True`` on the Newton route for Dask arrays (logistic, Poisson): each path
fitted on its own rows' standardized columns, as in memory, the passes reading X as it
is (:mod:`penalized.workflows.tall_newton_scaled`)."""

from __future__ import annotations

import numpy as np
import pytest

import penalized as pz

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
# small grids end where these data's best alpha still falls: both routes warn alike
pytestmark = pytest.mark.filterwarnings("ignore::penalized.workflows.cv.GridEdgeWarning")


def _data(n=900, p=5, seed=0, datafit="logistic"):
    """Columns on scales from 0.01 to 100 and off-center: standardizing changes the fit."""
    rng = np.random.default_rng(seed)
    scales = np.array([0.01, 100.0, 1.0, 5.0, 0.3])[:p]
    X = rng.standard_normal((n, p)) * scales + np.arange(p)
    z = (X - np.arange(p)) / scales @ np.array([1.0, -1.0, 0.5, 0.0, 0.0])[:p]
    if datafit == "poisson":
        y = rng.poisson(np.exp(0.3 * z + 0.5)).astype(float)
    else:
        y = np.where(z + rng.logistic(size=n) > 0, "yes", "no")
    return X, y, rng.uniform(0.5, 2.0, n)


def _dask(X, y, s):
    return (da.from_array(X, chunks=((300, 100, X.shape[0] - 400), (X.shape[1],))),
            da.from_array(y, chunks=500), da.from_array(s, chunks=350))


@pytest.mark.parametrize(("datafit", "penalty"), [
    (pz.Logistic(), pz.L1()),
    (pz.Poisson(), pz.ElasticNet(l1_ratio=0.5)),
])
def test_dask_path_standardized_equals_the_in_memory_path(datafit, penalty):
    X, y, s = _data(datafit=datafit.name)
    options = dict(n_alphas=6, alpha_min_ratio=1e-2, standardize=True)
    with dask.config.set(scheduler="synchronous"):
        res = pz.path(*_dask(X, y, s)[:2], datafit, penalty,
                      sample_weight=_dask(X, y, s)[2], tol=1e-12, **options)
    ref = pz.path(X, y, datafit, penalty, sample_weight=s, tol=1e-13, **options)
    plain = pz.path(X, y, datafit, penalty, sample_weight=s, tol=1e-13,
                    **{**options, "standardize": False})
    assert res.alpha_max == pytest.approx(ref.alpha_max, rel=1e-9)
    assert not res.alpha_max == pytest.approx(plain.alpha_max, rel=1e-2)
    np.testing.assert_allclose(res.alphas, ref.alphas, rtol=1e-10)
    np.testing.assert_allclose(res.objectives, ref.objectives, rtol=1e-10)
    # (on the original columns: the 0.01-scaled column's coefficient is ~100)
    np.testing.assert_allclose(res.coefs, ref.coefs, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(res.intercepts, ref.intercepts, rtol=1e-4, atol=1e-4)
    assert res.converged.all()


def _cv(X, y, s, datafit, client=None, **options):
    return pz.cross_validate(X, y, datafit, pz.L1(), sample_weight=s, cv=3, n_alphas=5,
                             alpha_min_ratio=5e-2, standardize=True, keep_fold_paths=True,
                             client=client, **options)


def _assert_equal_cv(res, ref) -> None:
    np.testing.assert_allclose(res.alphas, ref.alphas, rtol=1e-10)
    np.testing.assert_allclose(res.fold_scores, ref.fold_scores, rtol=1e-6)
    assert (res.index_min, res.index_1se) == (ref.index_min, ref.index_1se)
    np.testing.assert_allclose(res.path.objectives, ref.path.objectives, rtol=1e-10)
    np.testing.assert_allclose(res.path.coefs, ref.path.coefs, rtol=1e-4, atol=1e-4)
    # every fold on its own training rows' scale: the folds' fits on the original columns
    np.testing.assert_allclose(res.fold_coefs_grid, ref.fold_coefs_grid, rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_allclose(res.fold_intercepts_grid, ref.fold_intercepts_grid,
                               rtol=1e-4, atol=1e-4)


def test_dask_cv_standardized_on_two_worker_processes_equals_the_in_memory_cv():
    distributed = pytest.importorskip("distributed")
    from penalized.workflows.distributed import local_cluster

    X, y, s = _data(seed=3)
    with local_cluster(2) as cluster, distributed.Client(
            cluster, set_as_default=False, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
        res = _cv(*_dask(X, y, s)[:2], _dask(X, y, s)[2], pz.Logistic(), client, tol=1e-12)
    ref = _cv(X, y, s, pz.Logistic(), tol=1e-13)
    _assert_equal_cv(res, ref)


def test_dask_poisson_cv_standardized_equals_the_in_memory_cv():
    X, y, s = _data(seed=4, datafit="poisson")
    with dask.config.set(scheduler="synchronous"):
        res = _cv(*_dask(X, y, s), pz.Poisson(), tol=1e-12)
    _assert_equal_cv(res, _cv(X, y, s, pz.Poisson(), tol=1e-13))


def test_dask_multinomial_path_standardized_equals_the_in_memory_path():
    """The Hessian's blocks translated to each path's scaled columns
    (:func:`penalized.workflows.tall_multinomial.quadratic_to_scaled`)."""
    X, _, s = _data(n=600)
    rng = np.random.default_rng(3)
    z = (X - np.arange(5)) / np.array([0.01, 100.0, 1.0, 5.0, 0.3])
    y = np.array(["a", "b", "c"])[np.argmax(z[:, :3] + rng.gumbel(size=(600, 3)), axis=1)]
    options = dict(n_alphas=5, alpha_min_ratio=5e-2, standardize=True)
    with dask.config.set(scheduler="synchronous"):
        res = pz.path(*_dask(X, y, s)[:2], pz.Multinomial(), pz.L1(),
                      sample_weight=_dask(X, y, s)[2], tol=1e-12, **options)
    ref = pz.path(X, y, pz.Multinomial(), pz.L1(), sample_weight=s, tol=1e-13, **options)
    plain = pz.path(X, y, pz.Multinomial(), pz.L1(), sample_weight=s, tol=1e-13,
                    **{**options, "standardize": False})
    assert res.alpha_max == pytest.approx(ref.alpha_max, rel=1e-9)
    assert not res.alpha_max == pytest.approx(plain.alpha_max, rel=1e-2)
    np.testing.assert_allclose(res.objectives, ref.objectives, rtol=1e-9)
    np.testing.assert_allclose(res.coefs, ref.coefs, rtol=1e-4, atol=1e-4)
    assert res.converged.all()
    # every fold on its own training rows' columns
    with dask.config.set(scheduler="synchronous"):
        cv = _cv(*_dask(X, y, s)[:2], _dask(X, y, s)[2], pz.Multinomial(), tol=1e-12)
    _assert_equal_cv(cv, _cv(X, y, s, pz.Multinomial(), tol=1e-13))


@pytest.mark.parametrize(("datafit", "standardize"), [
    (pz.Logistic(), False), (pz.Poisson(), True), (pz.Multinomial(), False),
])
def test_pure_ridge_on_dask_takes_the_in_memory_default_grid(datafit, standardize):
    """A pure ridge's grid is measured against the datafit's curvature times the columns'
    variances (``default_grid``): from the columns' pass, the in-memory grid and fits."""
    X, y, s = _data(n=600, seed=5, datafit=datafit.name)
    if datafit.multiclass:
        y = np.random.default_rng(5).integers(0, 3, 600)
    options = dict(n_alphas=5, standardize=standardize)
    with dask.config.set(scheduler="synchronous"):
        res = pz.path(*_dask(X, y, s)[:2], datafit, pz.L2(), sample_weight=_dask(X, y, s)[2],
                      tol=1e-12, **options)
    ref = pz.path(X, y, datafit, pz.L2(), sample_weight=s, tol=1e-13, **options)
    np.testing.assert_allclose(res.alphas, ref.alphas, rtol=1e-12)
    assert res.alpha_max == pytest.approx(ref.alpha_max, rel=1e-12)
    np.testing.assert_allclose(res.objectives, ref.objectives, rtol=1e-10)


def test_pure_ridge_cv_on_dask_takes_the_in_memory_default_grid():
    X, y, s = _data(seed=6)
    options = dict(cv=3, n_alphas=5, standardize=True)
    with dask.config.set(scheduler="synchronous"):
        res = pz.cross_validate(*_dask(X, y, s)[:2], pz.Logistic(), pz.L2(),
                                sample_weight=_dask(X, y, s)[2], tol=1e-12, **options)
    ref = pz.cross_validate(X, y, pz.Logistic(), pz.L2(), sample_weight=s, tol=1e-13,
                            **options)
    np.testing.assert_allclose(res.alphas, ref.alphas, rtol=1e-12)
    np.testing.assert_allclose(res.fold_scores, ref.fold_scores, rtol=1e-6)
    np.testing.assert_allclose(res.path.objectives, ref.path.objectives, rtol=1e-10)
