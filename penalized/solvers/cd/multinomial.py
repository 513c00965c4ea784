r"""Coordinate descent for the multinomial datafit: prox-Newton with feature-row blocks.

The objective is

.. math::

    \frac{1}{n} \sum_i s_i \Big(\log \sum_k e^{z_{ik}} - z_{i y_i}\Big) + \alpha P(W),
    \qquad Z = X W + \mathbf{1} b^\top,

with ``W`` of shape (n_features, n_classes) and an entrywise separable penalty.

Outer loop (Python, :class:`MultinomialCoordinateDescent`): certify (duality gap, with
the intercepts made exactly optimal and centered), stop when the gap is below ``tol``
times the objective, otherwise rank the features by their largest KKT violation over
the classes and build one working set of rows of ``W`` (the rows with a nonzero entry
and the worst violators, :func:`.rules.working_set`). Then one compiled call
(:func:`_newton_rounds`) solves the problem restricted to the working set by proximal
Newton steps until its KKT violation is below what the gap needs:

* the model is the exact second-order expansion of the datafit in ``(W, b)``: per
  sample the Hessian ``diag(p_i) - p_i p_i^T`` (``p = softmax(z)``), cross-class terms
  included. It is written with the gradient, not a working response, so a tiny
  ``p_k (1 - p_k)`` needs no floor and no upper bound (a constant bound, as Böhning's,
  makes the model stable but flat where the true curvature is tiny: per-class steps
  with curvature 1/4 took 4x the time of per-class IRLS on the first 40 alphas of
  ``hepatic_injury_qsar`` and still missed one);
* it is minimized with the penalty by block coordinate descent over the rows of ``W``
  (one feature, every class): each row's ``K x K`` Hessian block is formed once per
  Newton step and the ``K``-dimensional row problem is solved by sweeps of coordinate
  descent on that block. The intercepts are one more block. With an intercept, dense
  columns enter centered (a step on a row moves the intercepts by minus the column's
  mean times it, as glmnet's centered columns), sparse ones as they are;
* on an ill-conditioned model, CD's tail is cut by Anderson extrapolation of its
  iterates and by the model's exact minimizer on the orthant of CD's point (one
  Cholesky solve of the support's full Hessian, with an active-set loop where signs
  flip, as :mod:`.newton` does for the other datafits), tried once CD has spent what
  the solve costs, and right away at the next Newton step once one was needed;
* a backtracking line search on the true objective (Armijo on the prox-Newton
  decrement; an increase within rounding is accepted near the solution, where the
  decrement is below the objective's rounding) makes every step a descent step.

The working set is solved to a fraction of the round's top violation and to the
violation the gap needs: its first-order term is about ``max violation * ||W||_1``,
hundreds of times the violation at the bottom of a path, so a gap of ``tol`` needs a
violation far below what a first-order scheme reaches cheaply, and a Newton scheme
reaches it in a step or two. Below the rounding of the gradient's entries nothing is
measurable: a round that cannot take a step there stops (``"max_iter"``) instead of
spinning. Along a path, an alpha starts from the last one's iterate, which carries
``X W`` and the gradient: its first round needs no certificate.

Why not glmnet's per-class IRLS (``K`` weighted least-squares models, one class at a
time, the others fixed; this solver's former scheme): when a class is confidently
excluded for most samples (``p_l ~ 0``), moving two other classes together costs
curvature ``p_l (1 - p_l) ~ 0`` while each alone costs ``p_k (1 - p_k)``, so class-by-
class steps zig-zag along a narrow valley. On ``hepatic_injury_qsar`` (281 x 370, 3
classes, nearly separable at the bottom of its path) it gained ~1e-11 of objective per
pass over the classes, its violation stuck near 1e-6 with ``||W||_1 ~ 54``: the gap
stayed at 1e-4 of the objective and 56 of 100 alphas hit the round limit (75 s; ten
passes per round and an inner tolerance of 0.01 times the violation did no better).
glmnet needs ``thresh=1e-14`` and 175 s there for an excess of 6e-9. Rows and the full
Hessian hold that coupling, and the path takes ~1 s at every tol.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, objmode

from ...core.certificates import certify_with_gradient
from ...penalties.compiled import (
    coordinate_curvature,
    prox_scalar,
    subdiff_scalar,
    value_scalar,
)
from ..base import Iterate
from . import kernels, rules
from .cholesky import dot, factor_in_place, solve_in_place
from .driver import CDSolver, kernel_arrays

# ---- dense column loops (fastmath reductions, as the kernels' dense dots) -----------
FAST = kernels.FAST


@njit(cache=True, nogil=True, fastmath=FAST, no_cpython_wrapper=True)
def _dense_grad(col, mu, s, e):
    """``sum_i s_i (x_i - mu) e_i`` and ``sum_i |s_i (x_i - mu) e_i|``."""
    acc = 0.0
    size = 0.0
    for i in range(col.shape[0]):
        t = s[i] * (col[i] - mu) * e[i]
        acc += t
        size += abs(t)
    return acc, size


@njit(cache=True, nogil=True, fastmath=FAST, no_cpython_wrapper=True)
def _dense_model(col, mu, s, p, dz, mm):
    """``sum_i s_i (x_i - mu) p_i (dz_i - mm_i)``: a row's model gradient, one class."""
    acc = 0.0
    for i in range(col.shape[0]):
        acc += s[i] * (col[i] - mu) * p[i] * (dz[i] - mm[i])
    return acc


@njit(cache=True, nogil=True, fastmath=FAST, no_cpython_wrapper=True)
def _dense_curvature(col, mu, s, p, q):
    """``sum_i s_i (x_i - mu)^2 p_i q_i``."""
    acc = 0.0
    for i in range(col.shape[0]):
        x = col[i] - mu
        acc += s[i] * x * x * p[i] * q[i]
    return acc


@njit(cache=True, nogil=True, fastmath=FAST, no_cpython_wrapper=True)
def _dense_weighted_square(col, mu, s, p):
    """``sum_i s_i (x_i - mu)^2 p_i``."""
    acc = 0.0
    for i in range(col.shape[0]):
        x = col[i] - mu
        acc += s[i] * x * x * p[i]
    return acc


@njit(cache=True, nogil=True, fastmath=FAST, no_cpython_wrapper=True)
def _dense_move(col, mu, step, p, dz, mm):
    """``dz += step (x - mu)``, ``mm += step (x - mu) p``."""
    for i in range(col.shape[0]):
        t = step * (col[i] - mu)
        dz[i] += t
        mm[i] += t * p[i]


@njit(cache=True, nogil=True, inline="always")
def _model_term(data, indices, indptr, n, j, mu, s, p, dz, mm):
    """``sum_i s_i x_ij p_i (dz_i - mm_i)`` for column ``j`` (:func:`_dense_model`, centered
    by ``mu`` when dense; sparse columns uncentered)."""
    if indices is None:
        return _dense_model(data[j * n:(j + 1) * n], mu, s, p, dz, mm)
    acc = 0.0
    for t in range(indptr[j], indptr[j + 1]):
        i = indices[t]
        acc += s[i] * data[t] * p[i] * (dz[i] - mm[i])
    return acc


