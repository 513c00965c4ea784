"""MCP and SCAD, the non-convex separable penalties (issue 16).

What is checked: the closed-form prox against a brute-force minimization (both the
strictly convex and the hard-threshold regime), the compiled operations against the numpy
reference, values and fitted objectives against skglm's ``MCPenalty`` / ``SCAD``, the KKT
certificate (``stop_reason == "kkt"``) of fits and paths, coordinate descent on columns
whose curvature is below the penalty's concavity, MCP's support recovery against the
lasso on a correlated sparse design, and the command line's ``--penalty mcp --gamma``.
"""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.linalg import toeplitz

import penalized as pz
from penalized.app.cli import main
from penalized.core.exceptions import NoFiniteMinimizerWarning
from penalized.penalties import compiled
from penalized.penalties.mcp import mcp_value
from penalized.penalties.scad import scad_value
from penalized.workflows.fitting import stopping_scale

NONCONVEX = [p for p in pz.ALL_PENALTIES() if not p.convex]
WEIGHTS = np.array([1.0, 0.0, 2.5, 0.3, 1.0, 4.0, 0.7, 1.0])


def penalty_id(penalty) -> str:
    return type(penalty).name


def elementwise_value(penalty, u, lam):
    """``P_lam(u)`` per entry, from the module's reference formula."""
    formula = mcp_value if isinstance(penalty, pz.MCP) else scad_value
    return formula(np.abs(u), lam, penalty.gamma)


def test_registered_with_declared_capabilities():
    assert [type(p) for p in NONCONVEX] == [pz.MCP, pz.SCAD]
    assert pz.PENALTIES["mcp"] is pz.MCP and pz.PENALTIES["scad"] is pz.SCAD
    assert pz.MCP().gamma == 3.0 and pz.SCAD().gamma == 3.7
    for pen in NONCONVEX:
        assert pen.separable and not pen.smooth and pen.bounded_above and pen.kernel_id >= 0
        assert not (pen.orthant_quadratic or pen.strongly_convex or pen.constrained_dual)
        with pytest.raises(TypeError):
            pen.conjugate(np.ones(3))
    for bad in (1.0, 0.5, np.nan, np.inf, "three", None):
        with pytest.raises(ValueError, match="gamma must be a finite number > 1 for MCP"):
            pz.MCP(gamma=bad)
    with pytest.raises(ValueError, match="gamma must be a finite number > 2 for SCAD"):
        pz.SCAD(gamma=2.0)


@pytest.mark.parametrize("penalty", NONCONVEX, ids=penalty_id)
@pytest.mark.parametrize("step", [0.2, 1.0, 2.5, 3.0, 6.0])
@pytest.mark.parametrize("positive", [False, True])
def test_prox_is_the_brute_force_global_minimizer(penalty, step, positive):
    """Closed forms on both sides of the convexity bound (step < gamma for MCP,
    step < gamma - 1 for SCAD): the prox reaches the smallest objective of a 1e-4 grid,
    at the grid's minimizer unless two minima tie."""
    pen = dataclasses.replace(penalty, alpha=0.7, positive=positive)
    grid = np.linspace(0.0 if positive else -12.0, 12.0, 240_001 if not positive else 120_001)
    penalty_on_grid = elementwise_value(pen, grid, pen.alpha)
    xs = np.linspace(-8.0, 8.0, 81)
    us = pen.prox(xs, step)
    for x, u in zip(xs, us, strict=True):
        objective = (grid - x) ** 2 / (2 * step) + penalty_on_grid
        best = int(np.argmin(objective))
        f_u = (u - x) ** 2 / (2 * step) + elementwise_value(pen, u, pen.alpha)
        assert f_u <= objective[best] + 1e-10, (x, u, grid[best])
        assert abs(u - grid[best]) <= 2e-4 or abs(f_u - objective[best]) <= 1e-8, (x, u)
        if positive:
            assert u >= 0.0


def _variants():
    out = []
    for pen in NONCONVEX:
        for weights in (None, WEIGHTS):
            for positive in (False, True):
                out.append(pytest.param(
                    dataclasses.replace(pen, alpha=0.6, weights=weights, positive=positive),
                    id=f"{pen.name}-{weights is not None}-{positive}"))
    return out


