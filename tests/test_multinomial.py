"""The Multinomial datafit (softmax cross-entropy, one coefficient column per class).

Checked against finite differences, the Fenchel-Young equality, KKT conditions,
scikit-learn's multinomial ``LogisticRegression`` (lbfgs for L2, saga for L1 and
the elastic net) and brute-force cross-validation; cd and fista, dense and sparse.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize, minimize_scalar
from scipy.special import softmax
from sklearn.datasets import load_iris, load_wine
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler

import penalized as pz
from penalized.linear_model import LogisticRegression, LogisticRegressionCV
from penalized.penalties.elastic_net import enet_row_shifts as row_shifts

EPS = 1e-6
DATAFIT = pz.Multinomial()


def generated(n_samples: int = 120, n_features: int = 10, n_classes: int = 3, seed: int = 0,
              sparse: bool = False):
    """Three noisy classes from a sparse linear model; columns of different scales."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)) * rng.uniform(0.5, 2.0, n_features) + 0.3
    if sparse:
        X = np.where(rng.uniform(size=X.shape) < 0.4, X, 0.0)
    W = np.zeros((n_features, n_classes))
    W[:3] = rng.standard_normal((3, n_classes))
    logits = X @ W + rng.gumbel(size=(n_samples, n_classes))
    y = np.argmax(logits, axis=1)
    y[:n_classes] = np.arange(n_classes)
    return (sp.csc_matrix(X) if sparse else X), y


def standardized(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def relative_difference(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b))


# ---- the datafit ---------------------------------------------------------------------
def test_derivatives_match_finite_differences():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 30)
    z = 2.0 * rng.standard_normal((30, 4))
    s = rng.uniform(0.2, 3.0, 30)
    s *= 30 / s.sum()
    dloss, d2loss, grad = DATAFIT.dloss(y, z), DATAFIT.d2loss(y, z), DATAFIT.gradient_z(y, z, s)
    for k in range(4):
        e = np.zeros_like(z)
        e[:, k] = EPS
        numeric = (DATAFIT.loss(y, z + e) - DATAFIT.loss(y, z - e)) / (2 * EPS)
        np.testing.assert_allclose(dloss[:, k], numeric, rtol=1e-6, atol=1e-9)
        numeric2 = (DATAFIT.dloss(y, z + e)[:, k] - DATAFIT.dloss(y, z - e)[:, k]) / (2 * EPS)
        np.testing.assert_allclose(d2loss[:, k], numeric2, rtol=1e-5, atol=1e-8)
        for i in (0, 11, 29):
            e = np.zeros_like(z)
            e[i, k] = EPS
            numeric = (DATAFIT.value(y, z + e, s) - DATAFIT.value(y, z - e, s)) / (2 * EPS)
            assert grad[i, k] == pytest.approx(numeric, rel=1e-5, abs=1e-10)
    # the loss is log-sum-exp minus the true class's score, stable for large scores
    expected = np.log(np.exp(z).sum(axis=1)) - z[np.arange(30), y]
    np.testing.assert_allclose(DATAFIT.loss(y, z), expected, rtol=1e-12)
    assert np.all(np.isfinite(DATAFIT.loss(y, 1000.0 * z)))


def test_curvature_bound_bounds_the_softmax_hessian():
    rng = np.random.default_rng(1)
    for scale in (0.1, 1.0, 5.0):
        for z in scale * rng.standard_normal((50, 5)):
            p = softmax(z)
            largest = np.linalg.eigvalsh(np.diag(p) - np.outer(p, p)).max()
            assert largest <= DATAFIT.curvature_bound * (1 + 1e-12)


def test_conjugate_satisfies_fenchel_young():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 25)
    z = 2.0 * rng.standard_normal((25, 3))
    a = DATAFIT.dloss(y, z)
    inner = np.sum(a * z, axis=1)
    np.testing.assert_allclose(DATAFIT.loss(y, z) + DATAFIT.conjugate(y, a), inner, atol=1e-10)
    for _ in range(5):
        other = z + rng.standard_normal(z.shape)
        assert np.all(DATAFIT.loss(y, other) + DATAFIT.conjugate(y, a)
                      >= np.sum(a * other, axis=1) - 1e-10)
    outside = a.copy()
    outside[0, 0] += 0.5  # a + e_y leaves the simplex
    assert np.isinf(DATAFIT.conjugate(y, outside)[0])


