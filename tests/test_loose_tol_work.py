"""A looser ``tol`` never costs more work: on a wide, correlated lasso path whose bottom
supports approach the number of samples (the 5%-support Toeplitz problem of
``bench/bench_real.py``, scaled down), coordinate descent from a loosely solved alpha
would otherwise add more features than there are samples and spend hundreds of
sublinear epochs removing them at the next alpha (:meth:`CoordinateDescent._round`)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import penalized as pz

TOLS = (1e-3, 1e-4, 1e-5, 1e-6)


def toeplitz_problem(n=300, p=1500, n_true=75, rho=0.6, seed=0):
    """Columns with correlation ``rho ** |i - j|`` (standardized), 5% true features,
    signal-to-noise 3."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, p), order="F")
    X[:, 0] = rng.standard_normal(n)
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    coef = np.zeros(p)
    true = rng.choice(p, size=n_true, replace=False)
    coef[true] = rng.choice([-1.0, 1.0], n_true) * rng.uniform(0.5, 2.0, n_true)
    signal = X @ coef
    y = signal + rng.standard_normal(n) * signal.std() / 3.0
    X = np.asfortranarray((X - X.mean(axis=0)) / X.std(axis=0))
    return X, y


@pytest.fixture(scope="module")
def problem():
    X, y = toeplitz_problem()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pz.ConvergenceWarning)
        ref = pz.path(X, y, pz.LeastSquares(), pz.L1(), alpha_min_ratio=3e-3, tol=1e-11,
                      max_iter=10**6, engine="python")
    assert np.all(ref.certificates <= 1e-10 * ref.objectives)
    # the regime of the test: the bottom supports are near n but below it
    assert 0.95 * X.shape[0] < np.count_nonzero(ref.coefs[-1]) < X.shape[0] - 1
    return X, y, ref.alphas, ref.objectives - ref.certificates


def test_looser_tol_costs_fewer_epochs_and_stays_honest(problem):
    X, y, alphas, bound = problem
    epochs = {}
    for tol in TOLS:
        # the Python driver: the compiled one (this size's default at tol >= 1e-4) has
        # no Newton step on the support
        res = pz.path(X, y, pz.LeastSquares(), pz.L1(), alphas=alphas, tol=tol,
                      engine="python")
        assert res.converged.all()
        assert np.max((res.objectives - bound) / bound) <= tol
        epochs[tol] = int(np.sum(res.n_iters))
    # each tenfold tightening costs more epochs (measured 910 / 1092 / 1740 / 2193; with
    # CD let out of the supports below n: 2438 / 1699 / 2037 / 2182)
    for loose, tight in zip(TOLS[:-1], TOLS[1:], strict=True):
        assert epochs[loose] < epochs[tight], epochs


def test_newton_from_the_round_start_does_not_cycle():
    """Where the optimum's support reaches n, CD leaves the supports below n every round:
    the start's Newton point is taken only if it is lower than CD's, else a round would
    return to the same point (measured: an alpha at max_iter when always taken)."""
    X, y = toeplitz_problem(n=200, p=400, n_true=20)
    res = pz.path(X, y, pz.LeastSquares(), pz.L1(), n_alphas=10, tol=1e-6, engine="python")
    assert res.converged.all()
    assert np.count_nonzero(res.coefs[-1]) > 0.95 * X.shape[0]
