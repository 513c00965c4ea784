"""Wide ridge paths of non-quadratic datafits solved in the row space of X
(:mod:`penalized.workflows.row_space`): the same path as in the original columns, and
its certificates valid for the original problem."""

from __future__ import annotations

import numpy as np
import pytest

import penalized as pz
from penalized.core.certificates import certify
from penalized.workflows import row_space


def _wide(datafit, n=40, p=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[:, 1] = X[:, 0]  # a duplicated column: rank below n still
    z = X[:, :5] @ np.array([1.0, -1.0, 0.5, 0.5, -0.5])
    if datafit == "logistic":
        return X, (z + rng.standard_normal(n) > 0).astype(float), pz.Logistic()
    if datafit == "poisson":
        return X, rng.poisson(np.exp(0.3 * z)).astype(float), pz.Poisson()
    return X, np.digitize(z + rng.standard_normal(n), [-1.0, 1.0]), pz.Multinomial()


@pytest.mark.parametrize("datafit", ["logistic", "poisson", "multinomial"])
def test_row_space_path_equals_the_path_in_the_original_columns(datafit):
    X, y, df = _wide(datafit)
    rng = np.random.default_rng(1)
    omega = rng.uniform(0.5, 2.0, X.shape[1])
    s = rng.uniform(0.5, 1.5, X.shape[0])
    pen = pz.L2(weights=omega)
    problem = pz.make_problem(X, y, df, pen, sample_weight=s)
    assert row_space.applies(problem) and row_space.reduce(problem) is not None
    tol = 1e-10
    fast = pz.path(X, y, df, pen, n_alphas=12, tol=tol, sample_weight=s)
    plain = pz.path(X, y, df, pen, n_alphas=12, tol=tol, sample_weight=s, engine="python")
    np.testing.assert_allclose(fast.alphas, plain.alphas)
    assert fast.converged.all() and fast.certificate_kind == "gap"
    np.testing.assert_allclose(fast.objectives, plain.objectives, rtol=1e-9)
    scale = np.abs(plain.coefs).max()
    np.testing.assert_allclose(fast.coefs, plain.coefs, atol=1e-4 * scale)
    for k, a in enumerate(fast.alphas):
        # the returned point, certified on the original problem: the gap is as small
        # as the solver's, the objective the one it reported
        orig = problem.with_penalty(pen.with_alpha(float(a)))
        cert = certify(orig, fast.coefs[k], fast.intercepts[k])
        assert cert.value <= tol * cert.objective * 10
        assert cert.objective == pytest.approx(fast.objectives[k], rel=1e-10)


def test_offset_and_the_limits_of_the_reduction():
    X, y, df = _wide("poisson")
    offset = np.random.default_rng(2).uniform(-0.5, 0.5, X.shape[0])
    fast = pz.path(X, y, df, pz.L2(), n_alphas=8, tol=1e-10, offset=offset)
    plain = pz.path(X, y, df, pz.L2(), n_alphas=8, tol=1e-10, offset=offset,
                    engine="python")
    np.testing.assert_allclose(fast.objectives, plain.objectives, rtol=1e-9)
    # nothing to reduce: an L1 part, a quadratic datafit, a tall table
    for X_, df_, pen in [(X, df, pz.ElasticNet(l1_ratio=0.5)),
                         (X, pz.LeastSquares(), pz.L2()), (X[:, :20], df, pz.L2())]:
        assert not row_space.applies(pz.make_problem(X_, y, df_, pen))