def test_null_intercepts_are_centered_log_frequencies():
    X, y = generated(seed=3)
    s = np.random.default_rng(3).uniform(0.1, 2.0, y.shape[0])
    problem = pz.make_problem(X, y, DATAFIT, pz.L1(), sample_weight=s)
    b0 = problem.intercept_at_zero()
    freq = np.bincount(y, weights=s) / s.sum()
    np.testing.assert_allclose(b0, np.log(freq) - np.log(freq).mean(), rtol=1e-12)
    zero = np.zeros(problem.coef_shape)
    found = minimize(lambda b: problem.objective(zero, b), np.zeros(3), method="BFGS",
                     options={"gtol": 1e-10})
    assert problem.objective(zero, b0) <= found.fun + 1e-12


def test_problem_gradient_matches_finite_differences():
    X, y = generated(40, 5, sparse=True, seed=4)
    rng = np.random.default_rng(4)
    problem = pz.make_problem(X, y, DATAFIT, pz.L1(alpha=0.1),
                              sample_weight=rng.uniform(0.5, 2.0, 40))
    W, b = 0.3 * rng.standard_normal((5, 3)), rng.standard_normal(3)
    grad_W, grad_b, _ = problem.gradient(W, b)
    assert grad_W.shape == (5, 3) and grad_b.shape == (3,)

    def smooth(W, b):
        return problem.datafit_value(problem.linear_predictor(W, b))

    for j, k in [(0, 0), (2, 1), (4, 2)]:
        E = np.zeros_like(W)
        E[j, k] = EPS
        assert grad_W[j, k] == pytest.approx((smooth(W + E, b) - smooth(W - E, b)) / (2 * EPS),
                                             rel=1e-6, abs=1e-10)
    for k in range(3):
        e = np.eye(3)[k] * EPS
        assert grad_b[k] == pytest.approx((smooth(W, b + e) - smooth(W, b - e)) / (2 * EPS),
                                          rel=1e-6, abs=1e-10)
    assert problem.objective(W, b) == pytest.approx(smooth(W, b) + 0.1 * np.abs(W).sum())


# ---- solutions ------------------------------------------------------------------------
SKLEARN_CASES = [
    pytest.param(pz.L2(), 1.0, {"solver": "lbfgs", "l1_ratio": 0.0}, id="l2"),
    pytest.param(pz.L1(), 1.0, {"solver": "saga", "l1_ratio": 1.0}, id="l1"),
    pytest.param(pz.ElasticNet(l1_ratio=0.5), 0.5, {"solver": "saga", "l1_ratio": 0.5},
                 id="elasticnet"),
]


@pytest.mark.parametrize("loader", [load_iris, load_wine], ids=["iris", "wine"])
@pytest.mark.parametrize(("penalty", "C", "options"), SKLEARN_CASES)
def test_objective_equals_sklearn_multinomial(loader, penalty, C, options):
    X, y = standardized(loader)
    n = y.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # saga's ConvergenceWarning at this tol
        reference = SklearnLogisticRegression(C=C, tol=1e-12, max_iter=20_000,
                                              **options).fit(X, y)
    res = pz.fit(X, y, DATAFIT, penalty, alpha=1.0 / (n * C), tol=1e-10)
    assert res.converged and res.coef.shape == (X.shape[1], 3)
    problem = pz.make_problem(X, y, DATAFIT, penalty.with_alpha(1.0 / (n * C)))
    theirs = problem.objective(reference.coef_.T, reference.intercept_)
    assert relative_difference(res.objective, theirs) < 1e-6
    assert res.objective <= theirs * (1 + 1e-9)  # certified: never worse than theirs
    probabilities = DATAFIT.inverse_link(res.decision_function(X))
    np.testing.assert_allclose(probabilities, reference.predict_proba(X), atol=1e-4)
    assert abs(float(np.sum(res.intercept))) < 1e-10  # centered, as scikit-learn's lbfgs


