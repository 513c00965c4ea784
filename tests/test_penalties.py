"""Penalties: prox optimality, subdifferential, gradient, conjugate, alpha_max, immutability.

Every test runs over ``pz.ALL_PENALTIES()``, with and without per-feature
weights (one of them zero) and with ``positive=True``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import PENALTIES, is_sparsifying, penalty_id
from scipy.optimize import minimize_scalar

import penalized as pz

N_FEATURES = 7
WEIGHTS = np.array([1.0, 0.0, 2.5, 0.3, 1.0, 4.0, 0.7])  # one unpenalized feature


def variants():
    """Each registered penalty: plain, weighted (with a zero weight), positive, both."""
    out = []
    for penalty in PENALTIES:
        name = penalty_id(penalty)
        for weights in (None, WEIGHTS):
            for positive in (False, True):
                pen = dataclasses.replace(penalty, alpha=0.8, weights=weights, positive=positive)
                tag = f"{name}{'-weighted' if weights is not None else ''}" \
                      f"{'-positive' if positive else ''}"
                out.append(pytest.param(pen, id=tag))
    return out


def prox_objective(penalty, u, v, step) -> float:
    """``||u - v||^2 / (2 step) + alpha P(u)`` (+inf outside the positive orthant)."""
    u = np.asarray(u, dtype=float)
    if penalty.positive and np.any(u < 0):
        return np.inf
    return float(np.sum((u - v) ** 2) / (2.0 * step) + penalty.value(u))


@pytest.mark.parametrize("penalty", variants())
@pytest.mark.parametrize("step", [0.05, 1.0, 7.0])
def test_prox_minimizes_the_prox_objective(penalty, step):
    rng = np.random.default_rng(int(step * 100))
    for _ in range(5):
        v = 2.0 * rng.standard_normal(N_FEATURES)
        u = penalty.prox(v, step)
        assert u.shape == v.shape
        best = prox_objective(penalty, u, v, step)
        assert np.isfinite(best)
        # no random perturbation (large or tiny) does better
        for scale in (1e-1, 1e-3, 1e-6):
            for _ in range(20):
                other = u + scale * rng.standard_normal(N_FEATURES)
                if penalty.positive:
                    other = np.maximum(other, 0.0)
                assert prox_objective(penalty, other, v, step) >= best - 1e-12 * (1 + abs(best))


@pytest.mark.parametrize("penalty", [p for p in variants() if p.values[0].separable])
@pytest.mark.parametrize("step", [0.05, 1.0, 7.0])
def test_prox_matches_scalar_minimization_per_coordinate(penalty, step):
    rng = np.random.default_rng(3)
    v = 2.0 * rng.standard_normal(N_FEATURES)
    u = penalty.prox(v, step)
    for j in range(N_FEATURES):
        def coordinate_objective(t, j=j):
            x = u.copy()
            x[j] = t
            return prox_objective(penalty, x, v, step)

        lower = 0.0 if penalty.positive else -10.0
        found = minimize_scalar(coordinate_objective, bounds=(lower, 10.0), method="bounded",
                                options={"xatol": 1e-10})
        assert coordinate_objective(u[j]) <= found.fun + 1e-10
        if penalty.convex:  # else the bounded search may stop in a worse local minimum
            assert u[j] == pytest.approx(found.x, abs=1e-6)


@pytest.mark.parametrize("penalty", variants())
def test_prox_output_satisfies_subdifferential_inclusion(penalty):
    # u = prox(v, step)  <=>  (v - u) / step in alpha dP(u): a KKT point of the prox problem
    rng = np.random.default_rng(1)
    for step in (0.1, 1.0, 3.0):
        v = 2.0 * rng.standard_normal(N_FEATURES)
        u = penalty.prox(v, step)
        grad = (u - v) / step  # gradient of the quadratic part at u
        assert np.max(penalty.subdiff_distance(u, grad)) <= 1e-12
        # and a wrong point is detected
        shifted = u + 0.5
        assert np.max(penalty.subdiff_distance(shifted, (shifted - v) / step)) > 1e-3


@pytest.mark.parametrize("penalty", variants())
def test_zero_weight_feature_is_unpenalized(penalty):
    v = np.linspace(-3, 3, N_FEATURES)
    u = penalty.prox(v, 1.0)
    if penalty.weights is not None:
        free = penalty.weights == 0
        expected = np.maximum(v[free], 0.0) if penalty.positive else v[free]
        np.testing.assert_allclose(u[free], expected)
        w = np.zeros(N_FEATURES)
        w[free] = 5.0
        assert penalty.value(w) == 0.0
    if penalty.positive:
        assert np.all(u >= 0)


@pytest.mark.parametrize("penalty", [p for p in variants() if p.values[0].smooth])
def test_smooth_gradient_matches_finite_differences(penalty):
    rng = np.random.default_rng(2)
    w = rng.standard_normal(N_FEATURES)
    grad = penalty.gradient(w)
    eps = 1e-6
    numeric = np.array([
        (penalty.value(w + eps * e) - penalty.value(w - eps * e)) / (2 * eps)
        for e in np.eye(N_FEATURES)
    ])
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("penalty", [p for p in variants() if not p.values[0].smooth])
def test_non_smooth_penalty_has_no_gradient(penalty):
    with pytest.raises(TypeError, match="not smooth"):
        penalty.gradient(np.ones(N_FEATURES))


@pytest.mark.parametrize("penalty", [p for p in variants() if p.values[0].convex])
def test_conjugate_satisfies_fenchel_young(penalty):
    # P(u) + P*(s) >= u.s for all u, s; equality when s in dP(u), e.g. s = (v - u)/step
    rng = np.random.default_rng(4)
    for step in (0.3, 2.0):
        v = 2.0 * rng.standard_normal(N_FEATURES)
        u = penalty.prox(v, step)
        s = (v - u) / step
        penalized_part = penalty.weights is None or np.all(penalty.weights > 0)
        if penalized_part:
            assert penalty.value(u) + penalty.conjugate(s) == pytest.approx(u @ s, abs=1e-10)
        for _ in range(10):
            other = rng.standard_normal(N_FEATURES)
            if penalty.positive:  # P includes the constraint w >= 0
                other = np.abs(other)
            assert penalty.value(other) + penalty.conjugate(s) >= other @ s - 1e-10


@pytest.mark.parametrize("penalty", [p for p in variants() if p.values[0].convex])
def test_dual_scale_makes_conjugate_finite(penalty):
    rng = np.random.default_rng(5)
    v = 10.0 * rng.standard_normal(N_FEATURES)
    if penalty.weights is not None:
        v[penalty.weights == 0] = 0.0  # a dual point is 0 on unpenalized features
    scale = penalty.dual_scale(v)
    assert scale >= 1.0
    assert np.isfinite(penalty.conjugate(v / scale))


@pytest.mark.parametrize("penalty", [p for p in variants() if is_sparsifying(p.values[0])])
def test_alpha_max_is_the_smallest_alpha_where_zero_is_optimal(penalty):
    rng = np.random.default_rng(6)
    grad = rng.standard_normal(N_FEATURES)
    if penalty.weights is not None:
        grad[penalty.weights == 0] = 0.0  # unpenalized features are fitted first
    a_max = penalty.alpha_max(grad)
    assert a_max > 0
    zero = np.zeros(N_FEATURES)
    assert np.max(penalty.with_alpha(a_max).subdiff_distance(zero, grad)) <= 1e-12
    assert np.max(penalty.with_alpha(a_max * (1 - 1e-6)).subdiff_distance(zero, grad)) > 0
    # a prox-gradient step from 0 stays at 0 exactly at alpha_max
    assert np.all(penalty.with_alpha(a_max).prox(-grad, 1.0) == 0.0)
    if penalty.weights is not None:  # the unpenalized feature never counts
        grad_big = grad.copy()
        grad_big[penalty.weights == 0] = -1e6
        assert penalty.alpha_max(grad_big) == pytest.approx(a_max)


@pytest.mark.parametrize("penalty", PENALTIES, ids=penalty_id)
def test_with_alpha_returns_a_copy_and_penalties_are_frozen(penalty):
    original = dataclasses.replace(penalty, weights=np.ones(3))
    before = repr(original)
    other = original.with_alpha(3.5)
    assert other is not original and other.alpha == 3.5
    assert repr(original) == before and original.alpha == penalty.alpha
    with pytest.raises(dataclasses.FrozenInstanceError):
        original.alpha = 2.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        original.weights[0] = 5.0


@pytest.mark.parametrize("penalty", PENALTIES, ids=penalty_id)
def test_penalty_rejects_bad_parameters(penalty):
    with pytest.raises(ValueError, match="alpha"):
        penalty.with_alpha(-1.0)
    with pytest.raises(ValueError, match="alpha"):
        penalty.with_alpha(np.nan)
    with pytest.raises(ValueError, match="weights"):
        dataclasses.replace(penalty, weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="weights"):
        dataclasses.replace(penalty, weights=[1.0, -np.inf])  # (+inf excludes a feature)


@pytest.mark.parametrize("l1_ratio", [-0.1, 1.5, np.nan])
def test_elastic_net_rejects_l1_ratio_outside_unit_interval(l1_ratio):
    with pytest.raises(ValueError, match="l1_ratio"):
        pz.ElasticNet(l1_ratio=l1_ratio)


def test_elastic_net_endpoints_are_l1_and_l2():
    rng = np.random.default_rng(7)
    v = rng.standard_normal(N_FEATURES)
    w = rng.standard_normal(N_FEATURES)
    for ratio, cls in ((1.0, pz.L1), (0.0, pz.L2)):
        enet, pure = pz.ElasticNet(alpha=0.7, l1_ratio=ratio), cls(alpha=0.7)
        np.testing.assert_allclose(enet.prox(v, 0.9), pure.prox(v, 0.9))
        assert enet.value(w) == pytest.approx(pure.value(w))
    assert pz.L1(alpha=2.0).value(w) == pytest.approx(2.0 * np.abs(w).sum())
    assert pz.L2(alpha=2.0).value(w) == pytest.approx(np.sum(w**2))


def test_registry_lists_every_penalty_class():
    assert {type(p) for p in PENALTIES} <= set(pz.PENALTIES.values())
    assert set(pz.PENALTIES) >= {"l1", "l2", "elasticnet"}


@pytest.mark.parametrize("penalty", [p for p in variants()
                                     if p.values[0].elastic_net_family])
def test_compiled_vector_math_equals_the_numpy_reference(penalty):
    """1-D coefficients go through the compiled one-pass loops, a single-column 2-D
    array through numpy: both must give the same values, KKT scores, dual norm and
    conjugate, at zero, positive and negative coordinates and on both sides of the
    L1 threshold (where the pure-L1 conjugate turns infinite)."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal(N_FEATURES) * (rng.random(N_FEATURES) < 0.6)
    grad = rng.standard_normal(N_FEATURES)
    omega = penalty.feature_weights(N_FEATURES)
    col = (slice(None), None)
    np.testing.assert_allclose(penalty.value(w), penalty.value(w[col]), rtol=1e-14)
    np.testing.assert_allclose(penalty.subdiff_distance(w, grad),
                               penalty.subdiff_distance(w[col], grad[col])[:, 0], rtol=1e-14)
    v = 0.8 * omega * rng.uniform(-1.5, 1.5, N_FEATURES)  # inside and beyond alpha * omega
    assert penalty.dual_norm(v) == pytest.approx(penalty.dual_norm(v[col]), rel=1e-14)
    scaled = v / penalty.dual_scale(v)
    for point in (v, scaled, 0.5 * scaled):
        assert penalty.conjugate(point) == pytest.approx(penalty.conjugate(point[col]),
                                                         rel=1e-14)
    assert np.isfinite(penalty.conjugate(scaled))


@pytest.mark.parametrize("penalty", variants())
def test_orthant_flag_matches_the_orthant_model(penalty):
    """Solvers read ``orthant_quadratic`` instead of building the model: the flag must say
    whether there is one, and the model must be the penalty's exact second-order
    expansion on the orthant of ``w`` (checked against ``value``)."""
    rng = np.random.default_rng(5)
    w = rng.uniform(0.5, 2.0, N_FEATURES) * rng.choice([-1.0, 1.0], N_FEATURES)
    if penalty.positive:
        w = np.abs(w)
    model = penalty.orthant_model(w)
    assert (model is not None) == penalty.orthant_quadratic
    if model is not None:
        d = 0.1 * rng.standard_normal(N_FEATURES)  # small: keeps every sign
        g, h = model
        expected = penalty.value(w) + g @ d + 0.5 * d @ (h * d)
        assert penalty.value(w + d) == pytest.approx(expected, rel=1e-12)
