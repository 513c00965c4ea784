"""The datafits' two representations agree: the numpy methods of
:mod:`penalized.core.datafits` and the compiled per-sample operations of
:mod:`penalized.core.datafits_compiled` (which the compiled path driver uses)."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

import penalized as pz
from penalized.core import datafits_compiled as compiled

COMPILED = [d for d in pz.ALL_DATAFITS() if d.kernel_id >= 0]


@njit(cache=True)
def _evaluate(kind, y, z, a):
    out = np.empty((4, y.shape[0]))
    for i in range(y.shape[0]):
        out[0, i], out[1, i], out[2, i] = compiled.parts_scalar(kind, y[i], z[i])
        out[3, i] = compiled.conjugate_scalar(kind, y[i], a[i])
    return out


def _samples(datafit, rng):
    n = 400
    # moderate and extreme predictors: the logistic formulas must not overflow (a datafit
    # with unbounded curvature, exp(z), overflows beyond z = 709 by nature: +-40 there)
    big = 800.0 if np.isfinite(datafit.curvature_bound) else 40.0
    z = np.r_[rng.standard_normal(n - 6) * 3, -big, -40.0, -1e-9, 1e-9, 40.0, big]
    if datafit.task == "classification" or datafit.quadratic:
        y = rng.standard_normal(n) if datafit.quadratic else rng.choice([-1.0, 1.0], n)
        # conjugate arguments inside the domain (logistic: a = -y t, t in [0, 1]), and out
        t = np.r_[rng.uniform(0, 1, n - 4), 0.0, 1.0, -0.5, 1.5]
        a = -y * t if not datafit.quadratic else rng.standard_normal(n)
        return y, z, a
    # counts: conjugate arguments are derivatives of the loss (inside its domain, the
    # boundary reached as z -> -inf) and beyond (a + y < 0)
    y = rng.poisson(2.0, n).astype(float)
    a = datafit.dloss(y, np.r_[rng.standard_normal(n - 4) * 2, -50.0, -50.0, 0.0, 0.0])
    a[-2:] = -y[-2:] - 0.5
    return y, z, a


@pytest.mark.parametrize("datafit", COMPILED, ids=repr)
def test_compiled_operations_equal_the_numpy_methods(datafit):
    assert {d.kernel_id for d in COMPILED} == {compiled.LEAST_SQUARES, compiled.LOGISTIC,
                                               compiled.POISSON}
    y, z, a = _samples(datafit, np.random.default_rng(0))
    out = _evaluate(datafit.kernel_id, y, z, a)
    # (absolute rounding where the loss cancels: Poisson's exp(z) - y z near 0)
    np.testing.assert_allclose(out[0], datafit.loss(y, z), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(out[1], datafit.dloss(y, z), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(out[2], datafit.d2loss(y, z), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(out[3], datafit.conjugate(y, a), rtol=1e-13)
    assert np.all(np.isfinite(out[:3]))


@pytest.mark.parametrize("datafit", COMPILED, ids=repr)
def test_compiled_derivatives_are_those_of_the_loss(datafit):
    """Central finite differences of the compiled loss give its compiled derivatives."""
    rng = np.random.default_rng(1)
    y, z, a = _samples(datafit, rng)
    y, z, a = y[:50], z[:50], a[:50]
    step = 1e-5
    up = _evaluate(datafit.kernel_id, y, z + step, a)
    down = _evaluate(datafit.kernel_id, y, z - step, a)
    mid = _evaluate(datafit.kernel_id, y, z, a)
    np.testing.assert_allclose((up[0] - down[0]) / (2 * step), mid[1], atol=1e-8)
    np.testing.assert_allclose((up[1] - down[1]) / (2 * step), mid[2], atol=1e-8)
