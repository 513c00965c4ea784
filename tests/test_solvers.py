"""Solvers: KKT at the solution, agreement with scikit-learn and closed forms, certificates.

The KKT and certificate tests run over every registered penalty x datafit x
solver (gd only for smooth penalties) x {dense, CSC} x {intercept, none}.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from conftest import (
    DATAFITS,
    PENALTIES,
    datafit_id,
    dense,
    fit_cases,
    make_data,
    moderate_alpha,
    relative_alpha,
    solvers_for,
)
from sklearn import linear_model

import penalized as pz

#: alpha as a fraction of alpha_max: a support of a few features
ALPHA_FRACTION = 0.1


def fit_problem(X, y, datafit, penalty, fit_intercept, sample_weight=None, fraction=None):
    """Validated problem at ``fraction * alpha_max`` (default: a moderate alpha)."""
    if fraction is None:
        alpha = moderate_alpha(X, y, datafit, penalty, fit_intercept)
    else:
        alpha = relative_alpha(X, y, datafit, penalty, fraction, fit_intercept)
    return pz.make_problem(X, y, datafit, penalty.with_alpha(alpha),
                           fit_intercept=fit_intercept, sample_weight=sample_weight)


def reference_objective(problem) -> float:
    """Best objective we can get: a very tight solve (cd where it applies)."""
    solver = solvers_for(problem.penalty, problem.datafit)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pz.ConvergenceWarning)
        res = pz.fit(problem.X, problem.y, problem.datafit, problem.penalty,
                     solver=solver, tol=1e-14, fit_intercept=problem.fit_intercept,
                     sample_weight=problem.sample_weight)
    return res.objective


@pytest.mark.parametrize(("penalty", "datafit", "solver"), fit_cases())
def test_kkt_conditions_hold_at_the_solution(penalty, datafit, solver, sparse, fit_intercept):
    X, y = make_data(datafit, 50, 15, sparse=sparse, seed=1)
    problem = fit_problem(X, y, datafit, penalty, fit_intercept)
    # a few hundred steps suffice for fista on these problems: a bound keeps a stall short
    max_iter = 5000 if solver == "fista" else None
    res = pz.fit(X, y, datafit, problem.penalty, solver=solver, tol=1e-12, max_iter=max_iter,
                 fit_intercept=fit_intercept)
    assert res.converged and res.solver == solver
    assert res.coef.shape == (15,)
    grad_w, grad_b, _ = problem.gradient(res.coef, res.intercept)
    scale = np.max(np.abs(problem.gradient(np.zeros(15), problem.intercept_at_zero())[0]))
    assert np.max(problem.penalty.subdiff_distance(res.coef, grad_w)) <= 1e-4 * scale
    if fit_intercept:
        assert abs(grad_b) <= 1e-4 * scale
    else:
        assert res.intercept == 0.0
    assert res.objective == pytest.approx(problem.objective(res.coef, res.intercept), rel=1e-12)
    assert res.certificate >= 0
    # every solver reaches the same optimum (a non-convex penalty has local minima: each
    # solver may stop at another KKT point, checked above)
    if problem.penalty.convex:
        best = reference_objective(problem)
        assert res.objective <= best * (1 + 1e-8) + 1e-14


# ---- scikit-learn oracles --------------------------------------------------------------
def assert_same_optimum(problem, ours, coef_sk, intercept_sk):
    """Our objective equals sklearn's (1e-6 relative) and is not worse than it."""
    obj_ours = problem.objective(ours.coef, ours.intercept)
    obj_sk = problem.objective(np.ravel(coef_sk), float(np.ravel([intercept_sk])[0]))
    assert obj_ours == pytest.approx(obj_sk, rel=1e-6)
    assert obj_ours <= obj_sk * (1 + 1e-9)


