"""The Gram form of tall least squares (``precompute``) and the progress callback of CV."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import PENALTIES, penalty_id
from joblib import parallel_config

import penalized as pz
from penalized.core import gram as _gram
from penalized.core.certificates import certify
from penalized.core.gram import GRAM_RATIO, gram_form, use_gram
from penalized.workflows.cv import GridEdgeWarning


def tall_data(seed=0, n=240, p=9):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 3.0, p) + rng.standard_normal(p)
    X[:, -1] = X[:, 0] - X[:, 1]  # collinear: the Gram matrix is singular
    y = X[:, :3] @ np.array([1.5, -2.0, 0.7]) + rng.standard_normal(n) + 4.0
    weights = rng.uniform(0.0, 2.0, n)
    return X, y, weights


@pytest.mark.parametrize("penalty", PENALTIES, ids=penalty_id)
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_gram_form_gives_the_same_path(penalty, fit_intercept, weighted):
    X, y, weights = tall_data()
    sample_weight = weights if weighted else None
    options = {"n_alphas": 12, "alpha_min_ratio": 1e-2, "fit_intercept": fit_intercept,
               "sample_weight": sample_weight, "tol": 1e-10}
    full = pz.path(X, y, pz.LeastSquares(), penalty, precompute=False, **options)
    gram = pz.path(X, y, pz.LeastSquares(), penalty, precompute=True, **options)
    np.testing.assert_allclose(gram.alphas, full.alphas, rtol=1e-10)
    # X's collinear pair leaves one direction held only by the penalty: coefficients
    # along it are as accurate as tol allows, the predictions much more
    scale = np.abs(y).max()
    np.testing.assert_allclose(X @ gram.coefs.T + gram.intercepts,
                               X @ full.coefs.T + full.intercepts, atol=1e-6 * scale)
    np.testing.assert_allclose(gram.coefs, full.coefs, atol=1e-4 * np.abs(full.coefs).max())
    np.testing.assert_allclose(gram.objectives, full.objectives, rtol=1e-9)
    # the reported objectives and intercepts are those of the original problem
    problem = pz.make_problem(X, y, pz.LeastSquares(), penalty, fit_intercept=fit_intercept,
                              sample_weight=sample_weight)
    for k, alpha in enumerate(gram.alphas):
        sub = problem.with_penalty(penalty.with_alpha(float(alpha)))
        assert sub.objective(gram.coefs[k], gram.intercepts[k]) == pytest.approx(
            gram.objectives[k], rel=1e-10)


def test_gram_certificates_are_those_of_the_original_problem():
    # stopped early, so that the certificates are far from zero and must match
    X, y, weights = tall_data(seed=1)
    problem = pz.make_problem(X, y, pz.LeastSquares(), pz.L1(), sample_weight=weights)
    with pytest.warns(pz.ConvergenceWarning):
        res = pz.path(X, y, pz.LeastSquares(), pz.L1(), sample_weight=weights, n_alphas=8,
                      solver="fista", max_iter=3, tol=1e-14, precompute=True)
    assert res.certificates.max() > 1e-6
    for k, alpha in enumerate(res.alphas):
        cert = certify(problem.with_penalty(pz.L1(alpha=float(alpha))), res.coefs[k],
                       res.intercepts[k])
        assert cert.value == pytest.approx(res.certificates[k], rel=1e-6, abs=1e-13)
        assert cert.intercept == pytest.approx(res.intercepts[k], rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("collinear", [True, False])
def test_gram_form_is_small_and_equal_for_every_coefficient(collinear, monkeypatch):
    X, y, weights = tall_data(seed=2)
    if not collinear:
        X = X[:, :-1]
    problem = pz.make_problem(X, y, pz.LeastSquares(), pz.L2(alpha=0.1), sample_weight=weights)
    factors = []  # which factorization served: Cholesky, or the eigendecomposition
    for name in ("_cholesky_factor", "_eigen_factor"):
        original = getattr(_gram, name)
        monkeypatch.setattr(_gram, name, lambda G, c, f=original, name=name: (
            factors.append((name, f(G, c)[0] is not None)) or f(G, c)))
    form = gram_form(problem)
    if collinear:  # a pivot of ~0: refused, the eigendecomposition drops that direction
        assert factors == [("_cholesky_factor", False), ("_eigen_factor", True)]
        assert form.problem.n_samples == problem.n_features  # rank p - 1, plus one row
    else:
        assert factors == [("_cholesky_factor", True)]
    assert form.problem.n_samples <= problem.n_features + 1
    assert not form.problem.fit_intercept
    rng = np.random.default_rng(0)
    for _ in range(3):
        w = rng.standard_normal(problem.n_features)
        b = form.intercepts(w[None])[0]
        assert form.problem.objective(w, 0.0) == pytest.approx(problem.objective(w, b),
                                                               rel=1e-10)
        grad_small = form.problem.gradient(w, 0.0)[0]
        np.testing.assert_allclose(grad_small, problem.gradient(w, b)[0], atol=1e-9)


def test_precompute_rule_and_errors():
    rng = np.random.default_rng(0)
    p = 5
    tall = pz.make_problem(rng.standard_normal((GRAM_RATIO * p, p)), rng.standard_normal(
        GRAM_RATIO * p), pz.LeastSquares(), pz.L1())
    short = pz.make_problem(rng.standard_normal((GRAM_RATIO * p - 1, p)), rng.standard_normal(
        GRAM_RATIO * p - 1), pz.LeastSquares(), pz.L1())
    assert use_gram(tall, "auto") and not use_gram(short, "auto")
    assert use_gram(short, True) and not use_gram(tall, False)
    logistic = pz.make_problem(tall.X, tall.y > 0, pz.Logistic(), pz.L1())
    sparse = pz.make_problem(sp.csc_matrix(tall.X), tall.y, pz.LeastSquares(), pz.L1())
    assert not use_gram(logistic, "auto") and use_gram(sparse, True)  # (sparse: see
    with pytest.raises(ValueError, match="least-squares"):           # test_sparse_gram)
        pz.path(tall.X, tall.y > 0, pz.Logistic(), pz.L1(), precompute=True)
    with pytest.raises(ValueError, match="precompute must be"):
        pz.path(tall.X, tall.y, precompute="yes")


@pytest.fixture(scope="module")
def diabetes_data():
    from sklearn.datasets import load_diabetes

    return load_diabetes(return_X_y=True)


def test_cross_validate_precompute_matches(diabetes_data):
    X, y = diabetes_data
    options = {"cv": 3, "n_alphas": 15, "standardize": True, "tol": 1e-10}
    with_gram = pz.cross_validate(X, y, precompute=True, **options)
    without = pz.cross_validate(X, y, precompute=False, **options)
    np.testing.assert_allclose(with_gram.fold_scores, without.fold_scores, rtol=1e-7)
    np.testing.assert_allclose(with_gram.path.coefs, without.path.coefs, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_cross_validate_callback(diabetes_data, n_jobs):
    X, y = diabetes_data
    calls = []
    with parallel_config(backend="threading"):  # no process start-up in a fast test
        result = pz.cross_validate(X, y, cv=3, n_alphas=10, n_jobs=n_jobs,
                                   callback=lambda done, total: calls.append((done, total)))
    total = (3 + 1) * 10
    assert all(t == total for _, t in calls)
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == total
    if n_jobs is None:  # in process: after every alpha of every path
        assert done == list(range(1, total + 1))
    else:  # workers: after every finished path
        assert done == [10, 20, 30, 40]
    plain = pz.cross_validate(X, y, cv=3, n_alphas=10)
    np.testing.assert_array_equal(result.fold_scores, plain.fold_scores)


def test_command_line_model_reports_progress_per_fold(diabetes_data):
    from penalized.app.cli._model import cross_validated_model

    X, y = diabetes_data
    calls = []
    run = cross_validated_model(X, y, pz.LeastSquares(), pz.L1(), name="m", cv=3, n_alphas=5,
                                progress=lambda *args: calls.append(args))
    assert [done for done, _, _ in calls] == list(range(1, 21))
    assert {total for _, total, _ in calls} == {20}
    assert [what for _, _, what in calls] == (
        [f"m: fold {k}/3" for k in (1, 2, 3) for _ in range(5)] + ["m: full data"] * 5)
    with pytest.warns(GridEdgeWarning):  # 5 alphas: the best is the smallest
        reference = pz.cross_validate(X, y, cv=_shuffled(3), n_alphas=5, standardize=True)
    np.testing.assert_allclose(run.coef, reference.best_fit().coef, rtol=1e-12, atol=1e-12)


def _shuffled(n_splits):
    from sklearn.model_selection import KFold

    return KFold(n_splits=n_splits, shuffle=True, random_state=0)
