"""Datafits: derivatives against finite differences, conjugates, intercepts, targets.

Every test runs over ``pz.ALL_DATAFITS()``.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DATAFITS, datafit_id, make_data
from scipy.optimize import minimize_scalar

import penalized as pz

EPS = 1e-6


def internal_target(datafit, n_samples: int = 40, seed: int = 0):
    """``(y, z)`` in the datafit's internal coding, with a spread of predictors."""
    rng = np.random.default_rng(seed)
    _, y = make_data(datafit, n_samples, 3, seed=seed)
    y_internal, _ = datafit.prepare_target(y)
    z = 2.0 * rng.standard_normal(n_samples)
    return y_internal, z


@pytest.mark.parametrize("datafit", DATAFITS, ids=datafit_id)
def test_dloss_and_d2loss_match_finite_differences(datafit):
    y, z = internal_target(datafit)
    numeric_d1 = (datafit.loss(y, z + EPS) - datafit.loss(y, z - EPS)) / (2 * EPS)
    np.testing.assert_allclose(datafit.dloss(y, z), numeric_d1, rtol=1e-6, atol=1e-8)
    numeric_d2 = (datafit.dloss(y, z + EPS) - datafit.dloss(y, z - EPS)) / (2 * EPS)
    if datafit.exact_curvature:
        np.testing.assert_allclose(datafit.d2loss(y, z), numeric_d2, rtol=1e-5, atol=1e-8)
    else:  # the declared bound stands in for it: it majorizes the true curvature
        assert np.all(datafit.d2loss(y, z) >= numeric_d2 - 1e-6)


@pytest.mark.parametrize("datafit", DATAFITS, ids=datafit_id)
def test_curvature_bound_bounds_the_second_derivative(datafit):
    y, z = internal_target(datafit)
    z = np.concatenate([z, np.linspace(-5, 5, y.shape[0])])
    y = np.concatenate([y, y])
    assert np.all(datafit.d2loss(y, z) <= datafit.curvature_bound * (1 + 1e-12))
    assert np.all(datafit.d2loss(y, z) >= 0)


@pytest.mark.parametrize("datafit", DATAFITS, ids=datafit_id)
def test_gradient_z_matches_finite_differences_of_value(datafit):
    y, z = internal_target(datafit)
    rng = np.random.default_rng(1)
    s = rng.uniform(0.2, 3.0, y.shape[0])
    s *= y.shape[0] / s.sum()
    grad = datafit.gradient_z(y, z, s)
    for i in range(0, y.shape[0], 7):
        e = np.zeros_like(z)
        e[i] = EPS
        numeric = (datafit.value(y, z + e, s) - datafit.value(y, z - e, s)) / (2 * EPS)
        assert grad[i] == pytest.approx(numeric, rel=1e-5, abs=1e-10)


@pytest.mark.parametrize("datafit", DATAFITS, ids=datafit_id)
def test_problem_gradient_matches_finite_differences(datafit, sparse, fit_intercept):
    X, y = make_data(datafit, 30, 6, sparse=sparse, seed=2)
    rng = np.random.default_rng(2)
    weights = rng.uniform(0.5, 2.0, y.shape[0])
    problem = pz.make_problem(X, y, datafit, pz.L1(alpha=0.1), fit_intercept=fit_intercept,
                              sample_weight=weights)
    w, b = 0.3 * rng.standard_normal(6), 0.2

    def smooth_part(w, b):
        return problem.datafit_value(problem.linear_predictor(w, b))

    grad_w, grad_b, z = problem.gradient(w, b)
    np.testing.assert_allclose(z, problem.linear_predictor(w, b))
    numeric = np.array([(smooth_part(w + EPS * e, b) - smooth_part(w - EPS * e, b)) / (2 * EPS)
                        for e in np.eye(6)])
    np.testing.assert_allclose(grad_w, numeric, rtol=1e-6, atol=1e-9)
    numeric_b = (smooth_part(w, b + EPS) - smooth_part(w, b - EPS)) / (2 * EPS)
    assert grad_b == pytest.approx(numeric_b, rel=1e-6, abs=1e-9)
    # the objective is datafit + penalty
    assert problem.objective(w, b) == pytest.approx(smooth_part(w, b) + 0.1 * np.abs(w).sum())