@pytest.mark.parametrize("model", ["lasso", "elasticnet", "ridge"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
def test_least_squares_matches_sklearn(model, weighted, sparse, fit_intercept):
    X, y = make_data(pz.LeastSquares(), 60, 20, sparse=sparse, seed=3)
    n = X.shape[0]
    s = np.random.default_rng(3).uniform(0.2, 3.0, n) if weighted else None
    penalty = {"lasso": pz.L1(), "elasticnet": pz.ElasticNet(l1_ratio=0.3),
               "ridge": pz.L2()}[model]
    fraction = 1e-3 if model == "ridge" else ALPHA_FRACTION
    problem = fit_problem(X, y, pz.LeastSquares(), penalty, fit_intercept, s, fraction)
    alpha = problem.penalty.alpha
    ours = pz.fit(X, y, pz.LeastSquares(), problem.penalty, fit_intercept=fit_intercept,
                  sample_weight=s, tol=1e-12)
    if model == "lasso":
        sk = linear_model.Lasso(alpha=alpha, fit_intercept=fit_intercept, tol=1e-14,
                                max_iter=100_000)
    elif model == "elasticnet":
        sk = linear_model.ElasticNet(alpha=alpha, l1_ratio=0.3, fit_intercept=fit_intercept,
                                     tol=1e-14, max_iter=100_000)
    else:
        # sklearn Ridge: sum_i s_i (y_i - x_i w)^2 + a ||w||^2, weights not normalized;
        # ours is that divided by 2 sum(s), so a = alpha * sum(s) (= alpha * n unweighted)
        total = n if s is None else s.sum()
        sk = linear_model.Ridge(alpha=alpha * total, fit_intercept=fit_intercept, tol=1e-12,
                                solver="auto" if not sparse else "sparse_cg")
    sk.fit(X, y, sample_weight=s)
    assert_same_optimum(problem, ours, sk.coef_, sk.intercept_)
    np.testing.assert_allclose(ours.coef, sk.coef_, atol=1e-4)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.0], ids=["l1", "l2"])
def test_logistic_matches_sklearn(l1_ratio, sparse, fit_intercept):
    X, y = make_data(pz.Logistic(), 60, 10, sparse=sparse, seed=4)
    n = X.shape[0]
    penalty = pz.L1() if l1_ratio == 1.0 else pz.L2()
    problem = fit_problem(X, y, pz.Logistic(), penalty, fit_intercept,
                          fraction=ALPHA_FRACTION if l1_ratio else 1e-3)
    alpha = problem.penalty.alpha
    ours = pz.fit(X, y, pz.Logistic(), problem.penalty, fit_intercept=fit_intercept, tol=1e-12)
    # C = 1 / (n alpha). liblinear penalizes the intercept: saga (l1) and lbfgs (l2) do not.
    solver = "saga" if l1_ratio == 1.0 else "lbfgs"
    sk = linear_model.LogisticRegression(C=1.0 / (n * alpha), l1_ratio=l1_ratio, solver=solver,
                                         fit_intercept=fit_intercept, tol=1e-12,
                                         max_iter=200_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sk.fit(X, y)
    assert_same_optimum(problem, ours, sk.coef_, sk.intercept_ if fit_intercept else 0.0)
    np.testing.assert_allclose(ours.coef, sk.coef_.ravel(), atol=1e-3)
    # the positive class is sklearn's classes_[1]
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))



@pytest.mark.parametrize("sparse_X", [False, True], ids=["dense", "csc"])
def test_newton_step_after_slow_cd_on_nearly_separable_logistic(sparse_X):
    """Breast cancer (standardized) is nearly separable: at a small alpha the IRLS weights
    of the well-classified samples vanish and CD on the prox-Newton model crawls. After
    newton_budget_epochs epochs without reaching its target, the model is solved on the
    support by one factorization. Without it the fit stalls (20,000 epochs, objective
    46% above the optimum)."""
    import scipy.sparse as sp
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    from penalized.solvers.base import Iterate
    from penalized.solvers.cd.driver import CoordinateDescent
    from penalized.solvers.cd.settings import DEFAULT
    from penalized.workflows.fitting import null_point, stopping_scale

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    data = sp.csc_matrix(X) if sparse_X else X
    alpha = 1.0 / (X.shape[0] * 1e4)  # LogisticRegression(C=1e4)
    res = pz.fit(data, y, pz.Logistic(), pz.L1(), alpha=alpha, tol=1e-8)
    assert res.converged and res.n_iter < 5000
    if res.stop_reason == "gap":
        assert res.certificate <= 1e-8 * res.objective
    else:  # the progress estimate stopped it: the true excess is within the target
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pz.ConvergenceWarning)
            tight = pz.fit(data, y, pz.Logistic(), pz.L1(), alpha=alpha, tol=1e-13,
                           max_iter=20_000)
        optimum_at_least = tight.objective - tight.certificate  # the gap bounds it
        assert res.objective - optimum_at_least <= 1e-8 * tight.objective
    never = dataclasses.replace(DEFAULT, newton_budget_epochs=10**9)  # never capped
    problem = pz.make_problem(data, y, pz.Logistic(), pz.L1(alpha=alpha))
    stalled, _ = CoordinateDescent(tol=1e-8, settings=never).solve(
        problem, Iterate(*null_point(problem)), stopping_scale(problem))
    assert not stalled.converged and stalled.stop_reason == "max_iter"
    assert stalled.objective > res.objective * 1.1