@njit(cache=True, nogil=True, inline="always")
def _move(data, indices, indptr, n, j, mu, step, p, dz, mm):
    """Column ``j`` of X (centered by ``mu`` when dense) moved by ``step``: ``dz += step
    x_j``, ``mm += step x_j p`` (:func:`_dense_move`; sparse columns uncentered)."""
    if indices is None:
        _dense_move(data[j * n:(j + 1) * n], mu, step, p, dz, mm)
    else:
        for t in range(indptr[j], indptr[j + 1]):
            i = indices[t]
            a = step * data[t]
            dz[i] += a
            mm[i] += a * p[i]


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _softmax_loss(Z, y, s, P, E, work):
    """``P = softmax(Z)`` per sample and ``E = P - onehot(y)`` (the true class's entry
    as ``-sum_{k != y} p_k``, exact for small errors), all (K, n); returns
    ``(1/n) sum_i s_i loss_i``. ``work`` is (3, n) scratch.

    The loss is written on the margins ``d_k = z_k - z_y`` (as
    :meth:`penalized.Multinomial.loss`): ``log(1 + sum_{k != y} e^{d_k})`` keeps full
    relative precision when the true class dominates, so line searches on nearly
    separable data do not stall on rounding.
    """
    K, n = Z.shape
    zy = work[0]
    top = work[1]
    others = work[2]
    for i in range(n):
        zy[i] = Z[y[i], i]
        top[i] = 0.0
        others[i] = 0.0
    for k in range(K):
        zk = Z[k]
        for i in range(n):
            d = zk[i] - zy[i]
            if d > top[i]:
                top[i] = d
    for k in range(K):
        zk = Z[k]
        pk = P[k]
        for i in range(n):
            e = np.exp(zk[i] - zy[i] - top[i])
            pk[i] = e
            if k != y[i]:
                others[i] += e
    total = 0.0
    for i in range(n):
        own = np.exp(-top[i])
        if top[i] == 0.0:
            total += s[i] * np.log1p(others[i])
        else:
            total += s[i] * (top[i] + np.log(own + others[i]))
        inv = 1.0 / (own + others[i])
        top[i] = inv
        others[i] = -others[i] * inv  # E of the true class
    for k in range(K):
        pk = P[k]
        ek = E[k]
        for i in range(n):
            pk[i] *= top[i]
            ek[i] = pk[i]
    for i in range(n):
        E[y[i], i] = others[i]
    return total / n


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _row_penalty(W, alphas_ws, pen):
    """``sum_{c, k} alpha_c P(W[c, k])`` over the working-set rows ``W`` (m, K)."""
    acc = 0.0
    for c in range(W.shape[0]):
        for k in range(W.shape[1]):
            acc += value_scalar(pen.kind, W[c, k], alphas_ws[c], pen.param, pen.positive)
    return acc


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _small_cd(Hc, r, d, W_row, alpha, pen, penalized, sweeps, settled):
    """Coordinate descent on ``r.d + d.Hc.d / 2 + sum_k alpha P(W_row[k] + d[k])`` in
    ``d`` (updated in place; unpenalized when ``penalized`` is False)."""
    K = d.shape[0]
    first = -1.0
    for _ in range(sweeps):
        change = 0.0
        for k in range(K):
            L = Hc[k, k]
            if L <= 0.0:
                continue
            g = r[k]
            for ll in range(K):
                g += Hc[k, ll] * d[ll]
            u = W_row[k] + d[k]
            if penalized:  # (a non-convex penalty may need more curvature than L)
                L_step = coordinate_curvature(pen.kind, L, pen.param)
                new = prox_scalar(pen.kind, u - g / L_step, 1.0 / L_step, alpha, pen.param,
                                  pen.positive)
            else:
                new = u - g / L
            if new != u:
                step = new - u
                d[k] += step
                a = abs(step) * np.sqrt(L)
                if a > change:
                    change = a
        if first < 0.0:
            first = change
        if change <= settled * first:
            break


@njit(cache=True, nogil=True)
def _model_predictor(data, indices, indptr, ws, mu, P, step):
    """The predictor of ``step`` (a :class:`_Step`) from its ``D, db``: ``dz = X~ D + db``
    (centered dense columns) and ``mm_i = sum_k p_ik dz_ik``."""
    D, db, dz, mm = step
    K, n = dz.shape
    for k in range(K):
        for i in range(n):
            dz[k, i] = db[k]
    for i in range(n):
        mm[i] = 0.0
    for k in range(K):
        pk = P[k]
        for i in range(n):
            mm[i] += pk[i] * db[k]
    for c in range(ws.shape[0]):
        j = ws[c]
        for k in range(K):
            step = D[c, k]
            if step == 0.0:
                continue
            _move(data, indices, indptr, n, j, mu[c], step, P[k], dz[k], mm)


@njit(cache=True, nogil=True)
def _model_value(model, step, W, alphas_ws, pen, s):
    """The model's value at ``step``, up to its constant: ``Gc.D + gb.db + (1/2n) sum_i
    s_i (sum_k p_ik dz_ik^2 - mm_i^2) + penalty(W + D)``."""
    P, Gc, gb = model.P, model.Gc, model.gb
    D, db, dz, mm = step
    K, n = dz.shape
    quad = 0.0
    for k in range(K):
        pk = P[k]
        dzk = dz[k]
        for i in range(n):
            quad += s[i] * pk[i] * dzk[i] * dzk[i]
    for i in range(n):
        quad -= s[i] * mm[i] * mm[i]
    value = 0.5 * quad / n
    for k in range(K):
        value += gb[k] * db[k]
    for c in range(D.shape[0]):
        for k in range(K):
            value += Gc[c, k] * D[c, k] + value_scalar(pen.kind, W[c, k] + D[c, k],
                                                        alphas_ws[c], pen.param,
                                                        pen.positive)
    return value


@njit(cache=True, nogil=True, fastmath=FAST, no_cpython_wrapper=True)
def _dot4(a0, a1, a2, a3, b):
    """``(a0.b, a1.b, a2.b, a3.b)`` in one pass over ``b``."""
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    for i in range(b.shape[0]):
        x = b[i]
        s0 += a0[i] * x
        s1 += a1[i] * x
        s2 += a2[i] * x
        s3 += a3[i] * x
    return s0, s1, s2, s3


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _cholesky_solve(A, rhs):
    """Solve ``A x = rhs`` for a symmetric positive definite ``A`` (overwritten by its
    Cholesky factor) into ``rhs``; False when a pivot is not positive (``rhs`` then
    unchanged)."""
    if not factor_in_place(A):
        return False
    solve_in_place(A, rhs)
    return True


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _support_dim(W, D):
    """Nonzero entries of ``W + D``."""
    count = 0
    for c in range(W.shape[0]):
        for k in range(W.shape[1]):
            if W[c, k] + D[c, k] != 0.0:
                count += 1
    return count


