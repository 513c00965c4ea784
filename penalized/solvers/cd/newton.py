"""Newton step on the support: the exact minimizer of the quadratic model on an orthant.

Coordinate descent has a slow tail when the working set is ill-conditioned
(correlated features, support size near n): thousands of epochs at the bottom
of a path. Once CD has found the support and the signs, the penalty is smooth
on that orthant (for the elastic-net family it is linear plus quadratic), so the
quadratic model restricted to the support is minimized by one linear solve.
If a sign flips, the step stops at the first zero crossing (as in homotopy /
active-set methods), which still decreases the objective because the model is
convex along the segment. The outer certificate then checks the features
outside the support, and CD resumes if any of them violates the KKT conditions.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...core.gradient import _columns_dot
from ...core.threads import single_blas_thread
from .cholesky import solve_in_place
from .support_products import column_shifts, index_arrays, sparse_support_products


def _products(X, h, old, new, shifted: bool):
    """``(X_old^T diag(h) X_new, X_new^T diag(h) X_new, X_new^T h)`` by blocks of rows,
    with no copy of the columns (dense: :func:`_dense_products`; sparse: read from the
    CSC arrays), with ``shifted`` of the columns less
    :func:`.support_products.column_shifts` (for products that are then centered)."""
    if sp.issparse(X):
        return sparse_support_products(X, h, old, new, shifted)
    return _dense_products(X, h, old, new, shifted)


def _support_gram(X, support, h, shifted: bool):
    """``X_S^T diag(h) X_S`` and ``X_S^T h`` (``shifted``: :func:`_products`)."""
    _, gram, xh = _products(X, h, np.zeros(0, dtype=np.int64), support, shifted)
    return gram, xh


def _support_dots(X, support, v):
    """``X_S^T v`` without a copy of the columns ``S`` (validated X: CSC or Fortran; a
    read-only array, such as a pandas frame's values, would be another compiled
    specialization: its columns are copied instead)."""
    if sp.issparse(X):
        out = np.zeros(X.shape[1])
        _columns_dot(X.data, *index_arrays(X), X.shape[0], support, v, out)
        return out[support]
    if X.flags.f_contiguous and X.flags.writeable:
        out = np.zeros(X.shape[1])
        _columns_dot(X.ravel(order="F"), None, None, X.shape[0], support, v, out)
        return out[support]
    return X[:, support].T @ v


#: rows per block of the dense products: bounds their temporaries to ``ROWS x |S|``
#: floats instead of two copies of the support's columns (n x |S| each)
ROWS = 8192


def _dense_products(X, h, old, new, shifted: bool = False):
    """``X_old^T diag(h) X_new``, ``X_new^T diag(h) X_new`` and ``X_new^T h`` of dense
    X, summed over blocks of rows; with ``shifted``, of its columns less their means
    (:func:`.support_products.column_shifts`)."""
    both = np.concatenate([old, new]).astype(np.int64)
    shift = column_shifts(X, both) if shifted else np.zeros(both.size)
    products = np.zeros((both.size, new.size))
    xh = np.zeros(new.size)
    for start in range(0, X.shape[0], ROWS):
        block = X[start:start + ROWS]  # a view: only the columns taken below are copied
        taken = block[:, both] - shift
        weighted = taken[:, old.size:] * h[start:start + ROWS, None]
        products += taken.T @ weighted
        xh += weighted.sum(axis=0)
    k = old.size
    return products[:k], products[k:], xh


class GramCache:
    """Memo of ``X_c^T S X_c`` over the columns seen so far (least squares: h = s fixed).

    Along a path the support grows slowly, so each new alpha only pays for the
    new columns' products, not for the whole Gram matrix of the support.
    """

    max_columns = 4000

    def __init__(self, X, h, shifted: bool = False):
        self.X, self.h, self.shifted = X, h, shifted
        self.position = np.full(X.shape[1], -1, dtype=np.int64)
        self.columns = np.empty(0, dtype=np.int64)
        self.gram = np.empty((0, 0))
        self.xh = np.empty(0)

    def get(self, support):
        support = np.asarray(support, dtype=np.int64)
        missing = support[self.position[support] < 0]
        if missing.size:
            if self.columns.size + missing.size > self.max_columns:
                self.__init__(self.X, self.h, self.shifted)
                missing = support
            self._add(missing)
        pos = self.position[support]
        return self.gram[np.ix_(pos, pos)], self.xh[pos]

    def _add(self, new):
        self._store(new, *_products(self.X, self.h, self.columns, new, self.shifted))

    def _store(self, new, cross, g_new, xh_new):
        k = self.columns.size
        gram = np.empty((k + new.size, k + new.size))
        gram[:k, :k] = self.gram
        gram[:k, k:] = cross
        gram[k:, :k] = cross.T
        gram[k:, k:] = g_new
        self.gram = gram
        self.xh = np.concatenate([self.xh, xh_new])
        self.position[new] = k + np.arange(new.size)
        self.columns = np.concatenate([self.columns, new])


def newton_on_support(X, h, target, w, b, penalty, fit_intercept, cache=None,
                      max_drops: int = 50):
    """:func:`_newton_on_support` with one BLAS thread (:mod:`penalized.core.threads`)."""
    with single_blas_thread():
        return _newton_on_support(X, h, target, w, b, penalty, fit_intercept, cache,
                                  max_drops)


def _newton_on_support(X, h, target, w, b, penalty, fit_intercept, cache, max_drops):
    """Minimize ``(1/2n) sum h (t - Xw - b)^2 + alpha P(w)`` over the orthant of ``w``.

    An active-set loop: solve the model on the support with the current signs;
    where signs flip, keep the better of the step to the first zero crossing and
    the full step with flipped entries zeroed (both stay in the closed orthant,
    where the model is exact), drop the zeros and solve again. Each accepted
    point lowers the model, so the loop is monotone.

    Returns the new ``(w, b)``, or ``None`` when the step does not apply
    (empty support, support of n or more without a ridge part, singular model, no
    penalty model).
    """
    n = h.shape[0]
    support = np.flatnonzero(w)
    if support.size == 0:
        return None
    model = penalty.orthant_model(w)
    if model is None:
        return None
    g_all, hdiag_all = model[0][support], model[1][support]
    if support.size >= n and not np.all(hdiag_all > 0):
        return None  # X_S^T X_S is singular and no ridge part makes the model strict
    # with an intercept the products are centered below: they are formed of the columns
    # less column_shifts (cache: built with ``shifted`` the same), and the right-hand side of
    # the target less its mean (its digits, as the columns' in the products)
    gram, xh = cache.get(support) if cache is not None else \
        _support_gram(X, support, h, fit_intercept)
    sum_h = h.sum()
    t_mean, x_mean = 0.0, np.zeros(support.size)
    if fit_intercept:
        shifted_mean = xh / sum_h  # (gram and xh: of the columns less column_shifts)
        t_mean = (h @ target) / sum_h
        target = target - t_mean
        x_mean = shifted_mean + column_shifts(X, support)
        gram = gram - sum_h * np.outer(shifted_mean, shifted_mean)
    weighted = np.ascontiguousarray(h * target, dtype=np.float64)
    rhs = _support_dots(X, support, weighted)
    if fit_intercept:  # (sum h t is zero up to rounding: the centered columns' product)
        rhs = rhs - x_mean * weighted.sum()
    w_support = w[support].copy()
    # the model's gradient at w + d is g + hdiag * d: its linear part in the new
    # point u = w + d is g - hdiag * w
    system = gram / n + np.diag(hdiag_all)
    rhs = rhs / n - (g_all - hdiag_all * w_support)
    try:  # (numpy's LAPACK call releases the GIL, scipy's does not: see .cholesky)
        factor = np.linalg.cholesky(system)
    except np.linalg.LinAlgError:
        return None
    unconstrained = _solve(factor, rhs)
    if not np.all(np.isfinite(unconstrained)):
        return None
    w_support = _orthant_solution(system, rhs, factor, unconstrained, w_support, max_drops)
    if penalty.positive:
        w_support = np.maximum(w_support, 0.0)
    w_new = w.copy()
    w_new[support] = w_support
    b_new = t_mean - x_mean @ w_support if fit_intercept else 0.0
    return w_new, float(b_new)


def _solve(factor, rhs):
    """``system^{-1} rhs`` from the lower Cholesky ``factor`` of ``system``, for a vector
    or each column of a matrix ``rhs``."""
    x = np.array(rhs, dtype=np.float64, order="F")
    for column in x.reshape(x.shape[0], -1).T:  # (views: solved in place)
        solve_in_place(factor, column)
    return x


def _orthant_solution(system, rhs, factor, unconstrained, w_support, max_drops):
    """The active-set loop of :func:`_newton_on_support`: from the current point
    ``w_support``, move towards the model's minimizer (``unconstrained``, solved with the
    Cholesky ``factor`` of ``system``) without leaving the orthant, dropping the
    coordinates that cross zero and solving again; returns the final point."""
    n_support = w_support.size
    dropped = np.zeros(0, dtype=np.int64)
    inv_columns = np.zeros((n_support, 0))  # A^{-1} E for the dropped coordinates

    def model_value(u):
        return 0.5 * u @ (system @ u) - rhs @ u

    for _ in range(max_drops):
        # minimizer of the model with the dropped coordinates held at 0, from the
        # one factorization: x = x0 - A^{-1} E (E^T A^{-1} E)^{-1} E^T x0
        w_target = unconstrained
        if dropped.size:
            lagrange = np.linalg.solve(inv_columns[dropped], unconstrained[dropped])
            w_target = unconstrained - inv_columns @ lagrange
            w_target[dropped] = 0.0
        flips = (np.sign(w_target) != np.sign(w_support))
        flips[dropped] = False
        if not np.any(flips):
            w_support = w_target
            break
        ratios = w_support[flips] / (w_support[flips] - w_target[flips])
        k = int(np.argmin(ratios))
        partial = w_support + ratios[k] * (w_target - w_support)
        partial[np.flatnonzero(flips)[k]] = 0.0
        projected = np.where(flips, 0.0, w_target)
        w_support = projected if model_value(projected) < model_value(partial) else partial
        new = np.setdiff1d(np.flatnonzero(w_support == 0.0), dropped)
        if new.size == 0:
            break
        unit = np.zeros((n_support, new.size))
        unit[new, np.arange(new.size)] = 1.0
        inv_columns = np.column_stack([inv_columns, _solve(factor, unit)])
        dropped = np.concatenate([dropped, new])
        order = np.argsort(dropped, kind="stable")
        dropped, inv_columns = dropped[order], inv_columns[:, order]
        if dropped.size == n_support:
            break
    return w_support
