"""The Anderson extrapolation of the compiled kernels against numpy references."""

import numpy as np
import pytest

from penalized.solvers.cd.kernels import anderson_point


@pytest.mark.parametrize("K, m", [(2, 7), (5, 40), (8, 30)])
def test_anderson_point_is_the_constrained_least_squares_combination(K, m):
    """The weights ``c`` (summing to one) minimize ``||sum_k c_k (x_{k+1} - x_k)||``, and
    the point is ``sum_k c_k x_{k+1}``: written with ``c_K = 1 - sum_{k<K} c_k`` this is an
    unconstrained least-squares problem, solved by ``np.linalg.lstsq``."""
    rng = np.random.default_rng(K * m)
    hist = rng.standard_normal((K + 1, m)).cumsum(axis=0)
    D = np.diff(hist, axis=0)
    A = (D[:-1] - D[-1]).T
    t = np.linalg.lstsq(A, -D[-1], rcond=None)[0]
    weights = np.r_[t, 1.0 - t.sum()]
    np.testing.assert_allclose(anderson_point(hist), weights @ hist[1:], rtol=1e-7, atol=1e-9)


def test_anderson_point_finds_the_fixed_point_of_a_linear_iteration():
    """On iterates of ``x -> M x + q`` in R^m, m + 1 differences span the affine
    combinations: the extrapolation is the fixed point ``(I - M)^{-1} q``."""
    rng = np.random.default_rng(0)
    m = 6
    M = rng.standard_normal((m, m))
    M *= 0.9 / np.abs(np.linalg.eigvals(M)).max()
    q = rng.standard_normal(m)
    hist = np.empty((m + 2, m))
    hist[0] = rng.standard_normal(m)
    for k in range(m + 1):
        hist[k + 1] = M @ hist[k] + q
    fixed = np.linalg.solve(np.eye(m) - M, q)
    assert np.linalg.norm(hist[-1] - fixed) > 0.1  # the iteration alone is far
    np.testing.assert_allclose(anderson_point(hist), fixed, rtol=1e-5, atol=1e-6)


def test_anderson_point_degenerate_histories():
    # equal differences: a rank-one Gram matrix, made definite by the regularization;
    # every combination moves by the same difference, the point stays on the line
    line = np.outer(np.arange(4.0), [1.0, 2.0, -1.0])
    point = anderson_point(line)
    assert np.isfinite(point).all()
    np.testing.assert_allclose(np.cross(point, [1.0, 2.0, -1.0]), 0.0, atol=1e-12)
    # not finite: reported as no point
    assert anderson_point(np.full((3, 2), np.nan)).shape == (0,)
    hist = np.ones((3, 2))
    hist[2, 0] = np.inf
    assert anderson_point(hist).shape == (0,)