@pytest.mark.parametrize(("penalty", "C", "options"), SKLEARN_CASES)
def test_generated_data_equals_sklearn_with_both_solvers(penalty, C, options):
    X, y = generated(200, 15, seed=5)
    n = y.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = SklearnLogisticRegression(C=C, tol=1e-12, max_iter=50_000,
                                              **options).fit(X, y)
    problem = pz.make_problem(X, y, DATAFIT, penalty.with_alpha(1.0 / (n * C)))
    theirs = problem.objective(reference.coef_.T, reference.intercept_)
    for solver in ("cd", "fista"):
        res = pz.fit(X, y, DATAFIT, penalty, alpha=1.0 / (n * C), tol=1e-10, solver=solver)
        assert res.converged and relative_difference(res.objective, theirs) < 1e-6


@pytest.mark.parametrize("penalty", [pz.L1(), pz.L2(), pz.ElasticNet(l1_ratio=0.3)],
                         ids=["l1", "l2", "elasticnet"])
def test_kkt_and_gap_at_the_solution_cd_equals_fista(penalty, sparse):
    X, y = generated(80, 8, seed=6, sparse=sparse)
    alpha = 0.1 * pz.alpha_max(X, y, DATAFIT, pz.L1())
    s = np.random.default_rng(6).uniform(0.5, 2.0, y.shape[0])
    fits = {solver: pz.fit(X, y, DATAFIT, penalty, alpha=alpha, tol=1e-12, solver=solver,
                           sample_weight=s, max_iter=200_000)
            for solver in ("cd", "fista")}
    res = fits["cd"]
    assert res.solver == "cd" and res.certificate_kind == "gap" and res.converged
    problem = pz.make_problem(X, y, DATAFIT, penalty.with_alpha(alpha), sample_weight=s)
    grad_W, grad_b, _ = problem.gradient(res.coef, res.intercept)
    assert np.max(problem.penalty.subdiff_distance(res.coef, grad_W)) < 1e-5
    assert np.max(np.abs(grad_b)) < 1e-8
    assert relative_difference(fits["fista"].objective, res.objective) < 1e-9
    np.testing.assert_allclose(fits["fista"].coef, res.coef, atol=1e-4)


@pytest.mark.parametrize("l1_ratio", [0.0, 0.3, 1.0])
def test_row_shifts_minimize_the_penalty_of_each_row(l1_ratio):
    rng = np.random.default_rng(12)
    W = rng.standard_normal((6, 4)) * rng.uniform(0.1, 3.0, (6, 1))
    W[0] = 0.0

    def penalty(row, c):
        return np.sum(l1_ratio * np.abs(row - c) + 0.5 * (1 - l1_ratio) * (row - c) ** 2)

    shifts = row_shifts(W, l1_ratio)
    assert shifts[0] == 0.0
    for row, c in zip(W, shifts, strict=True):
        found = minimize_scalar(lambda c, row=row: penalty(row, c),
                                bounds=(row.min() - 1, row.max() + 1), method="bounded",
                                options={"xatol": 1e-12})
        assert penalty(row, c) <= found.fun + 1e-10


def test_nearly_separable_data_converges_quickly():
    # iris with a tiny penalty: the rows of W drift along the softmax-invariant
    # direction; recentering them keeps class-by-class CD fast
    X, y = standardized(load_iris)
    for alpha in (1e-5, 1e-7):
        res = pz.fit(X, y, DATAFIT, pz.L1(), alpha=alpha, tol=1e-8)
        assert res.converged and res.n_iter < 5_000


def test_alpha_max_is_the_largest_entry_and_zeroes_every_coefficient(sparse):
    X, y = generated(60, 8, seed=7, sparse=sparse)
    n = y.shape[0]
    freq = np.bincount(y) / n
    onehot = np.eye(3)[y]
    gradient = np.asarray(X.T @ (freq - onehot)) / n  # at W = 0, intercepts optimal
    a_max = pz.alpha_max(X, y, DATAFIT, pz.L1())
    assert a_max == pytest.approx(np.abs(gradient).max(), rel=1e-10)
    for factor in (1.0, 2.0):
        res = pz.fit(X, y, DATAFIT, pz.L1(), alpha=factor * a_max)
        assert np.all(res.coef == 0.0) and res.converged
        np.testing.assert_allclose(res.intercept, np.log(freq) - np.log(freq).mean(),
                                   atol=1e-8)
    assert pz.fit(X, y, DATAFIT, pz.L1(), alpha=0.98 * a_max).n_nonzero >= 1


