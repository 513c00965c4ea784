"""Compiled kernels (numba, ``cache=True``). They know arrays, not estimators.

One coordinate-descent kernel serves every separable penalty and both storage
formats:

* the penalty enters as two compiled scalar functions with one fixed signature
  (``numba.cfunc``), so the kernel is compiled once for all penalties and its
  on-disk cache hits (plain ``@njit`` callables would re-specialize it);
* X enters as CSC arrays ``(data, indices, indptr)``; a dense Fortran array is
  passed as its raveled column-major data with an empty ``indices``, so column
  ``j`` is ``data[j*n:(j+1)*n]``. The branch costs nothing next to a column pass.

The kernel minimizes the weighted quadratic

    (1/(2n)) sum_i h_i (t_i - x_i.w - b)^2 + sum_j alpha_j P_j(w_j)

over a working set, which is least squares exactly and one prox-Newton step
for any other datafit (h = second derivative, t = working response).
"""

from __future__ import annotations

import warnings

import numpy as np
from numba import cfunc, njit, types
from numba.core.errors import NumbaExperimentalFeatureWarning

# Passing compiled functions as arguments is what lets one kernel serve every
# penalty with one cached compilation; numba still labels it experimental.
warnings.filterwarnings("ignore", message=".*First-class function type",
                        category=NumbaExperimentalFeatureWarning)

#: Signature of the scalar penalty operators:
#: prox(x, step, alpha_j, param, positive) and subdiff(w, grad, alpha_j, param, positive)
SCALAR_SIG = types.float64(types.float64, types.float64, types.float64, types.float64,
                           types.float64)
SCALAR_FN = types.FunctionType(SCALAR_SIG)


# ---- penalty scalar operators (elastic-net family: param = l1_ratio) -----------
@cfunc(SCALAR_SIG, cache=True)
def enet_prox_scalar(x, step, alpha_j, l1_ratio, positive):
    thresh = step * alpha_j * l1_ratio
    if positive > 0.0:
        u = x - thresh
        if u < 0.0:
            u = 0.0
    elif x > thresh:
        u = x - thresh
    elif x < -thresh:
        u = x + thresh
    else:
        u = 0.0
    return u / (1.0 + step * alpha_j * (1.0 - l1_ratio))


@cfunc(SCALAR_SIG, cache=True)
def enet_subdiff_scalar(w, grad, alpha_j, l1_ratio, positive):
    l1 = alpha_j * l1_ratio
    if w == 0.0:
        d = -grad - l1 if positive > 0.0 else abs(grad) - l1
        return d if d > 0.0 else 0.0
    s = 1.0 if w > 0.0 else -1.0
    return abs(grad + l1 * s + alpha_j * (1.0 - l1_ratio) * w)


@cfunc(SCALAR_SIG, cache=True)
def enet_value_scalar(w, unused, alpha_j, l1_ratio, positive):
    if positive > 0.0 and w < 0.0:
        return np.inf
    return alpha_j * (l1_ratio * abs(w) + 0.5 * (1.0 - l1_ratio) * w * w)


#: penalty.kernel -> (prox, subdiff, value): the registry line a new separable penalty adds
SCALAR_OPS = {"enet": (enet_prox_scalar, enet_subdiff_scalar, enet_value_scalar)}


# ---- column access -------------------------------------------------------------
@njit(cache=True, inline="always")
def _col_dot(data, indices, indptr, n, j, v, h):
    """sum_i h_i x_ij v_i for column j."""
    acc = 0.0
    if indices.shape[0] == 0:
        start = j * n
        for i in range(n):
            acc += data[start + i] * h[i] * v[i]
    else:
        for k in range(indptr[j], indptr[j + 1]):
            i = indices[k]
            acc += data[k] * h[i] * v[i]
    return acc


@njit(cache=True, inline="always")
def _col_axpy(data, indices, indptr, n, j, a, v):
    """v -= a * x_j."""
    if indices.shape[0] == 0:
        start = j * n
        for i in range(n):
            v[i] -= a * data[start + i]
    else:
        for k in range(indptr[j], indptr[j + 1]):
            v[indices[k]] -= a * data[k]