@pytest.mark.parametrize("penalty", _variants())
def test_compiled_operations_equal_the_numpy_reference(penalty):
    """The compiled loops (1-D coefficients), the dispatcher's scalar operations (what
    the kernel inlines) and the numpy reference (2-D coefficients) agree in every region
    of the penalty: 0, |w| < lam, lam..gamma lam, beyond."""
    p = WEIGHTS.shape[0]
    rng = np.random.default_rng(0)
    omega = penalty.feature_weights(p)
    lam = penalty.alpha * omega
    col = (slice(None), None)
    kind, gamma, positive = penalty.kernel_id, penalty.gamma, penalty.positive
    for scale in (0.0, 0.3, 1.0, 3.0, 8.0):
        w = scale * rng.uniform(-1.0, 1.0, p) * (rng.random(p) < 0.8)
        grad = rng.standard_normal(p)
        if positive:
            w[0] = -abs(w[0]) - 0.1  # an infeasible entry is reported too
        assert penalty.value(np.abs(w)) == pytest.approx(
            penalty.value(np.abs(w)[col]), rel=1e-13, abs=1e-15)
        scores = penalty.subdiff_distance(w, grad)
        np.testing.assert_allclose(scores, penalty.subdiff_distance(w[col], grad[col])[:, 0],
                                   rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(
            scores, compiled.subdiff_vector(kind, w, grad, omega, penalty.alpha, gamma,
                                            positive), rtol=1e-13, atol=1e-15)
        for j in range(p):
            assert compiled.subdiff_scalar(kind, w[j], grad[j], lam[j], gamma, positive) == \
                pytest.approx(scores[j], rel=1e-13, abs=1e-15)
            assert compiled.value_scalar(kind, abs(w[j]), lam[j], gamma, positive) == \
                pytest.approx(elementwise_value(penalty, w[j], lam[j]), rel=1e-13, abs=1e-15)
        for step in (0.5, 1.0, 2.9, 4.0):
            v = 4.0 * rng.standard_normal(p)
            u = penalty.prox(v, step)
            for j in range(p):
                assert compiled.prox_scalar(kind, v[j], step, lam[j], gamma, positive) == \
                    pytest.approx(u[j], rel=1e-13, abs=1e-15)
            np.testing.assert_allclose(penalty.prox(v[col], step)[:, 0], u)
    # no dual: the compiled certificate can never read a duality gap for these
    v = rng.standard_normal(p)
    assert compiled.conjugate_vector(kind, v, omega, penalty.alpha, gamma, positive) == np.inf
    assert compiled.dual_scale_vector(kind, v, omega, penalty.alpha, gamma, positive) == 1.0


def _skglm_penalty(penalty, alpha):
    skglm_penalties = pytest.importorskip("skglm.penalties")
    cls = skglm_penalties.MCPenalty if isinstance(penalty, pz.MCP) else skglm_penalties.SCAD
    return cls(alpha, penalty.gamma)


def _well_conditioned(n=300, p=30, seed=0):
    """iid Gaussian columns, p / n = 0.1: the smallest eigenvalue of X^T X / n (about
    0.47) exceeds the concavity of MCP (1/3) and SCAD (1/2.7), so the objective is
    strongly convex and both libraries must reach its one minimizer."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:6] = [3.0, -2.0, 1.5, 1.0, -0.5, 0.3]
    return X, X @ w + 2.0 + rng.standard_normal(n)


#: skglm costs about 30 s per process (its import, then compiling its value functions
#: and jitclasses): its comparisons run with ``-m slow``, outside the default suite
SKGLM = pytest.mark.slow


@SKGLM
@pytest.mark.parametrize("penalty", NONCONVEX, ids=penalty_id)
def test_value_and_datafit_scaling_equal_skglm(penalty):
    """skglm's own value functions (what ``MCPenalty.value`` / ``SCAD.value`` return;
    plain numba functions, where the penalty classes compile for seconds), and its
    ``Quadratic``: ``||y - Xw||^2 / (2n)``, our least squares."""
    prox_funcs = pytest.importorskip("skglm.utils.prox_funcs")
    from skglm.datafits import Quadratic

    reference = prox_funcs.value_MCP if isinstance(penalty, pz.MCP) else prox_funcs.value_SCAD
    X, y = _well_conditioned()
    rng = np.random.default_rng(1)
    for alpha in (0.3, 0.8, 2.0):
        w = rng.uniform(-6, 6, X.shape[1]) * (rng.random(X.shape[1]) < 0.7)
        assert penalty.with_alpha(alpha).value(w) == pytest.approx(
            reference(w, alpha, penalty.gamma), rel=1e-13)
        problem = pz.make_problem(X, y, pz.LeastSquares(), penalty, fit_intercept=False)
        assert Quadratic().value(y, w, X @ w) == pytest.approx(
            problem.datafit_value(X @ w), rel=1e-13)


def _fit_and_path_equal_skglm(penalty):
    """One fit from w = 0 with an intercept, and a warm-started path without, against
    skglm's AndersonCD from the same start: equal objectives (one minimizer here)."""
    pytest.importorskip("skglm")
    from skglm import GeneralizedLinearEstimator
    from skglm.datafits import Quadratic
    from skglm.solvers import AndersonCD

    X, y = _well_conditioned()
    alpha = 0.1 * pz.alpha_max(X, y, pz.LeastSquares(), penalty)
    ours = pz.fit(X, y, pz.LeastSquares(), penalty, alpha=alpha, tol=1e-10)
    est = GeneralizedLinearEstimator(Quadratic(), _skglm_penalty(penalty, alpha),
                                     AndersonCD(tol=1e-12, fit_intercept=True)).fit(X, y)
    theirs = pz.make_problem(X, y, pz.LeastSquares(), penalty.with_alpha(alpha)).objective(
        est.coef_, est.intercept_)
    assert ours.objective == pytest.approx(theirs, rel=1e-9)
    np.testing.assert_allclose(ours.coef, est.coef_, atol=1e-6)
    path = pz.path(X, y, pz.LeastSquares(), penalty, n_alphas=15, tol=1e-10,
                   fit_intercept=False)
    _, coefs, _ = AndersonCD(tol=1e-12, fit_intercept=False).path(
        X, y, Quadratic(), _skglm_penalty(penalty, 1.0), alphas=path.alphas)
    for k, a in enumerate(path.alphas):
        sub = pz.make_problem(X, y, pz.LeastSquares(), penalty.with_alpha(float(a)),
                              fit_intercept=False)
        assert path.objectives[k] == pytest.approx(sub.objective(coefs[:, k], 0.0), rel=1e-9)