def test_without_intercept_and_with_sample_weights_as_repetitions():
    X, y = generated(50, 6, seed=8)
    counts = np.random.default_rng(8).integers(1, 4, y.shape[0])
    weighted = pz.fit(X, y, DATAFIT, pz.ElasticNet(l1_ratio=0.5), alpha=0.01,
                      sample_weight=counts, tol=1e-12)
    repeated = pz.fit(np.repeat(X, counts, axis=0), np.repeat(y, counts), DATAFIT,
                      pz.ElasticNet(l1_ratio=0.5), alpha=0.01, tol=1e-12)
    np.testing.assert_allclose(weighted.coef, repeated.coef, atol=1e-6)
    no_intercept = pz.fit(X, y, DATAFIT, pz.L2(), alpha=0.01, fit_intercept=False)
    assert no_intercept.converged and np.all(no_intercept.intercept == 0.0)


def test_bad_input_is_refused_clearly():
    X, y = generated(30, 4, seed=9)
    with pytest.raises(ValueError, match="at least two classes"):
        pz.fit(X, np.zeros(30), DATAFIT, pz.L1(), alpha=0.1)
    with pytest.raises(ValueError, match="multiclass"):
        pz.fit(X, y, DATAFIT, pz.L2(), alpha=0.1, solver="gd")
    with pytest.raises(ValueError, match="unpenalized"):
        pz.fit(X, y, DATAFIT, pz.L1(weights=[0.0, 1.0, 1.0, 1.0]), alpha=0.1)
    with pytest.raises(ValueError, match="shape"):
        pz.fit(X, y, DATAFIT, pz.L1(), alpha=0.1, init=np.zeros(4))


# ---- path, cross-validation, estimators ----------------------------------------------
def test_path_warm_starts_match_single_fits():
    X, y = generated(80, 8, seed=10)
    result = pz.path(X, y, DATAFIT, pz.L1(), n_alphas=8, tol=1e-10)
    assert result.coefs.shape == (8, 8, 3) and result.intercepts.shape == (8, 3)
    assert np.all(result.coefs[0] == 0.0) and result.converged.all()
    assert result.n_nonzero[-1] > result.n_nonzero[0]
    for k in (2, 7):
        single = pz.fit(X, y, DATAFIT, pz.L1(), alpha=result.alphas[k], tol=1e-10)
        assert relative_difference(single.objective, result.objectives[k]) < 1e-8
        fit = result[k]
        assert fit.coef.shape == (8, 3) and fit.intercept.shape == (3,)
        np.testing.assert_array_equal(fit.predict(X), np.argmax(fit.decision_function(X), 1))


@pytest.mark.filterwarnings("ignore::penalized.workflows.cv.GridEdgeWarning")
def test_cross_validate_equals_brute_force_folds():
    X, y = generated(90, 6, seed=11)
    splits = [(np.setdiff1d(np.arange(90), test), test)
              for test in np.array_split(np.random.default_rng(11).permutation(90), 3)]
    alphas = np.geomspace(0.2, 0.002, 5)
    cv = pz.cross_validate(X, y, DATAFIT, pz.L1(), cv=splits, alphas=alphas, tol=1e-10,
                           scoring="log_loss")
    assert cv.fold_scores.shape == (3, 5) and cv.path.coefs.shape == (5, 6, 3)
    for fold, (train, test) in enumerate(splits):
        for k in (0, 3):
            res = pz.fit(X[train], y[train], DATAFIT, pz.L1(), alpha=alphas[k], tol=1e-10)
            probabilities = DATAFIT.inverse_link(res.decision_function(X[test]))
            expected = log_loss(y[test], probabilities, labels=[0, 1, 2])
            assert cv.fold_scores[fold, k] == pytest.approx(expected, rel=1e-6)
    assert cv.alpha_1se >= cv.alpha_min
    accuracy = pz.cross_validate(X, y, DATAFIT, pz.L2(), cv=3, n_alphas=4, scoring="accuracy")
    assert np.all((accuracy.mean >= 0) & (accuracy.mean <= 1))
    with pytest.raises(ValueError, match="two classes"):
        pz.cross_validate(X, y, DATAFIT, pz.L1(), cv=3, n_alphas=3, scoring="auc")


