"""Poisson (log link) and Huber datafits, and offsets, against closed forms, finite
differences, scikit-learn, glum and skglm (each run here when installed), on generated
data and on the corpus's count tables (AER DoctorVisits, COUNT medpar)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.optimize import minimize, minimize_scalar

import penalized as pz
from penalized import datasets
from penalized.app.cli import main
from penalized.linear_model import PoissonRegressor
from penalized.workflows.scoring import get_scorer


def counts(n=300, p=8, seed=0, exposure=False):
    """Poisson counts of a sparse log-linear model: ``(X, y)`` or ``(X, y, exposure)``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 1.5, p) + 0.2
    w = np.zeros(p)
    w[:3] = [0.4, -0.3, 0.2]
    e = rng.uniform(0.5, 4.0, n)
    y = rng.poisson(np.exp(X @ w + 0.3) * (e if exposure else 1.0)).astype(float)
    return (X, y, e) if exposure else (X, y)


def robust(n=200, p=8, seed=0):
    """A linear model with heavy-tailed (Student t, 1.5 dof) noise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 2.0, p) + 0.3
    return X, X @ rng.standard_normal(p) + 1.0 + rng.standard_t(1.5, n)


DATAFITS = [pz.Poisson(), pz.Huber(epsilon=1.0)]


def target_for(datafit, seed=0):
    return counts(seed=seed) if datafit.default_scoring else robust(seed=seed)


# ---- the math ------------------------------------------------------------------------
@pytest.mark.parametrize("datafit", DATAFITS, ids=repr)
def test_gradient_with_offset_matches_finite_differences(datafit):
    X, y = target_for(datafit)
    offset = np.random.default_rng(1).uniform(-0.5, 0.5, y.shape[0])
    problem = pz.make_problem(X, y, datafit, pz.L1(alpha=0.1), offset=offset)
    w, b, step = 0.1 * np.arange(X.shape[1]) / X.shape[1], 0.2, 1e-6
    grad_w, grad_b, z = problem.gradient(w, b)
    np.testing.assert_allclose(z, X @ w + b + offset)

    def f(w, b):
        return problem.datafit_value(problem.linear_predictor(w, b))

    numeric = [(f(w + step * e, b) - f(w - step * e, b)) / (2 * step) for e in np.eye(len(w))]
    np.testing.assert_allclose(grad_w, numeric, rtol=1e-6, atol=1e-9)
    assert grad_b == pytest.approx((f(w, b + step) - f(w, b - step)) / (2 * step), rel=1e-6)


@pytest.mark.parametrize("datafit", DATAFITS, ids=repr)
def test_conjugate_is_the_numerical_supremum(datafit):
    """``loss_y^*(a) = sup_z a z - loss(y, z)``, by a bounded scalar maximization."""
    for y, a in [(3.0, -0.8), (3.0, 0.4), (0.0, 0.3), (1.0, 0.9), (7.0, -0.7)]:
        yy = np.array([y])
        found = minimize_scalar(lambda z, a=a, yy=yy: -(a * z - datafit.loss(yy, [z])[0]),
                                bounds=(-30, 30), method="bounded",
                                options={"xatol": 1e-12})
        assert datafit.conjugate(yy, np.array([a]))[0] == pytest.approx(-found.fun, abs=1e-9)
    # outside the domain: Poisson a + y < 0, Huber |a| > epsilon
    outside = -4.0 if datafit.default_scoring else 1.5
    assert np.isinf(datafit.conjugate(np.array([3.0]), np.array([outside]))[0])


def test_poisson_loss_is_the_half_deviance_and_null_model_the_log_mean():
    y = np.array([0.0, 1.0, 4.0, 2.0])
    z = np.log(np.array([0.5, 2.0, 3.0, 2.0]))
    mu = np.exp(z)
    expected = np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / mu), 0.0) - y + mu
    np.testing.assert_allclose(pz.Poisson().loss(y, z), expected, atol=1e-15)
    X = np.ones((4, 1))
    problem = pz.make_problem(X, y, pz.Poisson(), pz.L1())
    assert problem.intercept_at_zero() == pytest.approx(np.log(y.mean()))
    offset = np.log(np.array([1.0, 2.0, 3.0, 4.0]))  # exposures: log(sum y / sum e)
    with_offset = pz.make_problem(X, y, pz.Poisson(), pz.L1(), offset=offset)
    assert with_offset.intercept_at_zero() == pytest.approx(np.log(y.sum() / 10.0))


def test_huber_intercept_is_exact():
    rng = np.random.default_rng(3)
    y, s = rng.standard_t(1.2, 101), rng.uniform(0.1, 2, 101)
    huber = pz.Huber(epsilon=0.8)
    b = huber.intercept_at_zero(y, s)
    found = minimize_scalar(lambda c: s @ huber.loss(y, np.full(101, c)),
                            bounds=(y.min(), y.max()), method="bounded",
                            options={"xatol": 1e-12})
    assert b == pytest.approx(found.x, abs=1e-8)
    assert abs(s @ huber.dloss(y, np.full(101, b))) <= 1e-10 * s.sum()


@pytest.mark.parametrize("datafit", DATAFITS, ids=repr)
def test_alpha_max_zeroes_the_lasso_exactly(datafit):
    X, y = target_for(datafit)
    offset = np.linspace(-0.3, 0.3, y.shape[0])
    a_max = pz.alpha_max(X, y, datafit, pz.L1(), offset=offset)
    at = pz.fit(X, y, datafit, pz.L1(), alpha=a_max * (1 + 1e-9), offset=offset)
    below = pz.fit(X, y, datafit, pz.L1(), alpha=a_max * 0.95, offset=offset)
    assert at.n_nonzero == 0 and below.n_nonzero > 0


# ---- against scikit-learn, glum, skglm ----------------------------------------------
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_l2_poisson_equals_sklearn_poisson_regressor(fit_intercept):
    """scikit-learn's ``PoissonRegressor(alpha)`` is ``Poisson + L2(alpha)``: same alpha."""
    from sklearn.linear_model import PoissonRegressor as SklearnPoisson

    X, y = counts(seed=1)
    for alpha in (1e-2, 0.3):
        ours = pz.fit(X, y, pz.Poisson(), pz.L2(), alpha=alpha, tol=1e-14,
                      fit_intercept=fit_intercept)
        theirs = SklearnPoisson(alpha=alpha, tol=1e-12, max_iter=1000, solver="newton-cholesky",
                                fit_intercept=fit_intercept).fit(X, y)
        np.testing.assert_allclose(ours.coef, theirs.coef_, atol=1e-6)
        assert ours.intercept == pytest.approx(theirs.intercept_, abs=1e-6)
        np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-6)


