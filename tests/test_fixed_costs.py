"""The shortcuts that cut a small path's fixed cost keep its meaning: copies that share
validated fields instead of validating them again, the Gram form through LAPACK, and the
null model computed once per path."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import penalized as pz
from penalized.core import gram as _gram
from penalized.workflows.fitting import null_value_of, stopping_scale

PENALTIES = [
    pz.L1(alpha=0.3, weights=[1.0, 0.0, 2.0, np.inf], upper=[1.0, 2.0, 3.0, 4.0]),
    pz.ElasticNet(alpha=0.3, l1_ratio=0.4, positive=True),
    pz.MCP(alpha=0.3, gamma=2.5),
    pz.GroupLasso(alpha=0.3, groups=[[0, 1], [2]]),
]


def _assert_same(a, b):
    if isinstance(a, tuple | list):  # (the groups of a group penalty: ragged)
        assert len(a) == len(b)
        for u, v in zip(a, b, strict=True):
            _assert_same(u, v)
    else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("penalty", PENALTIES, ids=lambda p: type(p).__name__)
def test_with_alpha_is_replace_without_revalidation(penalty):
    other = penalty.with_alpha(np.float32(1.5))
    reference = dataclasses.replace(penalty, alpha=1.5)
    assert type(other) is type(penalty) and other.alpha == 1.5
    assert isinstance(other.alpha, float)
    assert penalty.alpha == 0.3  # the original is not touched
    for field in dataclasses.fields(penalty):
        if field.name != "alpha":
            _assert_same(getattr(other, field.name), getattr(reference, field.name))
    w = np.array([0.5, -0.2, 0.1, 0.0])
    assert other.value(w) == pytest.approx(reference.value(w), rel=1e-15)
    np.testing.assert_array_equal(other.prox(w, 0.7), reference.prox(w, 0.7))
    for bad in (-1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
            penalty.with_alpha(bad)
    with pytest.raises((TypeError, ValueError)):
        penalty.with_alpha("strong")


def test_with_penalty_keeps_the_data_and_its_constants():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 4)), rng.standard_normal(30)
    problem = pz.make_problem(X, y, pz.LeastSquares(), pz.L1(alpha=0.1))
    norms, lipschitz = problem.column_norms2, problem.lipschitz  # cached on the problem
    other = problem.with_penalty(pz.L2(alpha=2.0))
    assert isinstance(other.penalty, pz.L2) and isinstance(problem.penalty, pz.L1)
    assert other.X is problem.X and other.memo is problem.memo
    # the cached constants do not depend on the penalty: the same as recomputed
    fresh = pz.make_problem(X, y, pz.LeastSquares(), pz.L2(alpha=2.0))
    np.testing.assert_allclose(other.column_norms2, fresh.column_norms2, rtol=1e-15)
    assert other.column_norms2 is norms
    assert other.lipschitz == pytest.approx(fresh.lipschitz, rel=1e-3) and \
        other.lipschitz == lipschitz
    w = rng.standard_normal(4)
    assert other.objective(w, 0.3) == pytest.approx(fresh.objective(w, 0.3), rel=1e-15)


@pytest.mark.parametrize("collinear", [False, True])
def test_lapack_factors_match_numpy(collinear):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 6))
    if collinear:
        X[:, 5] = X[:, 0] + X[:, 1]
    G, c = X.T @ X, X.T @ rng.standard_normal(200)
    R, y_t = _gram._cholesky_factor(G, c)
    if collinear:
        assert R is None
        R, y_t = _gram._eigen_factor(G, c)
        assert R.shape == (5, 6)
    else:  # numpy's Cholesky and solve, in the same units
        L = np.linalg.cholesky(G)
        np.testing.assert_allclose(R, L.T, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(y_t, np.linalg.solve(L, c), rtol=1e-10)
    np.testing.assert_allclose(R.T @ R, G, rtol=1e-10, atol=1e-9 * np.abs(G).max())
    np.testing.assert_allclose(R.T @ y_t, c, rtol=1e-9, atol=1e-9 * np.abs(c).max())


def test_null_value_is_the_stopping_scale_and_the_null_deviance():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((80, 5))
    y = (X[:, 0] + rng.standard_normal(80) > 0).astype(float)
    problem = pz.make_problem(X, y, pz.Logistic(), pz.L1(alpha=0.01))
    null = null_value_of(problem)
    p0 = y.mean()
    assert null == pytest.approx(-(p0 * np.log(p0) + (1 - p0) * np.log(1 - p0)), rel=1e-12)
    assert stopping_scale(problem) == stopping_scale(problem, null) == null
    res = pz.path(X, y, pz.Logistic(), pz.L1(), n_alphas=5)
    assert res.deviance_ratio[0] == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(res.deviance_ratio) >= -1e-12)