@njit(cache=True, nogil=True)
def _support_columns(data, indices, indptr, n, ws, mu, W, D, fit_intercept):
    """The entries the support step frees, ``(row, class)`` pairs (row -1: an intercept),
    and their columns as dense rows (centered; ones for the intercepts): the storage-
    dependent part of the step. The intercept of the last class is held (the model is
    invariant to moving every class's intercept together)."""
    m, K = W.shape
    n_w = _support_dim(W, D)
    n_b = K - 1 if fit_intercept else 0
    dim = n_w + n_b
    ent_row = np.empty(dim, dtype=np.int64)
    ent_cls = np.empty(dim, dtype=np.int64)
    a = 0
    for c in range(m):
        for k in range(K):
            if W[c, k] + D[c, k] != 0.0:
                ent_row[a] = c
                ent_cls[a] = k
                a += 1
    for k in range(n_b):
        ent_row[n_w + k] = -1
        ent_cls[n_w + k] = k
    Xe = np.zeros((dim, n))
    for a in range(dim):
        c = ent_row[a]
        xa = Xe[a]
        if c < 0:
            for i in range(n):
                xa[i] = 1.0
        elif indices is None:
            j = ws[c]
            col = data[j * n:(j + 1) * n]
            for i in range(n):
                xa[i] = col[i] - mu[c]
        else:
            j = ws[c]
            for t in range(indptr[j], indptr[j + 1]):
                xa[indices[t]] = data[t]
    return ent_row, ent_cls, n_w, Xe


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _support_hessian(Xe, ent_cls, s, P):
    """The datafit's Hessian on the support's entries (columns in the rows of ``Xe``,
    classes ``ent_cls``), lower triangle: ``H_ab = (1/n) (delta_{k_a k_b} S_a.x_b -
    S_a.U_b)`` with ``U_a = p_{k_a} x_a`` and ``S_a = s U_a``; the rows taken four at a
    time (each ``U_b`` read once per four)."""
    dim, n = Xe.shape
    U = np.empty((dim, n))
    S = np.empty((dim, n))
    for a in range(dim):
        pk = P[ent_cls[a]]
        xa = Xe[a]
        for i in range(n):
            U[a, i] = pk[i] * xa[i]
            S[a, i] = s[i] * U[a, i]
    A = np.empty((dim, dim))
    inv_n = 1.0 / n
    for a0 in range(0, dim - 3, 4):
        for bb in range(a0 + 4):
            d0, d1, d2, d3 = _dot4(S[a0], S[a0 + 1], S[a0 + 2], S[a0 + 3], U[bb])
            A[a0, bb] = -d0
            A[a0 + 1, bb] = -d1
            A[a0 + 2, bb] = -d2
            A[a0 + 3, bb] = -d3
    for a in range(dim - dim % 4, dim):
        for bb in range(a + 1):
            A[a, bb] = -dot(S[a], U[bb])
    for a in range(dim):
        for bb in range(a + 1):
            if ent_cls[a] == ent_cls[bb]:
                A[a, bb] += dot(S[a], Xe[bb])
            A[a, bb] *= inv_n
    return A


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _orthant_model(A, ent_row, ent_cls, W, D, r_rows, r_b, alphas_ws, pen):
    """Complete the datafit's Hessian ``A`` (lower triangle, from :func:`_support_hessian`)
    into the model on the orthant of ``W + D`` in the step ``delta`` on the support's
    entries, ``-rhs.delta + delta.A.delta / 2``: the penalty's curvature on the
    diagonal, ``A`` made symmetric. Returns ``rhs`` and ``A``'s largest diagonal entry
    (the scale of the ridge the solve adds). Elastic-net family only."""
    dim = ent_row.shape[0]
    ratio = pen.param
    rhs = np.empty(dim)
    top = 0.0
    for a in range(dim):
        c = ent_row[a]
        k = ent_cls[a]
        if c >= 0:
            w = W[c, k] + D[c, k]
            sign = 1.0 if w > 0.0 else -1.0
            alpha = alphas_ws[c]
            A[a, a] += alpha * (1.0 - ratio)
            rhs[a] = -(r_rows[c, k] + alpha * (ratio * sign + (1.0 - ratio) * w))
        else:
            rhs[a] = -r_b[k]
        if A[a, a] > top:
            top = A[a, a]
    for a in range(dim):
        for bb in range(a):
            A[bb, a] = A[a, bb]
    return rhs, top


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _solve_free(A, rhs, top, w0, dropped, trial):
    """The orthant model's minimizer with the ``dropped`` entries held at zero (their
    step ``-w0``), into ``trial``; False when the free system is not positive definite.
    A ridge of ``1e-12 top`` keeps rows with every class in solvable (the model is
    invariant to moving a row's classes together)."""
    dim = rhs.shape[0]
    n_free = 0
    for a in range(dim):
        if not dropped[a]:
            n_free += 1
    free = np.empty(n_free, dtype=np.int64)
    f = 0
    for a in range(dim):
        if not dropped[a]:
            free[f] = a
            f += 1
    Af = np.empty((n_free, n_free))
    x = np.empty(n_free)
    for f in range(n_free):
        a = free[f]
        acc = rhs[a]
        for bb in range(dim):
            if dropped[bb]:
                acc += A[a, bb] * w0[bb]  # delta_b = -w0_b
        x[f] = acc
        for f2 in range(n_free):
            Af[f, f2] = A[a, free[f2]]
        Af[f, f] += 1e-12 * top
    if not _cholesky_solve(Af, x):
        return False
    for a in range(dim):
        trial[a] = -w0[a] if dropped[a] else 0.0
    for f in range(n_free):
        trial[free[f]] = x[f]
    return True


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _flips(w0, trial, a):
    """Whether entry ``a`` leaves its orthant (changes sign or reaches zero) at ``trial``."""
    new = w0[a] + trial[a]
    return (new > 0.0) != (w0[a] > 0.0) or new == 0.0


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _first_crossing(w0, delta, trial, dropped, n_w):
    """The first zero crossing of a free coefficient on the segment from ``delta`` to
    ``trial``: ``(fraction of the segment, entry)``, ``(1, -1)`` when none flips."""
    step = 1.0
    first = -1
    for a in range(n_w):
        if dropped[a] or not _flips(w0, trial, a):
            continue
        now_a = w0[a] + delta[a]
        t = now_a / (now_a - (w0[a] + trial[a]))
        if t < step:
            step = t
            first = a
    return step, first


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _drop_flipped(A, rhs, w0, delta, trial, other, dropped, n_w, step, first):
    """Where signs would flip on the way to ``trial``: ``delta`` becomes the better (on
    the model) of the step to the first zero crossing (``step``, entry ``first``) and
    ``trial`` with the flipped entries zeroed; the coefficients it zeroes are dropped.
    Returns whether one was newly dropped. ``other`` is scratch."""
    dim = rhs.shape[0]
    for a in range(dim):  # the projected point: flipped entries at zero
        other[a] = trial[a]
        if a < n_w and not dropped[a] and _flips(w0, trial, a):
            other[a] = -w0[a]
    for a in range(dim):  # the partial step
        trial[a] = delta[a] + step * (trial[a] - delta[a])
    trial[first] = -w0[first]
    if _quadratic(A, rhs, other) < _quadratic(A, rhs, trial):
        for a in range(dim):
            trial[a] = other[a]
    newly = False
    for a in range(n_w):
        delta[a] = trial[a]
        if not dropped[a] and w0[a] + trial[a] == 0.0:
            dropped[a] = True
            newly = True
    for a in range(n_w, dim):
        delta[a] = trial[a]
    return newly


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _orthant_step(A, rhs, top, w0, n_w, max_drops):
    """The active-set loop (as :mod:`.newton`): solve with the dropped entries held at
    zero; where signs would flip, :func:`_drop_flipped`, and solve again, at most
    ``max_drops`` times. Returns ``(solved, delta, dropped)``: ``solved`` False when a
    free system was singular."""
    dim = rhs.shape[0]
    delta = np.zeros(dim)
    dropped = np.zeros(dim, dtype=np.bool_)
    trial = np.empty(dim)
    other = np.empty(dim)
    for _ in range(max_drops):
        if not _solve_free(A, rhs, top, w0, dropped, trial):
            return False, delta, dropped
        step, first = _first_crossing(w0, delta, trial, dropped, n_w)
        if first < 0:
            for a in range(dim):
                delta[a] = trial[a]
            break
        if not _drop_flipped(A, rhs, w0, delta, trial, other, dropped, n_w, step, first):
            break
    return True, delta, dropped


