"""The compiled path driver (:mod:`penalized.solvers.cd.path_driver`): the same solutions
and certificates as the Python driver (compared through ``pz.path(engine=...)``), and
the rule that picks it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import python_path

import penalized as pz
from penalized.solvers.cd import path_driver
from penalized.solvers.cd.settings import DEFAULT


def data(n=80, p=40, seed=0, rho=0.5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[:, 1:] = rho * X[:, :-1] + np.sqrt(1 - rho**2) * X[:, 1:]  # correlated neighbours
    coef = np.zeros(p)
    coef[:5] = rng.standard_normal(5) * 2
    return X, X @ coef + 0.5 * rng.standard_normal(n) + 3.0, rng.uniform(0.2, 2.0, n)


PENALTIES = [pz.L1(), pz.ElasticNet(l1_ratio=0.5), pz.L2(), pz.L1(positive=True),
             pz.ElasticNet(l1_ratio=0.8, weights=np.linspace(0.5, 2.0, 40))]





@pytest.mark.parametrize("datafit", [pz.LeastSquares(), pz.Logistic()], ids=repr)
@pytest.mark.parametrize("penalty", PENALTIES, ids=lambda p: repr(p)[:30])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_compiled_path_equals_the_working_set_solver(datafit, penalty, fit_intercept,
                                                     weighted, spy):
    X, y, weights = data()
    if not datafit.quadratic:
        y = (y > np.median(y)).astype(float)
    options = {"n_alphas": 30, "tol": 1e-10, "fit_intercept": fit_intercept,
               "sample_weight": weights if weighted else None}
    compiled = pz.path(X, y, datafit, penalty, engine="compiled", **options)
    assert len(spy) == 1
    reference = python_path(X, y, datafit, penalty, **options)
    assert len(spy) == 1  # the reference did not use it
    np.testing.assert_allclose(compiled.alphas, reference.alphas)
    np.testing.assert_allclose(compiled.objectives, reference.objectives, rtol=1e-9)
    scale = np.abs(reference.coefs).max()
    np.testing.assert_allclose(compiled.coefs, reference.coefs, atol=1e-4 * scale)
    np.testing.assert_allclose(compiled.intercepts, reference.intercepts, atol=1e-4 * scale)
    assert compiled.converged.all() and compiled.certificate_kind == "gap"
    if penalty.positive:
        assert compiled.coefs.min() >= 0.0
    # the reported objectives and duality gaps are those of the returned points
    problem = pz.make_problem(X, y, datafit, penalty, fit_intercept=fit_intercept,
                              sample_weight=options["sample_weight"])
    for k in range(0, 30, 7):
        sub = problem.with_penalty(penalty.with_alpha(float(compiled.alphas[k])))
        assert sub.objective(compiled.coefs[k], compiled.intercepts[k]) == pytest.approx(
            compiled.objectives[k], rel=1e-12)
        cert = pz.certify(sub, compiled.coefs[k], compiled.intercepts[k])
        # the path keeps the best dual point of each alpha: its gap is never larger
        assert compiled.certificates[k] <= cert.value + 1e-12 * cert.objective
        assert compiled.certificates[k] <= 1e-10 * compiled.objectives[k]


@pytest.mark.parametrize("shape", [(80, 40), (40, 120)], ids=["tall", "wide"])
@pytest.mark.parametrize("tol", [1e-4, 1e-7])
def test_compiled_path_reaches_the_target_accuracy(shape, tol, spy):
    """The true excess over the optimum (from a 1e-13 reference) is within the target:
    the gap, or the working-set solver's progress estimate where the gap is loose."""
    X, y, weights = data(*shape, seed=3)
    penalty = pz.L1()
    res = pz.path(X, y, pz.LeastSquares(), penalty, tol=tol, sample_weight=weights)
    assert len(spy) == (1 if tol >= DEFAULT.compiled_loose_tol
                        or shape[0] >= DEFAULT.compiled_tall_ratio * shape[1] else 0)
    best = python_path(X, y, pz.LeastSquares(), penalty, tol=1e-13, sample_weight=weights)
    excess = (res.objectives - best.objectives) / best.objectives
    assert excess.min() >= -1e-12
    assert excess.max() <= 2 * tol  # the bound fit() documents for small n << p paths