@pytest.mark.parametrize("penalty", ["l1", "l2"])
def test_logistic_regression_is_multinomial_like_sklearn(penalty, sparse):
    X, y = standardized(load_wine)
    labels = np.array(["a", "b", "c"])[y]
    Xf = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0)) if sparse else X
    options = {"solver": "saga"} if penalty == "l1" else {"solver": "lbfgs"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = SklearnLogisticRegression(C=0.5, l1_ratio=float(penalty == "l1"),
                                              tol=1e-12, max_iter=20_000,
                                              **options).fit(Xf, labels)
    ours = LogisticRegression(C=0.5, penalty=penalty, tol=1e-10).fit(Xf, labels)
    assert ours.coef_.shape == (3, X.shape[1]) and ours.intercept_.shape == (3,)
    np.testing.assert_array_equal(ours.classes_, reference.classes_)
    np.testing.assert_allclose(ours.predict_proba(Xf), reference.predict_proba(Xf), atol=1e-4)
    np.testing.assert_array_equal(ours.predict(Xf), reference.predict(Xf))
    np.testing.assert_allclose(ours.decision_function(Xf), reference.decision_function(Xf),
                               atol=1e-3)


@pytest.mark.filterwarnings("ignore::penalized.workflows.cv.GridEdgeWarning")
def test_logistic_regression_cv_multinomial():
    X, y = standardized(load_iris)
    model = LogisticRegressionCV(Cs=4, penalty="l1", cv=3, scoring="neg_log_loss",
                                 tol=1e-8).fit(X, y)
    assert model.coef_.shape == (3, 4) and model.C_.shape == (3,)
    assert set(model.scores_) == {0, 1, 2} and model.scores_[0].shape == (3, 4)
    assert model.coef_path_.shape == (4, 4, 3)
    # the refit is the multinomial fit at the chosen C
    single = LogisticRegression(C=float(model.C_[0]), penalty="l1", tol=1e-10).fit(X, y)
    np.testing.assert_allclose(model.predict_proba(X), single.predict_proba(X), atol=1e-4)
    assert model.score(X, y) > 0.85
    scaled = LogisticRegressionCV(Cs=3, cv=3, standardize=True).fit(X * 10.0, y)
    assert scaled.coef_.shape == (3, 4) and scaled.score(X * 10.0, y) > 0.85


def test_solver_reads_its_settings():
    """The solver's constants come from its CDSettings (a typed record into the compiled
    code): changing one changes the work done, never the optimum reached."""
    import dataclasses

    from penalized.solvers import Iterate, MultinomialCoordinateDescent
    from penalized.solvers.cd.settings import DEFAULT
    from penalized.workflows.fitting import null_point, stopping_scale

    X, y = standardized(load_wine)
    alpha = 0.01 * pz.alpha_max(X, y, DATAFIT, pz.L1())
    problem = pz.make_problem(X, y, DATAFIT, pz.L1(alpha=alpha))

    def solve(**changes):
        settings = dataclasses.replace(DEFAULT, **changes)
        result, _ = MultinomialCoordinateDescent(tol=1e-10, settings=settings).solve(
            problem, Iterate(*null_point(problem)), stopping_scale(problem))
        assert result.converged and result.stop_reason == "gap"
        return result

    reference = solve()
    for changes in ({"row_sweeps": 1}, {"support_max_size": 0}, {"max_model_epochs": 1},
                    {"newton_forcing": 0.9}, {"max_newton": 1}):
        result = solve(**changes)
        assert result.objective == pytest.approx(reference.objective, rel=1e-9)
        assert result.n_iter != reference.n_iter, changes
