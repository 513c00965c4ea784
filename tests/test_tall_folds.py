"""Fold labels of the Dask routes: the in-memory route's folds, kept as one int32 label
per row (never the K index arrays)."""

import tracemalloc
import types

import numpy as np
import pytest
from sklearn.model_selection import GroupKFold, KFold, ShuffleSplit, StratifiedKFold

import penalized as pz
from penalized.workflows.cv import folds_from_labels, make_splits
from penalized.workflows.tall_folds import fold_labels


def _reference(cv, n, datafit, y=None, groups=None, foldid=None):
    """The labels of the in-memory route's splits (:func:`make_splits`)."""
    y_code, classes = (None, None) if y is None else datafit.prepare_target(y)
    owner = types.SimpleNamespace(n_samples=n, datafit=datafit, y=y_code, classes=classes)
    splits = make_splits(cv if foldid is None else folds_from_labels(foldid, n), owner, groups)
    labels = np.full(n, -1)
    for k, (_, test) in enumerate(splits):
        labels[test] = k
    return labels


def _labels(cv, n, datafit, y=None, **kwargs):
    y_code, classes = (None, None) if y is None else datafit.prepare_target(y)
    labels = fold_labels(cv, n, y=y_code, classes=classes, **kwargs)
    assert labels.dtype == np.int8  # one byte a row (up to 128 folds)
    return labels


@pytest.mark.parametrize("n", [7, 100, 103])
@pytest.mark.parametrize("cv", [2, 3, 5, KFold(4), KFold(3, shuffle=True, random_state=1)])
def test_least_squares_folds_are_the_in_memory_ones(n, cv):
    np.testing.assert_array_equal(_labels(cv, n, pz.LeastSquares()),
                                  _reference(cv, n, pz.LeastSquares()))


@pytest.mark.parametrize("weights", [[0.5, 0.5], [0.9, 0.1], [0.2, 0.5, 0.3],
                                     [0.05, 0.6, 0.05, 0.3]])
@pytest.mark.parametrize("cv", [3, 5, StratifiedKFold(4, shuffle=True, random_state=2)])
def test_class_folds_are_stratified_as_in_memory(weights, cv):
    """Stratified K-fold computed as labels equals scikit-learn's splits, for classes of
    uneven sizes first seen in any order."""
    rng = np.random.default_rng(len(weights))
    y = rng.choice(len(weights), size=211, p=weights)
    datafit = pz.Logistic() if len(weights) == 2 else pz.Multinomial()
    np.testing.assert_array_equal(_labels(cv, y.shape[0], datafit, y),
                                  _reference(cv, y.shape[0], datafit, y))


@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("weights", [None, [0.7, 0.3], [0.2, 0.5, 0.3]])
def test_seeded_folds_are_scikit_learns_shuffled_ones(seed, weights):
    """An int cv with a seed (the CLI's folds) equals scikit-learn's KFold /
    StratifiedKFold with shuffle=True, random_state=seed."""
    n = 503
    if weights is None:
        datafit, y, splitter = pz.LeastSquares(), None, KFold(5, shuffle=True,
                                                                random_state=seed)
    else:
        y = np.random.default_rng(seed).choice(len(weights), size=n, p=weights)
        datafit = pz.Logistic() if len(weights) == 2 else pz.Multinomial()
        splitter = StratifiedKFold(5, shuffle=True, random_state=seed)
    np.testing.assert_array_equal(_labels(5, n, datafit, y, seed=seed),
                                  _reference(splitter, n, datafit, y))


def test_integer_foldid_is_ranked_without_a_sort():
    foldid = np.array([3, 9, 3, 0, 9, 9, 0, 3])
    for ids in (foldid, foldid.astype(np.int32), foldid - 5, foldid * 0.5):
        np.testing.assert_array_equal(fold_labels(None, 8, foldid=ids),
                                      [1, 2, 1, 0, 2, 2, 0, 1])
    same = np.array([1, 0, 1, 0], dtype=np.int32)
    assert fold_labels(None, 4, foldid=same).dtype == np.int8


def test_foldid_and_group_splitter_folds():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 90)
    foldid = rng.choice([4, 7, 9], 90)
    groups = np.arange(90) % 11
    for datafit, target in [(pz.Logistic(), y), (pz.LeastSquares(), None)]:
        np.testing.assert_array_equal(_labels(None, 90, datafit, target, foldid=foldid),
                                      _reference(None, 90, datafit, target, foldid=foldid))
        np.testing.assert_array_equal(
            _labels(GroupKFold(3), 90, datafit, target, groups=groups),
            _reference(GroupKFold(3), 90, datafit, target, groups=groups))
    splits = [(np.arange(40, 90), np.arange(40)), (np.arange(40), np.arange(40, 90))]
    np.testing.assert_array_equal(fold_labels(splits, 90), np.repeat([0, 1], [40, 50]))


