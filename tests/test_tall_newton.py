"""Logistic regression on Dask arrays by proximal Newton, the weighted Gram of each
outer step in one pass over the blocks (issue 17, section 2): the path equals the
in-memory one."""

from __future__ import annotations

import numpy as np
import pytest

import penalized as pz
from penalized.workflows.tall_newton import newton_path

da = pytest.importorskip("dask.array")


def _data(n=1500, p=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 3.0, p) + 2.0
    z = X[:, :3] @ np.array([1.0, -1.0, 0.5]) - 2.0 + rng.logistic(size=n)
    return X, np.where(z > 0, "yes", "no"), rng.uniform(0.5, 2.0, n)


@pytest.mark.parametrize("penalty", [pz.L1(), pz.ElasticNet(l1_ratio=0.5)])
def test_dask_logistic_path_equals_the_in_memory_path(penalty):
    X, y, s = _data()
    Xd = da.from_array(X, chunks=((400, 100, 1000), (6,)))  # uneven blocks
    res, stats = newton_path(Xd, da.from_array(y, chunks=700), pz.Logistic(), penalty,
                             sample_weight=da.from_array(s, chunks=300), n_alphas=8,
                             alpha_min_ratio=1e-2, tol=1e-11)
    reference = pz.path(X, y, pz.Logistic(), penalty, sample_weight=s, alphas=res.alphas,
                        tol=1e-12)
    assert res.alpha_max == pytest.approx(reference.alpha_max, rel=1e-9)
    np.testing.assert_allclose(res.objectives, reference.objectives, rtol=1e-10)
    # (objectives equal to 1e-10 pin the coefficients to about its square root)
    np.testing.assert_allclose(res.coefs, reference.coefs, rtol=1e-4, atol=1e-5)
    assert np.all(res.certificates < 1e-6) and res.converged.all()
    assert list(res.classes) == ["no", "yes"]
    # a pass per outer step: a handful per alpha, warm-started along the path
    assert stats["passes"] <= 8 * 8 + 10
    through_path = pz.path(Xd, da.from_array(y, chunks=700), pz.Logistic(), penalty,
                           sample_weight=da.from_array(s, chunks=300), n_alphas=8,
                           alpha_min_ratio=1e-2, tol=1e-11)
    np.testing.assert_array_equal(through_path.coefs, res.coefs)


def test_dask_logistic_refuses_what_it_does_not_do():
    X, y, _ = _data(n=100)
    with pytest.raises(ValueError, match="fit_intercept=True"):
        pz.path(da.from_array(X), da.from_array(y), pz.Logistic(), pz.L1(),
                fit_intercept=False)
    bad = X.copy()
    bad[7, 2] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        pz.path(da.from_array(bad, chunks=50), da.from_array(y, chunks=50), pz.Logistic())