@njit(cache=True, nogil=True)
def _support_step(Xe, ent_row, ent_cls, n_w, s, P, W, D, db, r_rows, r_b, alphas_ws, pen,
                  max_drops):
    """The model's minimizer on the orthant of ``W + D``: the entries ``ent_row, ent_cls``
    of :func:`_support_columns` free (the nonzero ones, ``n_w`` of them, then the
    intercepts; columns in the rows of ``Xe``), the other entries held at zero. One
    linear solve, as the Newton step on the support of :mod:`.newton` for the other
    datafits, with an active-set loop where signs flip (:func:`_orthant_step`);
    storage-independent (compiled once).

    ``r_rows`` (m, K) and ``r_b`` (K,) are the model's gradient (datafit part) at the
    current ``D, db``. Updates ``D`` and ``db``; returns False when the step does not
    apply (a penalty without an orthant model, no entry, a singular system).
    """
    if pen.kind != 0 or n_w == 0:  # only the elastic-net family is quadratic on orthants
        return False
    A = _support_hessian(Xe, ent_cls, s, P)
    rhs, top = _orthant_model(A, ent_row, ent_cls, W, D, r_rows, r_b, alphas_ws, pen)
    dim = ent_row.shape[0]
    w0 = np.zeros(dim)
    for a in range(n_w):
        w0[a] = W[ent_row[a], ent_cls[a]] + D[ent_row[a], ent_cls[a]]
    solved, delta, dropped = _orthant_step(A, rhs, top, w0, n_w, max_drops)
    if not solved:
        return False
    for a in range(dim):
        c = ent_row[a]
        k = ent_cls[a]
        if c >= 0:
            D[c, k] = -W[c, k] if dropped[a] else D[c, k] + delta[a]
        else:
            db[k] += delta[a]
    return True


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _quadratic(A, rhs, delta):
    """``-rhs.delta + delta.A.delta / 2``."""
    value = 0.0
    for a in range(delta.shape[0]):
        acc = 0.0
        for bb in range(delta.shape[0]):
            acc += A[a, bb] * delta[bb]
        value += delta[a] * (0.5 * acc - rhs[a])
    return value


class _Model(NamedTuple):
    """The datafit at a Newton step's point and its second-order model there, over the
    working-set rows (``m`` of them), ``K`` classes and ``n`` samples. Built once per
    compiled call; the step's functions fill it in place."""

    P: np.ndarray   # (K, n): softmax(Z)
    E: np.ndarray   # (K, n): P - onehot(y)
    G: np.ndarray   # (m, K): the datafit's gradient on the rows
    Gc: np.ndarray  # (m, K): ... along the centered columns
    gb: np.ndarray  # (K,): ... on the intercepts (zero without them)
    H: np.ndarray   # (m, K, K): the rows' Hessian blocks along the centered columns
    B: np.ndarray   # (K, K): the intercepts' block (zero without them)


class _Step(NamedTuple):
    """A point of the model's minimization: the step ``D`` (m, K) on the rows and ``db``
    (K,) on the intercepts (along the centered columns), its predictor ``dz = X~ D + db``
    (K, n) and ``mm_i = sum_k p_ik dz_ik`` (n,). The invariant every function keeps:
    ``dz`` and ``mm`` are those of ``D, db``."""

    D: np.ndarray
    db: np.ndarray
    dz: np.ndarray
    mm: np.ndarray


class _Trial(NamedTuple):
    """A trial point of the line search: ``Z`` (K, n), the rows ``W`` (m, K), their
    ``P`` and ``E`` (as :class:`_Model`'s) and ``work`` (3, n) for :func:`_softmax_loss`."""

    Z: np.ndarray
    W: np.ndarray
    P: np.ndarray
    E: np.ndarray
    work: np.ndarray


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _new_step(m, K, n):
    """An uninitialized :class:`_Step` of ``m`` rows."""
    return _Step(np.empty((m, K)), np.empty(K), np.empty((K, n)), np.empty(n))


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _intercept_term(s, pk, dzk, mm):
    """``sum_i s_i p_ik (dz_ik - mm_i)``: the model gradient's intercept term, class k."""
    acc = 0.0
    for i in range(pk.shape[0]):
        acc += s[i] * pk[i] * (dzk[i] - mm[i])
    return acc


@njit(cache=True, nogil=True)
def _model_gradient(data, indices, indptr, s, ws, mu, model, step, R, rb, fit_intercept):
    """The model's datafit gradient at ``step``: ``R`` (m, K), ``rb`` (K,)."""
    K, n = model.P.shape
    inv_n = 1.0 / n
    for c in range(ws.shape[0]):
        j = ws[c]
        for k in range(K):
            R[c, k] = model.Gc[c, k] + _model_term(data, indices, indptr, n, j, mu[c], s,
                                                   model.P[k], step.dz[k], step.mm) * inv_n
    for k in range(K):
        acc = 0.0
        if fit_intercept:
            acc = _intercept_term(s, model.P[k], step.dz[k], step.mm)
        rb[k] = model.gb[k] + acc * inv_n