# ---- gradient descent is the textbook ridge ------------------------------------------
def test_gradient_descent_equals_closed_form_ridge(sparse, fit_intercept):
    X, y = make_data(pz.LeastSquares(), 40, 8, sparse=sparse, seed=5)
    n, p = X.shape
    lam = 3.0  # J(W) = 1/(2n) sum (y - h)^2 + lambda/(2n) sum W^2, alpha = lambda / n
    Xd = dense(X)
    if fit_intercept:  # the intercept is unpenalized: center, solve, recover it
        x_mean, y_mean = Xd.mean(axis=0), y.mean()
        Xc, yc = Xd - x_mean, y - y_mean
    else:
        Xc, yc = Xd, y
    W = np.linalg.solve(Xc.T @ Xc + lam * np.eye(p), Xc.T @ yc)
    b = y_mean - x_mean @ W if fit_intercept else 0.0
    res = pz.fit(X, y, pz.LeastSquares(), pz.L2(), alpha=lam / n, solver="gd", tol=1e-13,
                 fit_intercept=fit_intercept)
    assert res.converged
    np.testing.assert_allclose(res.coef, W, rtol=1e-6, atol=1e-8)
    assert res.intercept == pytest.approx(b, abs=1e-7)
    J = np.sum((y - Xd @ W - b) ** 2) / (2 * n) + lam / (2 * n) * np.sum(W**2)
    assert res.objective == pytest.approx(J, rel=1e-10)


# ---- certificates ----------------------------------------------------------------------
def gap_cases():
    cases = []
    for penalty in PENALTIES:
        if not penalty.convex:
            continue
        for datafit in DATAFITS:
            if datafit.has_conjugate:
                cases.append(pytest.param(penalty, datafit,
                                          id=f"{type(penalty).name}-{datafit_id(datafit)}"))
    return cases


@pytest.mark.parametrize(("penalty", "datafit"), gap_cases())
@pytest.mark.parametrize("unpenalized", [False, True], ids=["all_penalized", "free_feature"])
def test_duality_gap_bounds_the_suboptimality(penalty, datafit, unpenalized, sparse,
                                              fit_intercept):
    X, y = make_data(datafit, 40, 10, sparse=sparse, seed=6)
    if unpenalized:
        weights = np.ones(10)
        weights[[0, 3]] = 0.0
        penalty = dataclasses.replace(penalty, weights=weights)
    rng = np.random.default_rng(6)
    s = rng.uniform(0.5, 2.0, 40)
    problem = fit_problem(X, y, datafit, penalty, fit_intercept, s, fraction=0.2)
    best = reference_objective(problem)
    tight = pz.certify(problem, *_solution(problem))
    assert tight.kind == "gap" and 0 <= tight.value <= 1e-9 * best
    # at arbitrary points, and along a loose solve, the gap is >= objective - optimum
    points = [(0.5 * rng.standard_normal(10), rng.standard_normal() * fit_intercept)
              for _ in range(5)]
    points += [(np.zeros(10), 0.0)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pz.ConvergenceWarning)
        for max_iter in (1, 3, 10):
            loose = pz.fit(X, y, datafit, problem.penalty, solver="fista", max_iter=max_iter,
                           fit_intercept=fit_intercept, sample_weight=s)
            points.append((loose.coef, loose.intercept))
    for w, b in points:
        cert = pz.certify(problem, np.array(w), b)
        assert cert.value >= 0
        assert cert.objective <= problem.objective(np.array(w), b) + 1e-12  # b re-optimized
        assert cert.value >= cert.objective - best - 1e-10 * abs(best)


def _solution(problem):
    res = pz.fit(problem.X, problem.y, problem.datafit, problem.penalty, tol=1e-14,
                 fit_intercept=problem.fit_intercept, sample_weight=problem.sample_weight)
    return res.coef, res.intercept


@pytest.mark.parametrize(("penalty", "datafit", "solver"), fit_cases())
def test_convergence_warning_reports_the_certificate(penalty, datafit, solver):
    X, y = make_data(datafit, 60, 40, seed=7)  # wide enough that one epoch cannot solve it
    alpha = moderate_alpha(X, y, datafit, penalty)
    with pytest.warns(pz.ConvergenceWarning, match=r"did not converge.*(gap|kkt) = \d"):
        res = pz.fit(X, y, datafit, penalty, alpha=alpha, solver=solver, max_iter=1,
                     tol=1e-14)
    assert not res.converged
    assert f"{res.certificate:.3e}" in _last_warning_text(X, y, datafit, penalty, alpha, solver)


def _last_warning_text(X, y, datafit, penalty, alpha, solver) -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pz.fit(X, y, datafit, penalty, alpha=alpha, solver=solver, max_iter=1, tol=1e-14)
    return " ".join(str(w.message) for w in caught if issubclass(w.category,
                                                                  pz.ConvergenceWarning))


