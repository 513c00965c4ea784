"""Cross-validation of logistic regression on Dask arrays (issue 17, section 2): every
fold's proximal-Newton path in the same distributed passes, equal to the in-memory
``cross_validate`` (same folds, grid and scores)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold

import penalized as pz
from penalized.workflows.cv_tasks import RouteOptions
from penalized.workflows.scoring import get_scorer
from penalized.workflows.tall_newton_cv import newton_cross_validate

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
# small grids end where these data's best alpha still falls: both routes warn alike
pytestmark = pytest.mark.filterwarnings("ignore::penalized.workflows.cv.GridEdgeWarning")


def _data(n=1200, p=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 3.0, p) + 2.0
    z = X[:, :3] @ np.array([1.0, -1.0, 0.5]) - 2.0 + rng.logistic(size=n)
    return X, np.where(z > 0, "yes", "no"), rng.uniform(0.5, 2.0, n)


def _dask(X, y, s):
    """Uneven row blocks, and y and the weights chunked otherwise than X."""
    return (da.from_array(X, chunks=((300, 100, X.shape[0] - 400), (X.shape[1],))),
            da.from_array(y, chunks=500), None if s is None else da.from_array(s, chunks=350))


def _assert_equal_cv(res, ref, rtol=1e-6) -> None:
    """Same grid, scores and choice; full-data paths equal in objective. (Scores move to
    first order with the coefficients, which an objective known to 1e-14 relative pins
    to about 1e-7: the in-memory solver's accuracy bounds the scores' agreement.)"""
    np.testing.assert_allclose(res.alphas_grid, ref.alphas_grid, rtol=1e-12)
    np.testing.assert_allclose(res.fold_scores_grid, ref.fold_scores_grid, rtol=rtol)
    np.testing.assert_allclose(res.mean, ref.mean, rtol=rtol)
    assert (res.index_min, res.index_1se, res.l1_ratio) == \
        (ref.index_min, ref.index_1se, ref.l1_ratio)
    for a, b in zip(res.paths, ref.paths, strict=True):
        np.testing.assert_allclose(a.objectives, b.objectives, rtol=1e-10)
        np.testing.assert_allclose(a.coefs, b.coefs, rtol=1e-4, atol=1e-5)
        assert list(a.classes) == list(b.classes)


def _fold_objectives(cv, X, y, s, splits, penalties) -> np.ndarray:
    """Every fold's training objective at every kept fit (both routes' fits compared
    on the same objective)."""
    code = np.where(y == np.unique(y)[1], 1.0, -1.0)
    out = np.empty(cv.fold_coefs_grid.shape[:3])
    for c, pen in enumerate(penalties):
        for k, (train, _) in enumerate(splits):
            st = s[train] / s[train].sum()
            for i, alpha in enumerate(cv.alphas_grid[c]):
                w, b = cv.fold_coefs_grid[c, k, i], cv.fold_intercepts_grid[c, k, i]
                out[c, k, i] = st @ pz.Logistic().loss(code[train], X[train] @ w + b) \
                    + alpha * pen.value(w)
    return out


@pytest.mark.parametrize(("penalty", "scoring", "l1_ratios"), [
    (pz.L1(), None, None),
    (pz.ElasticNet(l1_ratio=0.5), "log_loss", [0.3, 1.0]),
    (pz.L1(), "class", None),
])
def test_dask_logistic_cv_equals_the_in_memory_cv(penalty, scoring, l1_ratios):
    X, y, s = _data()
    options = dict(cv=4, n_alphas=10, alpha_min_ratio=1e-2, scoring=scoring,
                   l1_ratios=l1_ratios, keep_fold_paths=True)
    with dask.config.set(scheduler="synchronous"):
        res = pz.cross_validate(*_dask(X, y, s)[:2], pz.Logistic(), penalty,
                                sample_weight=_dask(X, y, s)[2], tol=1e-13, **options)
    ref = pz.cross_validate(X, y, pz.Logistic(), penalty, sample_weight=s, tol=1e-12,
                            **options)
    _assert_equal_cv(res, ref)
    assert res.scoring == ref.scoring
    # the folds are the in-memory route's (stratified) and their fits equally optimal
    splits = list(StratifiedKFold(4).split(X, y))
    penalties = [pz.ElasticNet(l1_ratio=r) for r in l1_ratios] if l1_ratios else [penalty]
    np.testing.assert_allclose(_fold_objectives(res, X, y, s, splits, penalties),
                               _fold_objectives(ref, X, y, s, splits, penalties), rtol=1e-12)
    np.testing.assert_allclose(res.fold_intercepts_grid, ref.fold_intercepts_grid,
                               rtol=1e-4, atol=1e-5)


def test_foldid_by_weight_and_the_pass_count():
    """glmnet's foldid, scikit-learn's fold grids (``by_weight``), no refit; the passes
    are those of the slowest path, not the sum over paths."""
    X, y, s = _data(seed=1)
    foldid = np.random.default_rng(3).integers(0, 3, X.shape[0])
    calls = []
    how = RouteOptions(False, True, False, False, "by_weight", False, None,
                       {"n_alphas": 12, "alpha_min_ratio": 1e-2, "alphas": None})
    with dask.config.set(scheduler="synchronous"):
        res, stats = newton_cross_validate(
            *_dask(X, y, None)[:2], pz.Logistic(), [pz.L1()],
            get_scorer("deviance", pz.Logistic()), how, foldid=foldid, tol=1e-13,
            callback=lambda done, total: calls.append((done, total)))
    ref = pz.cross_validate(X, y, pz.Logistic(), pz.L1(), foldid=foldid, n_alphas=12,
                            alpha_min_ratio=1e-2, fold_alphas="by_weight", refit=False,
                            tol=1e-12)
    _assert_equal_cv(res, ref)
    assert res.path is None
    # one pass for the null models, then a handful per alpha shared by the 3 folds
    print(f"passes {stats['passes']} for 12 alphas x 3 folds, {stats['points']} points")
    assert stats["passes"] <= 1 + 6 * 12
    assert stats["points"] > 2 * stats["passes"]  # each pass served several folds
    # progress after every pass: alphas done over all (12 alphas x 3 folds)
    assert calls[-1] == (36, 36)
    assert np.all(np.diff([done for done, _ in calls]) >= 0)


def test_group_splitter_on_dask_arrays():
    """groups= reaches a group splitter on both Dask routes (it was ignored on the
    least-squares one)."""
    from sklearn.model_selection import GroupKFold

    X, y, _ = _data(n=600, seed=2)
    groups = np.arange(X.shape[0]) % 7
    Xd, yd, _ = _dask(X, y, None)
    with dask.config.set(scheduler="synchronous"):
        res = pz.cross_validate(Xd, yd, pz.Logistic(), cv=GroupKFold(3), groups=groups,
                                n_alphas=6, alpha_min_ratio=1e-2, tol=1e-13)
        yr = X[:, 0] + np.sin(X[:, 1])
        ls = pz.cross_validate(Xd, da.from_array(yr, chunks=200), cv=GroupKFold(3),
                               groups=groups, n_alphas=6)
    ref = pz.cross_validate(X, y, pz.Logistic(), cv=GroupKFold(3), groups=groups, n_alphas=6,
                            alpha_min_ratio=1e-2, tol=1e-12)
    _assert_equal_cv(res, ref)
    ls_ref = pz.cross_validate(X, yr, cv=GroupKFold(3), groups=groups, n_alphas=6,
                               precompute=False, tol=1e-12)
    np.testing.assert_allclose(ls.fold_scores, ls_ref.fold_scores, rtol=1e-6)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"scoring": "auc"}, "weighted mean over rows: .*'deviance'"),
    ({"fit_intercept": False}, "fit_intercept=True"),
    ({"penalty": pz.L1(weights=[0.0, 1, 1, 1, 1, 1])}, "give alphas="),
])
def test_dask_logistic_cv_refuses_what_it_does_not_do(kwargs, message):
    X, y, _ = _data(n=200)
    kwargs = {"penalty": pz.L1(), **kwargs}
    with pytest.raises(ValueError, match=message):
        pz.cross_validate(da.from_array(X, chunks=100), da.from_array(y, chunks=100),
                          pz.Logistic(), n_alphas=3, **kwargs)


def test_dask_poisson_cv_equals_the_in_memory_cv():
    """Any smooth datafit with one predictor takes the route (Poisson: its default
    scorer, the Poisson deviance)."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((600, 5)) * 0.5
    y = rng.poisson(np.exp(X @ np.array([0.5, -0.3, 0.2, 0.0, 0.0]) + 0.3)).astype(float)
    options = dict(cv=3, n_alphas=8, alpha_min_ratio=1e-2)
    with dask.config.set(scheduler="synchronous"):
        res = pz.cross_validate(da.from_array(X, chunks=(250, 5)), da.from_array(y, chunks=200),
                                pz.Poisson(), pz.L1(), tol=1e-13, **options)
    ref = pz.cross_validate(X, y, pz.Poisson(), pz.L1(), tol=1e-12, **options)
    assert res.scoring == ref.scoring == "poisson_deviance"
    np.testing.assert_allclose(res.alphas, ref.alphas, rtol=1e-12)
    np.testing.assert_allclose(res.fold_scores, ref.fold_scores, rtol=1e-9)
    np.testing.assert_allclose(res.path.objectives, ref.path.objectives, rtol=1e-12)


