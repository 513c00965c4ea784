r"""Coordinate descent for the multinomial datafit (glmnet's per-class IRLS).

The objective is

.. math::

    \frac{1}{n} \sum_i s_i \Big(\log \sum_k e^{z_{ik}} - z_{i y_i}\Big) + \alpha P(W),
    \qquad Z = X W + \mathbf{1} b^\top,

with ``W`` of shape (n_features, n_classes) and an entrywise separable penalty.
With every class but ``k`` fixed, the datafit is a smooth function of the column
``z_k`` whose Hessian is exactly diagonal, ``s_i p_ik (1 - p_ik) / n``
(``p = softmax(z)``): its second-order model is the weighted least squares

.. math::  \frac{1}{2n} \sum_i h_i (t_i - x_i^\top w_k - b_k)^2,
           \qquad h = s\,p_k (1 - p_k),\quad t = z_k - (p_k - y_k) / (p_k (1 - p_k)),

which the compiled kernel :func:`penalized.solvers.cd.kernels.cd_quadratic`
minimizes with the penalty over a working set of features (the same kernel as
every other datafit). A backtracking line search on the true objective along
the resulting direction keeps every class update a descent step, so the
objective decreases monotonically (block prox-Newton; Friedman, Hastie and
Tibshirani, 2010, section 4).

Outer loop: certify (duality gap, with the intercepts made exactly optimal and
centered), stop when the gap is below ``tol`` times the objective, otherwise
rank features by their largest KKT violation over the classes, build one
working set shared by every class (rows of ``W`` with a nonzero entry and the
worst violators) and cycle once over the classes.
"""

from __future__ import annotations

import numpy as np
from scipy.special import softmax

from ...core.certificates import certify_with_gradient, is_converged
from ..base import Solver
from . import kernels as _kernels
from .driver import csc_arrays

_NO_RESIDUALS = np.empty((0, 0))

#: floor on the IRLS weights p (1 - p): keeps the working response finite for
#: confidently classified samples (their weight then hardly matters)
WEIGHT_FLOOR = 1e-8


def row_shifts(W: np.ndarray, l1_ratio: float) -> np.ndarray:
    r"""Per row ``j``, the ``c_j`` minimizing the elastic net of ``W[j] - c_j``.

    Softmax is invariant to adding ``x_ij c_j`` to every class's score, so
    ``W[j] - c_j`` has the same datafit: moving each row to its penalty-optimal
    center is a free descent step along the valley that class-by-class updates
    cross only slowly (the median for the lasso, the mean for ridge; Friedman,
    Hastie and Tibshirani, 2010, section 4).

    Parameters
    ----------
    W : ndarray of shape (n_features, n_classes)
    l1_ratio : float in [0, 1]

    Returns
    -------
    ndarray of shape (n_features,)
        The shifts; 0 where no shift lowers the penalty.
    """
    n_classes = W.shape[1]
    # f(c) = sum_k r |w_k - c| + (1 - r) (w_k - c)^2 / 2 is convex and piecewise
    # quadratic with kinks at the w_k: its minimum is at a kink or at the
    # stationary point of one of the K + 1 quadratic pieces.
    candidates = [W]
    if l1_ratio < 1.0:
        below = np.arange(n_classes + 1)  # number of entries below c on the piece
        # f'(c) = r (2 m - K) + (1 - r) (K c - sum_k w_k) = 0 with m entries below c
        stationary = (W.sum(axis=1, keepdims=True)
                      - l1_ratio * (2 * below - n_classes) / (1.0 - l1_ratio)) / n_classes
        candidates.append(stationary)
    c = np.concatenate(candidates + [np.zeros((W.shape[0], 1))], axis=1)
    diff = W[:, :, None] - c[:, None, :]
    values = np.sum(l1_ratio * np.abs(diff) + 0.5 * (1.0 - l1_ratio) * diff**2, axis=1)
    best = np.argmin(values, axis=1)
    rows = np.arange(W.shape[0])
    shift = c[rows, best]
    # keep rows whose penalty does not strictly drop (ties, all-zero rows) in place
    return np.where(values[rows, best] < values[:, -1] * (1 - 1e-12), shift, 0.0)