# The model's rarely taken, costly moves (a support solve, an Anderson extrapolation) are
# called from the compiled loop through one object-mode block (a Python call, a few us),
# and are Python functions calling compiled pieces: a compiled caller links the code of
# what it calls and optimizes it all again, seconds at a cold first call.
def _try_support(data, indices, indptr, s, ws, mu, model, W, step, cand, alphas_ws, pen,
                 fit_intercept, R, rb, max_drops):
    """:func:`_support_step` from the model's point ``step``, taken (in place) if it
    lowers the model; ``cand``, ``R`` and ``rb`` are scratch."""
    _model_gradient(data, indices, indptr, s, ws, mu, model, step, R, rb, fit_intercept)
    now = _model_value(model, step, W, alphas_ws, pen, s)
    cand.D[:] = step.D
    cand.db[:] = step.db
    ent_row, ent_cls, n_w, Xe = _support_columns(data, indices, indptr, model.P.shape[1], ws,
                                                 mu, W, step.D, fit_intercept)
    if not _support_step(Xe, ent_row, ent_cls, n_w, s, model.P, W, cand.D, cand.db, R, rb,
                         alphas_ws, pen, max_drops):
        return False
    return _adopt_if_lower(data, indices, indptr, s, ws, mu, model, W, step, cand,
                           alphas_ws, pen, now)


def _try_anderson(hist, data, indices, indptr, s, ws, mu, model, W, step, cand, alphas_ws,
                  pen, fit_intercept):
    """Move the model's point to the Anderson extrapolation of the iterates in the rows
    of ``hist`` (``D`` raveled, then ``db``) if it lowers the model; whether it did."""
    point = kernels.anderson_point(hist)
    if point.shape[0] == 0:
        return False
    now = _model_value(model, step, W, alphas_ws, pen, s)
    D = step.D
    cand.D[:] = point[:D.size].reshape(D.shape)
    cand.db[:] = point[D.size:] if fit_intercept else 0.0
    return _adopt_if_lower(data, indices, indptr, s, ws, mu, model, W, step, cand,
                           alphas_ws, pen, now)


def _adopt_if_lower(data, indices, indptr, s, ws, mu, model, W, step, cand, alphas_ws, pen,
                    now):
    """Move the model's point ``step`` to ``cand`` (its ``D, db``; the predictor is
    computed here) if the model is lower there than ``now``; whether it moved."""
    _model_predictor(data, indices, indptr, ws, mu, model.P, cand)
    if not _model_value(model, cand, W, alphas_ws, pen, s) < now:
        return False
    for mine, theirs in zip(step, cand, strict=True):
        mine[:] = theirs
    return True


def _model_move(move, hist, data, indices, indptr, s, ws, mu, model, W, step, cand,
                alphas_ws, pen, fit_intercept, R, rb, max_drops):
    """:func:`_try_support` (``move`` 1) or :func:`_try_anderson` (2)."""
    if move == 1:
        return _try_support(data, indices, indptr, s, ws, mu, model, W, step, cand,
                            alphas_ws, pen, fit_intercept, R, rb, max_drops)
    return _try_anderson(hist, data, indices, indptr, s, ws, mu, model, W, step, cand,
                         alphas_ws, pen, fit_intercept)


# ---- one Newton step: gradient, model, its minimization, line search ----------------
# Functions called only from compiled code are compiled without a CPython wrapper
# (no_cpython_wrapper): at a cold first call each wrapper costs as much as a small
# function. They stay calls (LLVM inlines them where it pays): numba's inline="always"
# is paid again in every storage format's specialization of the caller, a call only
# once for the storage-independent ones. The column loops that branch on the storage
# are inline (the branch is then pruned in the caller, as in :mod:`.kernels`).
@njit(cache=True, nogil=True, inline="always")
def _col_gradient(data, indices, indptr, n, j, mu, s, e):
    """``sum_i s_i x_ij e_i`` and ``sum_i |s_i x_ij e_i|`` for column ``j`` (centered by
    ``mu`` when dense, :func:`_dense_grad`; sparse columns uncentered)."""
    if indices is None:
        return _dense_grad(data[j * n:(j + 1) * n], mu, s, e)
    acc = 0.0
    acc_abs = 0.0
    for t in range(indptr[j], indptr[j + 1]):
        i = indices[t]
        term = s[i] * data[t] * e[i]
        acc += term
        acc_abs += abs(term)
    return acc, acc_abs


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _gradient(data, indices, indptr, s, ws, mu, W, alphas_ws, pen, fit_intercept, l1_rest,
              model):
    """The datafit's gradient at the model's point (from ``model.E``) into ``model.G``,
    ``Gc`` and ``gb``. Returns ``(violation, size, l1)``: the largest KKT violation on the
    working set, the largest sum of magnitudes of a gradient entry's terms (its rounding
    scale) and ``||W||_1`` (``l1_rest`` for the rows outside)."""
    E, G, Gc, gb = model.E, model.G, model.Gc, model.gb
    K, n = E.shape
    inv_n = 1.0 / n
    violation = 0.0
    size = 0.0
    l1 = l1_rest
    for k in range(K):
        acc = 0.0
        acc_abs = 0.0
        if fit_intercept:
            ek = E[k]
            for i in range(n):
                acc += s[i] * ek[i]
                acc_abs += abs(s[i] * ek[i])
        gb[k] = acc * inv_n
        size = max(size, acc_abs * inv_n)
        if abs(gb[k]) > violation:
            violation = abs(gb[k])
    for c in range(ws.shape[0]):
        j = ws[c]
        for k in range(K):
            acc, acc_abs = _col_gradient(data, indices, indptr, n, j, mu[c], s, E[k])
            Gc[c, k] = acc * inv_n
            size = max(size, acc_abs * inv_n)
            G[c, k] = Gc[c, k] + mu[c] * gb[k]
            v = subdiff_scalar(pen.kind, W[c, k], G[c, k], alphas_ws[c], pen.param,
                               pen.positive)
            if v > violation:
                violation = v
            l1 += abs(W[c, k])
    return violation, size, l1


@njit(cache=True, nogil=True, inline="always")
def _col_curvature(data, indices, indptr, n, j, mu, s, p, q):
    """``sum_i s_i x_ij^2 p_i q_i`` for column ``j`` (:func:`_dense_curvature`)."""
    if indices is None:
        return _dense_curvature(data[j * n:(j + 1) * n], mu, s, p, q)
    acc = 0.0
    for t in range(indptr[j], indptr[j + 1]):
        i = indices[t]
        acc += s[i] * data[t] * data[t] * p[i] * q[i]
    return acc


