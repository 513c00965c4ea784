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

import numpy as np
from numba import cfunc, njit, types

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


#: penalty.kernel -> (prox, subdiff): the registry line a new separable penalty adds
SCALAR_OPS = {"enet": (enet_prox_scalar, enet_subdiff_scalar)}


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
def weighted_col_norms2(data, indices, indptr, n, h, cols):
    """(1/n) sum_i h_i x_ij^2 for j in cols."""
    out = np.empty(cols.shape[0])
    for c in range(cols.shape[0]):
        j = cols[c]
        acc = 0.0
        if indices.shape[0] == 0:
            start = j * n
            for i in range(n):
                acc += h[i] * data[start + i] ** 2
        else:
            for k in range(indptr[j], indptr[j + 1]):
                acc += h[indices[k]] * data[k] ** 2
        out[c] = acc / n
    return out


@njit(cache=True)
def cd_quadratic(data, indices, indptr, h, r, w, ws, lips, alphas_j, params, state,
                 prox, subdiff):
    """Coordinate descent epochs on the working set ``ws``; updates w, r in place.

    Parameters
    ----------
    data, indices, indptr : X in CSC form (dense: raveled Fortran data, empty indices)
    h : (n,) curvature weights; r : (n,) residual ``t - Xw - b`` (updated)
    w : (p,) coefficients (updated); ws : working set; lips : (len(ws),) ``sum h x^2 / n``
    alphas_j : (p,) ``alpha * omega_j``; params : (param, positive, fit_intercept, sum_h)
    state : (b, max_epochs, tol) in, (b, epochs run, last violation) out
    prox, subdiff : compiled scalar penalty operators
    """
    n = r.shape[0]
    param, positive, fit_intercept, sum_h = params[0], params[1], params[2], params[3]
    b = state[0]
    max_epochs = int(state[1])
    tol = state[2]
    violation = np.inf
    epoch = 0
    while epoch < max_epochs:
        epoch += 1
        violation = 0.0
        for c in range(ws.shape[0]):
            j = ws[c]
            L = lips[c]
            if L <= 0.0:
                continue
            grad = -_col_dot(data, indices, indptr, n, j, r, h) / n
            old = w[j]
            v = subdiff(old, grad, alphas_j[j], param, positive)
            if v > violation:
                violation = v
            new = prox(old - grad / L, 1.0 / L, alphas_j[j], param, positive)
            if new != old:
                _col_axpy(data, indices, indptr, n, j, new - old, r)
                w[j] = new
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
        if violation <= tol:
            break
    state[0] = b
    state[1] = epoch
    state[2] = violation