def test_anderson_small_spd_solve_matches_numpy():
    from penalized.solvers.cd import kernels as _kernels

    rng = np.random.default_rng(3)
    U = rng.standard_normal((5, 40))
    G = U @ U.T + 1e-8 * np.eye(5)
    rhs = np.ones(5)
    np.testing.assert_allclose(_kernels._solve_spd(G, rhs), np.linalg.solve(G, rhs),
                               rtol=1e-8)
    # not positive definite (rank 1, then NaN): reported as an empty solution
    assert _kernels._solve_spd(np.ones((3, 3)) - 1e-3 * np.eye(3), np.ones(3)).shape == (0,)
    assert _kernels._solve_spd(np.full((2, 2), np.nan), np.ones(2)).shape == (0,)


def test_compiled_kernels_have_one_specialization_per_storage_format(monkeypatch):
    """Every datafit, penalty, weighting and storage must reach the numba kernels with
    the same argument types: a new combination (a Fortran-ordered or read-only array, an
    int where a float was) silently compiles the whole kernel again, about 3 s at the
    first call of every new process (the cold budget is 15 s)."""
    import scipy.sparse as sp

    from penalized.core import gradient as _gradient
    from penalized.penalties import elastic_net_compiled as _enet_kernels
    from penalized.solvers.cd import kernels as _kernels
    from penalized.solvers.cd import path_kernel as _path_kernel
    from penalized.solvers.cd import rules

    # the bounded certificate gradients (float32 pass, reused passes) on this small data
    monkeypatch.setattr(_gradient, "MIN_SIZE", 0)
    monkeypatch.setattr(_gradient, "LOWPREC_MIN_SIZE", 0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 30))
    y = X[:, 0] + rng.standard_normal(60)
    labels = (y > 0).astype(int)
    weights = np.r_[0.0, np.ones(29)]
    for data in (X, sp.csc_matrix(X)):
        pz.path(data, y, pz.LeastSquares(), pz.L1(), n_alphas=5)
        pz.path(data, y, pz.LeastSquares(), pz.ElasticNet(weights=weights, positive=True),
                n_alphas=5, sample_weight=rng.random(60), fit_intercept=False)
        for engine in ("auto", "python"):  # dense: the compiled path, then the driver's
            pz.path(data, labels, pz.Logistic(), pz.L1(), n_alphas=5, engine=engine)
        pz.fit(data, rng.integers(0, 3, 60), pz.Multinomial(), pz.L2(), alpha=0.01)
    pz.path(np.vstack([X] * 5), np.tile(y, 5), pz.LeastSquares(), pz.L1(), n_alphas=5,
            precompute=True)
    for kernel in (_kernels.cd_epochs, _kernels.weighted_col_stats,
                   _gradient._columns_dot):
        assert len(kernel.signatures) == 2, kernel.signatures  # dense and CSC
    # small dense least squares and logistic (the datafit is a run-time id)
    assert len(_path_kernel.cd_path.signatures) == 1
    for kernel in (_enet_kernels.enet_value, _enet_kernels.enet_subdiff_distance,
                   _enet_kernels.enet_dual_norm, _enet_kernels.enet_conjugate_sum,
                   rules.working_set, rules.stop_reason, rules.tail_trusted,
                   rules.round_estimate, rules.plan_round):
        # (the rules called only from compiled code have the types of these callers')
        assert len(kernel.signatures) == 1, kernel.signatures


def test_multinomial_solver_has_one_specialization_per_storage_format():
    """The multinomial solver's compiled functions take X only as ``(data, indices,
    indptr)`` and every other argument typed one way (a literal True or False is a type
    of its own: each second specialization costs seconds at a cold first call). Its
    Python moves (support solve, Anderson extrapolation) call compiled pieces too."""
    import inspect

    import scipy.sparse as sp
    from numba.core.dispatcher import Dispatcher

    from penalized.solvers.cd import multinomial as _multinomial

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 30))
    classes = rng.integers(0, 3, 60)
    for data in (X, sp.csc_matrix(X)):
        pz.fit(data, classes, pz.Multinomial(), pz.L2(), alpha=0.01)
        pz.path(data, classes, pz.Multinomial(), pz.L1(), n_alphas=5)  # support solves
    for kernel in (_multinomial._newton_rounds, _multinomial._model_predictor,
                   _multinomial._support_columns, _multinomial._model_gradient):
        assert len(kernel.signatures) == 2, kernel.signatures  # dense and CSC
    for kernel in (_multinomial._support_step, _multinomial._model_value):
        assert len(kernel.signatures) == 1, kernel.signatures
    # every function it compiled (those loaded from the cache with their caller show none)
    for kernel in vars(_multinomial).values():
        if isinstance(kernel, Dispatcher) and kernel.py_func.__module__ == _multinomial.__name__:
            formats = 2 if "indices" in inspect.signature(kernel.py_func).parameters else 1
            assert len(kernel.signatures) <= formats, (kernel.py_func.__name__,
                                                       kernel.signatures)
