r"""Least squares from sufficient statistics: one pass over the rows serves every fold.

For least squares the path depends on the data only through the weighted means and
the centered co-moments of the columns ``[X, y]`` (the Gram form of
:mod:`penalized.core.gram`). These are sums over rows, so

* one pass over X gives them for every held-out fold, and each training fold's are
  the total's minus its held-out fold's: K folds cost one Gram matrix, not K;
* the held-out mean squared error of any coefficients is a quadratic form in the
  held-out fold's moments (no pass over the held-out rows per alpha);
* a ``dask.array`` chunked by rows is reduced block by block on the cluster (each
  worker holds its chunks plus ``(p + 1)^2`` numbers per fold) and the path and the
  whole cross-validation then run locally on ``(p + 1) x p`` problems, exact (not an
  approximation) and independent of ``n_samples``.

Moments are merged and removed with the pairwise formulas of Chan, Golub and LeVeque
(centered per block, so that large column means do not cancel digits):
:math:`M = M_a + M_b + \delta\delta^\top w_a w_b / w` with :math:`\delta = \bar z_b -
\bar z_a`. Sparse X's moments come from its rows (:mod:`.sparse_moments`). The route
serves least squares with at most ``GRAM_MAX_FEATURES`` features; wider data gets a
clear error (the Gram matrix would not fit), to be fitted in memory with sparse X or
by the usual per-fold route.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from ..core.gram import GRAM_MAX_FEATURES, GramStatistics, gram_form_from
from .standardize import unit_scale

#: rows per block when computing moments in memory: bounds the temporary copy
#: (block x (p + 1) floats) while keeping each product BLAS-sized
BLOCK_ROWS = 8192


@dataclasses.dataclass(frozen=True, eq=False)
class Moments:
    """Weighted moments of the columns ``z = [x, y]`` of some rows.

    Attributes
    ----------
    weight : float
        Sum of the rows' sample weights.
    count : int
        Number of rows.
    mean : ndarray of shape (p + 1,)
        Weighted means.
    comoment : ndarray of shape (p + 1, p + 1)
        :math:`\\sum_i s_i (z_i - \\bar z)(z_i - \\bar z)^\\top`.
    """

    weight: float
    count: int
    mean: np.ndarray
    comoment: np.ndarray

    @staticmethod
    def of(X, y, s) -> Moments:
        """The moments of rows ``X, y`` with weights ``s`` (by blocks of rows; sparse X
        from its CSR or CSC arrays as given, :mod:`.sparse_moments`)."""
        if sp.issparse(X):
            return sparse_moments(X, y, s)[0]
        total = None
        for start in range(0, X.shape[0], BLOCK_ROWS):
            rows = slice(start, start + BLOCK_ROWS)
            part = _block(np.asarray(X[rows], dtype=float), np.asarray(y[rows], dtype=float),
                          np.asarray(s[rows], dtype=float))
            total = part if total is None else total + part
        return total if total is not None else _empty(X.shape[1] + 1)

    def __add__(self, other: Moments) -> Moments:
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        weight = self.weight + other.weight
        if weight <= 0:  # rows of zero weight only: nothing to average
            return Moments(0.0, self.count + other.count, self.mean, self.comoment)
        delta = other.mean - self.mean
        return Moments(weight, self.count + other.count,
                       self.mean + delta * (other.weight / weight),
                       self.comoment + other.comoment
                       + np.outer(delta, delta) * (self.weight * other.weight / weight))

    def __sub__(self, other: Moments) -> Moments:
        """The moments of the rows of ``self`` that are not in ``other``."""
        if other.count == 0:
            return self
        weight = self.weight - other.weight
        if self.count - other.count <= 0 or weight <= 0:
            raise ValueError("a training fold has no rows or sample weights summing to zero")
        mean = (self.mean * self.weight - other.mean * other.weight) / weight
        delta = other.mean - mean
        return Moments(weight, self.count - other.count, mean,
                       self.comoment - other.comoment
                       - np.outer(delta, delta) * (weight * other.weight / self.weight))

    def to_arrays(self) -> dict:
        """The arrays :meth:`from_arrays` rebuilds these moments from (a checkpoint's)."""
        return {"mean": self.mean, "comoment": self.comoment,
                "sizes": np.array([self.weight, self.count])}

    @classmethod
    def from_arrays(cls, arrays: dict) -> Moments:
        weight, count = arrays["sizes"]
        return cls(float(weight), int(count), arrays["mean"], arrays["comoment"])

    def column_scale(self) -> np.ndarray:
        """Weighted standard deviation of every feature (1 for a constant one), by the
        rule of :func:`penalized.workflows.standardize.feature_moments` (``unit_scale``)."""
        p = self.mean.shape[0] - 1
        std = np.sqrt(np.maximum(np.diag(self.comoment)[:p] / self.weight, 0.0))
        return unit_scale(self.mean[:p], std)

    def scaled(self, scale: np.ndarray) -> Moments:
        """The moments of ``[x / scale, y]``."""
        factor = np.append(1.0 / scale, 1.0)
        return Moments(self.weight, self.count, self.mean * factor,
                       self.comoment * np.outer(factor, factor))

    def statistics(self, fit_intercept: bool) -> GramStatistics:
        """The Gram statistics, weights renormalized to sum to ``count``."""
        p = self.mean.shape[0] - 1
        second = self.comoment if fit_intercept else \
            self.comoment + np.outer(self.mean, self.mean) * self.weight
        second = second * (self.count / self.weight)
        mean = self.mean if fit_intercept else np.zeros(p + 1)
        return GramStatistics(second[:p, :p], second[:p, p], float(second[p, p]),
                              self.count, mean[:p].copy(), float(mean[p]))

    def squared_error(self, coefs: np.ndarray, intercepts: np.ndarray) -> np.ndarray:
        """Weighted mean squared error on these rows of every fit (rows of ``coefs``)."""
        V = np.hstack([-coefs, np.ones((coefs.shape[0], 1))])
        centered = np.einsum("kq,qr,kr->k", V, self.comoment, V)
        bias = V @ self.mean - intercepts
        return (centered + self.weight * bias**2) / self.weight


def _block(X: np.ndarray, y: np.ndarray, s: np.ndarray) -> Moments:
    return stacked_moments(np.column_stack([X, y]), s)


def stacked_moments(Z: np.ndarray, s: np.ndarray) -> Moments:
    """The moments of the rows of ``Z = [X, y]`` (Z is centered in place: a scratch array)."""
    weight = float(s.sum())
    if weight <= 0:
        return _empty(Z.shape[1]) if Z.shape[0] == 0 else Moments(
            0.0, Z.shape[0], np.zeros(Z.shape[1]), np.zeros((Z.shape[1],) * 2))
    mean = (s @ Z) / weight
    Z -= mean
    if not np.all(s == 1.0):  # sqrt(s) Z: the co-moment is then one symmetric product
        if np.any(s < 0):     # (Z^T Z, half a general product's work)
            raise ValueError("sample_weight must be non-negative")
        Z *= np.sqrt(s)[:, None]
    return Moments(weight, Z.shape[0], mean, Z.T @ Z)


def _empty(q: int) -> Moments:
    return Moments(0.0, 0, np.zeros(q), np.zeros((q, q)))


def check_width(n_features: int) -> None:
    """The Gram route holds ``(p + 1)^2`` numbers per fold: a clear error above the limit."""
    if n_features > GRAM_MAX_FEATURES:
        raise ValueError(
            f"{n_features} features: the sufficient-statistics route for tall data holds a "
            f"{n_features} x {n_features} Gram matrix per fold and serves at most "
            f"{GRAM_MAX_FEATURES} features; fit wider data in memory (sparse X, or a "
            "NumPy array through the per-fold route)")


def fold_moments(X, y, s, splits) -> tuple[Moments, list[Moments], list[Moments]]:
    """``(total, training folds, held-out folds)`` in one pass over the rows when the
    held-out folds partition them (K-fold); training folds that are not the complement
    of their held-out fold are computed directly."""
    n = X.shape[0]
    if sp.issparse(X):
        return _sparse_fold_moments(X, y, s, splits)
    tests = [Moments.of(X[te], y[te], s[te]) if te.size <= BLOCK_ROWS else
             _moments_of_rows(X, y, s, te) for _, te in splits]
    counts = np.bincount(np.concatenate([te for _, te in splits]), minlength=n)
    total = _sum(tests) if np.all(counts == 1) else Moments.of(X, y, s)
    return total, _trains(splits, tests, total, n,
                          lambda rows: _moments_of_rows(X, y, s, rows)), tests


def _trains(splits, tests, total: Moments, n: int, of_rows) -> list[Moments]:
    """Each training fold's moments: the total less its held-out fold's where the two
    partition the ``n`` rows, else ``of_rows(train)``."""
    trains = []
    for (train, test), held_out in zip(splits, tests, strict=True):
        if train.size + test.size == n and np.unique(np.concatenate([train, test])).size == n:
            trains.append(total - held_out)
        else:
            trains.append(of_rows(train))
    return trains


def sparse_moments(X, y, s, groups=None, n_groups: int = 1) -> list[Moments]:
    """The moments of each group of rows of sparse X (:func:`.sparse_moments.
    sparse_moment_sums`: ``groups[i]`` the group of row ``i``, < 0 for none; None: one
    group of every row), in one pass over X."""
    from .sparse_moments import sparse_moment_sums

    weight, count, mean, comoment = sparse_moment_sums(X, np.asarray(y, dtype=float),
                                                       s, groups, n_groups)
    return [Moments(float(weight[k]), int(count[k]), mean[k], comoment[k])
            if count[k] else _empty(X.shape[1] + 1) for k in range(n_groups)]


def _sparse_fold_moments(X, y, s, splits):
    """:func:`fold_moments` of sparse X: the held-out folds' moments in one pass when
    they partition the rows (each row labelled by its fold), every other subset in a
    pass of its own (a label per row: in the subset or not)."""
    n = X.shape[0]
    labels = np.full(n, -1, dtype=np.intp)
    for k, (_, test) in enumerate(splits):
        labels[test] = np.where(labels[test] < 0, k, -2)  # -2: in two held-out folds
    if np.all(labels >= 0):
        tests = sparse_moments(X, y, s, labels, len(splits))
        total = _sum(list(tests))
    else:
        tests = [_sparse_rows_moments(X, y, s, te) for _, te in splits]
        total = Moments.of(X, y, s)
    return total, _trains(splits, tests, total, n,
                          lambda rows: _sparse_rows_moments(X, y, s, rows)), tests


def _sparse_rows_moments(X, y, s, rows: np.ndarray) -> Moments:
    if np.unique(rows).size != rows.size:  # (a row drawn twice counts twice: a copy)
        return Moments.of(X[rows], y[rows], s[rows])
    labels = np.full(X.shape[0], -1, dtype=np.intp)
    labels[rows] = 0
    return sparse_moments(X, y, s, labels)[0]


def _moments_of_rows(X, y, s, rows: np.ndarray) -> Moments:
    parts = [Moments.of(X[rows[i:i + BLOCK_ROWS]], y[rows[i:i + BLOCK_ROWS]],
                        s[rows[i:i + BLOCK_ROWS]]) for i in range(0, rows.size, BLOCK_ROWS)]
    return _sum(parts) if parts else _empty(X.shape[1] + 1)


def _sum(parts: list[Moments]) -> Moments:
    """Pairwise (tree) sum: rounding grows with log(blocks), not blocks."""
    while len(parts) > 1:
        parts = [parts[i] + parts[i + 1] if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]
    return parts[0]


# ---- the cross-validation tasks of the route -------------------------------------------
def gram_path(problem, moments: Moments, grid, standardize: bool, fit_intercept: bool,
              options: dict):
    """The path over ``grid`` of the least-squares problem with these moments
    (``problem`` gives the datafit and penalty), coefficients on the original scale."""
    from .paths import path_problem
    from .standardize import unscale_path

    scale = moments.column_scale() if standardize else np.ones(moments.mean.shape[0] - 1)
    gram = gram_form_from(moments.scaled(scale).statistics(fit_intercept), problem.datafit,
                          problem.penalty.for_scaled_columns(scale), fit_intercept)
    res = path_problem(gram.problem, alphas=grid, n_samples=moments.count,
                       **{**options, "precompute": False})
    res = dataclasses.replace(res, intercepts=gram.intercepts(res.coefs))
    return unscale_path(res, np.zeros_like(scale), scale)


def gram_fold_scores(problem, train: Moments, test: Moments, grid, standardize: bool,
                     fit_intercept: bool, keep_path: bool, score, options: dict):
    """Held-out mean squared error of every alpha of the training fold's path (or
    ``score(mse, variance of y)``: a scorer's ``moment_form``, or None); with ``keep_path``,
    ``(scores, coefs, intercepts)`` (as ``cv_tasks._fold_scores``)."""
    res = gram_path(problem, train, grid, standardize, fit_intercept, options)
    scores = test.squared_error(res.coefs, res.intercepts)
    if score is not None:
        scores = score(scores, test.comoment[-1, -1] / test.weight)
    return (scores, np.array(res.coefs), np.array(res.intercepts)) if keep_path else scores


def gram_grid(problem, moments: Moments, standardize: bool, fit_intercept: bool,
              n_alphas, alpha_min_ratio, alphas) -> np.ndarray:
    """The alpha grid of the full data, from its moments: :func:`.paths.default_grid`
    of its Gram form, told the original number of rows (the grid of ``cv._grid_for``)."""
    from .paths import check_alphas, default_grid

    if alphas is not None:
        return check_alphas(alphas)
    scale = moments.column_scale() if standardize else np.ones(moments.mean.shape[0] - 1)
    small = gram_form_from(moments.scaled(scale).statistics(fit_intercept), problem.datafit,
                           problem.penalty.for_scaled_columns(scale), fit_intercept).problem
    return default_grid(small, n_alphas, alpha_min_ratio, n_samples=moments.count)[0]


def path_by_row_blocks(problem, standardize: bool, options: dict):
    """:func:`.paths.path` in Gram form of a problem whose X is the caller's array as
    given (``make_problem(..., keep_dense=True)``: float32 or C-ordered, or CSR / CSC).
    Its moments are summed over blocks of rows, each upcast to float64 (a temporary of
    ``BLOCK_ROWS x (p + 1)`` floats; sparse X: :mod:`.sparse_moments`), so that X is
    neither converted to float64 nor copied to Fortran order or CSC; the same path as
    the in-memory Gram route (the same Gram form, to rounding). ``options``: those of
    :func:`.paths.path_problem`."""
    options = dict(options)
    moments = Moments.of(problem.X, problem.y, problem.sample_weight)
    grid = gram_grid(problem, moments, standardize, problem.fit_intercept,
                     options.pop("n_alphas"), options.pop("alpha_min_ratio"),
                     options.pop("alphas"))
    options.pop("precompute")
    return gram_path(problem, moments, grid, standardize, problem.fit_intercept, options)
