"""FISTA: accelerated proximal gradient with backtracking, for every penalty.

Beck & Teboulle (2009), with the momentum restarted whenever the objective goes
up (O'Donoghue & Candes, 2015), which keeps it monotone and fast on strongly
convex problems. The intercept is one more, unpenalized, coordinate.
"""

from __future__ import annotations

import numpy as np

from ..core.certificates import certify, is_converged
from ..penalties.bounds import box_prox
from .base import Iterate, Solver


class FISTA(Solver):
    """Accelerated proximal gradient; needs only ``penalty.prox``."""

    name = "fista"
    supports_multiclass = True
    default_max_iter = 20_000
    check_every = 10

    def solve(self, problem, start: Iterate, scale: float):
        result = self._run(problem, np.array(start.coef, dtype=float), start.intercept, scale)
        return result, Iterate(result.coef, result.intercept)

    def _run(self, problem, coef, intercept, scale):
        pen = problem.penalty
        box = pen.bounds(problem.n_features)
        fit_b = problem.fit_intercept
        L = problem.lipschitz * 0.5  # optimistic start; backtracking raises it as needed
        w = coef.copy()
        b = np.array(intercept, dtype=float) if np.ndim(intercept) else float(intercept)
        yw, yb = w.copy(), b
        t = 1.0
        obj = problem.objective(w, b)
        history: list[float] = []
        for it in range(1, self.max_iter + 1):
            grad_w, grad_b, z = problem.gradient(yw, yb)
            f_y = problem.datafit_value(z)
            while True:  # backtracking on the quadratic upper bound
                w_new = box_prox(pen, yw - grad_w / L, 1.0 / L, box)
                b_new = yb - grad_b / L if fit_b else yb
                dw, db = w_new - yw, b_new - yb
                f_new = problem.datafit_value(problem.linear_predictor(w_new, b_new))
                # np.vdot: w and b are (p,) and scalar, or (p, K) and (K,) for multiclass
                bound = f_y + np.vdot(grad_w, dw) + np.vdot(grad_b, db) \
                    + 0.5 * L * (np.vdot(dw, dw) + np.vdot(db, db))
                if f_new <= bound + 1e-12 * abs(f_y):
                    break
                L *= 2.0
            obj_new = f_new + pen.value(w_new)
            if obj_new > obj and t > 1.0:  # adaptive restart: drop the momentum, keep w
                t = 1.0
                yw, yb = w.copy(), b
            else:
                t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
                beta = (t - 1.0) / t_new
                yw = w_new + beta * (w_new - w)
                yb = b_new + beta * (b_new - b)
                w, b, t, obj = w_new, b_new, t_new, obj_new
            if it % self.check_every == 0:
                cert = certify(problem, w, b)
                history.append(cert.objective)
                if is_converged(cert, self.tol, scale):
                    return self.finish(problem, w, b, it, history, scale, cert)
        return self.finish(problem, w, b, self.max_iter, history, scale)