def test_folds_that_do_not_partition_the_rows_are_refused():
    y = np.r_[np.zeros(20), np.ones(4)]
    with pytest.raises(ValueError, match="do not overlap"):
        fold_labels(ShuffleSplit(3, test_size=0.5, random_state=0), 24)
    with pytest.raises(ValueError, match="do not overlap"):  # a training fold not the rest
        fold_labels([(np.arange(5), np.arange(12, 24)), (np.arange(12), np.arange(12))], 24)
    with pytest.raises(ValueError, match="3 of 24 rows are in no held-out fold"):
        fold_labels([(np.arange(9, 24), np.arange(9)), (np.arange(12), np.arange(12, 24))],
                    24)
    with pytest.raises(ValueError, match="at least 2 splits, got 1"):
        fold_labels([(np.arange(12), np.arange(12, 24))], 24)
    with pytest.raises(ValueError, match="cv must be at least 2 folds"):
        fold_labels(1, 24)
    with pytest.raises(ValueError, match="cv=30 folds but only 24 samples"):
        fold_labels(30, 24)
    with pytest.raises(ValueError, match="smallest class has 4 samples, fewer than cv=5"):
        _labels(5, 24, pz.Logistic(), y)
    with pytest.raises(ValueError, match="training fold 0 lacks a class .it has 1 of 2"):
        _labels(KFold(2), 24, pz.Logistic(), y[::-1])
    with pytest.raises(ValueError, match="at least 2 distinct fold labels"):
        fold_labels(None, 24, foldid=np.zeros(24))
    with pytest.raises(TypeError, match="cv must be an int"):
        fold_labels("five", 24)
    with pytest.raises(ValueError, match="StratifiedKFold.* could not split .* not y"):
        fold_labels(StratifiedKFold(3), 24)  # (the least-squares route holds no y here)
    with pytest.raises(ValueError, match="GroupKFold.* could not split .*'groups'"):
        fold_labels(GroupKFold(3), 24)


@pytest.mark.parametrize("classes", [False, True], ids=["KFold", "StratifiedKFold"])
@pytest.mark.parametrize("seed", [None, 3], ids=["in order", "shuffled"])
def test_fold_labels_hold_no_index_arrays(classes, seed):
    """At 2,000,000 rows and 5 folds the labels' peak stays under 3 x the int32 labels
    plus one copy of y (the K int64 (train, test) arrays: 10 x the labels; the old code
    peaked at 11x to 24x); and so does a foldid's."""
    n = 2_000_000
    y = np.where(np.random.default_rng(0).random(n) < 0.3, 1.0, -1.0) if classes else None
    tracemalloc.start()
    try:
        labels = fold_labels(5, n, y=y, classes=np.array([0, 1]) if classes else None,
                             seed=seed)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        again = fold_labels(None, n, foldid=labels, y=y,
                            classes=np.array([0, 1]) if classes else None)
        foldid_peak = tracemalloc.get_traced_memory()[1] - labels.nbytes
    finally:
        tracemalloc.stop()
    assert np.bincount(labels).tolist() == [n // 5] * 5
    np.testing.assert_array_equal(again, labels)
    # (in bytes a row: the labels are one byte each now) KFold: the shuffle's int32
    # permutation and the labels; classes: 3 x int32 labels and a copy of y, as before
    bound = 6 * n if not classes else 3 * 4 * n + 8 * n
    assert max(peak, foldid_peak) < bound, (peak / n, foldid_peak / n)


@pytest.mark.parametrize("stratify", [True, False])
@pytest.mark.parametrize("datafit", [pz.LeastSquares(), pz.Logistic()], ids=["ls", "logistic"])
def test_the_cli_folder_folds_are_the_in_memory_clis(datafit, stratify):
    """``penalized fit DIR --dask``: the folds of the in-memory CLI (its splitter: shuffled
    by --seed, stratified for classes unless --no-stratify)."""
    from penalized.app.cli._model import _splitter
    from penalized.app.cli._tall import folder_fold_labels

    settings = types.SimpleNamespace(cv=4, seed=11, stratify=stratify)
    y = np.random.default_rng(1).choice(2, size=301, p=[0.8, 0.2]).astype(float)
    y_code, classes = datafit.prepare_target(y)
    labels = folder_fold_labels(settings, 301, *((y_code, classes) if classes is not None
                                                 else ()))
    splitter = _splitter(4, datafit.task, 11, stratify)
    np.testing.assert_array_equal(labels, _reference(splitter, 301, datafit,
                                                     y if classes is not None else None))
