"""Each row's held-out fold, for the Dask routes (:mod:`.tall`, :mod:`.tall_newton_cv`).

A tall cross-validation needs one small label per row on the client (:func:`label_dtype`:
one byte up to 128 folds), never the K (train, test) index arrays (``K x n`` int64: 0.8 GB
at 20M rows, 5 folds). The folds are the in-memory route's (:func:`.cv.make_splits`): an
int is K-fold, stratified when the datafit codes ``y`` as classes (``classes`` given),
computed here as labels (equal to scikit-learn's unshuffled ``KFold`` /
``StratifiedKFold``); a splitter or an iterable of splits is read one split at a time;
``foldid`` is glmnet's (fold ``k``: the ``k``-th smallest label). The held-out folds
must partition the rows, each trained on all the others.
"""

from __future__ import annotations

import numbers

import numpy as np


def fold_labels(cv, n: int, *, foldid=None, groups=None, y=None, classes=None,
                seed=None, stratify: bool = True) -> np.ndarray:
    """Each row's held-out fold (0..K-1, typed by :func:`label_dtype`). ``y``: the target
    in the datafit's coding (passed to a splitter; with ``classes``, the folds are
    stratified and every training fold must hold every class). ``seed``: an int ``cv`` is
    shuffled K-fold, scikit-learn's ``shuffle=True, random_state=seed``;
    ``stratify=False``: an int ``cv`` is plain K-fold even for classes (each training
    fold must still hold every class)."""
    if foldid is not None:
        labels = foldid_labels(foldid, n)
    elif cv is None or (isinstance(cv, numbers.Integral) and not isinstance(cv, bool)):
        labels = _k_fold(5 if cv is None else int(cv), n,
                         y if classes is not None and stratify else None, seed)
    elif not isinstance(cv, str) and (hasattr(cv, "split") or hasattr(cv, "__iter__")):
        labels = _from_splits(cv, n, y, groups)
    else:
        raise TypeError(f"cv must be an int, a scikit-learn splitter or an iterable of "
                        f"(train, test) index arrays, got {cv!r}")
    if classes is not None:
        _check_classes(labels, y, int(labels.max()) + 1)
    return labels