@pytest.mark.filterwarnings("ignore:Dask currently has limited support:UserWarning")
def test_dask_dataframe_input_keeps_the_column_names():
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    X, y, _ = _data(n=600, seed=8)
    names = [f"x{j}" for j in range(X.shape[1])]
    frame = dd.from_pandas(pd.DataFrame(X, columns=names), npartitions=3)
    options = dict(cv=3, n_alphas=5, alpha_min_ratio=1e-2)
    with dask.config.set(scheduler="synchronous"):
        res = pz.cross_validate(frame, dd.from_pandas(pd.Series(y), npartitions=3),
                                pz.Logistic(), tol=1e-13, **options)
    ref = pz.cross_validate(X, y, pz.Logistic(), tol=1e-12, **options)
    np.testing.assert_allclose(res.fold_scores, ref.fold_scores, rtol=1e-6)
    assert list(res.path.feature_names) == names


def _three_classes(n=900, p=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) + 1.0
    Z = X @ rng.standard_normal((p, 3)) + rng.gumbel(size=(n, 3))
    return X, np.array(["a", "b", "c"])[Z.argmax(1)], rng.uniform(0.5, 2.0, n)


@pytest.mark.parametrize("penalty", [pz.L1(), pz.ElasticNet(l1_ratio=0.5)])
def test_dask_multinomial_cv_equals_the_in_memory_cv(penalty):
    """Exact Newton steps (the full Hessian's blocks in each pass): the in-memory
    route's folds, grid, scores and fits to about 1e-12."""
    X, y, s = _three_classes()
    options = dict(cv=3, n_alphas=8, alpha_min_ratio=1e-2, keep_fold_paths=True)
    with dask.config.set(scheduler="synchronous"):
        res = pz.cross_validate(*_dask(X, y, s)[:2], pz.Multinomial(), penalty,
                                sample_weight=_dask(X, y, s)[2], tol=1e-13, **options)
    ref = pz.cross_validate(X, y, pz.Multinomial(), penalty, sample_weight=s, tol=1e-12,
                            **options)
    _assert_equal_cv(res, ref, rtol=1e-10)
    np.testing.assert_allclose(res.fold_coefs_grid, ref.fold_coefs_grid, atol=1e-9)
    np.testing.assert_allclose(res.fold_intercepts_grid, ref.fold_intercepts_grid, atol=1e-9)
    np.testing.assert_allclose(res.path.intercepts.sum(axis=1), 0.0, atol=1e-12)  # centered