@njit(cache=True)
def weighted_col_stats(data, indices, indptr, n, h, cols, center):
    """Per column j in ``cols``: ``(sum_i h_i x_ij^2 - center * xh_j^2 / sum_h) / n`` and
    ``xh_j = sum_i h_i x_ij``.

    With ``center`` (an intercept is fitted) the first is the curvature of the
    objective in ``w_j`` once the intercept is re-optimized: the coordinate
    update then moves ``(w_j, b)`` jointly, as on centered columns.
    """
    m = cols.shape[0]
    out = np.empty((2, m))
    sum_h = 0.0
    for i in range(n):
        sum_h += h[i]
    for c in range(m):
        j = cols[c]
        acc = 0.0
        acc_h = 0.0
        if indices.shape[0] == 0:
            start = j * n
            for i in range(n):
                x = data[start + i]
                acc += h[i] * x * x
                acc_h += h[i] * x
        else:
            for k in range(indptr[j], indptr[j + 1]):
                x = data[k]
                acc += h[indices[k]] * x * x
                acc_h += h[indices[k]] * x
        if center > 0.0 and sum_h > 0.0:
            acc -= acc_h * acc_h / sum_h
        out[0, c] = max(acc, 0.0) / n
        out[1, c] = acc_h
    return out


ANDERSON_K = 5


@njit(cache=True)
def _quadratic_objective(h, r, w, ws, alphas_j, param, positive, value):
    n = r.shape[0]
    acc = 0.0
    for i in range(n):
        acc += h[i] * r[i] * r[i]
    acc /= 2.0 * n
    for c in range(ws.shape[0]):
        j = ws[c]
        acc += value(w[j], 0.0, alphas_j[j], param, positive)
    return acc


@njit(cache=True)
def _anderson(data, indices, indptr, h, r, w, ws, alphas_j, param, positive, value,
              hist, b):
    """Anderson extrapolation of the last K+1 iterates (rows of ``hist``: w[ws], b).

    The extrapolated point is kept only if it lowers the quadratic objective,
    so acceleration can never slow convergence down (Bertrand & Massias, 2021).
    Returns the (possibly updated) intercept.
    """
    n = r.shape[0]
    K = hist.shape[0] - 1
    m = ws.shape[0]
    U = hist[1:] - hist[:-1]
    G = U @ U.T
    reg = 1e-10 * np.trace(G) + 1e-300
    for k in range(K):
        G[k, k] += reg
    try:
        c = np.linalg.solve(G, np.ones(K))
    except Exception:  # noqa: BLE001 - singular system: skip this extrapolation
        return b
    total = c.sum()
    if total == 0.0 or not np.isfinite(total):
        return b
    c /= total
    acc = np.zeros(m + 1)
    for k in range(K):
        acc += c[k] * hist[k + 1]
    if not np.all(np.isfinite(acc)):
        return b
    obj_now = _quadratic_objective(h, r, w, ws, alphas_j, param, positive, value)
    r_new = r.copy()
    w_new = w.copy()
    for cc in range(m):
        j = ws[cc]
        delta = acc[cc] - w[j]
        if delta != 0.0:
            _col_axpy(data, indices, indptr, n, j, delta, r_new)
            w_new[j] = acc[cc]
    db = acc[m] - b
    if db != 0.0:
        for i in range(n):
            r_new[i] -= db
    obj_new = _quadratic_objective(h, r_new, w_new, ws, alphas_j, param, positive, value)
    if obj_new < obj_now:
        r[:] = r_new
        for cc in range(m):
            w[ws[cc]] = w_new[ws[cc]]
        return acc[m]
    return b


