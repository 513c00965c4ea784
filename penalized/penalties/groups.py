"""Groups of features for the group penalties: the user's forms, checked and indexed.

A group penalty takes its groups in one of three forms:

* an ``int`` ``k``: consecutive groups of ``k`` features (the last may be smaller),
  skglm's ``grp_size``;
* a sequence of index arrays, one per group (``[[0, 1, 2], [5, 6]]``): each feature in
  at most one group; a feature in no group is a group of its own (weight 1), so that
  forgetting a feature never leaves it unpenalized (grpreg's ``group = 0`` for
  unpenalized features is a group weight of 0 here, or a feature weight of 0);
* a label per feature (``["age", "sex", "sex", "region", "region", "region"]``): the
  features with equal labels form a group, the groups in the order labels first appear.

:func:`structure` turns any of them into CSR-like arrays over the features of one
design matrix (the compiled operations and the block solver read these).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class GroupStructure(NamedTuple):
    """The groups over ``n_features`` features, as the compiled operations take them.

    ``indptr`` (n_groups + 1,) and ``indices``: group ``g`` holds the features
    ``indices[indptr[g]:indptr[g + 1]]`` (penalized ones only: a feature with weight 0,
    or in a group of weight 0 without an L1 part, is in none); ``weights``
    (n_groups,): the group weights; ``group_of`` (n_features,): each feature's group,
    -1 for an unpenalized feature.
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    group_of: np.ndarray

    @property
    def n_groups(self) -> int:
        return self.indptr.shape[0] - 1


def normalize_groups(groups):
    """The user's ``groups`` in an immutable, comparable form, or one clear error:
    an ``int``, a tuple of tuples of feature indices, or a read-only label array."""
    if isinstance(groups, bool) or groups is None:
        raise ValueError(f"groups must be a group size, a list of index arrays or a label "
                         f"per feature, got {groups!r}")
    if isinstance(groups, int | np.integer):
        if groups < 1:
            raise ValueError(f"groups as a group size must be >= 1, got {groups}")
        return int(groups)
    if isinstance(groups, str) or not hasattr(groups, "__len__"):
        raise ValueError(f"groups must be a group size, a list of index arrays or a label "
                         f"per feature, got {groups!r}")
    if len(groups) == 0:
        raise ValueError("groups is empty")
    items = list(groups)
    if all(np.ndim(item) == 1 for item in items):
        return _index_groups(items)
    if any(np.ndim(item) != 0 for item in items):
        raise ValueError("groups must be either index arrays (one per group) or one label "
                         "per feature, not a mix")
    labels = np.asarray(items if not isinstance(groups, np.ndarray) else groups)
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
        raise ValueError("group labels must not be NaN or infinite")
    labels = labels.copy()
    labels.setflags(write=False)
    return labels


def _index_groups(items) -> tuple:
    arrays = [np.asarray(item) for item in items]
    for g, arr in enumerate(arrays):
        if arr.size == 0:
            raise ValueError(f"group {g} is empty")
        if arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f"
                                               and np.all(arr == np.round(arr))):
            raise ValueError(f"group {g} must hold feature indices (integers), got "
                             f"{arr[:5].tolist()}")
    idx = [arr.astype(np.int64) for arr in arrays]
    flat = np.concatenate(idx)
    if np.any(flat < 0):
        raise ValueError(f"groups hold a negative feature index {int(flat.min())}")
    owner = np.repeat(np.arange(len(idx)), [a.shape[0] for a in idx])
    order = np.argsort(flat, kind="stable")
    twice = np.flatnonzero(np.diff(flat[order]) == 0)
    if twice.size:
        j = int(flat[order[twice[0]]])
        first, second = int(owner[order[twice[0]]]), int(owner[order[twice[0] + 1]])
        where = "twice in group" if first == second else f"in groups {first} and"
        raise ValueError(f"feature {j} is {where} {second}: every feature may be in at most "
                         "one group")
    return tuple(tuple(a.tolist()) for a in idx)


def _listed(groups, n_features: int) -> list[np.ndarray]:
    """The groups' feature indices, every feature in exactly one of them."""
    if isinstance(groups, int):
        return [np.arange(lo, min(lo + groups, n_features), dtype=np.int64)
                for lo in range(0, n_features, groups)]
    if isinstance(groups, tuple):
        top = max(max(g) for g in groups)
        if top >= n_features:
            raise ValueError(f"groups name feature {top} but X has {n_features} features")
        listed = [np.array(g, dtype=np.int64) for g in groups]
        covered = np.zeros(n_features, dtype=bool)
        for g in listed:
            covered[g] = True
        return listed + [np.array([j], dtype=np.int64) for j in np.flatnonzero(~covered)]
    if groups.shape[0] != n_features:
        raise ValueError(f"groups has {groups.shape[0]} labels but X has {n_features} "
                         "features (one label per feature)")
    try:
        _, first, codes = np.unique(groups, return_index=True, return_inverse=True)
    except TypeError:  # e.g. None among strings: no order to sort them by
        raise ValueError("group labels must be all strings or all numbers") from None
    order = np.argsort(first, kind="stable")  # groups in the order labels first appear
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    codes = rank[codes.ravel()]
    members = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[members], np.arange(order.shape[0] + 1))
    return [members[bounds[g]:bounds[g + 1]].astype(np.int64) for g in range(order.shape[0])]


def n_given(groups) -> int | None:
    """How many groups the user named (None: it depends on the number of features)."""
    if isinstance(groups, tuple):
        return len(groups)
    if isinstance(groups, np.ndarray):
        return int(np.unique(groups).shape[0])
    return None


def structure(groups, group_weights, omega: np.ndarray, l1_ratio: float) -> GroupStructure:
    """The :class:`GroupStructure` of the normalized ``groups`` over ``omega.shape[0]``
    features; ``group_weights``: given weights (one per named group; features in no
    named group are groups of weight 1) or None (``sqrt`` of each group's size);
    ``omega``: the per-feature weights (0: unpenalized, out of every group)."""
    n_features = omega.shape[0]
    listed = _listed(groups, n_features)
    sizes = np.array([g.shape[0] for g in listed], dtype=float)
    if group_weights is None:
        weights = np.sqrt(sizes)
    else:
        named = n_given(groups) if n_given(groups) is not None else len(listed)
        if group_weights.shape[0] != named:
            raise ValueError(f"group_weights has {group_weights.shape[0]} entries but there "
                             f"are {named} groups (one weight per group)")
        weights = np.concatenate([group_weights, np.ones(len(listed) - named)])
    keep = []
    for g, members in enumerate(listed):
        # a feature is penalized if its L1 weight is positive and some part of the
        # penalty reaches it: the L1 part, or its group's norm
        penalized = omega[members] > 0
        if l1_ratio <= 0.0 and weights[g] <= 0.0:
            penalized[:] = False
        keep.append(members[penalized])
    counts = np.array([k.shape[0] for k in keep], dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    indices = np.concatenate(keep).astype(np.int64) if keep else np.zeros(0, np.int64)
    group_of = np.full(n_features, -1, dtype=np.int64)
    group_of[indices] = np.repeat(np.arange(len(keep), dtype=np.int64), counts)
    for a in (indptr, indices, weights, group_of):
        a.setflags(write=False)
    return GroupStructure(indptr, indices, np.ascontiguousarray(weights, dtype=float),
                          group_of)