def test_poisson_on_medpar_equals_sklearn_and_the_estimator_is_a_drop_in():
    from sklearn.linear_model import PoissonRegressor as SklearnPoisson

    table = datasets.load("medpar")
    theirs = SklearnPoisson(alpha=0.01, tol=1e-12, max_iter=1000,
                            solver="newton-cholesky").fit(table.X, table.y)
    ours = PoissonRegressor(alpha=0.01, tol=1e-7).fit(table.X, table.y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-6)
    assert ours.intercept_ == pytest.approx(theirs.intercept_, abs=1e-6)
    assert ours.score(table.X, table.y) == pytest.approx(theirs.score(table.X, table.y),
                                                         rel=1e-8)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_elastic_net_poisson_equals_glum(l1_ratio, fit_intercept=True):
    """glum's ``alpha`` and ``l1_ratio`` are ours (half deviance + elastic net)."""
    glum = pytest.importorskip("glum")
    X, y = counts(seed=2)
    penalty = pz.ElasticNet(l1_ratio=l1_ratio)
    a_max = pz.alpha_max(X, y, pz.Poisson(), penalty, fit_intercept=fit_intercept)
    for fraction in (0.3, 0.03):
        alpha = fraction * a_max
        ours = pz.fit(X, y, pz.Poisson(), penalty, alpha=alpha, tol=1e-14,
                      fit_intercept=fit_intercept)
        theirs = glum.GeneralizedLinearRegressor(
            family="poisson", alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
            gradient_tol=1e-12, max_iter=1000).fit(X, y)
        np.testing.assert_allclose(ours.coef, theirs.coef_, atol=1e-6)
        assert ours.intercept == pytest.approx(theirs.intercept_, abs=1e-6)