@njit(cache=True, nogil=True, inline="always")
def _col_weighted_square(data, indices, indptr, n, j, mu, s, p):
    """``sum_i s_i x_ij^2 p_i`` for column ``j`` (:func:`_dense_weighted_square`)."""
    if indices is None:
        return _dense_weighted_square(data[j * n:(j + 1) * n], mu, s, p)
    acc = 0.0
    for t in range(indptr[j], indptr[j + 1]):
        i = indices[t]
        acc += s[i] * data[t] * data[t] * p[i]
    return acc


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _hessian_rows(data, indices, indptr, s, ws, mu, P, H):
    """The rows' ``K x K`` Hessian blocks ``(1/n) sum_i s_i x_ij^2 (diag(p_i) - p_i
    p_i^T)`` into ``H``. A diagonal entry is floored at ``1e-12`` of its ``diag(p)``
    term: when every sample is confidently classified the two cancel to rounding."""
    K, n = P.shape
    inv_n = 1.0 / n
    for c in range(ws.shape[0]):
        j = ws[c]
        Hc = H[c]
        for k in range(K):
            for ll in range(k + 1):
                acc = _col_curvature(data, indices, indptr, n, j, mu[c], s, P[k], P[ll])
                Hc[k, ll] = -acc * inv_n
                Hc[ll, k] = Hc[k, ll]
        for k in range(K):
            acc = _col_weighted_square(data, indices, indptr, n, j, mu[c], s, P[k])
            Hc[k, k] += acc * inv_n
            if Hc[k, k] < 1e-12 * acc * inv_n:
                Hc[k, k] = 1e-12 * acc * inv_n


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _hessian_intercepts(s, P, B):
    """The intercepts' block ``(1/n) sum_i s_i (diag(p_i) - p_i p_i^T)`` into ``B``
    (floored as :func:`_hessian_rows`)."""
    K, n = P.shape
    inv_n = 1.0 / n
    for k in range(K):
        pk = P[k]
        for ll in range(k + 1):
            pl = P[ll]
            acc = 0.0
            for i in range(n):
                acc += s[i] * pk[i] * pl[i]
            B[k, ll] = -acc * inv_n
            B[ll, k] = B[k, ll]
        acc = 0.0
        for i in range(n):
            acc += s[i] * pk[i]
        B[k, k] += acc * inv_n
        if B[k, k] < 1e-12 * acc * inv_n:
            B[k, k] = 1e-12 * acc * inv_n


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _row_sweep(data, indices, indptr, s, ws, mu, W, alphas_ws, pen, model, step, r, d,
               w_row, cfg):
    """One sweep of block coordinate descent on the model over the rows: each row's
    ``K``-dimensional problem by :func:`_small_cd` on its Hessian block. Returns the
    model's largest KKT violation on the rows, each taken before its row's step;
    ``r, d, w_row`` (K,) are scratch."""
    K, n = model.P.shape
    inv_n = 1.0 / n
    D, dz, mm = step.D, step.dz, step.mm
    model_violation = 0.0
    for c in range(ws.shape[0]):
        j = ws[c]
        for k in range(K):
            r[k] = model.Gc[c, k] + _model_term(data, indices, indptr, n, j, mu[c], s,
                                                model.P[k], dz[k], mm) * inv_n
            w_row[k] = W[c, k] + D[c, k]
            d[k] = 0.0
            v = subdiff_scalar(pen.kind, w_row[k], r[k], alphas_ws[c], pen.param,
                               pen.positive)
            if v > model_violation:
                model_violation = v
        _small_cd(model.H[c], r, d, w_row, alphas_ws[c], pen, np.bool_(True),
                  cfg.row_sweeps, cfg.row_settled)
        for k in range(K):
            if d[k] == 0.0:
                continue
            D[c, k] += d[k]
            _move(data, indices, indptr, n, j, mu[c], d[k], model.P[k], dz[k], mm)
    return model_violation


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _intercept_sweep(s, pen, model, step, r, d, model_violation, cfg):
    """The intercepts' block step of the model's coordinate descent; returns
    ``model_violation`` raised to the intercepts' violation before the step."""
    K, n = model.P.shape
    inv_n = 1.0 / n
    db, dz, mm = step.db, step.dz, step.mm
    for k in range(K):
        r[k] = model.gb[k] + _intercept_term(s, model.P[k], dz[k], mm) * inv_n
        d[k] = 0.0
        if abs(r[k]) > model_violation:
            model_violation = abs(r[k])
    # np.bool_, not a literal: one specialization of _small_cd for rows and intercepts
    _small_cd(model.B, r, d, db, 0.0, pen, np.bool_(False), cfg.row_sweeps, cfg.row_settled)
    for k in range(K):
        if d[k] == 0.0:
            continue
        db[k] += d[k]
        pk = model.P[k]
        dzk = dz[k]
        for i in range(n):
            dzk[i] += d[k]
            mm[i] += d[k] * pk[i]
    return model_violation


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _support_due(W, D, n, K, model_epochs, next_support, eager, epoch_cost, cfg):
    """Whether CD's tail on the model is cut by a support solve now: once CD has spent
    what the solve costs (``support_cost`` times its flops against ``epoch_cost`` per
    epoch, at least ``support_min_epochs``), or right away when the last Newton step's
    model needed one (``eager``). Returns ``(due, next_support)``: the model epoch at
    which to ask again."""
    n_support = _support_dim(W, D)
    if not (n_support * n <= cfg.support_max_size and (
            model_epochs >= next_support or (eager and model_epochs == 1))):
        return False, next_support
    dim = n_support + K
    solve_cost = float(n) * dim * dim + dim * dim * dim / 3.0
    budget = max(cfg.support_min_epochs, int(cfg.support_cost * solve_cost / epoch_cost))
    if model_epochs >= budget or eager:
        return True, model_epochs + budget
    return False, budget


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _record_iterate(row, step):
    """The model's point (``D`` raveled, then ``db``) into ``row``."""
    D, db = step.D, step.db
    a = 0
    for c in range(D.shape[0]):
        for k in range(D.shape[1]):
            row[a] = D[c, k]
            a += 1
    for k in range(db.shape[0]):
        row[a + k] = db[k]


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _zero_step(step):
    """``step`` at the model's origin: ``D, db, dz, mm`` zero."""
    D, db, dz, mm = step
    for c in range(D.shape[0]):
        for k in range(D.shape[1]):
            D[c, k] = 0.0
    for k in range(dz.shape[0]):
        db[k] = 0.0
        for i in range(dz.shape[1]):
            dz[k, i] = 0.0
    for i in range(mm.shape[0]):
        mm[i] = 0.0


