"""Alpha conventions, each checked against the real library where it is installed.

Two objectives with the same minimizer give the same coefficients: every test
fits the other library at its strength and this library at the converted alpha
and compares the solutions (or, for optimizers, the update direction).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import penalized as pz
from penalized import conventions


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 5))
    y = X @ np.array([1.5, -2.0, 0.0, 0.5, 0.0]) + 3.0 + 0.3 * rng.standard_normal(120)
    return X, y


@pytest.fixture(scope="module")
def classification():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((150, 4))
    y = (X @ np.array([1.0, -1.0, 0.5, 0.0]) + 0.5 * rng.standard_normal(150) > 0).astype(int)
    return X, y


def ours(X, y, name, value, datafit=None, **context):
    c = conventions.to_penalized(name, value, n_samples=X.shape[0], **context)
    penalty = pz.ElasticNet(l1_ratio=c.l1_ratio) if 0 < c.l1_ratio < 1 else (
        pz.L1() if c.l1_ratio == 1 else pz.L2())
    return pz.fit(X, y, datafit or pz.LeastSquares(), penalty, alpha=c.alpha, tol=1e-12)


def test_sklearn_lasso_and_elasticnet(regression):
    from sklearn.linear_model import ElasticNet, Lasso

    X, y = regression
    ref = Lasso(alpha=0.1, tol=1e-12, max_iter=100_000).fit(X, y)
    res = ours(X, y, "sklearn-lasso", 0.1, l1_ratio=1.0)
    np.testing.assert_allclose(res.coef, ref.coef_, atol=1e-7)
    ref = ElasticNet(alpha=0.2, l1_ratio=0.3, tol=1e-12, max_iter=100_000).fit(X, y)
    res = ours(X, y, "sklearn-elasticnet", 0.2, l1_ratio=0.3)
    np.testing.assert_allclose(res.coef, ref.coef_, atol=1e-7)
    np.testing.assert_allclose(res.intercept, ref.intercept_, atol=1e-7)


def test_sklearn_ridge_is_alpha_over_n(regression):
    from sklearn.linear_model import Ridge

    X, y = regression
    ref = Ridge(alpha=7.0).fit(X, y)
    res = ours(X, y, "sklearn-ridge", 7.0)
    assert conventions.to_penalized("sklearn-ridge", 7.0, n_samples=120).alpha == 7.0 / 120
    np.testing.assert_allclose(res.coef, ref.coef_, atol=1e-8)
    np.testing.assert_allclose(res.intercept, ref.intercept_, atol=1e-8)


def test_sklearn_logistic_c_is_one_over_n_c(classification):
    from sklearn.linear_model import LogisticRegression

    X, y = classification
    ref = LogisticRegression(C=0.5, l1_ratio=0.0, tol=1e-12, max_iter=10_000).fit(X, y)
    res = ours(X, y, "sklearn-logistic-c", 0.5, datafit=pz.Logistic())
    np.testing.assert_allclose(res.coef, ref.coef_.ravel(), atol=1e-5)
    np.testing.assert_allclose(res.intercept, ref.intercept_[0], atol=1e-5)


def test_sklearn_logistic_c_l1(classification):
    from sklearn.linear_model import LogisticRegression

    X, y = classification
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = LogisticRegression(C=0.2, l1_ratio=1.0, solver="saga", tol=1e-10,
                                 max_iter=100_000).fit(X, y)
    res = ours(X, y, "sklearn-logistic-c", 0.2, datafit=pz.Logistic(), l1_ratio=1.0)
    np.testing.assert_allclose(res.coef, ref.coef_.ravel(), atol=1e-4)
    assert np.array_equal(res.coef == 0, np.abs(ref.coef_.ravel()) < 1e-6)


def test_sklearn_sgd_same_alpha(regression):
    from sklearn.linear_model import SGDRegressor

    X, y = regression
    ref = SGDRegressor(alpha=0.1, penalty="l2", learning_rate="constant", eta0=1e-3,
                       max_iter=2000, tol=None, average=True, random_state=0).fit(X, y)
    res = ours(X, y, "sklearn-sgd", 0.1)
    # averaged constant-step SGD reaches the minimizer up to O(step) noise
    np.testing.assert_allclose(res.coef, ref.coef_, rtol=2e-2, atol=2e-2)


def test_sklearn_mlp_alpha_over_batch(regression):
    """sklearn's reported lbfgs loss (full batch) equals our objective at alpha / n."""
    from sklearn.neural_network import MLPRegressor

    X, y = regression
    a = 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp = MLPRegressor(hidden_layer_sizes=(3,), activation="identity", solver="lbfgs",
                           alpha=a, max_iter=30, random_state=0).fit(X, y)
    W1, W2 = mlp.coefs_
    b1, b2 = mlp.intercepts_
    z = ((X @ W1 + b1) @ W2 + b2).ravel()
    alpha = conventions.to_penalized("sklearn-mlp", a, n_samples=X.shape[0],
                                     batch_size=X.shape[0]).alpha
    objective = np.mean((y - z) ** 2) / 2 + alpha / 2 * (np.sum(W1**2) + np.sum(W2**2))
    np.testing.assert_allclose(objective, mlp.loss_, rtol=1e-10)
    # batch_size="auto" is min(200, n)
    assert conventions.to_penalized("sklearn-mlp", a, n_samples=1000).alpha == a / 200


