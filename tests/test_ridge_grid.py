"""One rule for the ridge alpha grid (pz.path, pz.cross_validate, the CLI): the CV minimum
is interior and lands on the best ridge alpha that closed-form leave-one-out finds."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold

import penalized as pz
from penalized.app.cli import main
from penalized.datasets import load
from penalized.workflows.cv import GridEdgeWarning


def loo_best_alpha(X, y) -> float:
    """The leave-one-out-optimal ridge alpha in penalized's units on standardized X:
    scikit-learn's Ridge minimizes ||y - Xw||^2 + a ||w||^2, so alpha = a / n."""
    n = X.shape[0]
    Xs = (X - X.mean(axis=0)) / X.std(axis=0)
    fine = np.geomspace(1e-5, 1e3, 161)
    best = RidgeCV(alphas=n * fine).fit(Xs, y).alpha_ / n
    assert fine[5] < best < fine[-5], "the reference optimum must be inside its own grid"
    return best


def cv_ridge(X, y, datafit=None, folds=10):
    with warnings.catch_warnings():
        warnings.simplefilter("error", GridEdgeWarning)  # a minimum on the edge fails
        return pz.cross_validate(X, y, datafit or pz.LeastSquares(), pz.L2(), standardize=True,
                                 cv=KFold(folds, shuffle=True, random_state=0))


@pytest.mark.parametrize("snr", [0.3, 3.0, 30.0])
def test_generated_data_best_alpha_is_found(snr):
    rng = np.random.default_rng(0)
    n, p = 400, 12
    X = rng.standard_normal((n, p)) @ rng.standard_normal((p, p)) * rng.uniform(0.1, 50, p)
    w = rng.standard_normal(p)
    signal = (X - X.mean(axis=0)) / X.std(axis=0) @ w
    y = 250_000 + 40_000 * (signal + rng.standard_normal(n) * signal.std() / np.sqrt(snr))
    best = loo_best_alpha(X, y)
    cv = cv_ridge(X, y)
    k = cv.index_min
    assert 0 < k < cv.alphas.shape[0] - 1
    assert cv.alphas[-1] * 30 < best < cv.alphas[0] / 30  # far inside the grid
    assert best / 3 < cv.alpha_min < best * 3  # 10-fold lands near the LOO optimum
    # one rule: the path on the standardized data has the same grid; y's units do not
    # move it (a ridge alpha is measured against X's curvature, not against y)
    Xs = (X - X.mean(axis=0)) / X.std(axis=0)
    np.testing.assert_allclose(pz.path(Xs, y, pz.LeastSquares(), pz.L2()).alphas, cv.alphas,
                               rtol=1e-10)
    np.testing.assert_allclose(pz.path(Xs, y / 1e5, pz.LeastSquares(), pz.L2()).alphas,
                               cv.alphas, rtol=1e-10)


def test_real_tables_minimum_is_interior():
    wage = load("wage", standardize=False)
    cv = cv_ridge(wage.X, wage.y)
    assert 0 < cv.index_min < cv.alphas.shape[0] - 1
    best = loo_best_alpha(wage.X, wage.y)
    assert best / 3 < cv.alpha_min < 3 * best
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    cv = cv_ridge(X, y, pz.Logistic(), folds=5)
    assert 0 < cv.index_min < cv.alphas.shape[0] - 1


def test_cli_l2_on_wage_is_interior(tmp_path, capsys):
    wage = load("wage", standardize=False)
    import pandas as pd

    path = tmp_path / "wage.csv"
    pd.DataFrame(wage.X, columns=wage.feature_names).assign(logwage=wage.y).to_csv(
        path, index=False)
    code = main([str(a) for a in ["fit", path, "-t", "logwage", "-p", "l2", "-o",
                                  tmp_path / "m", "--json", "--no-report"]])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    alphas = pz.load(tmp_path / "m").arrays["alphas"]
    assert alphas[-1] < result["alpha_min"] < alphas[0] and "grid" not in err
    # the same grid as pz.cross_validate's (one rule for every interface)
    np.testing.assert_allclose(alphas, cv_ridge(wage.X, wage.y).alphas, rtol=1e-10)
