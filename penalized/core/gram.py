r"""Tall least squares in Gram form: the ``precompute`` option of the path machinery.

For least squares with dense X and ``n_samples`` much larger than ``n_features``,
the path is solved on an equivalent problem with at most ``n_features + 1`` rows,
so that every solver pass costs ``p^2`` instead of ``n p`` (scikit-learn's
``precompute``). With weighted centering (:math:`\bar x, \bar y` the weighted
means; no centering without an intercept), :math:`\tilde X = S^{1/2}(X - \bar x)`
and :math:`\tilde y = S^{1/2}(y - \bar y)`,

.. math::

    \frac{1}{n}\sum_i s_i \tfrac12 (y_i - x_i^\top w - b^*(w))^2
    = \frac{1}{2n}\|\tilde y - \tilde X w\|^2
    = \frac{1}{2n}\Big(\|y_t - R w\|^2 + \rho^2\Big),

where :math:`\tilde X^\top \tilde X = R^\top R` (Cholesky; the eigendecomposition
when a pivot is ~0, so that collinear columns such as one-hot blocks are fine),
:math:`y_t = U^\top \tilde y`
(:math:`U` the left singular vectors of :math:`\tilde X`) and
:math:`\rho = \|\tilde y - U y_t\|`, the part of the target that no ``w`` explains.
The compressed problem has rows ``[R; 0]`` and target ``[y_t; rho]``, scaled by
:math:`\sqrt{m / n}` so that its mean over ``m`` rows is the original mean over
``n``. It is the original problem in an orthonormal basis of
:math:`\mathrm{span}(\tilde X, \tilde y)`: the objective is equal for every ``w``
(no constant to add), and so are the gradient ``X^T`` residual, the duality gap
(the residual row keeps the dual's norms), the null model and with it the
stopping scale. Only the intercept is mapped back, :math:`b = \bar y - \bar x^\top w`.

Rule for ``precompute="auto"``: :class:`~penalized.LeastSquares` (any quadratic
regression datafit), ``n_samples >= GRAM_RATIO * n_features`` and
``n_features <= GRAM_MAX_FEATURES`` (forming the Gram matrix of dense X costs
``n p^2``, its Cholesky factor ``p^3 / 3``, the eigendecomposition about ``10 p^3``).
Sparse X (CSR or CSC, read by blocks of rows as given:
:mod:`penalized.workflows.sparse_moments`) also needs both of

* ``nnz >= SPARSE_GRAM_RATIO * p^2``: a coordinate update on the Gram form reads a
  column of ``p + 1`` dense rows, on X a column of ``nnz / p`` entries on average, so
  the Gram form's epochs are the cheaper ones only when columns hold about ``p``
  entries or more;
* ``sum_i nnz_i^2 / 2 <= SPARSE_GRAM_PASSES * nnz``: forming the Gram matrix costs a
  sparse product, ``nnz_i^2 / 2`` multiply-adds per row (the mean row length over two
  passes over X's entries), and a path on X takes a few dozen to a few hundred passes;
  long rows (dense-ish X) make the product the larger cost.

Both thresholds were measured on generated problems (bench/README.md, section
``bench_memory.py``): every measured case they send to the Gram route was faster there
(and every case from ``nnz = p^2 / 2`` up with rows short enough); at ``nnz = p^2 / 5``
two shapes of three were slower; 90-100 passes broke even, 200-250 took twice as long.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy.linalg import lapack

from .problem import Problem, make_problem

#: ``precompute="auto"`` compresses when ``n_samples >= GRAM_RATIO * n_features``
#: (the Gram form has about ``p`` rows instead of ``n``, so an epoch costs about ``p^2``
#: instead of ``n p``; forming it costs ``n p^2`` once; the threshold's history is in
#: bench/README.md) ...
GRAM_RATIO = 2
#: ... and ``n_features <= GRAM_MAX_FEATURES``
GRAM_MAX_FEATURES = 2000
#: sparse X (the module rule): forming its Gram matrix costs at most SPARSE_GRAM_PASSES
#: passes over its entries ...
SPARSE_GRAM_PASSES = 60
#: ... and X has at least SPARSE_GRAM_RATIO * p^2 entries
SPARSE_GRAM_RATIO = 1
#: the Cholesky factor is used when every pivot is above this fraction of the largest
#: squared column norm; the eigendecomposition otherwise (collinear columns)
CHOLESKY_MIN_PIVOT = 1e-8


def gram_applicable(problem: Problem) -> str | None:
    """None when the Gram form is exact for ``problem``, else the reason it is not."""
    datafit = problem.datafit
    if not datafit.quadratic or datafit.task != "regression" or datafit.multiclass:
        return f"it needs a least-squares datafit, got {type(datafit).__name__}"
    if problem.offset is not None:
        return "it does not take an offset (subtract it from y for least squares)"
    return None


def use_gram(problem: Problem, precompute) -> bool:
    """Whether the path on ``problem`` is solved in Gram form.

    Parameters
    ----------
    problem : Problem
    precompute : {"auto", True, False}
        ``"auto"``: when exact and worth it (see the module rule); ``True``: whenever
        exact (a ValueError says why not otherwise); ``False``: never.
    """
    if isinstance(precompute, bool):
        if precompute and gram_applicable(problem) is not None:
            raise ValueError(f"precompute=True: {gram_applicable(problem)}")
        return precompute
    if not isinstance(precompute, str) or precompute != "auto":
        raise ValueError(f"precompute must be 'auto', True or False, got {precompute!r}")
    n, p = problem.X.shape
    return (gram_applicable(problem) is None and n >= GRAM_RATIO * p
            and p <= GRAM_MAX_FEATURES
            and (not problem.is_sparse or sparse_gram_pays(problem.X)))


def sparse_gram_pays(X) -> bool:
    """The sparse part of the ``"auto"`` rule (module docstring) for CSR or CSC X."""
    from ..workflows.sparse_moments import row_pair_count

    p = X.shape[1]
    return (SPARSE_GRAM_RATIO * p * p <= X.nnz
            and row_pair_count(X) <= SPARSE_GRAM_PASSES * X.nnz)


@dataclasses.dataclass(frozen=True, eq=False)
class GramForm:
    """The compressed problem and what maps its solutions back.

    Attributes
    ----------
    problem : Problem
        At most ``n_features + 1`` rows, no intercept; same penalty, same objective.
    x_mean : ndarray of shape (n_features,)
        Weighted column means (zeros without an intercept).
    y_mean : float
    """

    problem: Problem
    x_mean: np.ndarray
    y_mean: float
    fit_intercept: bool

    def intercepts(self, coefs: np.ndarray) -> np.ndarray:
        """Intercepts of the original problem for ``coefs`` of shape (n_fits, n_features)."""
        if not self.fit_intercept:
            return np.zeros(coefs.shape[0])
        return self.y_mean - coefs @ self.x_mean


def gram_form(problem: Problem) -> GramForm:
    """The equivalent problem with at most ``n_features + 1`` rows (module docstring)."""
    reason = gram_applicable(problem)
    if reason is not None:
        raise ValueError(f"no Gram form: {reason}")
    if problem.is_sparse:  # (from the sparse rows, by blocks: no densified X)
        from ..workflows.sufficient import Moments

        statistics = Moments.of(problem.X, problem.y, problem.sample_weight).statistics(
            problem.fit_intercept)
        return gram_form_from(statistics, problem.datafit, problem.penalty,
                              problem.fit_intercept)
    X, y, s = np.asarray(problem.X), problem.y, problem.sample_weight
    n, p = X.shape
    if problem.fit_intercept:
        total = float(s.sum())
        x_mean, y_mean = (s @ X) / total, float(s @ y) / total
    else:
        x_mean, y_mean = np.zeros(p), 0.0
    statistics = GramStatistics(*_centered_products(X, y, s, x_mean, y_mean), n, x_mean,
                                y_mean)
    return gram_form_from(statistics, problem.datafit, problem.penalty, problem.fit_intercept)


#: rows per block of the Gram products: a centered block is a temporary of
#: ``ROWS x p`` floats, instead of a centered copy of X (as large as X)
ROWS = 8192


def _centered_products(X, y, s, x_mean, y_mean):
    """``X~^T X~``, ``X~^T y~`` and ``y~^T y~`` of the rows centered by the means and
    scaled by the square roots of the weights, summed over blocks of rows: one product
    ``Z^T Z`` of the block ``Z = [X~, y~]`` (views of one ``(p + 1, p + 1)`` array)."""
    n, p = X.shape
    second = np.zeros((p + 1, p + 1))
    weighted = not (s == 1.0).all()
    block = np.empty((min(n, ROWS), p + 1), order="F")
    for start in range(0, n, ROWS):
        rows = slice(start, start + ROWS)
        Z = block[:X[rows].shape[0]]
        np.subtract(X[rows], x_mean, out=Z[:, :p])
        np.subtract(y[rows], y_mean, out=Z[:, p])
        if weighted:
            Z *= np.sqrt(s[rows])[:, None]
        second += Z.T @ Z
    return second[:p, :p], second[:p, p], float(second[p, p])


@dataclasses.dataclass(frozen=True, eq=False)
class GramStatistics:
    r"""What the Gram form needs of the data (weights summing to ``n_samples``):
    :math:`\tilde X^\top \tilde X`, :math:`\tilde X^\top \tilde y`,
    :math:`\tilde y^\top \tilde y` (centered when there is an intercept) and the
    weighted means. Sums over rows: computed in one pass, by blocks of rows anywhere
    (:mod:`penalized.workflows.sufficient`)."""

    gram: np.ndarray
    xty: np.ndarray
    yty: float
    n_samples: int
    x_mean: np.ndarray
    y_mean: float


def gram_form_from(statistics: GramStatistics, datafit, penalty,
                   fit_intercept: bool) -> GramForm:
    """The Gram form of a least-squares problem known only by its statistics."""
    p = statistics.gram.shape[0]
    R, y_t = _cholesky_factor(statistics.gram, statistics.xty)
    if R is None:
        R, y_t = _eigen_factor(statistics.gram, statistics.xty)
    residual = math.sqrt(max(float(statistics.yty - y_t @ y_t), 0.0))
    m = R.shape[0] + 1
    factor = math.sqrt(m / statistics.n_samples)
    rows = np.zeros((m, p), order="F")
    np.multiply(R, factor, out=rows[:-1])
    target = np.empty(m)
    np.multiply(y_t, factor, out=target[:-1])
    target[-1] = residual * factor
    return GramForm(_small_problem(rows, target, datafit, penalty), statistics.x_mean,
                    statistics.y_mean, fit_intercept)


def _small_problem(rows: np.ndarray, target: np.ndarray, datafit, penalty) -> Problem:
    """The compressed problem, built directly when its entries are finite (sums of
    products of validated data: the penalty was checked against the same features):
    :func:`make_problem` again costs as much as a small path. Entries that overflowed
    go through it, for its error."""
    if not np.isfinite(rows.sum() + target.sum()):
        return make_problem(rows, target, datafit, penalty, fit_intercept=False)
    return Problem(rows, target, np.ones(rows.shape[0]), datafit, penalty, False)


def _cholesky_factor(G: np.ndarray, c: np.ndarray):
    """``(R, y_t)`` with ``R^T R = G`` upper triangular and ``y_t = R^{-T} c``, or
    ``(None, None)`` when ``G`` is not safely positive definite (a pivot below
    ``CHOLESKY_MIN_PIVOT`` of the largest diagonal entry: nearly collinear columns).
    About 10x cheaper than the eigendecomposition (500 features: 2 ms against 24 ms).
    LAPACK is called directly: numpy's and scipy's wrappers cost several times the
    factorization of a few features."""
    L, info = lapack.dpotrf(G, lower=1)
    # (LAPACK stops at a pivot <= 0 or NaN; |L_ij| <= sqrt(G_ii): L is finite then)
    if info != 0 or not L.diagonal().min() ** 2 > \
            CHOLESKY_MIN_PIVOT * max(float(G.diagonal().max()), 1e-300):
        return None, None
    return L.T, lapack.dtrtrs(L, c, lower=1)[0]


def _eigen_factor(G: np.ndarray, c: np.ndarray):
    """``(R, y_t)`` from the eigendecomposition of ``G``, with the directions of
    eigenvalue ~0 dropped: they are columns of X~ ~0, so dropping them is exact to
    rounding, and y's component along them joins the residual norm."""
    eigenvalues, vectors, info = lapack.dsyevd(G)
    if info != 0:  # (LAPACK's divide and conquer failed: numpy's driver, or its error)
        eigenvalues, vectors = np.linalg.eigh(G)
    # (ascending: the directions kept are the last ones, views rather than copies)
    first = int(np.searchsorted(eigenvalues, 1e-12 * max(float(eigenvalues[-1]), 1e-300),
                                side="right"))
    root = np.sqrt(eigenvalues[first:])
    basis = vectors[:, first:]
    return root[:, None] * basis.T, (c @ basis) / root  # (rank, p), R^T R = G; U^T y~
