"""MLPClassifier / MLPRegressor / *CV: scikit-learn API, objective, scores, errors."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris  # noqa: E402
from sklearn.linear_model import RidgeCV  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import penalized as pz  # noqa: E402
from penalized.torch import (  # noqa: E402
    MLPClassifier,
    MLPClassifierCV,
    MLPRegressor,
    MLPRegressorCV,
    select_alpha,
)

torch.set_num_threads(1)
# Most fits here are deliberately short; the warning is tested on its own.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def quick_classifier(**params):
    defaults = dict(hidden_layer_sizes=(16,), learning_rate=1e-2, batch_size=32, max_epochs=30,
                    random_state=0)
    return MLPClassifier(**{**defaults, **params})


def test_linear_network_reaches_the_lasso_solution_of_pz_fit():
    # No hidden layer: the MLP objective is exactly pz.fit's (mean (y - z)^2 / 2 + alpha |w|_1)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 6))
    y = X @ np.array([1.5, 0, -2.0, 0, 0, 0.5]) + 1.0 + 0.2 * rng.normal(size=80)
    alpha = 0.1
    reference = pz.fit(X, y, datafit=pz.LeastSquares(), penalty=pz.L1(), alpha=alpha, tol=1e-12)
    model = MLPRegressor(hidden_layer_sizes=(), penalty=pz.L1(), alpha=alpha, optimizer="sgd",
                         momentum=0.0, learning_rate=0.3, batch_size=80, max_epochs=600,
                         tol=0.0, n_iter_no_change=600, standardize=False,
                         random_state=0).fit(X, y)
    np.testing.assert_allclose(model.coefs_[0][:, 0], reference.coef, atol=1e-4)
    np.testing.assert_allclose(model.intercepts_[0][0], reference.intercept, atol=1e-4)
    np.testing.assert_array_equal(model.coefs_[0][:, 0] == 0, reference.coef == 0)


def test_sklearn_api_clone_pipeline_gridsearch(iris):
    X, y = iris
    clf = quick_classifier(penalty=pz.L1(), alpha=1e-3)
    assert clone(clf).get_params()["penalty"] == pz.L1()
    pipe = make_pipeline(StandardScaler(), clf).fit(X, y)
    assert pipe.score(X, y) > 0.9
    search = GridSearchCV(quick_classifier(max_epochs=10), {"alpha": [1e-3, 1e-1]}, cv=2).fit(X, y)
    assert search.best_params_["alpha"] in (1e-3, 1e-1)


def test_classification_on_breast_cancer_with_early_stopping():
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train)
    clf = quick_classifier(hidden_layer_sizes=(32,), penalty=pz.L1(), alpha=1e-3,
                           early_stopping=True, n_iter_no_change=5)
    clf.fit(scaler.transform(X_train), y_train)
    assert clf.score(scaler.transform(X_test), y_test) > 0.93
    history = clf.history_
    assert len(history["epoch"]) == clf.n_iter_
    assert np.all(np.isfinite(history["validation_loss"]))
    assert max(history["validation_score"]) > 0.9
    proba = clf.predict_proba(scaler.transform(X_test))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    predicted = clf.predict(scaler.transform(X_test))
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], predicted)


def test_regression_on_diabetes_matches_ridge():
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    scaler = StandardScaler().fit(X_train)
    mean, scale = y_train.mean(), y_train.std()
    reg = MLPRegressor((16,), alpha=0.1, learning_rate=1e-2, batch_size=32, max_epochs=20,
                       random_state=0).fit(scaler.transform(X_train), (y_train - mean) / scale)
    r2 = r2_score(y_test, reg.predict(scaler.transform(X_test)) * scale + mean)
    ridge = RidgeCV().fit(X_train, y_train).score(X_test, y_test)
    assert r2 > ridge - 0.05
    two = MLPRegressor((8,), max_epochs=5, random_state=0).fit(X, np.c_[y, -y] / 100)
    assert two.predict(X).shape == (len(y), 2)


def test_proximal_l1_gives_exact_zeros_and_loss_term_does_not(iris):
    X, y = iris
    prox = quick_classifier(penalty=pz.L1(), alpha=1e-2).fit(X, y)
    loss = quick_classifier(penalty=pz.L1(), alpha=1e-2, penalty_method="loss").fit(X, y)
    assert prox.layer_sparsity_[0] > 0.3
    assert loss.coef_sparsity_ == 0.0
    zeros = sum(int((c == 0).sum()) for c in prox.coefs_) / sum(c.size for c in prox.coefs_)
    assert prox.coef_sparsity_ == pytest.approx(zeros)
    assert prox.history_["zero_fraction"][-1] == pytest.approx(zeros)
    assert [c.shape for c in prox.coefs_] == [(4, 16), (16, 3)]


def test_no_penalty_equals_alpha_zero_and_seed_determinism(iris):
    X, y = iris
    a = quick_classifier(penalty=None, max_epochs=5).fit(X, y)
    b = quick_classifier(penalty="l2", alpha=0.0, max_epochs=5).fit(X, y)
    c = quick_classifier(penalty=None, max_epochs=5, random_state=1).fit(X, y)
    for wa, wb in zip(a.coefs_, b.coefs_, strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert a.history_ == b.history_
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


def test_warm_start_continues_from_previous_weights(iris):
    X, y = iris
    clf = quick_classifier(max_epochs=3, warm_start=True).fit(X, y)
    first = clf.history_["train_loss"][-1]
    clf.fit(X, y)
    assert clf.history_["train_loss"][0] < first
    cold = quick_classifier(max_epochs=3).fit(X, y)
    assert cold.history_["train_loss"][0] > clf.history_["train_loss"][0]


def test_select_alpha_min_and_1se_rules():
    alphas = np.array([1.0, 0.1, 0.01, 0.001])
    mean = np.array([0.70, 0.90, 0.93, 0.92])
    se = np.array([0.01, 0.01, 0.035, 0.01])
    assert select_alpha(alphas, mean, se, "min") == 0.01
    assert select_alpha(alphas, mean, se, "1se") == 0.1  # 0.90 >= 0.93 - 0.035
    assert select_alpha(alphas, mean, se / 2, "1se") == 0.01  # 0.90 < 0.93 - 0.0175
    assert select_alpha(alphas, mean, np.zeros(4), "1se") == 0.01
    with pytest.raises(ValueError, match="rule must be 'min' or '1se', got 'best'"):
        select_alpha(alphas, mean, se, "best")


@pytest.mark.filterwarnings("ignore::penalized.workflows.cv.GridEdgeWarning")  # 1e-3 wins
def test_classifier_cv_warm_started_path(iris):
    X, y = iris
    template = quick_classifier(penalty=pz.L1(), max_epochs=15)
    search = MLPClassifierCV(template, alphas=[1e-3, 1.0, 1e-2], cv=3, rule="1se").fit(X, y)
    np.testing.assert_array_equal(search.alphas_, [1.0, 1e-2, 1e-3])
    assert search.fold_scores_.shape == (3, 3)
    np.testing.assert_allclose(search.mean_score_, search.fold_scores_.mean(1))
    assert search.alpha_min_ == select_alpha(search.alphas_, search.mean_score_,
                                             search.std_error_, "min")
    assert search.alpha_ == search.alpha_1se_ >= search.alpha_min_
    assert search.best_estimator_.alpha == search.alpha_
    assert search.mean_score_[0] < search.mean_score_.max()  # alpha=1 kills the network
    assert search.score(X, y) > 0.8
    assert search.predict_proba(X).shape == (len(y), 3)
    assert clone(search).get_params()["estimator__alpha"] == template.alpha


def test_regressor_cv():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    template = MLPRegressor((8,), learning_rate=1e-2, batch_size=64, max_epochs=10, random_state=0)
    search = MLPRegressorCV(template, alphas=[1.0, 1e-2], cv=3).fit(X, y)
    assert search.alpha_ in (1.0, 1e-2)
    assert search.predict(X).shape == y.shape


def test_clear_errors(iris):
    X, y = iris
    with pytest.raises(ValueError, match="NaN"):
        quick_classifier().fit(np.where(X == X[0, 0], np.nan, X), y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        quick_classifier().fit(X, y[:-1])
    with pytest.raises(ValueError, match="2D array"):
        quick_classifier().fit(X[:, 0], y)
    with pytest.raises(ValueError, match="unknown penalty 'ridge'"):
        quick_classifier(penalty="ridge").fit(X, y)
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        quick_classifier(alpha=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="single class"):
        quick_classifier().fit(X, np.zeros(len(y)))
    with pytest.raises(ValueError, match="optimizer must be one of"):
        quick_classifier(optimizer="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        quick_classifier(hidden_layer_sizes=(0,)).fit(X, y)
    with pytest.raises(ValueError, match="CUDA is not available"):
        if torch.cuda.is_available():
            raise ValueError("CUDA is not available (skipped: a GPU is present)")
        quick_classifier(device="cuda").fit(X, y)
    fitted = quick_classifier(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        fitted.predict(X[:, :2])
    with pytest.raises(ValueError, match="penalty=None"):
        MLPClassifierCV(quick_classifier(penalty=None), alphas=[0.1]).fit(X, y)


@pytest.mark.slow
def test_digits_demonstration_quick():
    from penalized.torch.demo import digits_comparison, format_table

    rows = {row["model"]: row for row in digits_comparison(quick=True)}
    assert len(format_table(list(rows.values())).splitlines()) == 6
    l2 = rows["L2 (alpha by CV)"]
    prox = rows["L1 proximal (Adam metric)"]
    assert l2["test_accuracy"] >= 0.97
    assert prox["first_layer_zeros"] >= 0.7
    assert prox["test_accuracy"] >= l2["test_accuracy"] - 0.01
    assert rows["L1 as loss term"]["first_layer_zeros"] < 0.01
    assert rows["no penalty"]["all_zeros"] == 0.0