@pytest.mark.slow  # skglm compiles its jitclasses in every process (about 30 s here)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_l1_poisson_equals_skglm(fit_intercept):
    """skglm's ``Poisson`` is ``exp(z) - y z`` (ours less a constant): same minimizers;
    on DoctorVisits (collinear one-hot pairs: minimizers not unique) same objective."""
    pytest.importorskip("skglm")
    from skglm import GeneralizedLinearEstimator
    from skglm.datafits import Poisson as SkglmPoisson
    from skglm.penalties import L1 as SkglmL1
    from skglm.solvers import ProxNewton

    X, y = counts(seed=3)
    table = datasets.load("doctor_visits")
    for data, unique in (((X, y), True), ((table.X, table.y), False)):
        a_max = pz.alpha_max(*data, pz.Poisson(), pz.L1(), fit_intercept=fit_intercept)
        for fraction in (0.3, 0.05):
            alpha = fraction * a_max
            ours = pz.fit(*data, pz.Poisson(), pz.L1(), alpha=alpha, tol=1e-14,
                          fit_intercept=fit_intercept)
            theirs = GeneralizedLinearEstimator(
                SkglmPoisson(), SkglmL1(alpha),
                ProxNewton(tol=1e-12, fit_intercept=fit_intercept, max_iter=200)).fit(*data)
            w = theirs.coef_.ravel()
            b = float(np.ravel(theirs.intercept_)[0]) if fit_intercept else 0.0
            problem = pz.make_problem(*data, pz.Poisson(), pz.L1(alpha=alpha),
                                      fit_intercept=fit_intercept)
            assert ours.objective == pytest.approx(problem.objective(w, b), rel=1e-10)
            if unique:
                np.testing.assert_allclose(ours.coef, w, atol=1e-6)


def test_poisson_path_on_doctor_visits_is_certified_and_engines_agree():
    table = datasets.load("doctor_visits")
    # (tol below CDSettings.progress_min_tol: only the duality gap stops)
    compiled = pz.path(table.X, table.y, pz.Poisson(), pz.L1(), n_alphas=15, tol=1e-10,
                       engine="compiled")
    python = pz.path(table.X, table.y, pz.Poisson(), pz.L1(), n_alphas=15, tol=1e-10,
                     engine="python")
    assert set(compiled.stop_reasons) == {"gap"}
    assert np.all(compiled.certificates <= 1e-10 * compiled.objectives)
    np.testing.assert_allclose(compiled.objectives, python.objectives, rtol=1e-8)
    assert compiled.n_nonzero[0] == 0 and compiled.n_nonzero[-1] >= 10