class MultinomialCoordinateDescent(Solver):
    """Working-set block coordinate descent over classes; ``max_iter`` bounds epochs."""

    name = "cd"
    requires_separable = True
    supports_multiclass = True
    default_max_iter = 20_000
    max_outer = 1000
    ws_min = 10
    ws_growth = 2.0
    inner_fraction = 0.3

    def check(self, problem) -> None:
        super().check(problem)
        if not problem.datafit.multiclass:
            raise ValueError(f"{type(self).__name__} is for multiclass datafits; "
                             f"{type(problem.datafit).__name__} is not")
        if not problem.penalty.kernel:
            raise ValueError(f"solver='cd' has no compiled kernel for "
                             f"{type(problem.penalty).__name__}: use solver='fista'")

    def solve(self, problem, coef, intercept, scale):
        pen = problem.penalty
        n, p, n_classes = problem.n_samples, problem.n_features, problem.n_outputs
        kernel_X = csc_arrays(problem.X)
        alphas_j = pen.alpha * pen.feature_weights(p)
        W = np.array(coef, dtype=float)
        b = np.array(intercept, dtype=float) + np.zeros(n_classes)
        onehot = np.zeros((n, n_classes))
        onehot[np.arange(n), problem.y] = 1.0
        history: list[float] = []
        epochs = 0
        xw = None
        recenter = pen.kernel == "enet" and not pen.positive
        for _ in range(self.max_outer):
            if recenter and xw is not None:
                shift = row_shifts(W, pen.params[0])
                if np.any(shift != 0.0):
                    W -= shift[:, None]
                    xw = xw - np.asarray(problem.X @ shift).reshape(-1, 1)
            cert, grad, xw, _ = certify_with_gradient(problem, W, b, xw)
            b = np.array(cert.intercept, dtype=float)
            history.append(cert.objective)
            if is_converged(cert, self.tol, scale) or epochs >= self.max_iter:
                break
            scores = pen.subdiff_distance(W, grad)
            ws = self._working_set(W, scores.max(axis=1))
            inner_tol = self.inner_fraction * float(scores.max())
            xw = np.array(xw, dtype=float)
            objective = cert.objective
            for k in range(n_classes):
                objective, n_epochs = self._class_step(problem, kernel_X, alphas_j, onehot, W,
                                                       b, xw, k, ws, inner_tol, objective,
                                                       self.max_iter - epochs)
                epochs += n_epochs
        else:
            cert, grad, xw, _ = certify_with_gradient(problem, W, b, xw)
        return self.finish(problem, W, cert.intercept, epochs, history, scale, cert)

    def _class_step(self, problem, kernel_X, alphas_j, onehot, W, b, xw, k, ws, inner_tol,
                    objective, max_epochs):
        """One prox-Newton step on column ``k`` of ``(W, b)``; updates W, b, xw in place.

        Returns the new objective and the number of kernel epochs.
        """
        pen, s, n = problem.penalty, problem.sample_weight, problem.n_samples
        z = xw + b
        prob_k = softmax(z, axis=1)[:, k]
        curvature = np.maximum(prob_k * (1.0 - prob_k), WEIGHT_FLOOR)
        h = s * curvature
        residual = np.ascontiguousarray(-(prob_k - onehot[:, k]) / curvature)
        target = z[:, k] + residual  # the working response t
        w_old, b_old = W[:, k].copy(), float(b[k])
        w_k = w_old.copy()
        col_stats = _kernels.weighted_col_stats(*kernel_X, n, h, ws,
                                                float(problem.fit_intercept))
        state = np.array([b_old, max(max_epochs, 1), inner_tol, 0.0])
        params = np.array([pen.params[0], float(pen.positive), float(problem.fit_intercept),
                           float(h.sum()), 0.0])
        _kernels.cd_quadratic(*kernel_X, h, residual, w_k, ws, col_stats, alphas_j, params, state,
                              _kernels.KINDS[pen.kernel], _NO_RESIDUALS)
        z_new = target - residual  # x_i.w_k + b_k at the model's minimizer
        direction_w, direction_b = w_k - w_old, float(state[0]) - b_old
        direction_z = z_new - z[:, k]
        z_k_old = z[:, k].copy()
        step = 1.0
        for _ in range(30):  # backtracking on the true objective along the direction
            W[:, k] = w_old + step * direction_w
            z[:, k] = z_k_old + step * direction_z
            value = problem.datafit_value(z) + pen.value(W)
            if value <= objective + 1e-14 * abs(objective):
                b[k] = b_old + step * direction_b
                xw[:, k] = z[:, k] - b[k]
                return value, int(state[1])
            step *= 0.5
        W[:, k] = w_old
        return objective, int(state[1])

    def _working_set(self, W, row_scores):
        """Rows of W with a nonzero entry and the worst KKT violators (about twice as many)."""
        support = np.flatnonzero(np.any(W != 0, axis=1))
        size = max(self.ws_min, int(self.ws_growth * support.shape[0]))
        candidates = row_scores.copy()
        candidates[support] = np.inf
        n_pick = min(size, int(np.count_nonzero(candidates > 0)))
        if n_pick == 0:
            return support.astype(np.int64)
        picked = np.argpartition(-candidates, n_pick - 1)[:n_pick]
        return np.sort(picked).astype(np.int64)
