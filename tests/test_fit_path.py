"""``pz.fit`` and ``pz.path``: alpha_max, warm starts, immutability, sample weights."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import (
    DATAFITS,
    PENALTIES,
    datafit_id,
    dense,
    is_sparsifying,
    make_data,
    moderate_alpha,
    penalty_id,
)

import penalized as pz

SPARSIFYING = [p for p in PENALTIES if is_sparsifying(p)]


def pairs(penalties):
    return [pytest.param(pen, df, id=f"{penalty_id(pen)}-{datafit_id(df)}")
            for pen in penalties for df in DATAFITS]


# ---- alpha_max ---------------------------------------------------------------------------
@pytest.mark.parametrize(("penalty", "datafit"), pairs(SPARSIFYING))
def test_alpha_max_zeroes_every_coefficient(penalty, datafit, sparse, fit_intercept):
    X, y = make_data(datafit, 50, 12, sparse=sparse, seed=10)
    a_max = pz.alpha_max(X, y, datafit, penalty, fit_intercept=fit_intercept)
    assert a_max > 0
    for factor in (1.0, 1.5):
        res = pz.fit(X, y, datafit, penalty, alpha=factor * a_max, fit_intercept=fit_intercept)
        assert np.all(res.coef == 0.0) and res.converged
        problem = pz.make_problem(X, y, datafit, penalty, fit_intercept=fit_intercept)
        assert res.intercept == pytest.approx(problem.intercept_at_zero(), abs=1e-8)
    below = pz.fit(X, y, datafit, penalty, alpha=0.98 * a_max, fit_intercept=fit_intercept)
    assert below.n_nonzero >= 1


@pytest.mark.parametrize(("penalty", "datafit"), pairs(SPARSIFYING))
def test_alpha_max_with_an_unpenalized_feature(penalty, datafit, sparse):
    X, y = make_data(datafit, 50, 12, sparse=sparse, seed=11)
    weights = np.ones(12)
    weights[2] = 0.0
    penalty = dataclasses.replace(penalty, weights=weights)
    a_max = pz.alpha_max(X, y, datafit, penalty)
    # exactly at alpha_max the top feature is a tie, broken by the rounding of the
    # free coefficient (a 1e-15 coefficient may appear): test just above it
    at_max = pz.fit(X, y, datafit, penalty, alpha=a_max * (1 + 1e-9), tol=1e-12)
    penalized_features = np.flatnonzero(weights > 0)
    assert np.all(at_max.coef[penalized_features] == 0.0)
    assert at_max.coef[2] != 0.0
    # a path starts from the exact null fit: its first row is zero but for the free feature
    first = pz.path(X, y, datafit, penalty, n_alphas=3).coefs[0]
    # (zero but for rounding: where no solver certifies the null point at once, as FISTA
    # for Huber, whose free part is iterative, steps at the tie leave 1e-16)
    assert np.all(np.abs(first[penalized_features]) <= 1e-12 * np.abs(first[2]))
    assert first[2] == pytest.approx(at_max.coef[2], rel=1e-6)
    # the free coefficient is the unpenalized fit on that feature alone
    alone = pz.fit(dense(X)[:, [2]], y, datafit, pz.L2(), alpha=0.0, solver="fista", tol=1e-12)
    assert at_max.coef[2] == pytest.approx(alone.coef[0], rel=1e-5)
    assert at_max.intercept == pytest.approx(alone.intercept, rel=1e-5, abs=1e-8)
    below = pz.fit(X, y, datafit, penalty, alpha=0.98 * a_max)
    assert np.count_nonzero(below.coef[penalized_features]) >= 1


# ---- paths -------------------------------------------------------------------------------
@pytest.mark.parametrize(("penalty", "datafit"), pairs(PENALTIES))
def test_path_is_a_sequence_of_cold_fits(penalty, datafit, sparse):
    X, y = make_data(datafit, 40, 10, sparse=sparse, seed=12)
    result = pz.path(X, y, datafit, penalty, n_alphas=8, alpha_min_ratio=1e-2, tol=1e-10)
    assert len(result) == 8 and result.coefs.shape == (8, 10)
    assert result.intercepts.shape == result.objectives.shape == (8,)
    assert np.all(np.diff(result.alphas) < 0)
    assert result.alphas[0] == pytest.approx(result.alpha_max)
    if is_sparsifying(penalty):
        assert np.all(result.coefs[0] == 0.0) and result.n_nonzero[-1] > 0
    np.testing.assert_array_equal(result.n_nonzero, np.count_nonzero(result.coefs, axis=1))
    assert result.converged.all()
    if result.certificate_kind == "gap":  # a valid bound, and the target reached
        tight = np.array([pz.fit(X, y, datafit, penalty, alpha=a, tol=1e-13).objective
                          for a in result.alphas])
        assert np.all(result.objectives - result.certificates <= tight * (1 + 1e-12))
        assert np.all(result.objectives - tight <= 1e-10 * result.objectives + 1e-15)
    for k in (1, 4, 7):
        fit_k = result[k]
        assert fit_k.alpha == result.alphas[k] and fit_k.objective == result.objectives[k]
        if not penalty.convex:  # warm and cold starts may reach different local minima
            continue
        cold = pz.fit(X, y, datafit, penalty, alpha=result.alphas[k], tol=1e-10)
        assert result.objectives[k] == pytest.approx(cold.objective, rel=1e-8)
        np.testing.assert_allclose(result.coefs[k], cold.coef, atol=1e-4)


def test_user_alphas_are_sorted_descending():
    X, y = make_data(pz.LeastSquares(), 40, 10, seed=13)
    a_max = pz.alpha_max(X, y)
    alphas = a_max * np.array([0.05, 0.5, 0.01, 0.2])
    result = pz.path(X, y, alphas=alphas, tol=1e-10)
    np.testing.assert_allclose(result.alphas, np.sort(alphas)[::-1])
    for k, alpha in enumerate(result.alphas):
        cold = pz.fit(X, y, alpha=alpha, tol=1e-10)
        assert result.objectives[k] == pytest.approx(cold.objective, rel=1e-8)


@pytest.mark.parametrize("penalty", PENALTIES, ids=penalty_id)
def test_fit_and_path_do_not_mutate_their_inputs(penalty):
    X, y = make_data(pz.LeastSquares(), 40, 10, seed=14)
    X = np.ascontiguousarray(X)  # C order and a list-free copy: the validation must copy
    s = np.random.default_rng(14).uniform(0.5, 2.0, 40)
    weights = np.linspace(0.0, 2.0, 10)
    penalty = dataclasses.replace(penalty, alpha=0.123, weights=weights)
    saved = (X.copy(), y.copy(), s.copy(), weights.copy(), repr(penalty))
    X_sparse = sp.csr_matrix(X)
    sparse_saved = X_sparse.copy()
    pz.fit(X, y, pz.LeastSquares(), penalty, alpha=0.05, sample_weight=s)
    pz.fit(X_sparse, y, pz.LeastSquares(), penalty, alpha=0.05, sample_weight=s)
    pz.path(X, y, pz.LeastSquares(), penalty, n_alphas=4, sample_weight=s)
    pz.path(X_sparse, y, pz.LeastSquares(), penalty, n_alphas=4, sample_weight=s)
    for before, after in zip(saved[:4], (X, y, s, weights), strict=True):
        np.testing.assert_array_equal(before, after)
    assert repr(penalty) == saved[4] and penalty.alpha == 0.123
    np.testing.assert_array_equal(penalty.weights, weights)
    assert X_sparse.format == "csr"
    np.testing.assert_array_equal(X_sparse.toarray(), sparse_saved.toarray())


def test_results_are_frozen():
    X, y = make_data(pz.LeastSquares(), 30, 5, seed=15)
    res = pz.fit(X, y, alpha=0.01)
    with pytest.raises(ValueError, match="read-only"):
        res.coef[0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.intercept = 3.0  # type: ignore[misc]
    result = pz.path(X, y, n_alphas=3)
    with pytest.raises(ValueError, match="read-only"):
        result.coefs[0, 0] = 1.0


def test_warm_start_init_reaches_the_same_solution():
    X, y = make_data(pz.LeastSquares(), 40, 10, seed=16)
    alpha = moderate_alpha(X, y, pz.LeastSquares(), pz.L1())
    cold = pz.fit(X, y, alpha=alpha, tol=1e-12)
    for init in (cold, (cold.coef, cold.intercept), np.ones(10)):
        warm = pz.fit(X, y, alpha=alpha, tol=1e-12, init=init)
        assert warm.objective == pytest.approx(cold.objective, rel=1e-10)
    with pytest.raises(ValueError, match="init"):
        pz.fit(X, y, alpha=alpha, init=np.ones(3))


def test_path_warns_with_the_worst_certificate_when_max_iter_is_tiny():
    X, y = make_data(pz.LeastSquares(), 40, 10, seed=17)
    with pytest.warns(pz.ConvergenceWarning, match=r"did not converge \(worst gap \d"):
        result = pz.path(X, y, n_alphas=5, max_iter=1, tol=1e-14)
    assert not result.converged.all()


# ---- sample weights ----------------------------------------------------------------------
@pytest.mark.parametrize(("penalty", "datafit"), pairs(PENALTIES))
def test_integer_sample_weights_equal_repeated_rows(penalty, datafit, sparse):
    X, y = make_data(datafit, 30, 8, sparse=sparse, seed=18)
    counts = np.random.default_rng(18).integers(0, 4, 30)
    counts[:2] = 1  # keep both classes
    rows = np.repeat(np.arange(30), counts)
    X_rep = X[rows] if not sparse else sp.csc_matrix(X.tocsr()[rows])
    alpha = moderate_alpha(X, y, datafit, penalty)
    weighted = pz.fit(X, y, datafit, penalty, alpha=alpha, sample_weight=counts, tol=1e-12)
    repeated = pz.fit(X_rep, y[rows], datafit, penalty, alpha=alpha, tol=1e-12)
    assert weighted.objective == pytest.approx(repeated.objective, rel=1e-9)
    np.testing.assert_allclose(weighted.coef, repeated.coef, atol=1e-6)
    assert weighted.intercept == pytest.approx(repeated.intercept, abs=1e-6)


@pytest.mark.parametrize(("penalty", "datafit"), pairs(PENALTIES))
def test_scaling_all_sample_weights_changes_nothing(penalty, datafit):
    X, y = make_data(datafit, 30, 8, seed=19)
    s = np.random.default_rng(19).uniform(0.1, 2.0, 30)
    alpha = moderate_alpha(X, y, datafit, penalty)
    base = pz.fit(X, y, datafit, penalty, alpha=alpha, sample_weight=s, tol=1e-12)
    for factor in (1e-3, 7.0):
        scaled = pz.fit(X, y, datafit, penalty, alpha=alpha, sample_weight=factor * s, tol=1e-12)
        np.testing.assert_allclose(scaled.coef, base.coef, atol=1e-8)
        assert scaled.objective == pytest.approx(base.objective, rel=1e-10)
    ones = pz.fit(X, y, datafit, penalty, alpha=alpha, sample_weight=np.full(30, 3.0), tol=1e-12)
    plain = pz.fit(X, y, datafit, penalty, alpha=alpha, tol=1e-12)
    np.testing.assert_allclose(ones.coef, plain.coef, atol=1e-8)


def test_zero_sample_weight_drops_the_row():
    X, y = make_data(pz.LeastSquares(), 30, 6, seed=20)
    s = np.ones(30)
    s[:5] = 0.0
    alpha = moderate_alpha(X, y, pz.LeastSquares(), pz.L1())
    with warnings.catch_warnings():
        warnings.simplefilter("error", pz.ConvergenceWarning)
        weighted = pz.fit(X, y, alpha=alpha, sample_weight=s, tol=1e-12)
        dropped = pz.fit(X[5:], y[5:], alpha=alpha, tol=1e-12)
    np.testing.assert_allclose(weighted.coef, dropped.coef, atol=1e-8)
