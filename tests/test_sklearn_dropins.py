"""The drop-ins give scikit-learn's model: LogisticRegressionCV's C per fold and with
sample weights, its scores_ layout and sign, RidgeCV's scorers, Lasso's tol
(issue 15). Every reference number comes from running scikit-learn here."""

import numpy as np
import pytest
from sklearn import linear_model as sk
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.metrics import make_scorer, median_absolute_error
from sklearn.model_selection import PredefinedSplit
from sklearn.preprocessing import StandardScaler

import penalized as pz
from penalized import linear_model as pl


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X)[::2], y[::2]


def _sk_logistic_cv(X, y, sample_weight=None, **kw):
    kw.setdefault("use_legacy_attributes", True)
    return sk.LogisticRegressionCV(solver="lbfgs", tol=1e-8, max_iter=10_000, **kw).fit(
        X, y, sample_weight=sample_weight)


def test_logistic_cv_applies_c_per_fold_and_scores_like_sklearn(cancer):
    X, y = cancer
    Cs = np.logspace(-2, 1, 4)
    ref = _sk_logistic_cv(X, y, Cs=Cs, cv=3, scoring="neg_log_loss")
    ours = pl.LogisticRegressionCV(Cs=Cs, cv=3, scoring="neg_log_loss", tol=1e-8).fit(X, y)
    np.testing.assert_array_equal(ours.Cs_, ref.Cs_)
    np.testing.assert_array_equal(ours.C_, ref.C_)
    assert set(ours.scores_) == set(ref.scores_)
    key = ref.classes_[1]
    assert ours.scores_[key].shape == ref.scores_[key].shape
    # the same layout (columns follow Cs_) and sign (negative losses): same argmax
    np.testing.assert_allclose(ours.scores_[key], ref.scores_[key], atol=1e-4)
    assert np.all(ours.scores_[key] < 0)
    assert Cs[np.argmax(ours.scores_[key].sum(axis=0))] == ours.C_[0]
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-3)
    # every fold's path, C per training fold, intercept last: scikit-learn's layout
    assert ours.coefs_paths_[key].shape == ref.coefs_paths_[key].shape
    np.testing.assert_allclose(ours.coefs_paths_[key], ref.coefs_paths_[key], atol=1e-3)


def test_logistic_cv_new_attribute_layout_multiclass():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    kw = dict(Cs=[0.1, 1.0], cv=3, scoring="neg_log_loss", use_legacy_attributes=False)
    ref = _sk_logistic_cv(X, y, **kw)
    ours = pl.LogisticRegressionCV(tol=1e-10, **kw).fit(X, y)
    assert isinstance(ours.C_, float) and ours.C_ == ref.C_
    assert ours.scores_.shape == ref.scores_.shape
    np.testing.assert_allclose(ours.scores_, ref.scores_, atol=1e-5)
    assert ours.coefs_paths_.shape == ref.coefs_paths_.shape  # (folds, l1, Cs, classes, dof)
    np.testing.assert_allclose(ours.coefs_paths_, ref.coefs_paths_, atol=1e-4)


def test_logistic_cv_converts_c_with_the_weight_sum(cancer):
    X, y = cancer
    w = np.full(y.shape[0], 2.0)
    Cs = np.logspace(-2, 1, 4)
    ref_w = _sk_logistic_cv(X, y, w, Cs=Cs, cv=3, scoring="neg_log_loss")
    ours = pl.LogisticRegressionCV(Cs=Cs, cv=3, scoring="neg_log_loss", tol=1e-8).fit(X, y)
    ours_w = pl.LogisticRegressionCV(Cs=Cs, cv=3, scoring="neg_log_loss",
                                     tol=1e-8).fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(ours_w.C_, ref_w.C_)
    np.testing.assert_allclose(np.abs(ours_w.coef_).sum(), np.abs(ref_w.coef_).sum(),
                               rtol=1e-3)
    # weights of 2 are repeated rows: a model other than the unweighted one
    assert abs(np.abs(ours_w.coef_).sum() - np.abs(ours.coef_).sum()) > 1e-2


@pytest.mark.parametrize("kw", [
    {"cv": 5}, {"cv": 5, "scoring": "neg_mean_absolute_error"}, {}, {"scoring": "r2"},
    {"scoring": make_scorer(median_absolute_error, greater_is_better=False)},
    {"cv": 4, "scoring": make_scorer(median_absolute_error, greater_is_better=False)},
])
def test_ridge_cv_scorers_match_sklearn(kw):
    X, y = load_diabetes(return_X_y=True, scaled=False)
    alphas = np.logspace(-3, 4, 30)
    ref = sk.RidgeCV(alphas=alphas, **kw).fit(X, y)
    ours = pl.RidgeCV(alphas=alphas, **kw).fit(X, y)
    assert ours.alpha_ == ref.alpha_
    np.testing.assert_allclose(ours.best_score_, ref.best_score_, rtol=1e-8)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6)


def test_lasso_default_tol_as_accurate_as_sklearn():
    # unscaled diabetes: ill-conditioned, where a loose stop leaves a coefficient far off
    X, y = load_diabetes(return_X_y=True, scaled=False)
    for alpha in (0.1, 1.0):
        optimum = sk.Lasso(alpha=alpha, tol=1e-14, max_iter=1_000_000).fit(X, y).coef_
        theirs = sk.Lasso(alpha=alpha).fit(X, y).coef_
        ours = pl.Lasso(alpha=alpha).fit(X, y).coef_
        assert np.abs(ours - optimum).max() <= 1.5 * np.abs(theirs - optimum).max() + 1e-6


def test_foldid_and_class_scoring(cancer):
    X, y = cancer
    foldid = np.arange(y.shape[0]) % 3
    a = pz.cross_validate(X, y, pz.Logistic(), pz.L1(), foldid=foldid, n_alphas=6,
                          scoring="class")
    b = pz.cross_validate(X, y, pz.Logistic(), pz.L1(), cv=PredefinedSplit(foldid),
                          n_alphas=6, scoring="accuracy")
    np.testing.assert_allclose(a.fold_scores, 1.0 - b.fold_scores, atol=1e-12)
    assert a.index_min == b.index_min
    with pytest.raises(ValueError, match="foldid has"):
        pz.cross_validate(X, y, pz.Logistic(), foldid=foldid[:-1])


def test_cross_validate_accepts_sklearn_scorers(cancer):
    X, y = cancer
    a = pz.cross_validate(X, y, pz.Logistic(), pz.L1(), cv=3, n_alphas=6, scoring="neg_log_loss")
    b = pz.cross_validate(X, y, pz.Logistic(), pz.L1(), cv=3, n_alphas=6, scoring="log_loss")
    np.testing.assert_allclose(a.fold_scores, -b.fold_scores)
    c = pz.cross_validate(X, y, pz.Logistic(), pz.L1(), cv=3, n_alphas=6, scoring="f1")
    assert c.greater_is_better and np.all((c.fold_scores >= 0) & (c.fold_scores <= 1))
    with pytest.raises(ValueError, match="unknown scoring"):
        pz.cross_validate(X, y, pz.Logistic(), scoring="nonsense")