@njit(cache=True, no_cpython_wrapper=True)  # (objmode inside: nogil is the caller's)
def _minimize_model(data, indices, indptr, s, ws, mu, W, alphas_ws, pen, fit_intercept,
                    model, step, inner_tol, epoch_cost, eager, epochs, max_epochs, cfg):
    """Minimize the model with the penalty from a zero ``step`` by block coordinate
    descent (rows, then the intercepts) until its largest KKT violation is at most
    ``inner_tol``, or ``max_epochs`` epochs in all, or ``max_model_epochs`` on it. CD's
    tail is cut by a support solve (:func:`_support_due`) and by Anderson extrapolation
    every ``anderson_k`` epochs, each kept when it lowers the model (after a rejected
    extrapolation the next 1, 2, 4... are skipped). Returns ``(epochs, solved)``:
    ``solved`` when a support solve was taken (the next step's model tries one first)."""
    K, n = model.P.shape
    m = ws.shape[0]
    r = np.empty(K)
    d = np.empty(K)
    w_row = np.empty(K)
    rb = np.empty(K)
    R = np.empty((m, K))
    cand = _new_step(m, K, n)
    hist = np.empty((cfg.anderson_k + 1, m * K + K))
    _zero_step(step)
    n_hist = 0
    backoff = 0
    skip = 0
    model_epochs = 0
    next_support = cfg.support_min_epochs
    solved = False
    while epochs < max_epochs and model_epochs < cfg.max_model_epochs:
        epochs += 1
        violation = _row_sweep(data, indices, indptr, s, ws, mu, W, alphas_ws, pen, model,
                               step, r, d, w_row, cfg)
        if fit_intercept:
            violation = _intercept_sweep(s, pen, model, step, r, d, violation, cfg)
        if violation <= inner_tol:
            break
        model_epochs += 1
        due, next_support = _support_due(W, step.D, n, K, model_epochs, next_support,
                                         eager, epoch_cost, cfg)
        move = 1 if due else 2  # a support solve or an Anderson extrapolation
        if not due:
            _record_iterate(hist[n_hist], step)
            n_hist += 1
            if n_hist < hist.shape[0]:
                continue
            n_hist = 0
            if skip > 0:
                skip -= 1
                continue
        # one object-mode block for both moves (numba 0.68 miscompiled two in this loop)
        with objmode(taken="boolean"):
            taken = _model_move(move, hist, data, indices, indptr, s, ws, mu, model, W,
                                step, cand, alphas_ws, pen, fit_intercept, R, rb,
                                cfg.support_drops)
        if move == 1:
            if taken:
                n_hist = 0
                solved = True
        elif taken:
            backoff = 0
        else:
            backoff = min(max(2 * backoff, 1), cfg.anderson_max_skip)
            skip = backoff
    return epochs, solved


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _direction(mu, W, model, step, W_new):
    """Complete the model's minimizer into the Newton direction: ``step.db`` becomes the
    intercepts' total change (the centering of the columns included) and ``W_new = W +
    D``. Returns ``(moved, slope)``: whether the direction is nonzero and the datafit's
    directional derivative along it."""
    D, db = step.D, step.db
    m, K = D.shape
    slope = 0.0
    moved = False
    for k in range(K):
        total_db = db[k]
        for c in range(m):
            total_db -= mu[c] * D[c, k]
        db[k] = total_db
        slope += model.gb[k] * total_db
        if total_db != 0.0:
            moved = True
    for c in range(m):
        for k in range(K):
            slope += model.G[c, k] * D[c, k]
            W_new[c, k] = W[c, k] + D[c, k]
            if D[c, k] != 0.0:
                moved = True
    return moved, slope


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _line_search(y, s, Z, W, step, alphas_ws, pen, penalty_rest, objective, decrement,
                 trial, cfg):
    """Backtracking on the true objective along ``step`` from ``(Z, W)``: the first of
    the steps 1, 1/2, 1/4... (at most ``line_search_steps``) where the objective is at
    most ``objective + armijo t decrement`` plus ``rounding`` of it, left in ``trial``.
    Returns ``(accepted, t, value, penalty)``: the objective at the trial point and the
    penalty of its rows."""
    D, dz = step.D, step.dz
    K, n = Z.shape
    m = D.shape[0]
    t = 1.0
    value = objective
    pen_t = 0.0
    for _ in range(cfg.line_search_steps):
        for k in range(K):
            for i in range(n):
                trial.Z[k, i] = Z[k, i] + t * dz[k, i]
        for c in range(m):
            for k in range(K):
                trial.W[c, k] = W[c, k] + t * D[c, k]
        pen_t = _row_penalty(trial.W, alphas_ws, pen)
        value = _softmax_loss(trial.Z, y, s, trial.P, trial.E, trial.work) + pen_t \
            + penalty_rest
        if value <= objective + cfg.armijo * t * decrement + cfg.rounding * abs(objective):
            return True, t, value, pen_t
        t *= 0.5
    return False, t, value, pen_t


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _take_step(W, b, Z, model, step, trial, t):
    """Move to the line search's point: ``W``, ``Z``, ``P`` and ``E`` from ``trial``,
    ``b += t db``."""
    m, K = W.shape
    n = Z.shape[1]
    for c in range(m):
        for k in range(K):
            W[c, k] = trial.W[c, k]
    for k in range(K):
        b[k] += t * step.db[k]
        for i in range(n):
            Z[k, i] = trial.Z[k, i]
            model.P[k, i] = trial.P[k, i]
            model.E[k, i] = trial.E[k, i]


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _epoch_cost(indices, indptr, ws, n, K):
    """Flops of one epoch of the model's CD (row gradients and moves), against which a
    support solve is paid."""
    nnz = 0
    for c in range(ws.shape[0]):
        nnz += n if indices is None else indptr[ws[c] + 1] - indptr[ws[c]]
    return 5.0 * K * (nnz + n)


@njit(cache=True, nogil=True)
def _newton_rounds(data, indices, indptr, y, s, Z, W, b, ws, alphas_ws, mu, pen,
                   fit_intercept, penalty_rest, l1_rest, tol, gap_target, max_epochs, cfg):
    """Prox-Newton on the rows ``ws`` of ``W`` and the intercepts ``b``; updates
    ``Z = (X W + b)^T`` (K, n), ``W`` (m, K: the working-set rows) and ``b`` in place.

    Stops when the largest KKT violation on the working set is at most ``tol`` and at
    most what the gap's first-order term needs, ``gap_target / (2 ||W||_1)``
    (``l1_rest``: the l1 norm of the rows outside; ``penalty_rest``: their penalty), but
    not below ``rounding_ulps`` units of rounding of the gradient's entries (below,
    steps are noise: the caller sees no progress); or after ``cfg.max_newton`` steps or
    ``max_epochs`` epochs. ``mu`` holds the column means dense columns are centered by
    (0: none); ``cfg`` is a :class:`.settings.MultinomialSettings`.

    Returns ``(objective, epochs, steps, violation)``: epochs count the sweeps of block
    coordinate descent over the rows plus one gradient pass per Newton step; ``steps``
    the Newton steps taken; ``violation`` the working set's largest KKT violation at the
    returned point (``inf`` when a line search failed).
    """
    K, n = Z.shape
    m = ws.shape[0]
    model = _Model(np.empty((K, n)), np.empty((K, n)), np.empty((m, K)), np.empty((m, K)),
                   np.zeros(K), np.empty((m, K, K)), np.zeros((K, K)))
    step = _new_step(m, K, n)
    trial = _Trial(np.empty((K, n)), np.empty((m, K)), np.empty((K, n)), np.empty((K, n)),
                   np.empty((3, n)))
    epoch_cost = _epoch_cost(indices, indptr, ws, n, K)
    loss = _softmax_loss(Z, y, s, model.P, model.E, trial.work)
    pen_ws = _row_penalty(W, alphas_ws, pen)
    objective = loss + pen_ws + penalty_rest
    epochs = 0
    violation = np.inf
    it = 0  # Newton steps started
    taken = 0  # ... and taken
    solved = np.bool_(False)  # not a literal: one specialization of _minimize_model
    while True:
        epochs += 1
        violation, size, l1 = _gradient(data, indices, indptr, s, ws, mu, W, alphas_ws, pen,
                                        fit_intercept, l1_rest, model)
        floor = cfg.rounding_ulps * 2.220446049250313e-16 * size
        target = max(min(tol, gap_target / (2.0 * max(l1, 1.0))), floor)
        if violation <= target or it >= cfg.max_newton or epochs >= max_epochs:
            break
        it += 1
        _hessian_rows(data, indices, indptr, s, ws, mu, model.P, model.H)
        if fit_intercept:
            _hessian_intercepts(s, model.P, model.B)
        inner_tol = max(cfg.newton_forcing * violation, 0.5 * target, floor)
        epochs, solved = _minimize_model(data, indices, indptr, s, ws, mu, W, alphas_ws, pen,
                                         fit_intercept, model, step, inner_tol, epoch_cost,
                                         solved, epochs, max_epochs, cfg)
        moved, slope = _direction(mu, W, model, step, trial.W)
        if not moved:
            break
        # the prox-Newton decrement: the slope plus the penalty's change
        decrement = min(slope + _row_penalty(trial.W, alphas_ws, pen) - pen_ws, 0.0)
        accepted, t, value, pen_t = _line_search(y, s, Z, W, step, alphas_ws, pen,
                                                 penalty_rest, objective, decrement, trial,
                                                 cfg)
        if not accepted:
            violation = np.inf
            break
        taken += 1
        _take_step(W, b, Z, model, step, trial, t)
        objective = value
        pen_ws = pen_t
    return objective, epochs, taken, violation