def test_rule_for_the_compiled_path():
    X, y, _ = data()
    grid = np.geomspace(1.0, 0.01, 5)

    def problem(X=X, y=y, datafit=None, penalty=None):
        return pz.make_problem(X, y, datafit or pz.LeastSquares(), penalty or pz.L1())

    n = X.shape[0]
    assert path_driver.refusal(problem(), "auto", grid) == ""
    assert path_driver.refusal(problem(), "cd", grid) == ""
    assert "fista" in path_driver.refusal(problem(), "fista", grid)
    assert "sparse" in path_driver.refusal(problem(X=sp.csc_matrix(X)), "auto", grid)
    assert path_driver.refusal(problem(y=y > 3, datafit=pz.Logistic()), "auto", grid) == ""
    labels = np.digitize(y, np.quantile(y, [0.33, 0.67]))
    assert "Multinomial" in path_driver.refusal(
        problem(y=labels, datafit=pz.Multinomial()), "auto", grid)
    free = np.r_[0.0, np.ones(X.shape[1] - 1)]  # an unpenalized feature
    assert "unpenalized" in path_driver.refusal(problem(penalty=pz.L1(weights=free)),
                                                "auto", grid)
    assert path_driver.refusal(problem(), "auto", np.r_[grid, 0.0])
    assert path_driver.pays(problem(), 1e-8, n)
    # few samples per feature: only at a loose tol (the Python driver's Newton step pays)
    wide = problem(X=X[:, :30].repeat(2, axis=1)[:50], y=y[:50])
    assert path_driver.pays(wide, 1e-4, 50)
    assert not path_driver.pays(wide, 1e-6, 50)
    # logistic: by size alone (the Python driver's Newton step pays on large tables)
    small = DEFAULT.compiled_max_size_curved // X.shape[1]
    tall = np.tile(X, (small // n + 1, 1))
    binary = problem(X=tall[:small], y=np.resize(y > 3, small), datafit=pz.Logistic())
    assert path_driver.pays(binary, 1e-8, small)
    larger = problem(X=tall[:small + 1], y=np.resize(y > 3, small + 1), datafit=pz.Logistic())
    assert not path_driver.pays(larger, 1e-4, small + 1)


def test_engine_compiled_refuses_with_the_reason_and_python_never_compiles(spy):
    X, y, _ = data()
    with pytest.raises(ValueError, match="sparse"):
        pz.path(sp.csc_matrix(X), y, pz.LeastSquares(), pz.L1(), engine="compiled",
                precompute=False)  # (not the Gram form, which is dense)
    with pytest.raises(ValueError, match="engine must be one of"):
        pz.path(X, y, pz.LeastSquares(), pz.L1(), engine="numba")
    res = pz.path(X, y, pz.LeastSquares(), pz.L1(), n_alphas=10, engine="python")
    assert len(spy) == 0 and res.converged.all()
    assert set(res.stop_reasons) <= {"gap", "progress"}


def test_compiled_path_stops_on_a_settled_working_set(spy):
    """Just below alpha_max one feature is active: its working set is solved exactly in
    one epoch, after which the decreases are rounding noise that the progress estimate
    never trusts. The epochs must stop there (they ran to max_iter, 20,000, before)."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 300))
    coef = np.zeros(300)
    coef[:10] = rng.standard_normal(10)
    y = X @ coef + 0.5 * rng.standard_normal(300)
    res = pz.path(X, y, pz.LeastSquares(), pz.L1(), tol=1e-4)
    assert len(spy) == 1
    assert res.converged.all()
    assert res.n_iters.max() < 200, res.n_iters.max()


def test_compiled_path_reports_what_did_not_converge(spy):
    X, y, _ = data()
    with pytest.warns(pz.ConvergenceWarning, match="did not converge"):
        res = pz.path(X, y, pz.LeastSquares(), pz.L1(), tol=1e-12, max_iter=2)
    assert len(spy) == 1
    assert not res.converged.all()
    assert res.n_iters.max() <= 2 + X.shape[1]  # the budget, checked between kernel calls
    bad = ~res.converged
    assert np.all(res.certificates[bad] > 1e-12 * res.objectives[bad])


def test_compiled_path_calls_back_for_every_alpha(spy):
    X, y, _ = data()
    seen = []
    pz.path(X, y, n_alphas=7, callback=lambda k, total: seen.append((k, total)))
    assert len(spy) == 1
    assert seen == [(k, 7) for k in range(1, 8)]


def test_lasso_cv_on_small_data_runs_compiled(spy):
    """Every fold and the full path of a LassoCV on diabetes (442 x 10, in Gram form)."""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LassoCV as SkLassoCV

    from penalized.linear_model import LassoCV

    X, y = load_diabetes(return_X_y=True)
    ours = LassoCV(cv=5, tol=1e-10).fit(X, y)  # below 1e-9: the gap alone stops
    assert len(spy) == 6
    with warnings.catch_warnings():  # it stops at max_iter, close enough
        warnings.simplefilter("ignore")
        theirs = SkLassoCV(cv=5, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(ours.alphas_, theirs.alphas_, rtol=1e-10)
    np.testing.assert_allclose(ours.mse_path_, theirs.mse_path_, rtol=1e-7)
    assert ours.alpha_ == pytest.approx(theirs.alpha_)
