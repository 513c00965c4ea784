r"""Plain gradient descent: the readable reference solver.

For least squares with an L2 penalty it is the textbook algorithm, step by step:

.. math::

    J(W) = \frac{1}{2n} \sum_i (y_i - h_i)^2 + \frac{\lambda}{2n} \sum_j W_j^2,
    \qquad
    \frac{\partial J}{\partial W_j} = \frac{1}{n} \sum_i (h_i - y_i) x_{ij}
                                      + \frac{\lambda}{n} W_j

with ``h = X W + b``. In this library's convention the same objective is
``LeastSquares() + L2(alpha)`` with ``alpha = lambda / n``. Any datafit works
(its gradient replaces ``h - y``); the penalty must be smooth. The fast solvers
are tested against this one.
"""

from __future__ import annotations

import numpy as np

from ..core.certificates import certify, is_converged
from .base import Iterate, Solver


class GradientDescent(Solver):
    """Gradient descent with the constant step ``1 / L`` (L: Lipschitz constant)."""

    name = "gd"
    requires_smooth = True
    supports_bounds = False  # a box makes the objective non-smooth
    default_max_iter = 100_000
    check_every = 10

    def check(self, problem) -> None:
        super().check(problem)
        if not np.isfinite(problem.datafit.curvature_bound):
            raise ValueError(
                f"solver='gd' takes the constant step 1/L, and "
                f"{type(problem.datafit).__name__} has no global Lipschitz constant "
                "(unbounded curvature): use solver='cd' or 'fista' (which backtracks)")

    def solve(self, problem, start: Iterate, scale: float):
        result = self._run(problem, np.array(start.coef, dtype=float), start.intercept, scale)
        return result, Iterate(result.coef, result.intercept)

    def _run(self, problem, coef, intercept, scale):
        X, y, s = problem.X, problem.y, problem.sample_weight
        n = problem.n_samples
        datafit, penalty = problem.datafit, problem.penalty
        W, b = coef.copy(), float(intercept)
        # 1/L with L the Lipschitz constant of the full gradient: the largest
        # step for which every iteration is guaranteed to decrease J.
        L = problem.lipschitz + (penalty.alpha * np.max(penalty.feature_weights(W.shape[0])))
        step = 1.0 / L
        history: list[float] = []
        cert = None
        for it in range(1, self.max_iter + 1):
            # 1. the prediction h and the loss (datafit) term
            h = problem.linear_predictor(W, b)  # X W + b (+ the offset, if any)
            # 2. d loss / d h per sample, weighted and averaged: for least squares
            #    this is (h - y) / n, the first term of dJ/dW_j once multiplied by X.
            dloss = s * datafit.dloss(y, h) / n
            # 3. add the penalty's gradient: (lambda / n) W_j for the textbook L2
            grad_W = X.T @ dloss + penalty.gradient(W)
            grad_b = dloss.sum() if problem.fit_intercept else 0.0
            # 4. the gradient step
            W = W - step * grad_W
            b = b - step * grad_b
            if it % self.check_every == 0:
                cert = certify(problem, W, b)
                history.append(cert.objective)
                if is_converged(cert, self.tol, scale):
                    return self.finish(problem, W, b, it, history, scale, cert)
        return self.finish(problem, W, b, self.max_iter, history, scale)
