r"""The gradient :math:`X^\top g` of a certificate, computed only as exactly as it is read.

A certificate reads the datafit gradient ``v = X^T g`` only through the penalty: the
KKT scores, the dual scale and the conjugate. For the elastic-net family none of them
depends on an entry at a zero coefficient while ``|v_j|`` stays at or below the L1
threshold ``t_j = alpha * l1_ratio * omega_j`` (``v_j <= t_j`` with ``positive``;
:meth:`~penalized.penalties.Penalty.certificate_levels`). So each entry may come with
a rigorous bound on its error, and is recomputed in float64 wherever the bound does
not place it below ``t_j`` or the coefficient is nonzero. Every score, dual scale and
conjugate is then the one the float64 gradient gives (up to the order of float64
sums): the certificates stay exact. Two sources of bounded entries:

* **The last full pass, reused.** ``|x_j.g - x_j.g_ref| <= ||x_j|| ||g - g_ref||``:
  while the point moves little (the next alpha of a path, the next round of a solver)
  most features stay provably below their threshold and only the support and a few
  others are recomputed. A full pass is made when more than ``REUSE_MAX_REFINE`` of
  the features would need it. On the folds of the wide cross-validation benchmark
  (800 x 5000, lasso, 100 alphas) this made 320 full passes instead of 503.
* **Float32.** A full pass on dense data reads a float32 copy of X (made at the
  second pass on the same data): half the memory traffic. Bound (Higham, *Accuracy
  and Stability of Numerical Algorithms*, 2002, section 3.1): rounding ``x`` and
  ``g`` to float32 and summing their products in float32 in any order, with or
  without fused multiply-adds, gives ``|fl(x^T g) - x^T g| <= gamma_{n+2} sum_i
  |x_i g_i| <= gamma_{n+2} ||x|| ||g||``, ``gamma_k = k u / (1 - k u)``,
  ``u = 2^-24``, if nothing overflows or underflows. ``g`` is scaled by a power of two
  (exact) to ``max |g_i| <= 1``; the copy is only made when every column norm is at
  most ``2^64`` and ``n <= 2^24`` (no overflow); an absolute term covers underflow
  (each rounding to a subnormal errs by at most ``2^-150``). On an 800 x 5000 fold a
  pass took 0.29 ms against 1.37 ms alone (the 16 MB copy fits the cache, the 32 MB
  X does not), about 1.2 ms against 1.5 ms inside cross-validation.

Measured on ``LassoCV(cv=5)`` of the wide dense benchmark (the five fold paths, medians
of 3 alternating runs): 1.84 s with neither, 1.64 s reuse alone, 1.47 s float32 alone,
1.43 s both. Neutral on the logistic CV benchmark (0.82 s against 0.81 s, 8 runs).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .problem import Problem

#: only for X with at least this many stored entries: below, X stays in cache and the
#: bookkeeping costs what it saves (lasso paths, 100 alphas: 300 x 2000, 71 -> 75 ms;
#: 500 x 4000, 227 -> 198 ms)
MIN_SIZE = 1_000_000
#: the float32 copy is made at this many full passes along one chain of iterates (a
#: path or a fit, :class:`Reference`): the copy costs about one pass, so it pays from
#: the second one
LOWPREC_AFTER = 2
#: and only for X with at least this many entries (16 MB of float64: smaller ones stay
#: in cache; the logistic CV benchmark's 800 x 2000 folds ran 8% slower with the copy)
LOWPREC_MIN_SIZE = 2_000_000
#: and only for at most this many bytes of float64 X (the copy adds half of it)
LOWPREC_MAX_BYTES = 4 * 2**30
#: recompute everything in float64 once more than this fraction needs it
REFINE_MAX = 0.5
#: the last full pass serves (within its drift bound) while at most this fraction of
#: the features need recomputing
REUSE_MAX_REFINE = 0.2
#: after this many failed tries in a row, try only every this-many-th full pass (the
#: prox-Newton rounds of a logistic fit move the point too far: 10 of 268 tries held)
REUSE_MISSES = 4

_U32 = 2.0**-24
_TINY = 2.0**-150
_U64 = 2.0**-53


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _dense_dot(col, g):
    acc = 0.0
    for i in range(col.shape[0]):
        acc += col[i] * g[i]
    return acc


@njit(cache=True, nogil=True)
def _columns_dot(data, indices, indptr, n, cols, g, out):
    """``out[j] = x_j . g`` for ``j`` in ``cols``: CSC arrays, or a Fortran X raveled
    with ``indices = indptr = None`` (as the CD kernels take X)."""
    for c in range(cols.shape[0]):
        j = cols[c]
        if indices is None:
            out[j] = _dense_dot(data[j * n:(j + 1) * n], g)
        else:
            acc = 0.0
            for k in range(indptr[j], indptr[j + 1]):
                acc += data[k] * g[indices[k]]
            out[j] = acc


@njit(cache=True, nogil=True)
def _sparse_squared_norms(data, indptr):
    """``sum_k data[k]^2`` over each column of CSC arrays, with no temporary of the size
    of X (a column label per entry and the squared values were two)."""
    out = np.zeros(indptr.shape[0] - 1)
    for j in range(out.shape[0]):
        acc = 0.0
        for k in range(indptr[j], indptr[j + 1]):
            acc += data[k] * data[k]
        out[j] = acc
    return out


class Reference(NamedTuple):
    """What a chain of iterates (a path, a fit) knows of its gradient passes; it travels
    in :class:`penalized.solvers.base.Iterate`, so the problem's memo keeps only
    functions of the data (column norms, the float32 copy).

    ``gz, grad, err``: the last full pass (``X^T gz`` within ``err``), None before one;
    ``passes``: full passes made; ``misses``: failed reuse tries in a row."""

    gz: np.ndarray | None = None
    grad: np.ndarray | None = None
    err: np.ndarray | None = None
    passes: int = 0
    misses: int = 0


def _data(problem: Problem):
    """This data's gradient facts (memo, functions of X only): column norms, whether the
    float32 copy applies, the copy once made. None when a norm is not finite."""
    state = problem.memo.get("gradient_data")
    if state is None:
        X = problem.X
        if problem.is_sparse:
            norms = np.sqrt(_sparse_squared_norms(X.data, X.indptr))
        else:
            norms = np.sqrt(np.einsum("ij,ij->j", X, X))
        lowprec = (not problem.is_sparse and X.dtype == np.float64 and X.flags.f_contiguous
                   and LOWPREC_MIN_SIZE <= X.size and X.nbytes <= LOWPREC_MAX_BYTES
                   and X.shape[0] <= 2**24 and np.max(norms, initial=0.0) <= 2.0**64)
        state = problem.memo["gradient_data"] = {
            "norms": norms, "finite": bool(np.all(np.isfinite(norms))),
            "lowprec": lowprec, "copy": None}
    return state if state["finite"] else None


def _full_pass(problem: Problem, data: dict, gz: np.ndarray, passes: int):
    """``X^T gz`` over every feature, the ``passes``-th along its chain: ``(values, error
    bound)`` (float32 from ``LOWPREC_AFTER`` passes on when the copy applies, else
    float64 with a zero bound)."""
    n = problem.n_samples
    if data["lowprec"] and passes >= LOWPREC_AFTER:
        if data["copy"] is None:  # the caller's float32 X when X came as one (any order)
            data["copy"] = problem.memo.get("float32_X")
        if data["copy"] is None:
            data["copy"] = np.asfortranarray(problem.X, dtype=np.float32)
        top = float(np.max(np.abs(gz), initial=0.0))
        if top > 0.0 and np.isfinite(top):
            shift = 2.0 ** -np.ceil(np.log2(top))  # |gz * shift| <= 1, exact
            scaled = gz * shift
            approx = data["copy"].T @ scaled.astype(np.float32)
            gamma = (n + 2) * _U32 / (1.0 - (n + 2) * _U32)
            norms = data["norms"]
            bound = 1.01 * gamma * norms * np.linalg.norm(scaled) \
                + 4.0 * n * _TINY * (norms + 2.0)
            return approx.astype(np.float64) / shift, bound / shift
    return problem.X.T @ gz, np.zeros(problem.n_features)


def gradient(problem: Problem, gz: np.ndarray, w: np.ndarray, ref: Reference | None = None):
    """``(X^T gz, err, ref)``: exact in float64 where a certificate can tell (module
    docstring); ``err`` bounds each entry's error (0 where exact), or is None when all
    are exact; ``ref`` is what the chain knows after this pass (``ref`` given: before)."""
    ref = Reference() if ref is None else ref
    size = problem.X.nnz if problem.is_sparse else problem.X.size
    levels = _levels(problem, w) if size >= MIN_SIZE else None
    data = None if levels is None else _data(problem)
    if data is None:
        return problem.X.T @ gz, None, ref
    misses = ref.misses  # a try costs a few vector ops: not worth it when it fails
    if ref.gz is not None and (misses < REUSE_MISSES or misses % REUSE_MISSES == 0):
        # |x_j.gz - x_j.gz_ref| <= ||x_j|| ||gz - gz_ref||: the last full pass, within a
        # bound that grows with the distance from its point (plus float64 rounding)
        n = problem.n_samples
        drift = np.linalg.norm(gz - ref.gz) + 4.0 * n * _U64 * np.linalg.norm(gz)
        err = ref.err + 1.01 * data["norms"] * drift
        cols = _needs_exact(problem, ref.grad, err, w, levels) if np.isfinite(drift) \
            else None
        if cols is not None and cols.size <= REUSE_MAX_REFINE * w.shape[0]:
            return (*_exact_at(problem, gz, ref.grad, err, cols), ref._replace(misses=0))
    if ref.gz is not None:
        ref = ref._replace(misses=ref.misses + 1)
    if np.count_nonzero(w) > REFINE_MAX * w.shape[0]:  # the support alone: float64
        grad, err = problem.X.T @ gz, np.zeros(w.shape[0])
    else:
        grad, err = _full_pass(problem, data, gz, ref.passes + 1)
    # (a pass with non-finite entries is not kept: its bounds would say nothing)
    kept = np.all(np.isfinite(grad))
    ref = ref._replace(gz=gz.copy() if kept else None, grad=grad if kept else None,
                       err=err if kept else None, passes=ref.passes + 1)
    if not np.any(err):
        return grad, None, ref
    return (*refine(problem, gz, w, grad, err, levels), ref)


def refine(problem: Problem, gz: np.ndarray, w: np.ndarray, grad: np.ndarray,
           err: np.ndarray | None, levels: np.ndarray | None = None):
    """Recompute in float64 the entries of ``grad`` (known within ``err``) that the
    penalty at ``w`` can tell from their bound; returns the new ``(grad, err)``."""
    if err is None:
        return grad, None
    levels = _levels(problem, w) if levels is None else levels
    if levels is None:
        return problem.X.T @ gz, None
    cols = _needs_exact(problem, grad, err, w, levels)
    if cols.size > REFINE_MAX * grad.shape[0]:
        return problem.X.T @ gz, None
    return _exact_at(problem, gz, grad, err, cols)


def _exact_at(problem: Problem, gz: np.ndarray, grad: np.ndarray, err: np.ndarray,
              cols: np.ndarray):
    """Copies of ``(grad, err)`` with the entries ``cols`` recomputed in float64."""
    grad, err = grad.copy(), err.copy()
    if cols.size:
        X = problem.X
        gz = np.ascontiguousarray(gz, dtype=np.float64)
        if problem.is_sparse:
            _columns_dot(X.data, X.indices, X.indptr, problem.n_samples, cols, gz, grad)
        elif X.flags.f_contiguous:  # (validated data always is)
            _columns_dot(X.ravel(order="F"), None, None, problem.n_samples, cols, gz, grad)
        else:
            grad[cols] = X[:, cols].T @ gz
        err[cols] = 0.0
    return grad, err


def _needs_exact(problem: Problem, grad, err, w, levels) -> np.ndarray:
    """Features whose entry the certificate can tell from its bound (sorted indices).

    With ``positive`` only ``v_j = -grad_j <= t_j`` matters at a zero coefficient
    (its subdifferential there is ``(-inf, t_j]``): a large gradient of the other
    sign is as inert as a small one."""
    size = -grad if problem.penalty.positive else np.abs(grad)
    return np.flatnonzero(((size + err > levels) | (w != 0)) & (err > 0))


def _levels(problem: Problem, w: np.ndarray):
    """The penalty's certificate levels when bounded entries can serve (1-D coefficients,
    every feature penalized), else None."""
    if w.ndim != 1:
        return None
    levels = problem.penalty.certificate_levels(problem.n_features)
    if levels is None or not np.all(levels > 0):
        return None
    return levels