def label_dtype(n_folds: int) -> np.dtype:
    """The smallest signed integer type holding the labels 0..n_folds-1 (``int8`` up to
    128 folds): the client's one array per row. Signed: a label compared with a negative
    marker (the full data's ``-1``) is never equal to it."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_folds - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


#: rows of labels converted at a time where numpy would convert all of them to intp
#: (``np.bincount``, an index array): bounds that copy to 512 KB
CHUNK_ROWS = 1 << 16


def foldid_labels(foldid, n: int) -> np.ndarray:
    """glmnet's ``foldid`` (one fold label per row) checked, as ranks (:func:`label_dtype`):
    fold ``k`` holds the rows of the ``k``-th smallest label. Labels already ranked in the
    small type (:func:`fold_labels`' own) are returned as they are, not copied."""
    foldid = np.asarray(foldid).ravel()
    if foldid.shape[0] != n:
        raise ValueError(f"foldid has {foldid.shape[0]} labels but X has {n} rows")
    if foldid.dtype.kind in "iu" and foldid.size and 0 <= foldid.min() <= foldid.max() < n:
        # small non-negative integers: ranked through a table (no sort of n values)
        present = np.zeros(int(foldid.max()) + 1, dtype=bool)
        for start in range(0, n, CHUNK_ROWS):
            present[foldid[start:start + CHUNK_ROWS]] = True
        values = np.flatnonzero(present)
        dtype = label_dtype(values.shape[0])
        rank = (np.cumsum(present) - 1).astype(dtype)
        if present.all():
            labels = foldid.astype(dtype, copy=False)
        else:
            labels = np.empty(n, dtype=dtype)
            for start in range(0, n, CHUNK_ROWS):
                labels[start:start + CHUNK_ROWS] = rank[foldid[start:start + CHUNK_ROWS]]
    else:
        values, labels = np.unique(foldid, return_inverse=True)
    if values.shape[0] < 2:
        raise ValueError(f"foldid must hold at least 2 distinct fold labels, got "
                         f"{values.tolist()}")
    return labels.astype(label_dtype(values.shape[0]), copy=False)


def _k_fold(k: int, n: int, y, seed) -> np.ndarray:
    """K-fold labels; stratified by ``y``'s values when ``y`` is given; shuffled as
    scikit-learn shuffles with ``random_state=seed`` (None: not shuffled)."""
    if k < 2:
        raise ValueError(f"cv must be at least 2 folds, got {k}")
    if k > n:
        raise ValueError(f"cv={k} folds but only {n} samples: use at most {n} folds")
    # (scikit-learn's check_random_state: an int seeds a RandomState; no import of it)
    rng = seed if seed is None or isinstance(seed, np.random.RandomState) else \
        np.random.RandomState(seed)
    if y is not None:
        return _stratified(k, np.asarray(y), rng)
    # KFold: contiguous folds of the (shuffled) rows, the first n % k one row longer
    sizes = np.full(k, n // k)
    sizes[:n % k] += 1
    if rng is None:
        return np.repeat(np.arange(k, dtype=label_dtype(k)), sizes)
    # the permutation of every row is the peak (4 bytes a row, freed on return): it is
    # scikit-learn's, one Fisher-Yates pass over all the rows, so no part of it can be
    # drawn alone (shuffled as int64 would be: the same draws)
    rows = np.arange(n, dtype=np.int32 if n <= np.iinfo(np.int32).max else np.int64)
    rng.shuffle(rows)
    labels = np.empty(n, dtype=label_dtype(k))
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    for fold in range(k):  # fold k: the k-th run of the shuffled rows
        for start in range(bounds[fold], bounds[fold + 1], CHUNK_ROWS):
            labels[rows[start:min(start + CHUNK_ROWS, bounds[fold + 1])]] = fold
    return labels


def _stratified(k: int, y: np.ndarray, rng) -> np.ndarray:
    """StratifiedKFold's labels: the classes taken in order of first appearance, their
    rows sorted by class and dealt round-robin (position j to fold j % k), and each
    class's rows, in row order, given its share of each fold in fold order (shuffled
    within the class by ``rng``, class after class, when given)."""
    values = np.unique(y)
    firsts, counts = [], []
    for v in values:
        rows = y == v
        firsts.append(int(np.argmax(rows)))
        counts.append(int(np.count_nonzero(rows)))
    # (an int cv: make_splits' rule; a seeded one is a splitter's: scikit-learn's)
    if min(counts) < k and (rng is None or max(counts) < k):
        raise ValueError(f"the smallest class has {min(counts)} samples, fewer than cv={k} "
                         "folds: every training fold must hold every class; use fewer folds")
    order = np.argsort(firsts, kind="stable")
    labels = np.empty(y.shape[0], dtype=label_dtype(k))
    folds = np.arange(k)
    start = 0
    for c in order:
        # how many of the sorted positions start..start+count-1 are = i (mod k)
        share = (start + counts[c] - 1 - folds) // k - (start - 1 - folds) // k
        dealt = np.repeat(folds.astype(labels.dtype), share)  # (same draws as int64)
        if rng is not None:
            rng.shuffle(dealt)
        labels[y == values[c]] = dealt
        start += counts[c]
    return labels


def _from_splits(cv, n: int, y, groups) -> np.ndarray:
    """Labels from a splitter's or an iterable's splits, read one at a time."""
    labels = np.full(n, -1, dtype=np.int32)
    count = 0
    for k, (train, test) in enumerate(_splits(cv, n, y, groups)):
        test = np.asarray(test, dtype=np.intp)
        if np.any(labels[test] >= 0) or np.asarray(train).size + test.size != n:
            raise ValueError("the Dask route needs K-fold splits: held-out folds that do "
                             "not overlap, each trained on all the other rows")
        labels[test] = k
        count = k + 1
    if count < 2:
        raise ValueError(f"cross-validation needs at least 2 splits, got {count}")
    if np.any(labels < 0):
        raise ValueError(f"the Dask route needs held-out folds that cover every row "
                         f"(K-fold): {np.count_nonzero(labels < 0)} of {n} rows are in "
                         "no held-out fold")
    return labels.astype(label_dtype(count))


def _splits(cv, n: int, y, groups):
    """The splits of an iterable, or of a splitter (given a zero-stride stand-in for X:
    only its length is read); a splitter that needs the ``y`` this route does not hold
    is a clear error."""
    if not hasattr(cv, "split"):
        yield from cv
        return
    try:
        splits = iter(cv.split(np.broadcast_to(np.float64(0), (n, 1)), y, groups))
    except (TypeError, ValueError) as exc:
        if y is not None:
            raise
        raise _needs_y(cv, exc) from None
    while True:
        try:
            pair = next(splits)
        except StopIteration:
            return
        except (TypeError, ValueError) as exc:
            if y is not None:
                raise
            raise _needs_y(cv, exc) from None
        yield pair


def _needs_y(cv, exc) -> ValueError:
    return ValueError(f"cv={cv!r} could not split the rows ({exc}): the Dask least-squares "
                      "route gives a splitter the row count and groups=, not y (it stays on "
                      "the cluster); give foldid= (a fold label per row) or a splitter that "
                      "needs no y")


def _check_classes(labels: np.ndarray, y, n_folds: int) -> None:
    """Every training fold holds every class: no class lies wholly in one held-out fold."""
    y = np.asarray(y)
    values = np.unique(y)
    held = np.array([np.bincount(labels[y == v], minlength=n_folds) for v in values])
    lacks = held == held.sum(axis=1, keepdims=True)  # (class, fold): all its rows held out
    lacking = np.flatnonzero(lacks.any(axis=0))
    if lacking.size:
        k = lacking[0]
        raise ValueError(
            f"training fold {k} lacks a class (it has {values.shape[0] - lacks[:, k].sum()} "
            f"of {values.shape[0]}): use a stratified splitter or fewer folds")