def test_huber_equals_sklearn_huber_regressor_at_its_scale():
    """HuberRegressor(epsilon, alpha_sk) also fits a scale sigma; at its ``scale_`` its
    coefficients are ours on ``(X / sigma, y / sigma)`` at ``alpha_sk / (n sigma)``: our
    point scores at least as well in scikit-learn's own objective."""
    from sklearn.linear_model import HuberRegressor
    from sklearn.linear_model._huber import _huber_loss_and_gradient

    X, y = robust(seed=4)
    n = y.shape[0]
    theirs = HuberRegressor(epsilon=1.35, alpha=0.1, tol=1e-12, max_iter=10_000).fit(X, y)
    sigma = theirs.scale_
    ours = pz.fit(X / sigma, y / sigma, pz.Huber(epsilon=1.35), pz.L2(),
                  alpha=0.1 / (n * sigma), tol=1e-14)
    np.testing.assert_allclose(ours.coef, theirs.coef_, atol=1e-4)
    assert ours.intercept * sigma == pytest.approx(theirs.intercept_, abs=1e-4)

    def sklearn_objective(coef, intercept):
        return _huber_loss_and_gradient(np.r_[coef, intercept, sigma], X, y, 1.35, 0.1,
                                        np.ones(n))[0]

    assert sklearn_objective(ours.coef, ours.intercept * sigma) <= \
        sklearn_objective(theirs.coef_, theirs.intercept_) + 1e-9


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_huber_equals_a_direct_minimization(fit_intercept):
    X, y = robust(seed=5)
    p = X.shape[1]
    problem = pz.make_problem(X, y, pz.Huber(), pz.L2(alpha=0.01), fit_intercept=fit_intercept)

    def objective(theta):
        w, b = theta[:p], (theta[p] if fit_intercept else 0.0)
        grad_w, grad_b, _ = problem.gradient(w, b)
        return problem.objective(w, b), np.r_[grad_w + 0.01 * w, [grad_b][:fit_intercept]]

    direct = minimize(objective, np.zeros(p + fit_intercept), jac=True, method="L-BFGS-B",
                      options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10_000})
    ours = pz.fit(X, y, pz.Huber(), pz.L2(), alpha=0.01, tol=1e-14, fit_intercept=fit_intercept)
    np.testing.assert_allclose(ours.coef, direct.x[:p], atol=1e-6)
    assert ours.objective <= direct.fun + 1e-12
    # the lasso: certified by its duality gap, and robust to the outliers least squares
    # follows
    lasso = pz.fit(X, y, pz.Huber(), pz.L1(), alpha=0.01, tol=1e-10)
    assert lasso.stop_reason == "gap" and lasso.certificate <= 1e-10 * lasso.objective


# ---- offsets -------------------------------------------------------------------------
def test_poisson_offset_is_exposure_weighting():
    """``y ~ Poisson(e exp(z))``: an offset ``log e`` gives the fit of the rates ``y / e``
    with weights ``e`` (the weights sum to n there: alpha scales by n / sum e)."""
    X, y, e = counts(seed=6, exposure=True)
    n = y.shape[0]
    for penalty, alpha in ((pz.L1(), 0.02), (pz.L2(), 0.05)):
        offset = pz.fit(X, y, pz.Poisson(), penalty, alpha=alpha, offset=np.log(e), tol=1e-13)
        rates = pz.fit(X, y / e, pz.Poisson(), penalty, alpha=alpha * n / e.sum(),
                       sample_weight=e, tol=1e-13)
        np.testing.assert_allclose(offset.coef, rates.coef, atol=1e-7)
        assert offset.intercept == pytest.approx(rates.intercept, abs=1e-7)
        assert offset.stop_reason == "gap"
        # predictions carry the new rows' exposure
        np.testing.assert_allclose(offset.predict(X[:5], offset=np.log(e[:5])),
                                   e[:5] * rates.predict(X[:5]), rtol=1e-6)


def test_offset_for_least_squares_and_logistic():
    X, y = robust(seed=7)
    offset = np.random.default_rng(7).uniform(-1, 1, y.shape[0])
    shifted = pz.fit(X, y, pz.LeastSquares(), pz.L1(), alpha=0.05, offset=offset, tol=1e-13)
    direct = pz.fit(X, y - offset, pz.LeastSquares(), pz.L1(), alpha=0.05, tol=1e-13)
    np.testing.assert_allclose(shifted.coef, direct.coef, atol=1e-8)
    labels = (y > np.median(y)).astype(float)
    problem = pz.make_problem(X, labels, pz.Logistic(), pz.L2(alpha=0.05), offset=offset)
    p = X.shape[1]

    def objective(theta):
        grad_w, grad_b, _ = problem.gradient(theta[:p], theta[p])
        return problem.objective(theta[:p], theta[p]), np.r_[grad_w + 0.05 * theta[:p], grad_b]

    direct = minimize(objective, np.zeros(p + 1), jac=True, method="L-BFGS-B",
                      options={"gtol": 1e-12, "ftol": 1e-15})
    for engine in ("compiled", "python"):
        ours = pz.path(X, labels, pz.Logistic(), pz.L2(), alphas=[0.05], offset=offset,
                       tol=1e-13, engine=engine)
        np.testing.assert_allclose(ours.coefs[0], direct.x[:p], atol=1e-6)
        assert ours.certificates[0] <= 1e-12