@SKGLM
@pytest.mark.parametrize("penalty", NONCONVEX, ids=penalty_id)
def test_fit_and_path_equal_skglm(penalty):
    _fit_and_path_equal_skglm(penalty)


def _classification(n=120, p=20, seed=3, sparse=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 2.0, p) + 0.2
    z = X[:, :4] @ np.array([1.0, -1.0, 0.5, 0.5])
    y = (z + 1.5 * rng.logistic(size=n) > 0).astype(float)
    if sparse:
        X = sp.csc_matrix(np.where(rng.random(X.shape) < 0.5, X, 0.0))
    return X, y


@pytest.mark.parametrize("penalty", NONCONVEX, ids=penalty_id)
@pytest.mark.parametrize("datafit", [pz.LeastSquares(), pz.Logistic()], ids=["ls", "logistic"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_fit_and_path_stop_on_the_kkt_score(penalty, datafit, sparse):
    """No duality gap: every fit stops on the largest KKT score, at most ``tol`` times
    the null gradient, and says so; the path runs warm-started from alpha_max (all
    zeros) down, certified the same way."""
    X, y = _classification(sparse=sparse)
    if datafit.task == "regression":
        y = np.asarray(X @ np.linspace(1.0, -1.0, X.shape[1])).ravel() + y
    tol = 1e-8
    alpha = 0.2 * pz.alpha_max(X, y, datafit, penalty)
    res = pz.fit(X, y, datafit, penalty, alpha=alpha, tol=tol)
    assert res.converged and res.stop_reason == "kkt" and res.certificate_kind == "kkt"
    problem = pz.make_problem(X, y, datafit, penalty.with_alpha(alpha))
    grad, grad_b, _ = problem.gradient(res.coef, res.intercept)
    kkt = max(float(np.max(problem.penalty.subdiff_distance(res.coef, grad))), abs(grad_b))
    assert kkt == pytest.approx(res.certificate, rel=1e-6, abs=1e-14)
    assert kkt <= tol * stopping_scale(problem)
    path = pz.path(X, y, datafit, penalty, n_alphas=12, tol=tol)
    assert path.certificate_kind == "kkt" and set(path.stop_reasons) == {"kkt"}
    assert np.all(path.coefs[0] == 0.0) and path.n_nonzero[-1] > 0
    if not sparse:  # the compiled path driver declines by the declared flag
        with pytest.raises(ValueError, match="no compiled convex operations"):
            pz.path(X, y, datafit, penalty, n_alphas=5, engine="compiled")


@pytest.mark.parametrize("penalty", NONCONVEX, ids=penalty_id)
def test_multinomial_fit_stops_on_the_kkt_score(penalty):
    """The multinomial solver's row-block coordinate descent takes the same curvature
    floor; three noisy classes (no separation: a finite minimizer exists)."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((150, 10)) * rng.uniform(0.5, 2.0, 10)
    scores = X[:, :3] * np.array([1.0, -1.0, 0.5]) + rng.gumbel(size=(150, 3))
    y = np.argmax(scores, axis=1).astype(float)
    alpha = 0.2 * pz.alpha_max(X, y, pz.Multinomial(), penalty)
    res = pz.fit(X, y, pz.Multinomial(), penalty, alpha=alpha, tol=1e-8)
    assert res.converged and res.stop_reason == "kkt" and res.coef.shape == (10, 3)
    problem = pz.make_problem(X, y, pz.Multinomial(), penalty.with_alpha(alpha))
    grad = problem.gradient(res.coef, res.intercept)[0]
    assert np.max(problem.penalty.subdiff_distance(res.coef, grad)) <= \
        1e-8 * stopping_scale(problem)
    assert 0 < res.n_nonzero < 10


@pytest.mark.parametrize("penalty", NONCONVEX, ids=penalty_id)
def test_columns_with_less_curvature_than_the_concavity(penalty):
    """Columns scaled to curvature 0.01, far below MCP's 1/gamma: coordinate descent
    takes 1.25 times the concavity instead (penalties.compiled.coordinate_curvature), so
    its steps stay continuous: zero stays zero where its KKT score is 0, and the fit
    converges to a KKT point (the global prox there would jump to hard-threshold values
    that a prox-Newton model cannot confirm, stalling logistic fits)."""
    X, y = _classification(seed=5)
    X = 0.1 * (X - X.mean(axis=0)) / X.std(axis=0)
    for datafit in (pz.LeastSquares(), pz.Logistic()):
        a_max = pz.alpha_max(X, y, datafit, penalty)
        top = pz.fit(X, y, datafit, penalty, alpha=a_max * (1 + 1e-9), tol=1e-10)
        assert np.all(top.coef == 0.0)
        for fraction in (0.9, 0.3):
            res = pz.fit(X, y, datafit, penalty, alpha=fraction * a_max, tol=1e-9)
            assert res.stop_reason == "kkt" and res.n_nonzero > 0


def _correlated_sparse_design(seed, n=200, p=100, rho=0.5, k=5, snr=3.0, n_test=2000):
    """Rows N(0, Sigma) with Sigma_ij = rho^|i - j| (Toeplitz), 5 true nonzeros of size
    1 to 2 with random signs at random positions, noise with standard deviation
    sd(signal) / snr; a held-out test set of ``n_test`` rows."""
    rng = np.random.default_rng(seed)
    sigma = toeplitz(rho ** np.arange(p))
    X = rng.standard_normal((n + n_test, p)) @ np.linalg.cholesky(sigma).T
    w = np.zeros(p)
    w[rng.choice(p, k, replace=False)] = rng.choice([-1.0, 1.0], k) * rng.uniform(1, 2, k)
    noise_sd = np.sqrt(w @ sigma @ w) / snr
    y = X @ w + noise_sd * rng.standard_normal(n + n_test)
    return X[:n], y[:n], X[n:], y[n:], w


@pytest.mark.parametrize("seed", [0, 1])
def test_mcp_recovers_the_support_with_fewer_false_positives_than_the_lasso(seed):
    """n = 200, p = 100, Toeplitz correlation 0.5, 5 true nonzeros, SNR 3; alpha by
    5-fold CV (the ``min`` rule) for both penalties, each then fitted on all 200 rows
    (the CV's full-data path). MCP keeps every true feature, selects fewer false ones,
    and predicts the held-out rows at least as well."""
    X, y, X_test, y_test, w = _correlated_sparse_design(seed)
    found = {}
    for penalty in (pz.L1(), pz.MCP(gamma=3.0)):
        cv = pz.cross_validate(X, y, pz.LeastSquares(), penalty, cv=5, n_alphas=40)
        coef = cv.path.coefs[cv.index_min]
        test_mse = np.mean((y_test - X_test @ coef - cv.path.intercepts[cv.index_min]) ** 2)
        found[penalty.name] = (int(np.sum((coef != 0) & (w == 0))),
                               int(np.sum((coef == 0) & (w != 0))), test_mse)
    (fp_mcp, fn_mcp, mse_mcp), (fp_l1, fn_l1, mse_l1) = found["mcp"], found["l1"]
    assert fn_mcp == 0 and fn_l1 == 0
    assert fp_mcp < fp_l1
    assert mse_mcp <= mse_l1


def test_bounded_penalty_warns_on_separated_classes():
    """MCP is flat beyond gamma * alpha: on separable classes the logistic loss keeps
    falling as the coefficients grow, at any alpha (as at alpha = 0)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = (X[:, 0] > 0).astype(float)
    X[:, 0] += np.sign(X[:, 0])  # a margin
    alpha = 0.5 * pz.alpha_max(X, y, pz.Logistic(), pz.MCP())
    with pytest.warns(NoFiniteMinimizerWarning, match="MCP is bounded above"):
        pz.fit(X, y, pz.Logistic(), pz.MCP(), alpha=alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NoFiniteMinimizerWarning)
        pz.fit(X, y, pz.Logistic(), pz.L1(), alpha=alpha)


def test_cli_fits_mcp_with_gamma(tmp_path, capsys):
    X, y, _, _, w = _correlated_sparse_design(0, n=150, p=12, n_test=0)
    frame = {f"x{j}": X[:, j] for j in range(X.shape[1])}
    frame["target"] = y
    import pandas as pd

    data = tmp_path / "table.csv"
    pd.DataFrame(frame).to_csv(data, index=False)
    out = tmp_path / "model"
    code = main(["fit", str(data), "-t", "target", "--penalty", "mcp", "--gamma", "2.5",
                 "--cv", "3", "--n-alphas", "20", "--json", "--out", str(out)])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["penalty"] == "mcp" and result["penalty_params"] == {"gamma": 2.5}
    assert result["l1_ratio"] is None
    assert {f"x{j}" for j in np.flatnonzero(w)} <= set(result["coefficients"])
    assert pz.load(out).manifest["penalty_params"] == {"gamma": 2.5}
    html = (out / "report.html").read_text()
    assert "MCP(alpha=" in html and "gamma=2.5" in html
    assert "other conventions" not in html  # the elastic net's conversions do not apply
    code = main(["fit", str(data), "-t", "target", "--penalty", "l1", "--gamma", "2.5",
                 "--out", str(tmp_path / "other")])
    _, stderr = capsys.readouterr()
    assert code == 2 and "--gamma applies to --penalty mcp|scad, not to --penalty l1" in stderr
    code = main(["fit", str(data), "-t", "target", "--penalty", "scad", "--gamma", "1.5",
                 "--out", str(tmp_path / "other")])
    _, stderr = capsys.readouterr()
    assert code == 2 and "gamma must be a finite number > 2 for SCAD" in stderr
