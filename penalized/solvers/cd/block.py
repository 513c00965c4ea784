"""Block coordinate descent for penalties separable over groups of features.

One block update is a gradient step on the block with step ``1 / L_g`` followed by the
block prox of the penalty (:func:`penalized.penalties.group_lasso_compiled.block_prox`),
``L_g`` the block's Lipschitz constant: the datafit's curvature bound times the largest
eigenvalue of ``X_g^T S X_g / n``. The step decreases the objective (the quadratic upper
bound holds on the block) and the fixed points are the optimum.

The outer loop is the engine's (:mod:`.driver`), over blocks instead of features:
certify (duality gap, or KKT), stop on the certificate (:func:`.rules.stop_reason`),
build a working set of blocks from the blocks' KKT violations (:func:`.rules.working_set`
on per-block norms and scores), and run compiled epochs on it until its largest
violation is ``inner_fraction`` of the round's. Unpenalized features (in no group) are
blocks of one, always in the working set; the intercept takes a step after every epoch
(exact for least squares). For least squares, once a round leaves the support as it
was, damped Newton steps on the support finish it (:mod:`.block_newton`; block
coordinate descent is slow along directions only the penalty holds, e.g. collinear
columns). The solver names no penalty: it reads ``block_separable``,
``group_structure`` and the thresholds the penalty's math defines.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit

from ...core.certificates import (
    certify_with_gradient,
    objective_tolerance,
    tightened,
)
from ...core.datafits_compiled import dloss_scalar, loss_scalar
from ...penalties.group_lasso_compiled import block_prox, group_distance, sgl_group_distances
from ..base import Iterate
from . import rules
from .block_newton import newton_on_support
from .driver import CDSolver, kernel_arrays
from .kernels import _col_axpy, _col_dot, anderson_point


class Blocks(NamedTuple):
    """The blocks of one problem: the penalty's groups, then a block per unpenalized
    feature. ``l1``: per-feature L1 thresholds (alpha r omega_j); ``c``: per-block
    group-norm thresholds (alpha (1 - r) v_g; 0 for the unpenalized blocks); ``lips``:
    per-block Lipschitz constants; ``forced``: the unpenalized blocks; ``positive``: the
    coefficients are constrained to be non-negative."""

    indptr: np.ndarray
    indices: np.ndarray
    l1: np.ndarray
    c: np.ndarray
    lips: np.ndarray
    forced: np.ndarray
    positive: bool


#: blocks whose columns and rows both outnumber this get their largest eigenvalue from
#: Lanczos iterations (a dense eigendecomposition costs the smaller side cubed) with
#: LANCZOS_MARGIN of slack: the estimate converges from below, and a step above 1 / L_g
#: could raise the objective
LANCZOS_MIN = 1000
LANCZOS_MARGIN = 1.01


def _largest_eigenvalue(A) -> float:
    """The largest eigenvalue of ``A^T A`` (dense or sparse ``A``), from the smaller of
    ``A^T A`` and ``A A^T`` (they share their nonzero eigenvalues)."""
    if min(A.shape) > LANCZOS_MIN:
        top = spla.svds(A, k=1, tol=1e-6, return_singular_vectors=False, random_state=0)
        return float(top[0]) ** 2 * LANCZOS_MARGIN
    gram = A.T @ A if A.shape[1] <= A.shape[0] else A @ A.T
    gram = np.asarray(gram.todense()) if sp.issparse(gram) else gram
    return float(np.linalg.eigvalsh(gram)[-1]) * (1.0 + 1e-12)


def _block_lipschitz(problem, indptr, indices) -> np.ndarray:
    """Per block, the largest eigenvalue of ``X_g^T S X_g / n`` times the curvature
    bound; memoized per data and block layout (a path's alphas share it)."""
    key = ("block_lipschitz", indptr.tobytes(), indices.tobytes())
    if key not in problem.memo:
        X, n = problem.X, problem.n_samples
        root = np.sqrt(problem.sample_weight)
        out = np.empty(indptr.shape[0] - 1)
        norms2 = problem.column_norms2
        for g in range(out.shape[0]):
            cols = indices[indptr[g]:indptr[g + 1]]
            if cols.shape[0] <= 1:
                out[g] = float(norms2[cols].sum())
                continue
            # (sparse: one-hot blocks have a diagonal Gram and are never densified)
            A = sp.diags(root) @ X[:, cols] if problem.is_sparse else root[:, None] * X[:, cols]
            out[g] = _largest_eigenvalue(A) / n
        problem.memo[key] = out * problem.datafit.curvature_bound
    return problem.memo[key]


def make_blocks(problem) -> Blocks:
    """The :class:`Blocks` of ``problem`` (its penalty's groups over its features)."""
    pen, p = problem.penalty, problem.n_features
    s = pen.group_structure(p)
    free = np.flatnonzero(s.group_of < 0).astype(np.int64)
    indptr = np.concatenate([s.indptr, s.indptr[-1] + 1 + np.arange(free.shape[0])])
    indices = np.concatenate([s.indices, free]).astype(np.int64)
    indptr = indptr.astype(np.int64)
    r = pen.mix
    l1 = np.ascontiguousarray(pen.alpha * r * pen.feature_weights(p), dtype=float)
    c = np.concatenate([pen.alpha * (1.0 - r) * s.weights, np.zeros(free.shape[0])])
    forced = np.zeros(indptr.shape[0] - 1, dtype=np.bool_)
    forced[s.n_groups:] = True
    return Blocks(indptr, indices, l1, c, _block_lipschitz(problem, indptr, indices), forced,
                  bool(pen.positive))


class EpochArgs(NamedTuple):
    """The datafit as the epochs take it: its compiled ``kind``, whether it is
    ``quadratic`` (the epochs then carry ``dloss = z - y`` itself), its curvature bound
    (the intercept's step) and whether an intercept is fitted."""

    kind: int
    quadratic: bool
    curvature: float
    fit_intercept: bool


@njit(cache=True, nogil=True, inline="always")
def _refresh(kind, y, z, v):
    """``v = dloss(y, z)`` (a datafit that is not quadratic, before each block)."""
    for i in range(z.shape[0]):
        v[i] = dloss_scalar(kind, y[i], z[i])


@njit(cache=True, nogil=True)
def _intercept_step(args, y, h, z, v, b):
    """One step on the intercept: exact for least squares, ``1 / curvature`` else."""
    if not args.fit_intercept:
        return b
    if not args.quadratic:
        _refresh(args.kind, y, z, v)
    g = 0.0
    for i in range(v.shape[0]):
        g += h[i] * v[i]
    db = -g / args.curvature  # (h = s / n sums to 1)
    state = v if args.quadratic else z
    for i in range(state.shape[0]):
        state[i] += db
    return b + db


@njit(cache=True, nogil=True)
def _sweep(data, indices, indptr, y, h, args, z, v, w, ws, blocks, grad, old, positive):
    """One epoch of block updates over ``ws`` (``v = z - y`` kept for least squares, ``z``
    else); returns the largest violation seen (each block's, just before its update)."""
    n = z.shape[0]
    b_ptr, b_idx, l1, c, lips = blocks.indptr, blocks.indices, blocks.l1, blocks.c, \
        blocks.lips
    violation = 0.0
    for t in range(ws.shape[0]):
        g = ws[t]
        lo, hi = b_ptr[g], b_ptr[g + 1]
        if lips[g] <= 0.0:
            continue
        if not args.quadratic:
            _refresh(args.kind, y, z, v)
        for k in range(lo, hi):
            j = b_idx[k]
            grad[j] = _col_dot(data, indices, indptr, n, j, v, h)
        violation = max(violation, group_distance(w, grad, lo, hi, b_idx, l1, c[g],
                                                  positive))
        step = 1.0 / lips[g]
        for k in range(lo, hi):
            j = b_idx[k]
            old[k - lo] = w[j]
            w[j] -= step * grad[j]
        block_prox(w, lo, hi, b_idx, l1, c[g], step, positive)
        for k in range(lo, hi):
            j = b_idx[k]
            delta = w[j] - old[k - lo]
            if delta != 0.0:  # (x_j enters z and, for least squares, v = z - y alike)
                _col_axpy(data, indices, indptr, n, j, -delta, v if args.quadratic else z)
    return violation


@njit(cache=True, nogil=True)
def _ws_objective(y, h, args, state, w, ws, blocks):
    """The objective's terms that the working set moves: the datafit (``h = s / n``; from
    ``state``, ``v = z - y`` for least squares, else ``z``) and the penalty of the blocks
    in ``ws``."""
    fit = 0.0
    for i in range(state.shape[0]):
        if args.quadratic:
            fit += h[i] * 0.5 * state[i] * state[i]
        else:
            fit += h[i] * loss_scalar(args.kind, y[i], state[i])
    pen = 0.0
    for t in range(ws.shape[0]):
        g = ws[t]
        acc = 0.0
        for k in range(blocks.indptr[g], blocks.indptr[g + 1]):
            j = blocks.indices[k]
            acc += w[j] * w[j]
            pen += blocks.l1[j] * abs(w[j])
        pen += blocks.c[g] * np.sqrt(acc)
    return fit + pen


@njit(cache=True, nogil=True)
def _extrapolate(data, indices, indptr, y, h, args, z, v, w, b, ws, cols, blocks, hist):
    """Move to the Anderson extrapolation of the last iterates (rows of ``hist``:
    ``w[cols], b``) if it lowers the objective, so that acceleration never slows
    convergence down (Bertrand and Massias, 2021); ``w``, ``z``, ``v`` in place.
    Returns the intercept."""
    point = anderson_point(hist)
    if point.shape[0] == 0:
        return b
    n, m = z.shape[0], cols.shape[0]
    for cc in range(m):  # a block prox keeps w >= 0; the combination must as well
        if blocks.positive and point[cc] < 0.0:
            return b
    state = v if args.quadratic else z
    moved = state.copy()
    saved = np.empty(m)
    for cc in range(m):
        j = cols[cc]
        saved[cc] = w[j]
        delta = point[cc] - w[j]
        if delta != 0.0:
            _col_axpy(data, indices, indptr, n, j, -delta, moved)
    db = point[m] - b if args.fit_intercept else 0.0
    for i in range(n):
        moved[i] += db
    before = _ws_objective(y, h, args, state, w, ws, blocks)
    for cc in range(m):
        w[cols[cc]] = point[cc]
    if _ws_objective(y, h, args, moved, w, ws, blocks) < before:
        for i in range(n):
            state[i] = moved[i]
        return b + db
    for cc in range(m):
        w[cols[cc]] = saved[cc]
    return b


@njit(cache=True, nogil=True)
def bcd_epochs(data, indices, indptr, y, h, args, z, v, w, b, ws, cols, blocks, grad, old,
               max_epochs, tol, anderson_k):
    """Epochs of block updates over the blocks ``ws`` (their features ``cols``) until
    the largest violation seen in an epoch is at most ``tol``, with Anderson
    extrapolation every ``anderson_k`` epochs; ``v = z - y`` (least squares) or
    ``z = X w + b`` (else) is updated in place with ``w``. Returns ``(b, epochs,
    violation)``."""
    m = cols.shape[0]
    hist = np.empty((anderson_k + 1, m + 1))
    violation = np.inf
    epoch = 0
    count = 0  # iterates in ``hist`` since the last extrapolation
    while epoch < max_epochs:
        epoch += 1
        violation = _sweep(data, indices, indptr, y, h, args, z, v, w, ws, blocks, grad,
                           old, blocks.positive)
        b = _intercept_step(args, y, h, z, v, b)
        if violation <= tol or anderson_k <= 0:
            if violation <= tol:
                break
            continue
        for cc in range(m):
            hist[count, cc] = w[cols[cc]]
        hist[count, m] = b
        count += 1
        if count == anderson_k + 1:
            b = _extrapolate(data, indices, indptr, y, h, args, z, v, w, b, ws, cols,
                             blocks, hist)
            count = 0
    return b, epoch, violation


def _members(blocks: Blocks, ws: np.ndarray) -> np.ndarray:
    """The features of the blocks ``ws``, block after block."""
    starts, lens = blocks.indptr[ws], np.diff(blocks.indptr)[ws]
    offsets = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
    return np.ascontiguousarray(blocks.indices[np.repeat(starts, lens) + offsets],
                                dtype=np.int64)


def _block_norms(w, blocks: Blocks) -> np.ndarray:
    """Per block, ``||w_g||`` (the working-set rule keeps the blocks where it is > 0)."""
    sq = np.add.reduceat(w[blocks.indices] ** 2, blocks.indptr[:-1]) \
        if blocks.indices.shape[0] else np.zeros(0)
    sq[np.diff(blocks.indptr) == 0] = 0.0  # (reduceat reads the next entry for an empty one)
    return np.sqrt(sq)


class BlockCoordinateDescent(CDSolver):
    """Working-set block coordinate descent; ``max_iter`` bounds the total epochs."""

    name = "bcd"
    requires_separable = False

    def check(self, problem) -> None:
        super().check(problem)
        pen, datafit = problem.penalty, problem.datafit
        if not pen.block_separable:
            raise ValueError(f"solver='bcd' needs a penalty separable over groups (e.g. "
                             f"GroupLasso); {type(pen).__name__} is not: use solver='cd'")
        if datafit.kernel_id < 0:
            raise ValueError(f"solver='bcd' has no compiled operations for the datafit "
                             f"{type(datafit).__name__}: use solver='fista'")
        if not np.isfinite(datafit.curvature_bound):  # its block steps are 1 / L_g
            raise ValueError(f"solver='bcd' steps by the datafit's curvature bound, and "
                             f"{type(datafit).__name__} has none: use solver='fista'")

    def _polish(self, problem, blocks, w, b, y, h, before, n_cols):
        """Newton steps on the support (:mod:`.block_newton`) once a round left it as it
        was and the step costs less than ``newton_budget_epochs`` epochs on the working
        set (its Gram: ``n |S|^2`` against ``2 n`` per column and epoch) and the support's
        columns, formed densely, hold at most ``support_max_size`` entries; else None."""
        cfg, support = self.settings, np.count_nonzero(w)
        if support == 0 or np.any(before != (w != 0)) or \
                support**2 > 2.0 * cfg.newton_budget_epochs * n_cols or \
                support * problem.n_samples > cfg.support_max_size:
            return None
        return newton_on_support(problem, blocks, w, b, y, h)

    def solve(self, problem, start: Iterate, scale: float):
        cfg, pen = self.settings, problem.penalty
        blocks = make_blocks(problem)
        X = kernel_arrays(problem)
        y = np.ascontiguousarray(problem.y, dtype=float)
        h = np.ascontiguousarray(problem.sample_weight / problem.n_samples)
        args = EpochArgs(int(problem.datafit.kernel_id), bool(problem.datafit.quadratic),
                         float(problem.datafit.curvature_bound), bool(problem.fit_intercept))
        w, b = np.array(start.coef, dtype=float), float(start.intercept)
        xw, grad, err, ref = start.xw, start.grad, start.grad_err, start.grad_ref
        history: list[float] = []
        epochs, best_dual, ws, violation, undershoot = 0, -np.inf, None, 0.0, 1.0
        work = np.zeros(problem.n_features), np.zeros(int(np.max(np.diff(blocks.indptr),
                                                                  initial=1)))
        for outer in range(cfg.max_outer + 1):
            cert, grad, xw, err, ref = certify_with_gradient(problem, w, b, xw, grad, err, ref)
            cert, best_dual = tightened(cert, best_dual)
            b = cert.intercept
            history.append(cert.objective)
            obj_tol = objective_tolerance(cert, self.tol, scale)
            reason = rules.stop_reason(rules.certified(cert, self.tol, scale), False, np.inf,
                                       np.inf, obj_tol, cfg.outside_safety, epochs,
                                       self.max_iter, outer, cfg.max_outer)
            if reason != rules.GO_ON:
                break
            grad = np.ascontiguousarray(grad, dtype=float)
            scores = sgl_group_distances(w, grad, blocks.indptr, blocks.indices, blocks.c,
                                         blocks.l1, 1.0, bool(pen.positive))
            if violation > 0.0:
                # the kernel measures each block's violation just before updating it: on
                # correlated blocks that understates the violation at the epoch's end
                # (later blocks move the gradients of earlier ones). The last round's
                # ratio of the two converts this round's target into the kernel's units.
                undershoot = min(max(1.0, float(scores[ws].max(initial=0.0)) / violation),
                                 cfg.max_undershoot)
            ws = rules.working_set(_block_norms(w, blocks), scores, blocks.forced,
                                   cfg.ws_min, cfg.ws_growth)
            z = xw + b
            v = np.ascontiguousarray(problem.datafit.dloss(y, z) if args.quadratic
                                     else np.empty_like(z), dtype=float)
            cols = _members(blocks, ws)
            before = w != 0
            b, n_epochs, violation = bcd_epochs(
                *X, y, h, args, z, v, w, b, ws,
                cols, blocks, *work, max(self.max_iter - epochs, 1),
                cfg.inner_fraction * float(scores.max(initial=0.0)) / undershoot,
                int(cfg.anderson_k))
            epochs += n_epochs
            if args.quadratic:
                z = v + y
                polished = self._polish(problem, blocks, w, b, y, h, before, cols.shape[0])
                if polished is not None:
                    (w, b), z, violation = polished, problem.X @ polished[0] + polished[1], 0.0
            xw, grad, err = z - b, None, None
        result = self.finish(problem, w, cert.intercept, epochs, history, scale, cert,
                             stop_reason=rules.STOP_REASONS[reason])
        return result, Iterate(result.coef, result.intercept, xw, grad, err, ref)
