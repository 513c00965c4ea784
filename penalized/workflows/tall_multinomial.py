r"""The multinomial datafit on Dask arrays: proximal Newton with the exact Hessian.

At ``(W, b)`` (``K`` classes, ``V = [W; b]`` of shape ``(p + 1, K)``, ``a_i = [x_i, 1]``)
the softmax loss's second-order model is

.. math:: \frac1w \sum_i s_i\,\ell_i(V + \Delta) \approx \mathrm{const}
          + \frac1w\Big(G\cdot\Delta + \tfrac12 \Delta^\top H \Delta\Big),\quad
          G = \sum_i s_i\, a_i (p_i - e_{y_i})^\top,\quad
          H_{cd} = \sum_i s_i (p_{ic}\delta_{cd} - p_{ic} p_{id})\, a_i a_i^\top

(``w`` the weights' sum). ``H`` has ``K (K + 1) / 2`` distinct ``(p + 1) x (p + 1)``
blocks, all sums over rows, and the ``K (K - 1) / 2`` of distinct classes give the
others (each block row sums to zero): one pass over the row blocks returns them with ``c = H V -
G`` (so that the model is ``V^T H V / 2 - c^T V`` in absolute terms and merges across
blocks by addition), the loss and the held-out score sums. The penalized model (an
elastic-net family penalty, entrywise on ``W``; intercepts free) is minimized here by
coordinate descent on its ``K (p + 1)`` coordinates (:func:`_cd_quadratic`), and
:mod:`.tall_newton` takes it from there (step halving, stop, path). This is the full
Newton step, not glmnet's per-class approximation, so an alpha needs a handful of
passes; the price is ``K (K - 1) / 2`` weighted products per requested point instead of
one (the binary model's). The Hessian is singular along ``b + t 1`` (softmax is
shift-invariant); the reported intercepts are centered, as the in-memory route's.
"""

from __future__ import annotations

import dataclasses

import numba
import numpy as np

from .sufficient import BLOCK_ROWS
from .tall_newton import NewtonRoute

#: coordinate-descent sweeps of one Newton step's model, and its stop: the largest
#: coordinate change, relative to the largest coefficient
MAX_SWEEPS, STEP_TOL = 20_000, 1e-14


@dataclasses.dataclass(frozen=True, eq=False)
class Quadratic:
    """``H`` of shape ``(K (p + 1), K (p + 1))`` (class-major blocks) and ``c``
    of shape ``(K (p + 1),)``: the model ``V^T H V / 2 - c^T V`` (unnormalized)."""

    H: np.ndarray
    c: np.ndarray

    def __add__(self, other: Quadratic) -> Quadratic:
        return Quadratic(self.H + other.H, self.c + other.c)

    def to_arrays(self) -> dict:
        """The arrays :meth:`from_arrays` rebuilds this model from (a checkpoint's)."""
        return {"H": self.H, "c": self.c}

    @classmethod
    def from_arrays(cls, arrays: dict) -> Quadratic:
        return cls(arrays["H"], arrays["c"])


def block_quadratics(X, y, s, labels, requests, datafit, scorer, each_point=True):
    """Every requested point's ``(Quadratic, training loss sum, held-out score sum,
    held-out weight)`` on one block (runs where the block lives). Each point's predictor
    is its own product, whichever points share the pass (``each_point`` is always true
    here: a resumed checkpoint takes the same steps)."""
    X, s = np.asarray(X, dtype=float), np.asarray(s, float)
    y = np.asarray(y).astype(np.intp)  # class indices
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(s))):
        raise ValueError("X or sample_weight has NaN or infinite values")
    out = []
    for label, W, b in requests:
        Z = X @ W + b
        held = labels == label
        train_s = np.where(held, 0.0, s)
        score, weight = 0.0, float(s[held].sum())
        if weight > 0:  # the scorer's weighted mean, times the weight: a sum over rows
            score = float(np.ravel(scorer.function(datafit, y[held], Z[held][:, None],
                                                   s[held]))[0]) * weight
        V = np.vstack([W, b[None, :]])
        quad = _quadratic(X, Z, datafit.dloss(y, Z), train_s, V)
        out.append((quad, float(train_s @ datafit.loss(y, Z)), score, weight))
    return out