def _column_means(problem) -> np.ndarray:
    """Sample-weighted column means that dense columns are centered by in the model
    (zeros for sparse X, whose columns stay sparse, or without an intercept);
    memoized per data."""
    memo = problem.memo
    if "multinomial_means" not in memo:
        p = problem.n_features
        if problem.fit_intercept and not problem.is_sparse:
            s = problem.sample_weight
            means = np.asarray(s @ problem.X, dtype=float).ravel() / float(np.sum(s))
        else:
            means = np.zeros(p)
        memo["multinomial_means"] = np.ascontiguousarray(means)
    return memo["multinomial_means"]


class MultinomialCoordinateDescent(CDSolver):
    """Working-set prox-Newton with row blocks; ``max_iter`` bounds epochs."""

    supports_multiclass = True
    supports_bounds = False  # its row blocks and row shifts know no box

    def check(self, problem) -> None:
        super().check(problem)
        if not problem.datafit.multiclass:
            raise ValueError(f"{type(self).__name__} is for multiclass datafits; "
                             f"{type(problem.datafit).__name__} is not")
        if problem.penalty.kernel_id < 0:
            raise ValueError(f"solver='cd' has no compiled kernel for "
                             f"{type(problem.penalty).__name__}: use solver='fista'")

    def solve(self, problem, start: Iterate, scale: float):
        cfg, pen = self.settings, problem.penalty
        p = problem.n_features
        data, indices, indptr = kernel_arrays(problem)
        weights = pen.feature_weights(p)
        alphas_j = pen.alpha * weights
        forced = weights == 0
        means = _column_means(problem)
        pen_args = kernels.penalty_args(pen, p)
        y = np.ascontiguousarray(problem.y, dtype=np.int64)
        s = np.ascontiguousarray(problem.sample_weight, dtype=float)
        W = np.array(start.coef, dtype=float)
        b = np.array(start.intercept, dtype=float) + np.zeros(problem.n_outputs)
        history: list[float] = []
        epochs = 0
        cert = None
        # a warm start from a solver's last point (a path's previous alpha) comes with its
        # exact gradient at the optimal intercepts: the first round needs no certificate
        # (its gap would be for the new alpha, far from the target)
        known = start.grad is not None and start.xw is not None and start.grad_err is None
        grad, xw = (start.grad, start.xw) if known else (None, None)
        outer = 0  # certified rounds
        while True:
            if grad is None:
                shift = pen.row_shifts(W) if outer > 0 else None
                if shift is not None and np.any(shift != 0.0):
                    W -= shift[:, None]
                cert, grad, xw, grad_err, _ = certify_with_gradient(problem, W, b)
                b = np.array(cert.intercept, dtype=float)
                history.append(cert.objective)
                reason = rules.stop_reason(rules.certified(cert, self.tol, scale), False,
                                           np.inf, np.inf, 0.0, 0.0, epochs, self.max_iter,
                                           outer, cfg.max_outer_multiclass)
                if reason != rules.GO_ON:
                    break
                outer += 1
                objective, gap = cert.objective, cert.value
            else:  # the warm start's round
                objective = problem.datafit_value(np.asarray(xw) + b) + pen.value(W)
                gap = np.inf
            scores = pen.subdiff_distance(W, grad)
            row_scores = scores.max(axis=1)
            top = float(scores.max())
            ws = rules.working_set(np.where(np.any(W != 0, axis=1), 1.0, 0.0), row_scores,
                                   forced, cfg.ws_min, cfg.ws_growth)
            # the working set is solved to a fraction of the round's top score, and to
            # the violation the gap needs: about gap_target / (2 ||W||_1) for its
            # first-order term (inside the call), and half the last round's ratio of
            # gap to top violation (the gap also grows with the dual point's rescaling)
            gap_target = self.tol * max(objective, 1e-6 * scale)
            inner_tol = cfg.inner_fraction * top
            if np.isfinite(gap) and gap > 0.0:
                inner_tol = min(inner_tol, 0.5 * gap_target * top / gap)
            Z = np.ascontiguousarray((np.asarray(xw, dtype=float) + b).T)
            W_ws = np.ascontiguousarray(W[ws])
            outside = W.copy()
            outside[ws] = 0.0
            _, n_epochs, n_steps, _ = _newton_rounds(
                data, indices, indptr, y, s, Z, W_ws, b, ws,
                np.ascontiguousarray(alphas_j[ws]), np.ascontiguousarray(means[ws]),
                pen_args, bool(problem.fit_intercept), float(pen.value(outside)),
                float(np.abs(outside).sum()), float(inner_tol), float(gap_target),
                max(self.max_iter - epochs, 1), cfg.multinomial())
            W[ws] = W_ws
            epochs += int(n_epochs)
            if n_steps == 0 and cert is not None:
                # the working set already at the rounding floor of its gradient (or no
                # step a descent step at this precision) and the gap still above the
                # target: another round would do the same
                reason = rules.MAX_ITER
                break
            grad = None
        result = self.finish(problem, W, cert.intercept, epochs, history, scale, cert,
                             stop_reason=rules.STOP_REASONS[reason])
        return result, Iterate(result.coef, result.intercept, xw, grad, grad_err)
