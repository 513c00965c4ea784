"""Box constraints (lower / upper), exclude, dfmax / pmax: against scipy's L-BFGS-B on the
same objective, glmnet's lower_limits / upper_limits, and the KKT conditions of the box."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize

import penalized as pz
from penalized.penalties.bounds import box_alpha_max, kkt_scores
from penalized.penalties.compiled import box_prox_scalar, box_subdiff_scalar


def _data(n=60, p=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = X @ np.array([1.5, -1.2, 0.8, -0.6, 0.4, 0.0, 0.0, 0.3])[:p] + 0.5 * rng.standard_normal(n)
    return X, y


#: bounds that bind on some coefficients and not on others (features 5 and 6 are 0 at
#: the optimum; lower = 0 on feature 1, whose unconstrained coefficient is negative)
LOWER = np.array([-np.inf, 0.0, -1.0, -0.3, -np.inf, -1.0, -2.0, -0.1])
UPPER = np.array([1.0, np.inf, 0.5, 2.0, np.inf, 1.0, 0.0, 0.1])


def _reference(X, y, alpha, ratio, loss="squares"):
    """The bounded elastic net by L-BFGS-B: ``w = u - v`` with ``0 <= u <= max(upper, 0)``
    and ``0 <= v <= max(-lower, 0)`` makes the L1 part linear and the box simple."""
    n, p = X.shape

    def objective(t):
        u, v, b = t[:p], t[p:2 * p], t[-1]
        w = u - v
        z = X @ w + b
        if loss == "squares":
            r = z - y
            value, dz = r @ r / (2 * n), r / n
        else:  # logistic, y in {-1, 1}
            m = -y * z
            value, dz = np.logaddexp(0, m).mean(), -y / (1 + np.exp(-m)) / n
        value += alpha * (ratio * (u.sum() + v.sum()) + (1 - ratio) / 2 * w @ w)
        gw = X.T @ dz + alpha * (1 - ratio) * w
        return value, np.concatenate([gw + alpha * ratio, -gw + alpha * ratio, [dz.sum()]])

    box = [(0, max(h, 0)) for h in UPPER] + [(0, max(-lo, 0)) for lo in LOWER] + [(None, None)]
    out = minimize(objective, np.zeros(2 * p + 1), jac=True, method="L-BFGS-B", bounds=box,
                   options=dict(ftol=1e-15, gtol=1e-11, maxiter=20_000, maxcor=30))
    return out.x[:p] - out.x[p:2 * p], out.fun


@pytest.mark.parametrize("ratio", [1.0, 0.5, 0.0])
@pytest.mark.parametrize("solver,sparse", [("cd", False), ("cd", True), ("fista", False)])
def test_bounded_least_squares_equals_lbfgsb(ratio, solver, sparse):
    X, y = _data()
    pen = pz.ElasticNet(l1_ratio=ratio, lower=LOWER, upper=UPPER)
    ref, ref_value = _reference(X, y, 0.05, ratio)
    res = pz.fit(sp.csc_matrix(X) if sparse else X, y, pz.LeastSquares(), pen, alpha=0.05,
                 solver=solver, tol=1e-10)
    assert res.certificate_kind == "kkt" and res.stop_reason == "kkt"
    assert np.all(res.coef >= LOWER) and np.all(res.coef <= UPPER)
    active = (res.coef == LOWER) | (res.coef == UPPER)
    assert 2 <= active.sum() < X.shape[1] - 1  # the box binds, but not everywhere
    assert res.objective <= ref_value + 1e-12 and res.objective >= ref_value - 1e-9
    np.testing.assert_allclose(res.coef, ref, atol=2e-5)


def test_bounded_logistic_equals_lbfgsb():
    X, y = _data(n=120, seed=1)
    labels = np.where(y + 0.3 * np.random.default_rng(2).standard_normal(len(y)) > 0, 1, -1)
    ref, ref_value = _reference(X, labels, 0.01, 1.0, loss="logistic")
    res = pz.fit(X, labels, pz.Logistic(), pz.L1(lower=LOWER, upper=UPPER), alpha=0.01,
                 tol=1e-10)
    assert res.stop_reason == "kkt" and abs(res.objective - ref_value) <= 1e-9
    np.testing.assert_allclose(res.coef, ref, atol=1e-4)


def test_limits_and_standardize_equal_glmnet():
    glmnet = pytest.importorskip("glmnet")
    X, y = _data(n=100, seed=3)
    X = X * np.linspace(0.5, 3.0, X.shape[1])  # unequal scales: the bounds stay original
    lower, upper = np.maximum(LOWER, -5), np.minimum(UPPER, 5)  # glmnet wants finite ones
    lambdas = np.array([0.3, 0.05, 0.01])
    # (the lasso: glmnet's elastic net scales its ridge part by the sd of y, which its
    # gaussian family standardizes, so alpha < 1 differs even without bounds)
    ref = glmnet.ElasticNet(alpha=1.0, lambda_path=lambdas, lower_limits=lower,
                            upper_limits=upper, standardize=True, n_splits=0,
                            tol=1e-12).fit(X, y)
    ours = pz.path(X, y, penalty=pz.L1(lower=lower, upper=upper),
                   alphas=lambdas, standardize=True, tol=1e-12)
    for k in range(3):
        scale = np.abs(ref.coef_path_[:, k]).max()
        np.testing.assert_allclose(ours.coefs[k], ref.coef_path_[:, k], atol=1e-6 * scale)
        assert ours.intercepts[k] == pytest.approx(ref.intercept_path_[k], abs=1e-6)
    assert np.any(ours.coefs == lower) and np.any(ours.coefs == upper)


def test_kkt_scores_see_the_normal_cone_and_match_the_compiled_ones():
    rng = np.random.default_rng(4)
    pen = pz.ElasticNet(alpha=0.3, l1_ratio=0.6, lower=-0.5, upper=0.5)
    box = pen.bounds(6)
    w = np.array([0.5, -0.5, 0.0, 0.2, 0.5, -0.5])
    grad = np.array([-2.0, 2.0, 0.1, 0.05, 3.0, -3.0])  # first two push out of the box
    scores = kkt_scores(pen, w, grad, box)
    free = pen.subdiff_distance(w, grad)
    assert scores[0] == scores[1] == 0.0 < min(free[0], free[1])  # absorbed by the cone
    assert scores[4] == free[4] > 0 and scores[5] == free[5] > 0  # pointing inward: kept
    for _ in range(200):
        wj = rng.choice([-0.5, 0.5, 0.0, rng.uniform(-0.5, 0.5)])
        gj = rng.normal(scale=2)
        a = np.array([wj])
        ref = kkt_scores(pen, a, np.array([gj]), (np.array([-0.5]), np.array([0.5])))[0]
        assert box_subdiff_scalar(0, wj, gj, 0.3, 0.6, False, -0.5, 0.5) == \
            pytest.approx(ref, abs=1e-14)
        assert box_prox_scalar(0, wj - gj, 0.7, 0.3, 0.6, False, -0.5, 0.5) == \
            pytest.approx(pz.ElasticNet(alpha=0.3, l1_ratio=0.6).prox(
                np.array([wj - gj]), 0.7).clip(-0.5, 0.5)[0], abs=1e-15)


def test_lower_zero_is_positive_and_alpha_max_sees_the_box():
    X, y = _data()
    a = pz.path(X, y, penalty=pz.L1(positive=True), n_alphas=15, tol=1e-10)
    b = pz.path(X, y, penalty=pz.L1(lower=0.0), n_alphas=15, tol=1e-10)
    np.testing.assert_allclose(b.alphas, a.alphas)
    np.testing.assert_allclose(b.coefs, a.coefs, atol=1e-6)
    # upper = 0 on the features with a positive pull: alpha_max comes from the rest
    grad = -(X - X.mean(0)).T @ (y - y.mean()) / len(y)
    upper = np.where(grad < 0, 0.0, np.inf)
    a_max = pz.alpha_max(X, y, penalty=pz.L1(upper=upper))
    assert a_max == pytest.approx(np.max(grad[grad > 0]), rel=1e-10)
    assert a_max == pytest.approx(box_alpha_max(pz.L1(), grad, (np.full(8, -np.inf), upper)))
    at_top = pz.fit(X, y, penalty=pz.L1(upper=upper), alpha=a_max * (1 + 1e-9))
    below = pz.fit(X, y, penalty=pz.L1(upper=upper), alpha=a_max * 0.99)
    assert at_top.n_nonzero == 0 < below.n_nonzero


def test_bad_bounds_get_one_clear_error():
    X, y = _data()
    with pytest.raises(ValueError, match="lower must be <= 0.*feature 2"):
        pz.L1(lower=[0.0, -1.0, 0.5])
    with pytest.raises(ValueError, match="upper must be >= 0"):
        pz.L1(upper=-1.0)
    with pytest.raises(ValueError, match="lower must be <= 0"):
        pz.L1(lower=np.nan)
    with pytest.raises(ValueError, match="lower has 3 entries but X has 8 features"):
        pz.fit(X, y, penalty=pz.L1(lower=[-1.0, -1.0, -1.0]))
    with pytest.raises(ValueError, match="box constraints.*fista"):
        pz.fit(X, y, penalty=pz.L2(upper=1.0), solver="gd")
    labels = np.arange(60) % 3
    with pytest.raises(ValueError, match="box constraints"):
        pz.fit(X, labels, pz.Multinomial(), pz.L1(upper=1.0), alpha=0.01)


def test_exclude_equals_dropping_the_columns():
    import pandas as pd

    X, y = _data()
    frame = pd.DataFrame(X, columns=[f"c{j}" for j in range(8)])
    dropped = pz.path(np.delete(X, [0, 3], axis=1), y, n_alphas=12, tol=1e-10)
    for exclude in ([0, 3], ["c0", "c3"]):
        p = pz.path(frame, y, n_alphas=12, tol=1e-10, exclude=exclude,
                    alphas=dropped.alphas)
        assert np.all(p.coefs[:, [0, 3]] == 0)
        np.testing.assert_allclose(np.delete(p.coefs, [0, 3], axis=1), dropped.coefs,
                                   atol=1e-7)
    # an infinite weight is the same exclusion (and the default grid agrees)
    weights = np.ones(8)
    weights[[0, 3]] = np.inf
    a = pz.path(X, y, penalty=pz.L1(weights=weights), n_alphas=12, tol=1e-10)
    np.testing.assert_allclose(a.alphas, dropped.alphas)
    np.testing.assert_allclose(np.delete(a.coefs, [0, 3], axis=1), dropped.coefs, atol=1e-7)
    with pytest.raises(ValueError, match="column 'nope'"):
        pz.path(frame, y, exclude=["nope"])
    with pytest.raises(ValueError, match="column indices"):
        pz.path(X, y, exclude=[8])


@pytest.mark.parametrize("engine", ["compiled", "python"])
def test_dfmax_and_pmax_truncate_the_path(engine):
    X, y = _data()
    full = pz.path(X, y, n_alphas=40, engine=engine)
    ever = np.maximum.accumulate(full.coefs != 0, axis=0).sum(axis=1)  # pmax counts these
    for name, bound, counts in (("dfmax", 3, full.n_nonzero), ("pmax", 4, ever)):
        cut = pz.path(X, y, n_alphas=40, engine=engine, **{name: bound})
        k = len(cut)
        assert 0 < k < 40 and np.all(counts[:k] <= bound) and counts[k] > bound
        np.testing.assert_allclose(cut.coefs, full.coefs[:k], atol=1e-12)
        assert cut.truncation.startswith(f"stopped after {k} of 40 alphas: {name}={bound}")
        assert "stopped after" in repr(cut)
    with pytest.raises(ValueError, match="already at the first alpha"):
        pz.path(X, y, alphas=[1e-3], dfmax=1, engine=engine)
    with pytest.raises(ValueError, match="dfmax must be a non-negative integer"):
        pz.path(X, y, dfmax=-1)


def test_cross_validate_with_dfmax_and_exclude():
    X, y = _data()
    cut = pz.path(X, y, n_alphas=30, dfmax=2, exclude=[0])
    cv = pz.cross_validate(X, y, cv=3, n_alphas=30, dfmax=2, exclude=[0])
    np.testing.assert_allclose(cv.alphas, cut.alphas)
    assert np.all(cv.path.coefs[:, 0] == 0) and cv.path.n_nonzero.max() <= 2
    plain = pz.cross_validate(X, y, cv=3, alphas=cut.alphas, exclude=[0])
    np.testing.assert_allclose(cv.fold_scores, plain.fold_scores, rtol=1e-8)


def test_cli_exclude_and_dfmax(tmp_path, capsys):
    import json

    from test_cli import make_frame

    from penalized.app.cli import main

    path = tmp_path / "houses.csv"
    make_frame().to_csv(path, index=False)
    argv = ["fit", path, "-t", "price", "--cv", "3", "--n-alphas", "20", "--no-report",
            "--json", "--exclude", "city", "--exclude", "noise", "--dfmax", "1", "-o"]
    assert main([str(a) for a in argv + [tmp_path / "a"]]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["coefficients"]) <= {"size", "rooms"} and result["n_nonzero"] <= 1
    code = main([str(a) for a in argv[:-7] + ["--exclude", "nope", "-o", tmp_path / "b"]])
    err = capsys.readouterr().err
    assert code == 2 and "--exclude 'nope': no such feature" in err
    assert len(err.strip().splitlines()) == 1


def test_bounds_in_original_units_on_every_route():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 6)) * np.linspace(0.5, 3, 6)
    y = X @ np.array([1, -1, 0.5, 0, 0, 0.2]) + rng.standard_normal(300)
    pen = pz.L1(lower=-0.3, upper=0.4)
    moments = pz.cross_validate(X, y, penalty=pen, cv=3, n_alphas=10, standardize=True)
    rows = pz.cross_validate(X, y, penalty=pen, cv=3, n_alphas=10, standardize=True,
                             precompute=False)
    np.testing.assert_allclose(moments.fold_scores, rows.fold_scores, rtol=1e-10)
    np.testing.assert_allclose(moments.path.coefs, rows.path.coefs, atol=1e-10)
    assert moments.path.coefs.min() == -0.3 and moments.path.coefs.max() == 0.4
    labels = np.argmax(X[:, :3] + rng.standard_normal((300, 3)), axis=1)
    res = pz.fit(X, labels, pz.Multinomial(), pz.L1(lower=-0.2, upper=0.2), alpha=0.01,
                 solver="fista", tol=1e-8)
    assert res.stop_reason == "kkt" and res.coef.min() == -0.2 and res.coef.max() == 0.2


@pytest.mark.parametrize("loss", ["squares", "logistic"])
@pytest.mark.parametrize("solver", ["cd", "fista"])
def test_positive_with_unpenalized_features_closes_its_gap(loss, solver):
    """``positive`` constrains unpenalized features too: feature 1 (weight 0) would be
    negative and is held at 0, feature 0 (weight 0) is positive. The gap must close (the
    dual only needs ``v_1 <= 0`` there), at L-BFGS-B's optimum of the same objective."""
    X, y = _data(n=100, seed=3)
    if loss == "logistic":
        y = np.where(y > 0, 1.0, -1.0)
    datafit = pz.LeastSquares() if loss == "squares" else pz.Logistic()
    omega = np.ones(X.shape[1])
    omega[[0, 1]] = 0.0
    alpha, ratio = 0.05, 0.5
    pen = pz.ElasticNet(l1_ratio=ratio, weights=omega, positive=True)
    n, p = X.shape

    def objective(t):
        w, b = t[:p], t[-1]
        z = X @ w + b
        if loss == "squares":
            value, dz = (z - y) @ (z - y) / (2 * n), (z - y) / n
        else:
            m = -y * z
            value, dz = np.logaddexp(0, m).mean(), -y / (1 + np.exp(-m)) / n
        value += alpha * omega @ (ratio * w + (1 - ratio) / 2 * w * w)
        gw = X.T @ dz + alpha * omega * (ratio + (1 - ratio) * w)
        return value, np.append(gw, dz.sum())

    ref = minimize(objective, np.zeros(p + 1), jac=True, method="L-BFGS-B",
                   bounds=[(0, None)] * p + [(None, None)],
                   options=dict(ftol=1e-15, gtol=1e-11, maxiter=20_000))
    res = pz.fit(X, y, datafit, pen, alpha=alpha, solver=solver, tol=1e-10)
    assert res.converged and res.stop_reason == "gap" and res.certificate_kind == "gap"
    assert res.coef[1] == 0.0 and res.coef[0] > 0 and np.all(res.coef >= 0)
    assert abs(res.objective - ref.fun) <= 1e-9 * max(1.0, abs(ref.fun))
    path = pz.path(X, y, datafit, pen, n_alphas=10, tol=1e-8)
    assert path.converged.all() and np.all(path.coefs >= 0)