def test_dask_multinomial_path_and_its_limits():
    X, y, _ = _three_classes(n=600, seed=1)
    Xd, yd, _ = _dask(X, y, None)
    with dask.config.set(scheduler="synchronous"):
        res = pz.path(Xd, yd, pz.Multinomial(), pz.L1(), n_alphas=6, alpha_min_ratio=1e-2,
                      tol=1e-13)
        with pytest.raises(ValueError, match="serves the elastic-net family"):
            pz.path(Xd, yd, pz.Multinomial(), pz.GroupLasso(groups=5), n_alphas=3)
    ref = pz.path(X, y, pz.Multinomial(), pz.L1(), alphas=res.alphas, tol=1e-12)
    assert res.alpha_max == pytest.approx(ref.alpha_max, rel=1e-12)
    np.testing.assert_allclose(res.objectives, ref.objectives, rtol=1e-12)
    np.testing.assert_allclose(res.coefs, ref.coefs, atol=1e-9)
    assert res.converged.all() and np.all(res.certificates < 1e-8)
    assert list(res.classes) == ["a", "b", "c"]


def test_logistic_regression_cv_takes_dask_arrays():
    """scikit-learn's LogisticRegressionCV (pure L2 over a C grid, fold alphas by weight,
    accuracy): the same choice, scores and fold paths as on NumPy arrays."""
    from penalized.linear_model import LogisticRegressionCV

    X, y, s = _data(seed=4)
    with dask.config.set(scheduler="synchronous"):
        est = LogisticRegressionCV(Cs=6, tol=1e-12).fit(*_dask(X, y, s))
    ref = LogisticRegressionCV(Cs=6, tol=1e-12).fit(X, y, sample_weight=s)
    label = ref.classes_[1]
    np.testing.assert_array_equal(est.classes_, ref.classes_)
    np.testing.assert_allclose(est.scores_[label], ref.scores_[label], atol=1e-12)
    np.testing.assert_allclose(est.coefs_paths_[label], ref.coefs_paths_[label], atol=1e-6)
    assert est.C_ == pytest.approx(ref.C_)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(est.predict(X), ref.predict(X))
    with pytest.raises(ValueError, match="class_weight with a Dask X"):
        LogisticRegressionCV(class_weight="balanced").fit(*_dask(X, y, None)[:2])


