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

which the compiled kernel :func:`penalized.solvers.cd.kernels.cd_epochs`
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
from ..base import Iterate, Solver
from . import kernels, rules
from .driver import kernel_arrays
from .settings import DEFAULT, CDSettings

_NO_RESIDUALS = np.empty((0, 0))


class MultinomialCoordinateDescent(Solver):
    """Working-set block coordinate descent over classes; ``max_iter`` bounds epochs."""

    name = "cd"
    requires_separable = True
    supports_multiclass = True
    default_max_iter = DEFAULT.max_epochs

    def __init__(self, tol: float = 1e-6, max_iter: int | None = None, verbose: bool = False,
                 settings: CDSettings = DEFAULT):
        super().__init__(tol, max_iter, verbose)
        self.settings = settings

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
        n, p, n_classes = problem.n_samples, problem.n_features, problem.n_outputs
        kernel_X = kernel_arrays(problem)
        alphas_j = pen.alpha * pen.feature_weights(p)
        W = np.array(start.coef, dtype=float)
        b = np.array(start.intercept, dtype=float) + np.zeros(n_classes)
        onehot = np.zeros((n, n_classes))
        onehot[np.arange(n), problem.y] = 1.0
        history: list[float] = []
        epochs = 0
        xw = None
        forced = pen.feature_weights(p) == 0
        for outer in range(cfg.max_outer_multiclass + 1):
            shift = pen.row_shifts(W) if xw is not None else None
            if shift is not None and np.any(shift != 0.0):
                W -= shift[:, None]
                xw = xw - np.asarray(problem.X @ shift).reshape(-1, 1)
            cert, grad, xw, _ = certify_with_gradient(problem, W, b, xw)
            b = np.array(cert.intercept, dtype=float)
            history.append(cert.objective)
            reason = rules.stop_reason(is_converged(cert, self.tol, scale), cert.kind == "gap",
                                       False, np.inf, np.inf, 0.0, 0.0, epochs,
                                       self.max_iter, outer, cfg.max_outer_multiclass)
            if reason != rules.GO_ON:
                break
            scores = pen.subdiff_distance(W, grad)
            row_scores = scores.max(axis=1)
            ws = rules.working_set(np.where(np.any(W != 0, axis=1), 1.0, 0.0), row_scores,
                                   forced, cfg.ws_min, cfg.ws_growth)
            inner_tol = cfg.inner_fraction * float(scores.max())
            xw = np.array(xw, dtype=float)
            objective = cert.objective
            for k in range(n_classes):
                objective, n_epochs = self._class_step(problem, kernel_X, alphas_j, onehot, W,
                                                       b, xw, k, ws, inner_tol, objective,
                                                       self.max_iter - epochs)
                epochs += n_epochs
        result = self.finish(problem, W, cert.intercept, epochs, history, scale, cert,
                             stop_reason=rules.STOP_REASONS[reason])
        return result, Iterate(result.coef, result.intercept)

    def _class_step(self, problem, kernel_X, alphas_j, onehot, W, b, xw, k, ws, inner_tol,
                    objective, max_epochs):
        """One prox-Newton step on column ``k`` of ``(W, b)``; updates W, b, xw in place.

        Returns the new objective and the number of kernel epochs.
        """
        pen, s, n = problem.penalty, problem.sample_weight, problem.n_samples
        z = xw + b
        prob_k = softmax(z, axis=1)[:, k]
        curvature = np.maximum(prob_k * (1.0 - prob_k), self.settings.weight_floor_multiclass)
        h = s * curvature
        residual = np.ascontiguousarray(-(prob_k - onehot[:, k]) / curvature)
        target = z[:, k] + residual  # the working response t
        w_old, b_old = W[:, k].copy(), float(b[k])
        w_k = w_old.copy()
        col_stats = kernels.weighted_col_stats(*kernel_X, n, h, ws,
                                               float(problem.fit_intercept))
        b_new, n_epochs, _, _ = kernels.cd_epochs(
            *kernel_X, h, residual, float(h.sum()), problem.fit_intercept, w_k, b_old, ws,
            col_stats, alphas_j,
            kernels.PenaltyArgs(pen.kernel_id, float(pen.params[0]), bool(pen.positive)),
            kernels.InnerTarget(max(max_epochs, 1), inner_tol, 0.0, 0),
            self.settings.kernel(), _NO_RESIDUALS)
        z_new = target - residual  # x_i.w_k + b_k at the model's minimizer
        direction_w, direction_b = w_k - w_old, float(b_new) - b_old
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
                return value, int(n_epochs)
            step *= 0.5
        W[:, k] = w_old
        return objective, int(n_epochs)
