"""glmnet's verbs on results (issue 15): predict and coef at any alpha, CV rules,
plots, standardize= on fit and path, summaries, feature names, predict_proba."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from scipy.special import expit  # noqa: E402
from sklearn import linear_model as sk  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402

import penalized as pz  # noqa: E402


@pytest.fixture(scope="module")
def diabetes():
    data = load_diabetes(as_frame=True)
    return data.data, data.target.to_numpy()


@pytest.fixture(scope="module")
def path(diabetes):
    X, y = diabetes
    return pz.path(X, y, n_alphas=12, tol=1e-10)


def test_coef_and_predict_interpolate_in_log_alpha(diabetes, path):
    X, _ = diabetes
    a = path.alphas
    np.testing.assert_array_equal(path.coef(a[3]), path.coefs[3])
    mid = np.sqrt(a[3] * a[4])  # halfway in log alpha
    np.testing.assert_allclose(path.coef(mid), (path.coefs[3] + path.coefs[4]) / 2)
    quarter = a[3] ** 0.75 * a[4] ** 0.25
    np.testing.assert_allclose(path.coef(quarter), 0.75 * path.coefs[3] + 0.25 * path.coefs[4])
    b = (path.intercepts[3] + path.intercepts[4]) / 2
    np.testing.assert_allclose(path.predict(X, mid), X.to_numpy() @ path.coef(mid) + b)
    # beyond the grid: clamped to its ends, as glmnet
    np.testing.assert_array_equal(path.coef(10 * a[0]), path.coefs[0])
    np.testing.assert_array_equal(path.coef(a[-1] / 10), path.coefs[-1])
    assert path.predict(X, [a[2], mid]).shape == (X.shape[0], 2)
    assert path.coef([a[2], mid]).shape == (2, X.shape[1])


def test_exact_refits_at_the_alpha(diabetes, path):
    X, y = diabetes
    mid = np.sqrt(path.alphas[3] * path.alphas[4])
    exact = path.coef(mid, exact=True, X=X, y=y, tol=1e-12)
    direct = pz.fit(X, y, alpha=mid, tol=1e-12).coef
    np.testing.assert_allclose(exact, direct, rtol=1e-7, atol=1e-9)
    ref = sk.Lasso(alpha=mid, tol=1e-14, max_iter=100_000).fit(X, y).coef_
    np.testing.assert_allclose(exact, ref, rtol=1e-5, atol=1e-6)
    pred = path.predict(X, mid, exact=True, y=y, tol=1e-12)
    np.testing.assert_allclose(pred, pz.fit(X, y, alpha=mid, tol=1e-12).predict(X), rtol=1e-7)
    with pytest.raises(ValueError, match="exact=True"):
        path.coef(mid, exact=True)


def test_standardize_on_fit_and_path_matches_glmnet():
    glmnet = pytest.importorskip("glmnet")
    X, y = load_diabetes(return_X_y=True, scaled=False)
    lambdas = np.array([5.0, 1.0, 0.2])
    ref = glmnet.ElasticNet(alpha=1.0, standardize=True, lambda_path=lambdas, tol=1e-12,
                            n_splits=0).fit(X, y)
    p = pz.path(X, y, alphas=lambdas, standardize=True, tol=1e-12)
    for k, lam in enumerate(ref.lambda_path_):
        f = pz.fit(X, y, alpha=lam, standardize=True, tol=1e-12)
        scale = np.abs(ref.coef_path_[:, k]).max()
        np.testing.assert_allclose(f.coef, ref.coef_path_[:, k], atol=1e-3 * scale)
        np.testing.assert_allclose(p.coefs[k], f.coef, atol=1e-6 * scale)
        np.testing.assert_allclose(f.intercept, ref.intercept_path_[k], rtol=1e-4)
    assert p.standardize and p.fit_at(0.5, exact=True, X=X, y=y).coef.shape == (10,)


def test_summary_repr_and_deviance_ratio(diabetes, path):
    X, y = diabetes
    k = len(path) - 1
    np.testing.assert_allclose(path.deviance_ratio[k], r2_score(y, path.predict(X, path.alphas[k])))
    assert path.deviance_ratio[0] == pytest.approx(0.0, abs=1e-12)
    text = path.summary(max_rows=4)
    assert "%dev" in text and len(text.splitlines()) == 6 and "alphas from" in repr(path)
    fit = path[k]
    assert fit.feature_names == tuple(X.columns)
    assert "bmi" in fit.summary() and "n_nonzero" in repr(fit)


def test_cv_rules_and_predict_proba():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = (X - X.mean()) / X.std()
    cv = pz.cross_validate(X, y, pz.Logistic(), pz.L1(), cv=3, n_alphas=10)
    for rule in ("min", "1se"):
        k = cv.index(rule)
        np.testing.assert_array_equal(cv.coef(rule), cv.path.coefs[k])
        z = X.to_numpy() @ cv.path.coefs[k] + cv.path.intercepts[k]
        proba = cv.predict_proba(X, rule)
        np.testing.assert_allclose(proba[:, 1], expit(z))
        np.testing.assert_array_equal(cv.predict(X, rule), (z > 0).astype(int))
    # against scikit-learn's LogisticRegression at the same model (C = 1 / (n alpha))
    alpha = cv.alpha_min
    ref = sk.LogisticRegression(C=1 / (len(y) * alpha), tol=1e-10, max_iter=10_000).fit(X, y)
    fit = pz.fit(X, y, pz.Logistic(), pz.L2(), alpha=alpha, tol=1e-10)
    np.testing.assert_allclose(fit.predict_proba(X), ref.predict_proba(X), atol=1e-4)
    assert "alpha_min" in repr(cv)
    with pytest.raises(ValueError, match="classification"):
        pz.fit(X, y.astype(float), alpha=0.1).predict_proba(X)


def test_plots_return_axes(diabetes, path):
    import matplotlib.pyplot as plt

    X, y = diabetes
    ax = path.plot()
    assert isinstance(ax, Axes) and len(ax.get_lines()) >= X.shape[1]
    labels = {line.get_label() for line in ax.get_lines()}
    assert "bmi" in labels  # curves labelled by the DataFrame's columns
    top = [a for a in ax.figure.axes if a is not ax][0]
    counts = [int(t.get_text()) for t in top.get_xticklabels()]
    assert counts[0] == 0 and counts[-1] == path.n_nonzero[-1]
    cv = pz.cross_validate(X, y, cv=3, n_alphas=10)
    ax2 = cv.plot()
    assert isinstance(ax2, Axes) and ax2.get_ylabel() == "CV mse"
    vlines = [line for line in ax2.get_lines() if line.get_label().startswith("alpha_")]
    assert len(vlines) == 2
    plt.close("all")