@pytest.mark.parametrize("loss_name", ["mse", "bce"])
def test_torch_sgd_weight_decay(loss_name):
    """torch SGD(weight_decay=d) steps along the gradient of our objective at the converted
    alpha (times 2 for the unhalved MSE)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    X = rng.standard_normal((40, 3))
    if loss_name == "mse":
        y = X @ np.array([1.0, 0.0, -1.0]) + rng.standard_normal(40)
        datafit, loss_fn, factor = pz.LeastSquares(), torch.nn.MSELoss(), 2.0
    else:
        y = (rng.random(40) < 0.5).astype(float)
        datafit, loss_fn, factor = pz.Logistic(), torch.nn.BCEWithLogitsLoss(), 1.0
    w0, d, lr = rng.standard_normal(3), 0.3, 0.1
    w = torch.tensor(w0, requires_grad=True)
    b = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([{"params": [w], "weight_decay": d},
                           {"params": [b], "weight_decay": 0.0}], lr=lr)
    loss = loss_fn(torch.tensor(X) @ w + b, torch.tensor(y))
    loss.backward()
    opt.step()
    alpha = conventions.to_penalized("torch-weight-decay", d, datafit=datafit.name).alpha
    problem = pz.make_problem(X, y, datafit, pz.L2(alpha=alpha))
    grad, _, _ = problem.gradient(w0, 0.2)
    grad = grad + pz.L2(alpha=alpha).gradient(w0)
    np.testing.assert_allclose(w.detach().numpy(), w0 - lr * factor * grad, rtol=1e-10)


def test_glmnet_standardizes_y(regression):
    """glmnet fits y / s_y with lambda / s_y and scales back: replay that procedure."""
    X, y = regression
    lam, mix = 0.2, 0.4
    s = float(np.std(y))  # glmnet's 1/n formula
    inner = pz.fit(X, y / s, pz.LeastSquares(), pz.ElasticNet(l1_ratio=mix), alpha=lam / s,
                   tol=1e-12)
    res = ours(X, y, "glmnet", lam, l1_ratio=mix, y_std=s)
    np.testing.assert_allclose(res.coef, inner.coef * s, atol=1e-7)
    back = conventions.from_penalized("glmnet", *_pair("glmnet", lam, mix, s), y_std=s)
    np.testing.assert_allclose(back, lam)
    assert conventions.glmnet_mixing(_pair("glmnet", lam, mix, s)[1], s) == pytest.approx(mix)


def _pair(name, value, mix, s):
    c = conventions.to_penalized(name, value, l1_ratio=mix, y_std=s)
    return c.alpha, c.l1_ratio


def test_keras_and_tutorial_objectives(regression):
    """Keras: mean (y - z)^2 + f ||w||^2 (closed form); tutorial: J(W) equals our objective."""
    X, y = regression
    n, f = X.shape[0], 0.05
    keras_w = np.linalg.solve(X.T @ X / n + f * np.eye(5), X.T @ y / n)
    res = pz.fit(X, y, pz.LeastSquares(), pz.L2(), fit_intercept=False, tol=1e-12,
                 alpha=conventions.to_penalized("keras-l2", f).alpha)
    np.testing.assert_allclose(res.coef, keras_w, atol=1e-8)
    lam = 4.0
    w = np.random.default_rng(3).standard_normal(5)
    J = np.sum((y - X @ w) ** 2) / (2 * n) + lam / (2 * n) * np.sum(w**2)
    alpha = conventions.to_penalized("tutorial", lam, n_samples=n).alpha
    problem = pz.make_problem(X, y, pz.LeastSquares(), pz.L2(alpha=alpha), fit_intercept=False)
    np.testing.assert_allclose(problem.objective(w, 0.0), J, rtol=1e-12)


def test_adamw_has_no_equivalent():
    with pytest.raises(ValueError, match="decoupled"):
        conventions.to_penalized("torch-adamw", 0.01)
    assert "decoupled" in conventions.convert_all(1.0, "sklearn-ridge", n_samples=10)[
        "torch-adamw"]


@pytest.mark.parametrize(("a", "b"), list(itertools.permutations(
    [n for n, c in conventions.CONVENTIONS.items() if c.kind != "l1"], 2)))
def test_l2_round_trips(a, b):
    ctx = {"n_samples": 300, "y_std": 2.5, "batch_size": 50}
    there = conventions.convert(0.7, a, b, **ctx)
    np.testing.assert_allclose(conventions.convert(there, b, a, **ctx), 0.7, rtol=1e-12)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="n_samples"):
        conventions.to_penalized("sklearn-ridge", 1.0)
    with pytest.raises(ValueError, match="unknown convention"):
        conventions.to_penalized("sklearn-lars", 1.0)
    with pytest.raises(ValueError, match="L1"):
        conventions.from_penalized("sklearn-ridge", 1.0, l1_ratio=1.0, n_samples=10)
    with pytest.raises(ValueError, match="> 0"):
        conventions.to_penalized("sklearn-logistic-c", 0.0, n_samples=10)
    with pytest.raises(ValueError, match="l1_ratio"):
        conventions.to_penalized("sklearn-elasticnet", 1.0, l1_ratio=1.5)