@pytest.mark.parametrize("datafit", [d for d in DATAFITS if d.has_conjugate], ids=datafit_id)
def test_conjugate_satisfies_fenchel_young(datafit):
    # loss(z) + loss*(a) >= a z, with equality at a = dloss(z)
    y, z = internal_target(datafit)
    a = datafit.dloss(y, z)
    np.testing.assert_allclose(datafit.loss(y, z) + datafit.conjugate(y, a), a * z, atol=1e-10)
    rng = np.random.default_rng(3)
    for _ in range(5):
        other = z + rng.standard_normal(z.shape[0])
        assert np.all(datafit.loss(y, other) + datafit.conjugate(y, a) >= a * other - 1e-10)


@pytest.mark.parametrize("datafit", DATAFITS, ids=datafit_id)
def test_intercept_at_zero_minimizes_the_constant_model(datafit):
    X, y = make_data(datafit, 40, 2, seed=4)
    rng = np.random.default_rng(4)
    s = rng.uniform(0.1, 2.0, y.shape[0])
    problem = pz.make_problem(X, y, datafit, pz.L1(), sample_weight=s)
    b0 = problem.intercept_at_zero()
    zero = np.zeros(problem.n_features)
    found = minimize_scalar(lambda b: problem.objective(zero, b), bounds=(-10, 10),
                            method="bounded", options={"xatol": 1e-10})
    assert b0 == pytest.approx(found.x, abs=1e-6)
    no_intercept = pz.make_problem(X, y, datafit, pz.L1(), fit_intercept=False)
    assert no_intercept.intercept_at_zero() == 0.0


@pytest.mark.parametrize("datafit", DATAFITS, ids=datafit_id)
def test_inverse_link_is_increasing(datafit):
    z = np.linspace(-4, 4, 9)
    mean = datafit.inverse_link(z)
    assert mean.shape == z.shape and np.all(np.diff(mean) > 0)


def test_least_squares_is_the_sklearn_lasso_scaling():
    rng = np.random.default_rng(5)
    y, z = rng.standard_normal(20), rng.standard_normal(20)
    value = pz.LeastSquares().value(y, z, np.ones(20))
    assert value == pytest.approx(np.sum((y - z) ** 2) / (2 * 20))


def test_logistic_codes_the_larger_label_as_positive():
    labels = np.array(["no", "yes", "yes", "no", "yes"])
    y, classes = pz.Logistic().prepare_target(labels)
    assert classes.tolist() == ["no", "yes"]
    np.testing.assert_array_equal(y, [-1, 1, 1, -1, 1])
    z = np.array([0.3, -1.0, 2.0, 0.0, 5.0])
    expected = np.log1p(np.exp(-y * z))
    np.testing.assert_allclose(pz.Logistic().loss(y, z), expected)


def test_logistic_loss_is_stable_for_large_margins():
    y = np.array([1.0, -1.0, 1.0, -1.0])
    z = np.array([800.0, -800.0, -800.0, 800.0])
    loss = pz.Logistic().loss(y, z)
    assert np.all(np.isfinite(loss))
    np.testing.assert_allclose(loss, [0.0, 0.0, 800.0, 800.0], atol=1e-12)
    assert np.all(np.isfinite(pz.Logistic().dloss(y, z)))


@pytest.mark.parametrize("labels", [[1, 1, 1, 1], [0, 1, 2, 1]])
def test_logistic_rejects_anything_but_two_classes(labels):
    with pytest.raises(ValueError, match="two classes"):
        pz.Logistic().prepare_target(np.array(labels))


def test_registry_lists_every_datafit_class():
    assert {type(d) for d in DATAFITS} <= set(pz.DATAFITS.values())
    assert set(pz.DATAFITS) >= {"leastsquares", "logistic"}
