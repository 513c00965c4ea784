r"""Newton steps on the support of a group penalty, for a quadratic datafit.

Block coordinate descent converges linearly, slowly along directions that the penalty
alone holds (correlated or collinear blocks). Once the support (the nonzero
coefficients) has settled, the objective restricted to it is smooth:

.. math::  F(w_S, b) = \tfrac12 \sum_i h_i (t_i - x_{iS} w_S - b)^2
           + \sum_{j \in S} a_j \,\mathrm{sign}(w_j) w_j + \sum_g c_g \|w_{g \cap S}\|

(``a_j`` the L1 thresholds, ``c_g`` the group-norm ones), with gradient
``G theta - r + a sign(w) + c_g w_g / ||w_g||`` and Hessian ``G + c_g (I - u u^T) /
||w_g||``, ``u = w_g / ||w_g||`` (``G = A^T H A``, ``A = [X_S, 1]``). Damped Newton steps
on it, each kept only while every sign stays and the objective decreases, reach the
minimizer on the support in a few steps; the certificate then says whether it is the
optimum (a block or a coefficient outside the support may still violate its KKT
condition: the next working-set round takes it in).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: Newton steps per call, and the halvings of one step
MAX_STEPS = 20
MAX_HALVINGS = 30
#: supports of at most this many coefficients (the step forms and factors their Gram)
MAX_SUPPORT = 500


def _penalty_parts(theta, support, blocks, group_of):
    """Value, gradient and Hessian of the penalty on the support (``theta`` ends with the
    intercept when one is fitted; it is not penalized)."""
    m = support.shape[0]
    w = theta[:m]
    value = float(np.sum(blocks.l1[support] * np.abs(w)))
    grad = np.zeros(theta.shape[0])
    hess = np.zeros((theta.shape[0], theta.shape[0]))
    grad[:m] = blocks.l1[support] * np.sign(w)
    for g in np.unique(group_of):
        idx = np.flatnonzero(group_of == g)
        c = blocks.c[g]
        if c <= 0.0:
            continue
        norm = float(np.linalg.norm(w[idx]))
        u = w[idx] / norm
        value += c * norm
        grad[idx] += c * u
        hess[np.ix_(idx, idx)] += c / norm * (np.eye(idx.shape[0]) - np.outer(u, u))
    return value, grad, hess


def newton_on_support(problem, blocks, w, b, target, h):
    """Damped Newton on the support of ``w`` for the weighted least squares
    ``sum h (target - X w - b)^2 / 2`` plus the penalty; the new ``(w, b)``, or None when
    the support is empty or too large or no step was kept. ``blocks``: the solver's."""
    support = np.flatnonzero(w)
    if support.shape[0] == 0 or support.shape[0] > MAX_SUPPORT:
        return None
    block_of = np.repeat(np.arange(blocks.indptr.shape[0] - 1), np.diff(blocks.indptr))
    owner = np.empty(w.shape[0], dtype=np.int64)
    owner[blocks.indices] = block_of
    XS = problem.X[:, support]
    A = XS.toarray() if sp.issparse(XS) else np.asarray(XS)
    if problem.fit_intercept:
        A = np.column_stack([A, np.ones(A.shape[0])])
    G = A.T @ (h[:, None] * A)
    r = A.T @ (h * target)
    theta = np.append(w[support], b) if problem.fit_intercept else w[support].copy()
    signs = np.sign(w[support])
    group_of = owner[support]

    def objective(t):
        return 0.5 * t @ G @ t - r @ t + _penalty_parts(t, support, blocks, group_of)[0]

    current, moved = objective(theta), False
    for _ in range(MAX_STEPS):
        _, pgrad, phess = _penalty_parts(theta, support, blocks, group_of)
        grad = G @ theta - r + pgrad
        step = np.linalg.lstsq(G + phess, grad, rcond=None)[0]
        for _ in range(MAX_HALVINGS):
            trial = theta - step
            if np.all(np.sign(trial[:support.shape[0]]) == signs):
                value = objective(trial)
                if value < current:
                    break
            step = 0.5 * step
        else:
            break
        decrease = current - value
        theta, current, moved = trial, value, True
        if decrease <= 1e-15 * max(abs(current), 1.0):
            break
    if not moved:
        return None
    w_new = np.zeros_like(w)
    w_new[support] = theta[:support.shape[0]]
    return w_new, float(theta[-1]) if problem.fit_intercept else b