def test_cross_validation_splits_the_offset_by_fold():
    X, y, e = counts(n=240, seed=8, exposure=True)
    foldid = np.arange(y.shape[0]) % 3
    cv = pz.cross_validate(X, y, pz.Poisson(), pz.L1(), foldid=foldid, n_alphas=8,
                           offset=np.log(e), keep_fold_paths=True, tol=1e-10)
    assert cv.scoring == "poisson_deviance"
    scorer = get_scorer("poisson_deviance", pz.Poisson())
    for k in range(3):
        train, test = foldid != k, foldid == k
        fold = pz.path(X[train], y[train], pz.Poisson(), pz.L1(), alphas=cv.alphas,
                       offset=np.log(e[train]), tol=1e-10)
        np.testing.assert_allclose(cv.fold_coefs_grid[0, k], fold.coefs, atol=1e-7)
        Z = X[test] @ fold.coefs.T + fold.intercepts + np.log(e[test])[:, None]
        np.testing.assert_allclose(cv.fold_scores[k], scorer(pz.Poisson(), y[test], Z),
                                   rtol=1e-6)
    # the full-data fit predicts with the new rows' offset (glmnet's newoffset)
    k = cv.index_min
    expected = np.exp(X @ cv.path.coefs[k] + cv.path.intercepts[k] + np.log(e))
    np.testing.assert_allclose(cv.predict(X, offset=np.log(e)), expected, rtol=1e-12)
    np.testing.assert_allclose(cv.path.predict(X, cv.alphas[k], offset=np.log(e)), expected,
                               rtol=1e-12)


def test_poisson_deviance_scorer_is_sklearns():
    from sklearn.metrics import mean_poisson_deviance

    y = np.array([0.0, 2.0, 5.0, 1.0])
    mu = np.array([0.5, 1.5, 4.0, 2.0])
    score = get_scorer("poisson_deviance", pz.Poisson())(pz.Poisson(), y, np.log(mu))
    assert score == pytest.approx(mean_poisson_deviance(y, mu))
    assert get_scorer("deviance", pz.Poisson())(pz.Poisson(), y, np.log(mu)) == \
        pytest.approx(score)


# ---- refusals ------------------------------------------------------------------------
@pytest.mark.parametrize("make, message", [
    (lambda X: pz.fit(X, -np.arange(6.0), pz.Poisson()), "5 row.*row 1: y = -1"),
    (lambda X: pz.fit(X, np.zeros(6), pz.Poisson()), "at least one positive count"),
    (lambda X: pz.fit(X, np.ones(6), pz.Poisson(), offset=np.ones(5)), r"offset has shape"),
    (lambda X: pz.fit(X, np.ones(6), pz.Poisson(), offset=[0, 1, np.nan, 0, 0, 0]),
     "row 2"),
    (lambda X: pz.fit(X, np.arange(6) % 3, pz.Multinomial(), offset=np.zeros(6)),
     "does not take an offset"),
    (lambda X: pz.fit(X, np.ones(6), pz.Poisson(), pz.L2(), alpha=1.0, solver="gd"),
     "no global Lipschitz"),
    (lambda X: pz.Huber(epsilon=0.0), "epsilon must be a positive"),
    (lambda X: pz.cross_validate(X, np.ones(6), pz.Poisson(), cv=2, scoring="explained_variance",
                                 offset=np.zeros(6)), "predicts from X alone"),
])
def test_bad_input_gets_one_clear_error(make, message):
    X = np.random.default_rng(0).standard_normal((6, 2))
    with pytest.raises(ValueError, match=message):
        make(X)