def _quadratic(X, Z, dloss, s, V) -> Quadratic:
    """The block's Hessian blocks and ``c = H V - G``, by slices of rows."""
    p1, K = V.shape
    H = np.zeros((K, p1, K, p1))
    G = np.zeros((p1, K))
    for start in range(0, X.shape[0], BLOCK_ROWS):
        rows = slice(start, start + BLOCK_ROWS)
        A = np.column_stack([X[rows], np.ones(X[rows].shape[0])])
        P = np.exp(Z[rows] - Z[rows].max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        sr = s[rows]
        G += A.T @ (sr[:, None] * dloss[rows])
        # p_c (1 - p_c) = p_c sum_{d != c} p_d: a diagonal block is minus the sum of its
        # row's others, so the K (K - 1) / 2 products of distinct classes give them all
        for c in range(K):
            for d in range(c + 1, K):
                B = (A * (sr * P[:, c] * P[:, d])[:, None]).T @ A
                H[c, :, d, :] -= B
                H[d, :, c, :] -= B
                H[c, :, c, :] += B
                H[d, :, d, :] += B
    H = H.reshape(K * p1, K * p1)
    flat = V.T.ravel()  # class-major, as H
    return Quadratic(H, H @ flat - G.T.ravel())


def check_penalty(penalty, p: int) -> None:
    """The penalties the coordinate descent of a step serves, or one clear error."""
    if not penalty.elastic_net_family or penalty.bounds(p) is not None:
        raise ValueError(f"{type(penalty).__name__}: the multinomial route for Dask arrays "
                         "serves the elastic-net family (L1, L2, ElasticNet) without bounds")


def _penalty_terms(penalty, alpha: float, p: int, K: int):
    """Per-coordinate L1 and L2 strengths (class-major, the intercepts 0)."""
    check_penalty(penalty, p)
    omega = np.append(penalty.feature_weights(p), 0.0)
    l1 = np.tile(alpha * penalty.ratio * omega, K)
    return l1, np.tile(alpha * (1.0 - penalty.ratio) * omega, K)


def multinomial_step(quad: Quadratic, penalty, alpha, weight, tol, W, b):
    """The penalized quadratic model's minimizer ``(W, b)``, from ``(W, b)``."""
    p, K = W.shape
    l1, l2 = _penalty_terms(penalty, alpha, p, K)
    v = np.vstack([W, b[None, :]]).T.ravel().copy()
    _cd_quadratic(quad.H / weight, quad.c / weight, v, l1, l2, MAX_SWEEPS, STEP_TOL)
    V = v.reshape(K, p + 1).T
    return V[:p].copy(), V[p].copy()


def multinomial_gradient(quad: Quadratic, W, b, weight) -> np.ndarray:
    """The datafit's gradient in ``W`` at the model's point: ``(H V - c) / weight``."""
    p, K = W.shape
    v = np.vstack([W, b[None, :]]).T.ravel()
    return ((quad.H @ v - quad.c) / weight).reshape(K, p + 1).T[:p]


@numba.njit(cache=True, nogil=True)
def _cd_quadratic(Q, r, v, l1, l2, max_sweeps, tol):  # pragma: no cover (compiled)
    """Minimize ``v^T Q v / 2 - r^T v + sum_j l1_j |v_j| + l2_j v_j^2 / 2`` in place by
    cyclic coordinate descent (``Q`` positive semidefinite; a coordinate of zero
    curvature and no penalty is left alone)."""
    g = Q @ v - r
    d = v.shape[0]
    for _ in range(max_sweeps):
        largest, change = 0.0, 0.0
        for j in range(d):
            q = Q[j, j] + l2[j]
            if q <= 0.0:
                continue
            u = (Q[j, j] * v[j] - g[j])
            new = (max(abs(u) - l1[j], 0.0) * (1.0 if u >= 0 else -1.0)) / q
            delta = new - v[j]
            if delta != 0.0:
                g += delta * Q[:, j]
                v[j] = new
                change = max(change, abs(delta))
            largest = max(largest, abs(v[j]))
        if change <= tol * max(largest, 1.0):
            break
    return v


def quadratic_to_scaled(quad: Quadratic, shift: np.ndarray, scale: np.ndarray) -> Quadratic:
    """The model on the columns ``(x - shift) / scale``: with ``a = T a~`` (``T = [[diag
    scale, shift], [0, 1]]``) a point's coefficients are ``V~ = T^T V``, so every Hessian
    block becomes ``T^-1 H_cd T^-T`` and ``c`` becomes ``T^-1 c`` (class by class)."""
    p1 = shift.shape[0] + 1
    K = quad.c.shape[0] // p1
    inverse = np.zeros((p1, p1))  # T^-1 = [[diag 1 / scale, -shift / scale], [0, 1]]
    inverse[:-1, :-1] = np.diag(1.0 / scale)
    inverse[:-1, -1] = -shift / scale
    inverse[-1, -1] = 1.0
    T = np.kron(np.eye(K), inverse)  # class-major blocks, as H and c
    return Quadratic(T @ quad.H @ T.T, T @ quad.c)


def _centered(b):
    return b - b.mean()


#: the multinomial datafit's route through :func:`.tall_newton.walk`
MULTINOMIAL = NewtonRoute(multinomial_step, multinomial_gradient, quadratic_to_scaled,
                          Quadratic, _centered)
