"""pz.cross_validate: the 1-SE rule, agreement with GridSearchCV, bad input."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import Lasso as SklearnLasso
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold

import penalized as pz
from penalized.workflows.cv import GridEdgeWarning, choose_indices
from penalized.workflows.scoring import SCORERS


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


def test_one_se_rule_on_known_curves():
    mean = np.array([5.0, 3.0, 2.2, 2.0, 2.1, 2.5])   # alphas decreasing
    se = np.array([0.1, 0.1, 0.1, 0.3, 0.1, 0.1])
    i_min, i_1se = choose_indices(mean, se, greater_is_better=False)
    assert i_min == 3
    # largest alpha (smallest index) with mean <= 2.0 + 0.3
    assert i_1se == 2
    # a score where greater is better: the same rule on the negated curve
    i_min, i_1se = choose_indices(-mean, se, greater_is_better=True)
    assert (i_min, i_1se) == (3, 2)


def test_cross_validate_api_and_one_se(diabetes):
    X, y = diabetes
    cv = pz.cross_validate(X, y, pz.LeastSquares(), pz.L1(), cv=5, n_alphas=40)
    assert cv.fold_scores.shape == (5, 40)
    np.testing.assert_allclose(cv.mean, cv.fold_scores.mean(axis=0))
    np.testing.assert_allclose(cv.std_error, cv.fold_scores.std(axis=0, ddof=1) / np.sqrt(5))
    assert cv.alpha_1se >= cv.alpha_min
    assert cv.mean[cv.index_min] == cv.mean.min()
    threshold = cv.mean[cv.index_min] + cv.std_error[cv.index_min]
    assert cv.mean[cv.index_1se] <= threshold
    assert np.all(cv.mean[: cv.index_1se] > threshold)
    assert np.all(np.diff(cv.alphas) < 0)
    assert cv.path.coefs.shape == (40, X.shape[1])


def test_equals_grid_search_cv(diabetes):
    X, y = diabetes
    folds = KFold(4, shuffle=True, random_state=0)
    cv = pz.cross_validate(X, y, cv=folds, n_alphas=15, tol=1e-10)
    grid = GridSearchCV(SklearnLasso(tol=1e-10, max_iter=100_000), {"alpha": cv.alphas},
                        cv=folds, scoring="neg_mean_squared_error").fit(X, y)
    np.testing.assert_allclose(cv.mean, -grid.cv_results_["mean_test_score"], rtol=1e-6)
    assert cv.alpha_min == pytest.approx(grid.best_params_["alpha"])


def test_sample_weights_equal_repetition(diabetes):
    X, y = diabetes
    X, y = X[:120], y[:120]
    rng = np.random.default_rng(0)
    counts = rng.integers(1, 3, size=120)
    fold_of = np.arange(120) % 3
    fold_rep = np.repeat(fold_of, counts)

    def splits(folds):
        return [(np.flatnonzero(folds != k), np.flatnonzero(folds == k)) for k in range(3)]

    cv_w = pz.cross_validate(X, y, sample_weight=counts, cv=splits(fold_of), n_alphas=10,
                             tol=1e-10)
    cv_r = pz.cross_validate(np.repeat(X, counts, axis=0), np.repeat(y, counts),
                             cv=splits(fold_rep), alphas=cv_w.alphas, tol=1e-10)
    np.testing.assert_allclose(cv_w.fold_scores, cv_r.fold_scores, rtol=1e-6)


def test_group_splitter(diabetes):
    X, y = diabetes
    groups = np.arange(X.shape[0]) // 40
    cv = pz.cross_validate(X, y, cv=GroupKFold(3), groups=groups, n_alphas=5)
    assert cv.fold_scores.shape == (3, 5)


@pytest.mark.parametrize("scoring", sorted(k for k, sc in SCORERS.items()
                                            if sc.requires != "regression"))
def test_classification_scorings(scoring):
    X, y = load_breast_cancer(return_X_y=True)
    X, y = X[::3], y[::3]
    cv = pz.cross_validate(X, y, pz.Logistic(), pz.L1(), cv=3, n_alphas=8,
                           scoring=scoring, standardize=True)
    assert np.all(np.isfinite(cv.mean))
    assert cv.scoring == scoring
    if SCORERS[scoring].greater_is_better:
        assert cv.mean[cv.index_min] == cv.mean.max()


def test_standardize_reports_original_scale(diabetes):
    X, y = diabetes
    scale = np.linspace(1, 100, X.shape[1])
    cv1 = pz.cross_validate(X, y, cv=3, n_alphas=10, standardize=True, tol=1e-10)
    cv2 = pz.cross_validate(X * scale, y, cv=3, n_alphas=10, standardize=True, tol=1e-10)
    np.testing.assert_allclose(cv1.alphas, cv2.alphas, rtol=1e-8)
    np.testing.assert_allclose(cv1.mean, cv2.mean, rtol=1e-6)
    np.testing.assert_allclose(cv1.path.coefs, cv2.path.coefs * scale, rtol=1e-5, atol=1e-8)


def test_l1_ratio_grid(diabetes):
    X, y = diabetes
    cv = pz.cross_validate(X, y, pz.LeastSquares(), pz.ElasticNet(), cv=3, n_alphas=10,
                           l1_ratios=[0.2, 1.0])
    assert cv.mean_grid.shape == (2, 10) and cv.fold_scores_grid.shape == (2, 3, 10)
    row = list(cv.l1_ratios).index(cv.l1_ratio)
    assert cv.mean_grid[row].min() == cv.mean_grid.min()


def test_parallel_equals_serial(diabetes):
    X, y = diabetes
    a = pz.cross_validate(X, y, cv=3, n_alphas=10, n_jobs=1)
    b = pz.cross_validate(X, y, cv=3, n_alphas=10, n_jobs=2)
    np.testing.assert_allclose(a.fold_scores, b.fold_scores)


def test_edge_warning():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 5))
    y = X @ np.ones(5)  # noiseless: the smallest alpha wins
    with pytest.warns(GridEdgeWarning, match="edge|smallest"):
        pz.cross_validate(X, y, cv=3, n_alphas=10, alpha_min_ratio=0.1)


def test_bad_input(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="only 3 samples"):
        pz.cross_validate(X[:3], y[:3], cv=5)
    with pytest.raises(ValueError, match="empty"):
        pz.cross_validate(X, y, alphas=[])
    with pytest.raises(ValueError, match=">= 0"):
        pz.cross_validate(X, y, alphas=[1.0, -0.5])
    with pytest.raises(ValueError, match="unknown scoring"):
        pz.cross_validate(X, y, scoring="r3")
    with pytest.raises(ValueError, match="classification"):
        pz.cross_validate(X, y, scoring="accuracy")
    yc = np.r_[np.zeros(20), np.ones(2)]
    with pytest.raises(ValueError, match="class"):
        pz.cross_validate(X[:22], yc, pz.Logistic(), cv=5)
    with pytest.raises(ValueError, match="lacks a class"):
        pz.cross_validate(X[:22], yc, pz.Logistic(), cv=KFold(2))
    cv = pz.cross_validate(X, y, alphas=[0.1, 1.0, 0.01], cv=3)
    np.testing.assert_array_equal(cv.alphas, [1.0, 0.1, 0.01])
    with pytest.raises(ValueError, match="rule"):
        cv.index("1-se")