# ---- the command line ----------------------------------------------------------------
def test_cli_task_poisson_on_doctor_visits(tmp_path, capsys):
    import pandas as pd

    table = datasets.load("doctor_visits")
    frame = pd.DataFrame(table.X[:, [2, 3, 4, 5, 6]], columns=table.feature_names[2:7])
    frame["visits"] = table.y
    data = tmp_path / "visits.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "run"
    code = main(["fit", str(data), "--target", "visits", "--task", "poisson", "--out",
                 str(out), "--json", "--cv", "3", "--n-alphas", "20"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out)
    assert result["task"] == "regression" and result["cv_scoring"] == "poisson_deviance"
    assert result["cv_metrics"]["deviance"] > 0
    report = (out / "report.html").read_text()
    assert "deviance" in report and "Poisson" in report
    saved = pz.load(out)
    assert saved.manifest["datafit"] == "poisson"
    code = main(["predict", str(out), str(data), "--out", str(tmp_path / "pred.csv")])
    assert code == 0
    predicted = pd.read_csv(tmp_path / "pred.csv")["prediction"].to_numpy()
    # the mean counts exp(X w + b), as the cross-validated fit predicts them
    z = frame.drop(columns="visits").to_numpy() @ saved.coef + saved.intercept
    np.testing.assert_allclose(predicted, np.exp(z), rtol=1e-9)
    assert np.all(predicted > 0)


def test_cli_task_huber_and_counts_never_inferred(tmp_path, capsys):
    import pandas as pd

    X, y = robust(n=120, p=3, seed=9)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=y, counts=np.round(y - y.min()))
    data = tmp_path / "robust.csv"
    frame.to_csv(data, index=False)
    code = main(["fit", str(data), "--target", "y", "--drop", "counts", "--task", "huber",
                 "--out", str(tmp_path / "huber"), "--json", "--cv", "3", "--n-alphas", "10",
                 "--no-report"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert pz.load(tmp_path / "huber").manifest["datafit"] == "huber"
    # a count target is least squares unless --task poisson says otherwise
    code = main(["fit", str(data), "--target", "counts", "--drop", "y", "--out",
                 str(tmp_path / "auto"), "--json", "--cv", "3", "--n-alphas", "10",
                 "--no-report"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert pz.load(tmp_path / "auto").manifest["datafit"] == "leastsquares"


def test_exact_refit_of_a_path_with_an_offset_needs_the_offset():
    """glmnet's rule: ``exact = TRUE`` on a fit with an offset needs the offset again; a
    refit without it would silently fit another model."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((80, 4))
    exposure = rng.uniform(0.5, 3.0, 80)
    y = rng.poisson(exposure * np.exp(0.3 * X[:, 0])).astype(float)
    offset = np.log(exposure)
    res = pz.path(X, y, pz.Poisson(), pz.L1(), offset=offset, n_alphas=5)
    alpha = float(np.sqrt(res.alphas[1] * res.alphas[2]))
    with pytest.raises(ValueError, match="offset"):
        res.fit_at(alpha, exact=True, X=X, y=y)
    refit = res.fit_at(alpha, exact=True, X=X, y=y, train_offset=offset, tol=1e-10)
    direct = pz.fit(X, y, pz.Poisson(), pz.L1(alpha=alpha), offset=offset, tol=1e-10)
    np.testing.assert_allclose(refit.coef, direct.coef, atol=1e-7)
    cv = pz.cross_validate(X, y, pz.Poisson(), pz.L1(), offset=offset, cv=3, n_alphas=5)
    assert cv.path.fitted_with_offset and all(p.fitted_with_offset for p in cv.paths)
