"""Bad input to ``pz.fit`` / ``pz.path``: one clear error naming the problem.

And good-but-unusual input (float32, integers, lists, DataFrames, C order)
gives the float64 answer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import make_data

import penalized as pz

ENTRY_POINTS = [
    pytest.param(lambda X, y, **kw: pz.fit(X, y, **{"alpha": 0.1, **kw}), id="fit"),
    pytest.param(lambda X, y, **kw: pz.path(X, y, **{"n_alphas": 3, **kw}), id="path"),
]


@pytest.fixture
def data():
    return make_data(pz.LeastSquares(), 20, 4, seed=30)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X_is_rejected(entry, data, bad):
    X, y = data
    X = X.copy()
    X[3, 2] = bad
    with pytest.raises(ValueError, match=r"X contains NaN or infinity.*row 3, column 2"):
        entry(X, y)
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        entry(sp.csc_matrix(X), y)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_y_is_rejected(entry, data, bad):
    X, y = data
    y = y.copy()
    y[5] = bad
    with pytest.raises(ValueError, match="y contains NaN or infinity"):
        entry(X, y)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_shape_errors_name_the_shapes(entry, data):
    X, y = data
    with pytest.raises(ValueError, match=r"inconsistent lengths: 20 rows in X, 19 in y"):
        entry(X, y[:-1])
    with pytest.raises(ValueError, match=r"X must be 2-D.*reshape"):
        entry(X[:, 0], y)
    with pytest.raises(ValueError, match="y must be 1-D"):
        entry(X, np.column_stack([y, y]))
    with pytest.raises(ValueError, match="X is empty"):
        entry(np.empty((0, 4)), np.empty(0))
    with pytest.raises(ValueError, match="X is empty"):
        entry(np.empty((20, 0)), y)
    with pytest.raises(ValueError, match="sample_weight has shape"):
        entry(X, y, sample_weight=np.ones(5))


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_bad_sample_weights_are_rejected(entry, data):
    X, y = data
    with pytest.raises(ValueError, match="sample_weight must be finite and non-negative"):
        entry(X, y, sample_weight=-np.ones(20))
    with pytest.raises(ValueError, match="sample_weight must be finite"):
        entry(X, y, sample_weight=np.full(20, np.nan))
    with pytest.raises(ValueError, match="sample_weight sums to zero"):
        entry(X, y, sample_weight=np.zeros(20))


@pytest.mark.parametrize("alpha", [-1.0, np.nan, np.inf])
def test_bad_alpha_is_rejected(data, alpha):
    X, y = data
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        pz.fit(X, y, alpha=alpha)
    with pytest.raises(ValueError, match="alpha"):
        pz.L1(alpha=alpha)


def test_bad_path_grid_is_rejected(data):
    X, y = data
    with pytest.raises(ValueError, match="alphas must be finite and >= 0"):
        pz.path(X, y, alphas=[0.1, -0.2])
    with pytest.raises(ValueError, match="alphas is empty"):
        pz.path(X, y, alphas=[])
    with pytest.raises(ValueError, match="n_alphas must be a positive integer"):
        pz.path(X, y, n_alphas=0)
    with pytest.raises(ValueError, match="alpha_min_ratio must be in"):
        pz.path(X, y, alpha_min_ratio=2.0)


@pytest.mark.parametrize("l1_ratio", [-0.5, 1.01])
def test_l1_ratio_outside_unit_interval_is_rejected(data, l1_ratio):
    X, y = data
    with pytest.raises(ValueError, match=r"l1_ratio must be in \[0, 1\]"):
        pz.fit(X, y, penalty=pz.ElasticNet(l1_ratio=l1_ratio), alpha=0.1)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_logistic_with_one_class_is_rejected(entry, data):
    X, _ = data
    with pytest.raises(ValueError, match="Logistic needs exactly two classes in y, got 1"):
        entry(X, np.ones(20), datafit=pz.Logistic())
    with pytest.raises(ValueError, match="got 3"):
        entry(X, np.arange(20) % 3, datafit=pz.Logistic())


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_non_numeric_input_is_rejected(entry, data):
    X, y = data
    strings = X.astype(str)
    strings[0, 1] = "abc"
    with pytest.raises(TypeError, match="X must be numeric"):
        entry(strings, y)
    objects = X.astype(object)
    objects[2, 0] = "n/a"
    with pytest.raises(TypeError, match="X must be numeric"):
        entry(objects, y)
    with pytest.raises(TypeError, match="X must be numeric"):
        entry(X.astype(complex), y)
    with pytest.raises(TypeError, match="y must be numeric"):
        entry(X, np.array(["a"] * 20))


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_dataframe_with_a_string_column_names_the_column(entry, data):
    X, y = data
    frame = pd.DataFrame(X, columns=["age", "income", "height", "weight"])
    frame["city"] = ["paris", "rome"] * 10
    with pytest.raises(TypeError, match="X column 'city' is not numeric"):
        entry(frame, y)


def test_unknown_solver_and_unsmooth_gd_are_rejected(data):
    X, y = data
    with pytest.raises(ValueError, match="unknown solver 'newton'"):
        pz.fit(X, y, solver="newton")
    for penalty in pz.ALL_PENALTIES():
        if penalty.smooth:
            continue
        with pytest.raises(ValueError, match="solver='gd' needs a smooth penalty"):
            pz.fit(X, y, penalty=penalty, solver="gd")
        with pytest.raises(ValueError, match="solver='gd' needs a smooth penalty"):
            pz.path(X, y, penalty=penalty, solver="gd", n_alphas=2)


def test_bad_tol_max_iter_datafit_penalty_are_rejected(data):
    X, y = data
    with pytest.raises(ValueError, match="tol must be a positive number"):
        pz.fit(X, y, tol=0.0)
    with pytest.raises(ValueError, match="tol must be a positive number"):
        pz.fit(X, y, tol=np.nan)
    with pytest.raises(TypeError, match="datafit must be a penalized datafit"):
        pz.fit(X, y, datafit="squared")
    with pytest.raises(TypeError, match="penalty must be a penalized penalty"):
        pz.fit(X, y, penalty="l1")
    with pytest.raises(ValueError, match="penalty weights have 3 entries but X has 4 features"):
        pz.fit(X, y, penalty=pz.L1(weights=[1.0, 1.0, 1.0]))


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int32, bool])
def test_other_numeric_dtypes_give_the_float64_answer(dtype):
    rng = np.random.default_rng(31)
    X = rng.integers(0, 4, size=(40, 5)) if dtype is not bool else rng.integers(0, 2, (40, 5))
    y = X @ np.array([1.0, -2.0, 0.0, 0.5, 0.0]) + 0.1 * rng.standard_normal(40)
    reference = pz.fit(X.astype(np.float64), y, alpha=0.01, tol=1e-12)
    cast = X.astype(dtype)
    for candidate in (cast, sp.csc_matrix(cast), pd.DataFrame(cast), cast.tolist()):
        res = pz.fit(candidate, y.astype(np.float32) if dtype is np.float32 else y,
                     alpha=0.01, tol=1e-12)
        assert res.coef.dtype == np.float64
        tol = 1e-5 if dtype is np.float32 else 1e-10
        np.testing.assert_allclose(res.coef, reference.coef, atol=tol)


def test_c_ordered_and_csr_input_give_the_same_answer(data):
    X, y = data
    reference = pz.fit(np.asfortranarray(X), y, alpha=0.05, tol=1e-12)
    for candidate in (np.ascontiguousarray(X), sp.csr_matrix(X), sp.coo_matrix(X)):
        res = pz.fit(candidate, y, alpha=0.05, tol=1e-12)
        np.testing.assert_allclose(res.coef, reference.coef, atol=1e-10)


def test_column_vector_y_and_string_labels_are_accepted(data):
    X, y = data
    np.testing.assert_allclose(pz.fit(X, y[:, None], alpha=0.05).coef,
                               pz.fit(X, y, alpha=0.05).coef)
    labels = np.where(y > np.median(y), "yes", "no")
    res = pz.fit(X, labels, datafit=pz.Logistic(), alpha=0.01)
    assert res.classes.tolist() == ["no", "yes"]
    assert set(res.predict(X)) <= {"no", "yes"}