def test_on_a_local_cluster_of_two_worker_processes():
    """The passes run on 2 worker processes; the result is the in-process one."""
    distributed = pytest.importorskip("distributed")
    from penalized.workflows.distributed import local_cluster

    X, y, s = _data(n=900, seed=5)
    options = dict(cv=3, n_alphas=4, alpha_min_ratio=1e-2, tol=1e-13)
    with local_cluster(2) as cluster, distributed.Client(
            cluster, set_as_default=False, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
        res = pz.cross_validate(*_dask(X, y, None)[:2], pz.Logistic(), client=client,
                                **options)
    with dask.config.set(scheduler="synchronous"):
        alone = pz.cross_validate(*_dask(X, y, None)[:2], pz.Logistic(), **options)
    np.testing.assert_allclose(res.fold_scores, alone.fold_scores, rtol=1e-10)
    np.testing.assert_allclose(res.path.objectives, alone.path.objectives, rtol=1e-12)
    ref = pz.cross_validate(X, y, pz.Logistic(), **{**options, "tol": 1e-12})
    _assert_equal_cv(res, ref)


@pytest.mark.parametrize("scoring", ["r2", "neg_mean_squared_error"])
def test_least_squares_on_dask_scored_from_the_moments(scoring):
    """r2 (and scikit-learn's negated MSE) from each held-out fold's moments equal the
    scores of its rows; other scorings are refused by name."""
    X, _, s = _data(n=500, seed=6)
    y = X[:, 0] - 2 * X[:, 1] + np.random.default_rng(6).standard_normal(500)
    Xd, _, sd = _dask(X, np.zeros(500), s)
    yd = da.from_array(y, chunks=150)
    with dask.config.set(scheduler="synchronous"):
        res = pz.cross_validate(Xd, yd, sample_weight=sd, scoring=scoring, cv=3, n_alphas=8)
        with pytest.raises(ValueError, match="'mse', 'neg_mean_squared_error', 'r2'"):
            pz.cross_validate(Xd, yd, scoring="mae", cv=3, n_alphas=8)
    ref = pz.cross_validate(X, y, sample_weight=s, scoring=scoring, cv=3, n_alphas=8,
                            precompute=False, tol=1e-12)
    assert res.greater_is_better and res.scoring == scoring
    np.testing.assert_allclose(res.fold_scores, ref.fold_scores, rtol=1e-6)
    assert res.index_min == ref.index_min
