"""What the fixed cost of a small path was cut with keeps its meaning: the deviance
ratios the compiled path driver reports, the intercepts it leaves optimal, the Gram form
built without a second validation, the derivatives computed without the loss."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

import penalized as pz
from penalized.core import datafits_compiled as compiled
from penalized.core.gram import gram_form
from penalized.core.problem import make_problem
from penalized.workflows.paths import deviance_ratios

COMPILED = [d for d in pz.ALL_DATAFITS() if d.kernel_id >= 0]


@njit(cache=True)
def _both(kind, y, z):
    out = np.empty((4, y.shape[0]))
    for i in range(y.shape[0]):
        _, out[0, i], out[1, i] = compiled.parts_scalar(kind, y[i], z[i])
        out[2, i], out[3, i] = compiled.derivatives_scalar(kind, y[i], z[i])
    return out


@pytest.mark.parametrize("datafit", COMPILED, ids=repr)
def test_derivatives_without_the_loss_are_the_same(datafit):
    rng = np.random.default_rng(0)
    z = np.r_[rng.standard_normal(200) * 3, -800.0, -40.0, 0.0, 40.0, 800.0]
    if not np.isfinite(datafit.curvature_bound):  # exp(z): +-40 at most
        z = np.clip(z, -40.0, 40.0)
    y = (rng.choice([-1.0, 1.0], z.size) if datafit.task == "classification"
         else rng.poisson(2.0, z.size).astype(float))
    out = _both(datafit.kernel_id, y, z)
    np.testing.assert_array_equal(out[2:], out[:2])


def _logistic_data():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 8))
    y = (X[:, 0] - X[:, 1] + rng.standard_normal(300) > 0.3).astype(int)
    return X, y


def _tall_data():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((400, 6))
    X[:, 5] = X[:, 4]  # collinear: the Gram form's eigendecomposition branch
    return X, X[:, 0] - 2 * X[:, 2] + rng.standard_normal(400)


@pytest.mark.parametrize("data, datafit", [(_logistic_data, pz.Logistic()),
                                           (_tall_data, pz.LeastSquares())],
                         ids=["logistic", "gram-form"])
def test_compiled_deviance_ratios_equal_a_pass_over_the_fits(data, datafit):
    X, y = data()
    res = pz.path(X, y, datafit, pz.L1(), n_alphas=30, tol=1e-8, engine="compiled")
    problem = make_problem(X, y, datafit, pz.L1())
    again = deviance_ratios(problem, res.coefs, res.intercepts)
    np.testing.assert_allclose(res.deviance_ratio, again, rtol=0, atol=1e-12)
    assert res.deviance_ratio[0] == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(res.deviance_ratio) > -1e-12)


def test_compiled_logistic_intercepts_are_optimal():
    """The intercept's Newton steps stop early (quadratic convergence) and are skipped at
    an alpha's first round: the intercept gradient stays at rounding level."""
    X, y = _logistic_data()
    res = pz.path(X, y, pz.Logistic(), pz.L1(), n_alphas=30, tol=1e-4, engine="compiled")
    problem = make_problem(X, y, pz.Logistic(), pz.L1())
    for coef, b in zip(res.coefs, res.intercepts, strict=True):
        _, grad_b, _ = problem.gradient(coef, float(b))
        assert abs(grad_b) <= 1e-12


def test_gram_form_is_the_validated_problem():
    X, y = _tall_data()
    problem = make_problem(X, y, pz.LeastSquares(), pz.L1())
    small = gram_form(problem).problem
    again = make_problem(small.X, small.y, pz.LeastSquares(), pz.L1(), fit_intercept=False)
    assert small.X.flags.f_contiguous and not small.fit_intercept
    for field in ("X", "y", "sample_weight"):
        np.testing.assert_array_equal(getattr(small, field), getattr(again, field))
    w = np.linspace(-1, 1, 6)
    assert small.objective(w, 0.0) == pytest.approx(
        problem.objective(w, gram_form(problem).intercepts(w[None])[0]), rel=1e-12)