@njit(cache=True)
def cd_quadratic(data, indices, indptr, h, r, w, ws, col_stats, alphas_j, params, state, ops,
                 residuals):
    """Coordinate descent epochs on the working set ``ws``; updates w, r in place.

    With an intercept, each coordinate step re-optimizes the intercept too, as
    glmnet does with centered columns: without it, uncentered (e.g. non-negative
    sparse) columns are all coupled through the mean and CD crawls. The shift of
    the residual is kept as one scalar so sparse columns stay sparse.
    Every ``ANDERSON_K`` epochs the iterates are extrapolated (Anderson
    acceleration), which fixes CD's slow tail on ill-conditioned working sets.

    Parameters
    ----------
    data, indices, indptr : X in CSC form (dense: raveled Fortran data, empty indices)
    h : (n,) curvature weights; r : (n,) residual ``t - Xw - b`` (updated)
    w : (p,) coefficients (updated); ws : working set
    col_stats : (2, len(ws)) from :func:`weighted_col_stats` (curvatures, ``X^T h``)
    alphas_j : (p,) ``alpha * omega_j``
    params : (param, positive, fit_intercept, sum_h, stable_epochs); with
        ``stable_epochs > 0`` the epochs also stop once the signs of ``w`` on the
        working set have not changed for that many epochs (a Newton step on the
        support finishes the job faster than CD's tail)
    state : (b, max_epochs, tol) in, (b, epochs run, last violation) out
    ops : tuple of the compiled scalar penalty operators (prox, subdiff, value)
    residuals : (K, n) the residual after each epoch is stored in row ``epoch % K``
        (for dual extrapolation); ``K = 0`` stores nothing
    """
    prox, subdiff, value = ops
    n = r.shape[0]
    param, positive, fit_intercept, sum_h = params[0], params[1], params[2], params[3]
    stable_epochs = int(params[4])
    n_stable = 0
    b = state[0]
    max_epochs = int(state[1])
    tol = state[2]
    m = ws.shape[0]
    hist = np.empty((ANDERSON_K + 1, m + 1))
    n_hist = 0
    center = fit_intercept > 0.0 and sum_h > 0.0
    if center:  # start from the optimal intercept
        delta = 0.0
        for i in range(n):
            delta += h[i] * r[i]
        delta /= sum_h
        b += delta
        for i in range(n):
            r[i] -= delta
    violation = np.inf
    epoch = 0
    while epoch < max_epochs:
        epoch += 1
        violation = 0.0
        n_changed = 0
        shift = 0.0  # the true residual is r + shift
        for c in range(m):
            j = ws[c]
            L = col_stats[0, c]
            if L <= 0.0:
                continue
            xh = col_stats[1, c]
            grad = -(_col_dot(data, indices, indptr, n, j, r, h) + shift * xh) / n
            old = w[j]
            v = subdiff(old, grad, alphas_j[j], param, positive)
            if v > violation:
                violation = v
            new = prox(old - grad / L, 1.0 / L, alphas_j[j], param, positive)
            if new != old:
                delta = new - old
                _col_axpy(data, indices, indptr, n, j, delta, r)
                w[j] = new
                if center:  # re-optimize the intercept: b and the residual shift
                    db = delta * xh / sum_h
                    b -= db
                    shift += db
                if (new > 0.0) != (old > 0.0) or (new < 0.0) != (old < 0.0):
                    n_changed += 1
        if shift != 0.0:
            for i in range(n):
                r[i] += shift
        if fit_intercept > 0.0 and sum_h > 0.0:
            delta = 0.0
            for i in range(n):
                delta += h[i] * r[i]
            delta /= sum_h
            if delta != 0.0:
                b += delta
                for i in range(n):
                    r[i] -= delta
            gb = abs(delta) * sum_h / n
            if gb > violation:
                violation = gb
        if residuals.shape[0] > 0:
            residuals[(epoch - 1) % residuals.shape[0]] = r
        if violation <= tol:
            break
        n_stable = n_stable + 1 if n_changed == 0 else 0
        if stable_epochs > 0 and n_stable >= stable_epochs:
            break
        for c in range(m):
            hist[n_hist, c] = w[ws[c]]
        hist[n_hist, m] = b
        n_hist += 1
        if n_hist == ANDERSON_K + 1:
            b = _anderson(data, indices, indptr, h, r, w, ws, alphas_j, param, positive,
                          value, hist, b)
            n_hist = 0
    state[0] = b
    state[1] = epoch
    state[2] = violation
