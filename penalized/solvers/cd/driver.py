"""The Python driver of the coordinate-descent engine: any datafit, dense or CSC X.

Each outer round certifies the current point (duality gap or KKT), applies the rules of
:mod:`.rules` (stop, working set, targets) and hands the datafit's quadratic model on
the working set to the kernel (:func:`.kernels.cd_epochs`): exact for least squares, a
prox-Newton step (IRLS weights) with a line search on the true objective otherwise; a
Newton step on the support (:mod:`.newton`) may follow. The iterate state (point,
``X w``, gradient) comes in and goes out explicitly
(:class:`penalized.solvers.base.Iterate`), so a path hands each alpha's end to the next.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ...core.certificates import (
    certify_with_gradient,
    objective_tolerance,
    tightened,
)
from ...penalties.bounds import kkt_scores
from ..base import Iterate, Solver
from . import kernels, rules
from .newton import GramCache, newton_on_support
from .settings import DEFAULT, CDSettings
from .support_products import index_arrays


def kernel_arrays(problem):
    """``(data, indices, indptr)`` as the kernels take X; dense Fortran X has ``None``
    indices. Memoized per data. Sparse X keeps scipy's int32 index arrays (no copy: they
    are a third of a CSC matrix at float64 values); the kernels compile once per index
    type, so int64 arrays are copied to int32 when the entries fit (a quarter of such an
    X) and stay int64 only beyond (a second specialization, of a matrix that large)."""
    memo = problem.memo
    if "kernel_arrays" not in memo:
        X = problem.X
        if problem.is_sparse:
            memo["kernel_arrays"] = (X.data, *index_arrays(X))
        else:
            memo["kernel_arrays"] = (X.ravel(order="F"), None, None)
    return memo["kernel_arrays"]


def col_stats(problem, X, h, cols):
    """:func:`.kernels.weighted_col_stats` of ``cols`` under the curvature weights ``h``.
    For least squares ``h`` is the sample weights: every column's statistics are
    computed once per data (:func:`_all_stats`) and indexed."""
    if not problem.datafit.quadratic:
        return kernels.weighted_col_stats(*X, problem.n_samples, h, cols,
                                          float(problem.fit_intercept))
    # np.take keeps the rows C-contiguous (``[:, cols]`` is Fortran-ordered: a second
    # compiled specialization of the kernel)
    return np.take(_all_stats(problem, X), cols, axis=1)


def _all_stats(problem, X):
    """Every column's statistics under the sample weights (memo: least squares' fixed
    weights)."""
    if "col_stats" not in problem.memo:
        every = np.arange(problem.n_features, dtype=np.int64)
        problem.memo["col_stats"] = kernels.weighted_col_stats(
            *X, problem.n_samples, problem.sample_weight, every, float(problem.fit_intercept))
    return problem.memo["col_stats"]


@dataclasses.dataclass(frozen=True)
class _Fit:
    """What stays fixed during one fit (built once in :meth:`CoordinateDescent.solve`)."""

    problem: object
    X: tuple
    alphas_j: np.ndarray
    pen: kernels.PenaltyArgs
    box: tuple | None         # the penalty's bounds (lower, upper), None if unbounded
    rules: rules.FitRules


class CDSolver(Solver):
    """A coordinate-descent solver (:class:`CoordinateDescent`, and the multinomial one):
    its tuning constants come from ``settings``; ``max_iter`` bounds its epochs."""

    name = "cd"
    requires_separable = True
    default_max_iter = DEFAULT.max_epochs

    def __init__(self, tol: float = 1e-6, max_iter: int | None = None, verbose: bool = False,
                 settings: CDSettings = DEFAULT):
        super().__init__(tol, max_iter, verbose)
        self.settings = settings


class CoordinateDescent(CDSolver):
    """Working-set coordinate descent; ``max_iter`` bounds the total number of epochs."""

    def _setup(self, problem) -> _Fit:
        pen, p = problem.penalty, problem.n_features
        return _Fit(problem, kernel_arrays(problem), pen.alpha * pen.feature_weights(p),
                    kernels.penalty_args(pen, p), pen.bounds(p),
                    rules.FitRules.of(problem, self.tol, self.max_iter, self.settings))

    def solve(self, problem, start: Iterate, scale: float):
        cfg, fit, pen = self.settings.rounds(), self._setup(problem), problem.penalty
        w, b = np.array(start.coef, dtype=float), float(start.intercept)
        xw, grad, err, ref = start.xw, start.grad, start.grad_err, start.grad_ref
        history: list[float] = []
        epochs, best_dual, estimate = 0, -np.inf, np.inf
        ws, violation, undershoot = np.empty(0, dtype=np.int64), 0.0, 1.0  # (rules.plan_round)
        for outer in range(cfg.max_outer + 1):
            cert, grad, xw, err, ref = certify_with_gradient(problem, w, b, xw, grad, err, ref)
            cert, best_dual = tightened(cert, best_dual)
            b = cert.intercept
            history.append(cert.objective)
            obj_tol = objective_tolerance(cert, self.tol, scale)
            scores = kkt_scores(pen, w, grad, fit.box)
            h, r = self._model(problem, xw + b)
            progress, remaining, outside = rules.round_estimate(
                fit.rules, cfg, w, np.asarray(history), len(history), estimate, obj_tol)
            reason, ws, tol_in, obj_in, undershoot = rules.plan_round(
                fit.rules, cfg, rules.certified(cert, self.tol, scale), obj_tol, scores, w,
                self._curvatures(fit, scores, h, outside), ws, progress, remaining, outside,
                violation, undershoot, epochs, outer)
            if reason != rules.GO_ON:
                break
            w, b, xw, n_epochs, estimate, violation = self._round(
                fit, w, b, xw, ws, h, r, tol_in, obj_in, self.max_iter - epochs)
            epochs += n_epochs
            grad = err = None  # the gradient is recomputed at the new point
        result = self.finish(problem, w, cert.intercept, epochs, history, scale, cert,
                             stop_reason=rules.STOP_REASONS[reason])
        return result, Iterate(result.coef, result.intercept, xw, grad, err, ref)

    def _model(self, problem, z):
        """Curvature weights ``h`` and working residual ``r`` of the datafit's quadratic
        model at ``z`` (least squares: the sample weights and the residual)."""
        y, s, datafit = problem.y, problem.sample_weight, problem.datafit
        if datafit.quadratic:
            return s, np.ascontiguousarray(y - z, dtype=float)
        d2 = np.maximum(datafit.d2loss(y, z), self.settings.weight_floor)
        return s * d2, np.ascontiguousarray(-datafit.dloss(y, z) / d2, dtype=float)

    def _round(self, fit, w, b, xw, ws, h, r, tol_in, obj_in, budget):
        """One working-set round: kernel epochs on the model to the targets of
        :func:`.rules.plan_round`, then a Newton step on the support (of CD's point, or of
        the round's start where CD left the supports below n) or a line search.
        Returns ``(w, b, xw, epochs, estimate, violation)``: the new point and the
        kernel's last progress estimate and violation (``inf`` and 0 after a Newton step:
        they no longer describe the point)."""
        cfg, problem = self.settings, fit.problem
        pen = problem.penalty
        # the Newton step on the support knows orthants, not boxes
        quadratic, orthant = problem.datafit.quadratic, pen.orthant_quadratic and not pen.bounded
        target = xw + b + r  # the working response
        stats = col_stats(problem, fit.X, h, ws)
        # Newton polish of the model on the support. Eager (whenever the cost model says
        # it pays) for least squares with a smooth penalty (one exact solve) or without
        # a ridge part (CD's tail is slow there). Otherwise only after CD spent
        # newton_budget_epochs epochs without reaching its target: other datafits change
        # the model every round (its Gram cannot be cached), and with both an L1 and a
        # ridge part CD converges fast while the step's sign-flip drops cost more.
        eager = quadratic and (pen.smooth or not pen.strongly_convex)
        use_newton = orthant and eager and self._newton_pays(fit, w, ws)
        capped = orthant and not eager and self._newton_pays(fit, w, ws, cached=quadratic)
        if capped:
            budget = min(budget, cfg.newton_budget_epochs)
        w_old, b_old = w.copy(), b
        target_in = kernels.InnerTarget(max(int(budget), 1), tol_in, obj_in,
                                        cfg.stable_epochs if use_newton else 0)
        b, n_epochs, violation, estimate = self._epochs(fit, h, r, w, b, ws, stats,
                                                        target_in)
        reached = obj_in > 0 and estimate <= obj_in  # (0: no objective target)
        slow = capped and n_epochs >= budget and violation > tol_in
        left = use_newton and not rules.tail_trusted(
            np.count_nonzero(w), fit.rules.n_free, fit.rules.ridge)
        if left or (use_newton and not reached) or slow:
            # CD that left the supports on which its tail is linear (more nonzero
            # coefficients than samples, no ridge part: a sublinear phase follows) from a
            # start in them: the start's support model is solved instead, kept if lower
            # than CD's point (CD from it descends below it: no cycle)
            polished = self._newton(fit, h, target, *((w_old, b_old) if left else (w, b)))
            if polished and (not left or self._lower(problem, target, polished, (w, b, r))):
                w, b, r = polished
                estimate, violation = np.inf, 0.0
            elif polished is None and use_newton and not reached and \
                    n_epochs < target_in.max_epochs and violation > tol_in:
                # CD stopped on stable signs for a step that does not apply (a singular
                # support model: collinear columns, such as every level of a factor
                # with an intercept): it goes on to the round's targets instead, or
                # every round would end after stable_epochs epochs and restart CD's
                # extrapolation, the fit ending at max_outer rounds
                b, more, violation, estimate = self._epochs(
                    fit, h, r, w, b, ws, stats,
                    target_in._replace(max_epochs=target_in.max_epochs - n_epochs,
                                       stable_epochs=0))
                n_epochs += more
        if quadratic:
            return w, b, (target - r) - b, n_epochs, estimate, violation
        w, b, xw = self._line_search(problem, w_old, b_old, xw + b_old, w, b, target - r)
        return w, b, xw, n_epochs, estimate, violation

    def _epochs(self, fit, h, r, w, b, ws, stats, target):
        """:func:`.kernels.cd_epochs` on the model ``(h, r)`` over ``ws`` (``w`` and ``r``
        updated in place): ``(b, epochs, violation, estimate)``."""
        return kernels.cd_epochs(*fit.X, h, r, float(h.sum()), fit.problem.fit_intercept,
                                 w, b, ws, stats, fit.alphas_j, fit.pen, target,
                                 self.settings.kernel())

    def _newton(self, fit, h, target, w, b):
        """:func:`.newton.newton_on_support` of the model at ``(w, b)``: ``(w, b, r)``
        with the new working residual, or None where the step does not apply."""
        problem = fit.problem
        # (the Newton model is written on X w + b: the offset leaves its target)
        polished = newton_on_support(
            problem.X, h, target if problem.offset is None else target - problem.offset,
            w, b, problem.penalty, problem.fit_intercept,
            self._gram_cache(problem) if problem.datafit.quadratic else None)
        if not polished:
            return None
        w, b = polished
        return w, b, target - problem.linear_predictor(w, b)

    @staticmethod
    def _lower(problem, target, first, second) -> bool:
        """Whether the point ``first`` = ``(w, b, r)`` (``r``: its residual to
        ``target``, least squares) has a lower objective than ``second``."""
        def objective(w, b, r):
            return problem.datafit_value(target - r) + problem.penalty.value(w)
        return objective(*first) < objective(*second)

    @staticmethod
    def _curvatures(fit, scores, h, outside) -> np.ndarray:
        """The coordinate curvatures :func:`.rules.plan_round` reads: every column's for
        least squares (memo); otherwise the violators' under ``h`` if ``outside`` (a pass
        over their columns), none else."""
        problem = fit.problem
        if problem.datafit.quadratic:
            return _all_stats(problem, fit.X)[0]
        if not outside:
            return np.zeros(0)
        violators = np.flatnonzero(scores > 0).astype(np.int64)
        curvatures = np.zeros(scores.shape[0])
        curvatures[violators] = col_stats(problem, fit.X, h, violators)[0]
        return curvatures

    def _newton_pays(self, fit, w, ws, cached=True) -> bool:
        """Whether a Newton step on the support is cheaper than CD's expected tail.

        Cost model: a Cholesky of the support, ``|S|^3 / 3`` flops at BLAS speed (plus
        forming its Gram, ``n |S|^2``, when it is not ``cached``: weights that change
        every round), against ``newton_budget_epochs`` epochs of ``2 nnz(X_ws)`` flops.
        """
        cfg, problem = self.settings, fit.problem
        n, (_, indices, indptr) = problem.n_samples, fit.X
        support = int(np.count_nonzero(w[ws])) or 1
        if not rules.tail_trusted(support, fit.rules.n_free, fit.rules.ridge):
            return False
        nnz = n * ws.shape[0] if indices is None else \
            int(np.sum(indptr[ws + 1] - indptr[ws]))
        newton = support**3 / 3.0 / cfg.blas_speedup
        if not cached:
            newton += n * support**2 / cfg.blas_speedup
        return newton <= cfg.newton_budget_epochs * 2.0 * (nnz + n)

    @staticmethod
    def _gram_cache(problem) -> GramCache:
        """The Gram memo of this problem's X (weights fixed: least squares only)."""
        cache = problem.memo.get("gram")
        if cache is None:
            cache = problem.memo["gram"] = GramCache(problem.X, problem.sample_weight,
                                                     problem.fit_intercept)
        return cache

    @staticmethod
    def _line_search(problem, w_old, b_old, z_old, w_new, b_new, z_new):
        """Backtracking on the true objective along the prox-Newton direction; returns
        ``(w, b, X w)``."""
        pen = problem.penalty
        obj_old = problem.datafit_value(z_old) + pen.value(w_old)
        step = 1.0
        for _ in range(30):
            w = w_old + step * (w_new - w_old)
            b = b_old + step * (b_new - b_old)
            z = z_old + step * (z_new - z_old)
            obj = problem.datafit_value(z) + pen.value(w)
            if obj <= obj_old + 1e-14 * abs(obj_old):
                return w, b, z - b
            step *= 0.5
        return w_old, b_old, z_old - b_old
