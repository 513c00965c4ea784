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


def _support_groups(group_of, blocks):
    """``(index arrays into the support, their thresholds c_g)`` of the blocks with a
    group-norm part that meet the support."""
    order = np.argsort(group_of, kind="stable")
    cuts = np.flatnonzero(np.diff(group_of[order])) + 1
    pieces = [(idx, float(blocks.c[group_of[idx[0]]])) for idx in np.split(order, cuts)]
    return [(idx, c) for idx, c in pieces if c > 0.0]


def _penalty_value(w, a, groups) -> float:
    return float(a @ np.abs(w)) + sum(c * float(np.linalg.norm(w[idx])) for idx, c in groups)


def _penalty_derivatives(w, a, groups, size):
    """Gradient and Hessian of the penalty on the support, padded to ``size`` (the
    intercept, unpenalized, is the last entry when fitted)."""
    m = w.shape[0]
    grad = np.zeros(size)
    hess = np.zeros((size, size))
    grad[:m] = a * np.sign(w)
    for idx, c in groups:
        norm = float(np.linalg.norm(w[idx]))
        u = w[idx] / norm
        grad[idx] += c * u
        hess[np.ix_(idx, idx)] += c / norm * (np.eye(idx.shape[0]) - np.outer(u, u))
    return grad, hess


def newton_on_support(problem, blocks, w, b, target, h):
    """Damped Newton on the support of ``w`` for the weighted least squares
    ``sum h (target - X w - b)^2 / 2`` plus the penalty; the new ``(w, b)``, or None when
    the support is empty or too large or no step was kept. ``blocks``: the solver's."""
    support = np.flatnonzero(w)
    m = support.shape[0]
    if m == 0 or m > MAX_SUPPORT:
        return None
    block_of = np.repeat(np.arange(blocks.indptr.shape[0] - 1), np.diff(blocks.indptr))
    owner = np.empty(w.shape[0], dtype=np.int64)
    owner[blocks.indices] = block_of
    groups = _support_groups(owner[support], blocks)
    a = blocks.l1[support]
    XS = problem.X[:, support]
    A = XS.toarray() if sp.issparse(XS) else np.asarray(XS)
    if problem.fit_intercept:
        A = np.column_stack([A, np.ones(A.shape[0])])
    G = A.T @ (h[:, None] * A)
    r = A.T @ (h * target)
    theta = np.append(w[support], b) if problem.fit_intercept else w[support].copy()
    signs = np.sign(w[support])

    def objective(t):
        return 0.5 * t @ G @ t - r @ t + _penalty_value(t[:m], a, groups)

    current, moved = objective(theta), False
    for _ in range(MAX_STEPS):
        pgrad, phess = _penalty_derivatives(theta[:m], a, groups, theta.shape[0])
        grad = G @ theta - r + pgrad
        step = np.linalg.lstsq(G + phess, grad, rcond=None)[0]
        if abs(grad @ step) <= 1e-15 * max(abs(current), 1e-300):
            break  # the Newton decrement is at rounding level
        for _ in range(MAX_HALVINGS):
            trial = theta - step
            if np.all(np.sign(trial[:m]) == signs):
                value = objective(trial)
                if value < current:
                    break
            step = 0.5 * step
        else:
            break
        theta, current, moved = trial, value, True
    if not moved:
        return None
    w_new = np.zeros_like(w)
    w_new[support] = theta[:m]
    return w_new, float(theta[-1]) if problem.fit_intercept else b
