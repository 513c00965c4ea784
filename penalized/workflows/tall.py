"""Tall data as Dask arrays: every fold's moments in one distributed pass.

``pz.path`` and ``pz.cross_validate`` accept a ``dask.array.Array`` chunked by rows
(or a Dask DataFrame). Each row block is reduced, where it lives, to the
:class:`~.sufficient.Moments` of its rows in every held-out fold; the blocks' moments
are merged in a tree (so no worker holds more than its chunks plus a few ``(p + 1)^2``
arrays, and the client never holds X), and the path or the cross-validation then runs
locally on the Gram forms. Least squares, scored by the mean squared error or r2 (what
the moments give); the other datafits need a pass per outer step
(:mod:`.tall_newton_cv`).
"""

from __future__ import annotations

import sys

import numpy as np

from .sufficient import Moments, check_width


def is_dask_collection(X) -> bool:
    """Whether ``X`` is a Dask array or data frame (Dask is not imported for this), or a
    table that computes its own moments (declares ``moments_source``)."""
    if getattr(X, "moments_source", False):
        return True
    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(X)


def _check_model(datafit, scorer=None) -> None:
    if not datafit.quadratic or datafit.task != "regression" or datafit.multiclass:
        raise ValueError(
            f"Dask arrays are fitted through their sufficient statistics, which serve least "
            f"squares only; got {type(datafit).__name__}: fit it on a NumPy array, or the "
            "cross-validation on a cluster with client=")
    if scorer is not None and (scorer.moment_form is None or scorer.uses_data):
        from .scoring import SCORERS, SKLEARN_SCORERS

        served = [name for name, sc in {**SCORERS, **SKLEARN_SCORERS}.items()
                  if sc.moment_form is not None]
        raise ValueError(f"scoring={scorer.name!r}: Dask arrays are cross-validated by their "
                         "sufficient statistics, which give the scores of the mean squared "
                         "error and the variance of y: use one of "
                         + ", ".join(repr(name) for name in served))


def _as_arrays(X, y, sample_weight):
    """Row-chunked Dask arrays ``X`` (all columns in one chunk), ``y`` and weights."""
    import dask.array as da

    def as_array(value):
        if hasattr(value, "to_dask_array"):  # a Dask DataFrame or Series
            return value.to_dask_array(lengths=True)
        return da.asarray(value)

    X = as_array(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError("X has unknown chunk sizes: compute them first "
                         "(X.compute_chunk_sizes())")
    X = X.rechunk({1: -1})
    rows = X.chunks[0]
    y = as_array(y)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
    y = y.rechunk((rows,))
    if sample_weight is None:
        s = da.ones(X.shape[0], chunks=(rows,))
    else:
        s = as_array(sample_weight).rechunk((rows,))
    check_width(X.shape[1])
    return X, y, s


def _block_moments(X, y, s, labels, n_folds: int) -> list[Moments]:
    """One block's moments in every held-out fold (runs where the block lives)."""
    X, y, s = np.asarray(X, dtype=float), np.asarray(y, dtype=float), np.asarray(s, float)
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y)) and np.all(np.isfinite(s))):
        raise ValueError("X, y or sample_weight has NaN or infinite values")
    return [Moments.of(X[labels == k], y[labels == k], s[labels == k])
            for k in range(n_folds)]


def _merge(a: list[Moments], b: list[Moments]) -> list[Moments]:
    return [u + v for u, v in zip(a, b, strict=True)]


def _reduce(X, y, s, labels: np.ndarray, n_folds: int, client=None) -> list[Moments]:
    """The moments of every held-out fold: one pass, blocks merged in a tree."""
    import dask

    blocks = []
    offsets = np.concatenate([[0], np.cumsum(X.chunks[0])])
    for i, (xb, yb, sb) in enumerate(zip(X.to_delayed().ravel(), y.to_delayed().ravel(),
                                         s.to_delayed().ravel(), strict=True)):
        part = labels[offsets[i]:offsets[i + 1]]
        blocks.append(dask.delayed(_block_moments)(xb, yb, sb, part, n_folds))
    merge = dask.delayed(_merge)
    while len(blocks) > 1:
        blocks = [merge(blocks[i], blocks[i + 1]) if i + 1 < len(blocks) else blocks[i]
                  for i in range(0, len(blocks), 2)]
    scheduler = {} if client is None else {"scheduler": client}
    return dask.compute(blocks[0], **scheduler)[0]


def dask_fold_moments(X, y, sample_weight, cv, datafit, scorer, client=None, foldid=None,
                      groups=None):
    """``(total, training folds, held-out folds, fingerprint data)`` of Dask input
    (``foldid``: a fold label per row instead of ``cv``, as in ``cross_validate``)."""
    from .sufficient import _sum
    from .tall_folds import fold_labels

    _check_model(datafit, scorer)
    source = getattr(X, "moments_source", False)
    if source:  # a table on disk: its target and weights are its own columns
        _check_own_columns(y, sample_weight)
    else:
        X, y, s = _as_arrays(X, y, sample_weight)
    labels = fold_labels(cv, X.shape[0], foldid=foldid, groups=groups)
    if source:
        tests = X.fold_moments(labels, int(labels.max()) + 1, client)
    else:
        tests = _reduce(X, y, s, labels, int(labels.max()) + 1, client)
    total = _sum(list(tests))
    trains = [total - held_out for held_out in tests]
    data = (total.comoment, total.mean, np.array([total.weight]),
            [m.comoment for m in tests] + [labels])
    return total, trains, tests, data


def _check_own_columns(y, sample_weight) -> None:
    if y is not None or sample_weight is not None:
        raise ValueError("a table that computes its own moments holds its target (and "
                         "weights): pass y=None and sample_weight=None")


def dask_moments(X, y, sample_weight, datafit, client=None) -> Moments:
    """The moments of all the rows of Dask input (for ``pz.path``)."""
    _check_model(datafit)
    if getattr(X, "moments_source", False):
        _check_own_columns(y, sample_weight)
        return X.fold_moments(np.zeros(X.shape[0], dtype=np.int8), 1, client)[0]
    X, y, s = _as_arrays(X, y, sample_weight)
    return _reduce(X, y, s, np.zeros(X.shape[0], dtype=np.int8), 1, client)[0]
