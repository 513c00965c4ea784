"""Working-set coordinate descent (compiled), dense or CSC X, any separable penalty.

Outer loop (here, numpy): certify the current point (duality gap or KKT); if not
converged, rank features by their KKT violation, build a working set (the
support and the worst violators, about twice the support), and hand the
quadratic model of the datafit on that set to the compiled kernel
(:func:`penalized.solvers.cd.kernels.cd_quadratic`). For least squares the model
is exact; for other datafits it is a prox-Newton step (IRLS weights), followed
by a backtracking line search on the true objective.

The inner tolerance is a fraction of the current outer violation, so the work
spent inside tracks what the outer certificate still needs. Three accelerations:
Anderson extrapolation inside the kernel; a Newton step on the support
(:mod:`._newton`) when a cost model says it is cheaper than CD's tail; and, for
least squares, dual extrapolation of the epochs' residuals plus the best dual
point seen so far, which tighten the gap that decides when to stop.

Two stopping rules. The duality gap below ``tol`` times the objective always
stops. For least squares with an L1 part the gap is a loose bound near the bottom
of a wide path (the dual point is the residual rescaled to be feasible, which
costs the first-order term ``max violation * alpha ||w||_1``), so the fit also
stops when an estimate of its excess is below the target: the kernel measures
each sweep's exact objective decrease and extrapolates the tail from their
ratios (validated against what the estimate of two sweeps earlier predicted,
times ``tail_safety``), and the features outside the working set add their
one-step gains (times ``outside_safety``). Once the working set holds every
feature that matters, the kernel runs on that estimate alone. For other datafits
(logistic) the same extrapolation runs over the outer prox-Newton rounds'
objective decreases: with a nearly separable sample and a small alpha the gap is
as loose as for the lasso (the logistic benchmark path at tol 1e-8: 8.7 s -> 5.3 s).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ...core.certificates import (
    certify_with_gradient,
    dual_objective,
    is_converged,
    objective_tolerance,
    uses_gap,
)
from ..base import Solver
from . import kernels as _kernels
from .newton import GramCache, newton_on_support


def csc_arrays(X, memo=None):
    """``(data, indices, indptr)`` for the kernels; dense Fortran X has ``None`` indices.

    With a problem's ``memo`` the int64 index arrays are made once per path.
    """
    if memo is not None:
        if "csc_arrays" not in memo:
            memo["csc_arrays"] = csc_arrays(X)
        return memo["csc_arrays"]
    if hasattr(X, "indptr"):
        return X.data, X.indices.astype(np.int64, copy=False), X.indptr.astype(np.int64,
                                                                                copy=False)
    return X.ravel(order="F"), None, None


class CoordinateDescent(Solver):
    """Working-set coordinate descent; ``max_iter`` bounds the total number of epochs."""

    name = "cd"
    requires_separable = True
    default_max_iter = 20_000
    max_outer = 200
    ws_min = 10
    inner_fraction = 0.3
    stable_epochs = 10
    ws_growth = 2.0
    #: a Newton step is taken when its cost is below this many CD epochs
    newton_budget_epochs = 50
    #: dense linear algebra runs about this much faster per flop than the CD loop
    blas_speedup = 10.0
    #: number of epoch residuals combined by the dual extrapolation
    extrapolation_k = 6
    #: the kernel's estimate of the remaining decrease is multiplied by this: on the
    #: benchmark paths the uninflated estimate stopped at 2-6x the target excess
    tail_safety = 4.0
    #: the one-step gain of the features left out of the working set is multiplied by
    #: this: with a support near n, a feature entering lets the others re-fit, and the
    #: true gain was 80x the one-step one (a 80 x 400 test problem)
    outside_safety = 100.0
    #: below this tol only the duality gap stops (a certified, tighter solution: a
    #: 1e-12 progress stop left coefficients 3e-7 from scikit-learn's at tol 1e-12)
    progress_min_tol = 1e-9

    def solve(self, problem, coef, intercept, scale):
        pen, datafit = problem.penalty, problem.datafit
        y, s = problem.y, problem.sample_weight
        n, p = problem.n_samples, problem.n_features
        data, indices, indptr = csc_arrays(problem.X, problem.memo)
        kind = _kernels.KINDS[pen.kernel]
        param = pen.params[0]
        omega = pen.feature_weights(p)
        alphas_j = pen.alpha * omega
        unpenalized = np.flatnonzero(omega == 0)
        # Newton polish of the inner model: for least squares when the cost model says
        # so. For other datafits the quadratic model is itself an approximation that the
        # outer prox-Newton loop refreshes, and its Gram (weights change every step)
        # cannot be cached: there the step is only taken after CD has spent
        # newton_budget_epochs epochs on the model without reaching its target. Taken
        # whenever the cost model allows, it made the logistic L1 benchmark path 8.2 ->
        # 9.8 s (an earlier engine) and LogisticRegressionCV on 1000 x 2000 0.9 -> 3.8 s;
        # after slow CD only, those are unchanged and L1 LogisticRegressionCV on breast
        # cancer (nearly separable) went 1.12 -> 0.17 s.
        has_model = pen.orthant_quadratic and datafit.quadratic
        tail_model = pen.orthant_quadratic and not datafit.quadratic
        w, b = coef.astype(float, copy=True), float(intercept)
        history: list[float] = []
        epochs = 0
        xw, known_grad, known_err = self._cached_gradient(problem, w, b)
        # the gap is pessimistic when an L1 part forces a rescaled (feasible) dual
        # point; for a smooth penalty it stays tight and decides alone
        estimate = not pen.smooth and self.tol >= self.progress_min_tol
        # least squares: the kernel's estimate over its sweeps; other datafits: the same
        # estimate over the outer (prox-Newton) rounds
        progress = estimate and datafit.quadratic
        progress_outer = estimate and not datafit.quadratic
        # dual extrapolation (celer): least squares, gap available, no free features
        # (a pass over X per outer round: only worth it when the gap alone decides)
        extrapolate = (self.extrapolation_k > 0 and datafit.quadratic and uses_gap(problem)
                       and unpenalized.size == 0 and not progress)
        residuals = np.zeros((self.extrapolation_k if extrapolate else 0, n))
        best_dual = -np.inf
        remaining, ws = np.inf, None
        converged = False
        for outer in range(self.max_outer + 1):
            cert, grad, xw, grad_err = certify_with_gradient(problem, w, b, xw, known_grad,
                                                             known_err)
            known_grad = known_err = None  # valid for the starting point only
            if cert.kind == "gap":  # the best dual point seen so far tightens the gap
                best_dual = max(best_dual, cert.objective - cert.value)
                cert = dataclasses.replace(cert, value=max(cert.objective - best_dual, 0.0))
            b = cert.intercept
            history.append(cert.objective)
            obj_tol = objective_tolerance(cert, self.tol, scale)
            scores = pen.subdiff_distance(w, grad)
            z = xw + b
            if datafit.quadratic:
                h = s
                r = y - z
            else:
                d2 = np.maximum(datafit.d2loss(y, z), 1e-10)
                h = s * d2  # the curvature weights of the quadratic model at z
                r = -datafit.dloss(y, z) / d2  # working response minus z
            if progress_outer:  # prox-Newton rounds: extrapolate their decreases
                remaining = self._outer_tail(history)
            # (the features left out of the last working set are only priced when the
            # estimate alone is within the target)
            converged = is_converged(cert, self.tol, scale) or (
                estimate and remaining <= obj_tol and remaining + self.outside_safety *
                self._outside_gain(problem, data, indices, indptr, ws, scores, h) <= obj_tol)
            if converged or epochs >= self.max_iter or outer == self.max_outer:
                break
            ws = self._working_set(w, scores, unpenalized)
            r = np.ascontiguousarray(r, dtype=float)
            target = z + r  # the working response t
            col_stats = self._col_stats(problem, (data, indices, indptr), h, ws)
            w_old, b_old = w.copy(), b
            use_newton = has_model and self._newton_pays(w, ws, n, indices, indptr, pen,
                                                          omega)
            # other datafits: CD first, for at most newton_budget_epochs epochs
            capped = tail_model and self._newton_pays(w, ws, n, indices, indptr, pen, omega,
                                                      cached=False)
            inner_tol, inner_obj_tol = self._inner_targets(
                problem, (data, indices, indptr), ws, scores, h, obj_tol, progress)
            budget = self.max_iter - epochs
            if capped:
                budget = min(budget, self.newton_budget_epochs)
            state = np.array([b, budget, inner_tol, inner_obj_tol / self.tail_safety])
            params = np.array([param, float(pen.positive), float(problem.fit_intercept),
                               float(h.sum()), self.stable_epochs if use_newton else 0])
            _kernels.cd_quadratic(data, indices, indptr, h, r, w, ws, col_stats, alphas_j, params,
                                  state, kind, residuals)
            if extrapolate and state[1] >= residuals.shape[0]:
                best_dual = max(best_dual, self._extrapolated_dual(problem, residuals,
                                                                   int(state[1])))
            epochs += int(state[1])
            b, remaining = float(state[0]), self.tail_safety * float(state[3])
            # no Newton step once the epochs reached the target (it costs up to
            # newton_budget_epochs epochs: at tol=1e-3 it tripled the wide path's time)
            reached = progress and inner_obj_tol > 0 and remaining <= inner_obj_tol
            slow = capped and int(state[1]) >= budget and float(state[2]) > inner_tol
            polished = ((use_newton and not reached) or slow) and newton_on_support(
                problem.X, h, target, w, b, pen, problem.fit_intercept,
                self._gram_cache(problem) if datafit.quadratic else None)
            if polished:
                w, b = polished
                remaining = np.inf  # the gap decides after a Newton step
                r = target - problem.X @ w - b
            if datafit.quadratic:
                xw = (y - r) - b
            else:
                w, b, xw = self._line_search(problem, w_old, b_old, z, w, b, target - r, cert)
        result = self.finish(problem, w, cert.intercept, epochs, history, scale, cert,
                             converged=converged)
        # the next alpha of a path starts here: its first certificate needs this gradient
        problem.memo["cd_gradient"] = (result.coef, result.intercept, xw, grad, grad_err)
        return result

    @staticmethod
    def _cached_gradient(problem, w, b):
        """``(X w, datafit gradient, its error bound)`` at ``(w, b)`` if the last fit on
        this data returned exactly this point (a warm-started path), else Nones."""
        cached = problem.memo.get("cd_gradient")
        if cached is None:
            return None, None, None
        coef, intercept, xw, grad, err = cached
        if (coef.shape == w.shape and intercept == b and grad.shape == w.shape
                and np.array_equal(coef, w)):
            return xw, grad, err
        return None, None, None

    def _inner_targets(self, problem, kernel_X, ws, scores, h, obj_tol, progress):
        """``(violation tol, objective tol)`` of the next kernel call (a negative
        violation tol switches that criterion off; 0 switches the estimate off)."""
        inner_tol = self.inner_fraction * scores.max()
        if not progress:
            return inner_tol, 0.0
        left_out = self._outside_gain(problem, *kernel_X, ws, scores, h)
        if left_out <= 0.5 * obj_tol:
            # the working set holds every feature that matters: run it to the target
            # on the estimate alone (a stop on the KKT violation would restart the
            # estimate in another outer round: wide sparse path 3.7 s -> 2.5 s)
            return -1.0, obj_tol - left_out
        return inner_tol, self.inner_fraction * obj_tol

    def _outer_tail(self, history) -> float:
        """Decrease still to come, extrapolated from the last outer rounds' decreases
        (the kernel's estimate, :func:`._kernels._tail_estimate`, one level up)."""
        window = _kernels.RATE_WINDOW
        if len(history) < window + 2:
            return np.inf
        dec = -np.diff(np.asarray(history[-(window + 2):]))
        if np.any(dec <= 0):
            return np.inf
        ratios = dec[1:] / dec[:-1]
        return self.tail_safety * _kernels._tail_estimate(dec[-1], ratios, window)

    @staticmethod
    def _outside_gain(problem, data, indices, indptr, ws, scores, h) -> float:
        """Objective decrease one coordinate step would give, summed over the violators
        outside the working set ``ws``: ``sum_j v_j^2 / (2 L_j)`` (curvature weights ``h``)."""
        if ws is None:
            return np.inf
        outside = scores.copy()
        outside[ws] = 0.0
        violators = np.flatnonzero(outside > 0).astype(np.int64)
        if violators.size == 0:
            return 0.0
        curv = CoordinateDescent._col_stats(problem, (data, indices, indptr), h,
                                            violators)[0]
        with np.errstate(divide="ignore"):
            gains = np.where(curv > 0, scores[violators] ** 2 / (2.0 * curv), 0.0)
        return float(gains.sum())

    def _newton_pays(self, w, ws, n, indices, indptr, pen, omega, cached=True) -> bool:
        """Whether a Newton step on the support is cheaper than CD's expected tail.

        Cost model: a Cholesky of the support, ``|S|^3 / 3`` flops at BLAS speed (plus
        forming its Gram, ``n |S|^2``, when it is not ``cached``: weights that change
        every round), against ``newton_budget_epochs`` epochs of ``2 nnz(X_ws)`` flops
        each. Dense problems with a few hundred active features take it; a wide sparse
        problem with thousands of active, very sparse columns does not.
        """
        support = int(np.count_nonzero(w[ws])) or 1
        if support >= n and not self._strictly_convex(pen, w, omega):
            return False
        nnz = n * ws.shape[0] if indices is None else \
            int(np.sum(indptr[ws + 1] - indptr[ws]))
        newton = support**3 / 3.0 / self.blas_speedup
        if not cached:  # the support's Gram with this round's weights
            newton += n * support**2 / self.blas_speedup
        return newton <= self.newton_budget_epochs * 2.0 * (nnz + n)

    @staticmethod
    def _col_stats(problem, kernel_X, h, cols):
        """:func:`._kernels.weighted_col_stats` of ``cols``. For least squares the weights
        are the sample weights, fixed: every column's statistics are computed once per
        data (memo) and indexed (wide sparse path: 32 ms of per-round passes -> 7 ms)."""
        center = float(problem.fit_intercept)
        if not problem.datafit.quadratic:
            return _kernels.weighted_col_stats(*kernel_X, problem.n_samples, h, cols, center)
        if "col_stats" not in problem.memo:
            every = np.arange(problem.n_features, dtype=np.int64)
            problem.memo["col_stats"] = _kernels.weighted_col_stats(
                *kernel_X, problem.n_samples, problem.sample_weight, every, center)
        # np.take keeps the rows C-contiguous (``[:, cols]`` is Fortran-ordered: a second
        # compiled specialization of the kernel, 3 s more at the first call)
        return np.take(problem.memo["col_stats"], cols, axis=1)

    @staticmethod
    def _strictly_convex(pen, w, omega) -> bool:
        """Whether the penalty has curvature on every penalized feature (a ridge part):
        the support model then stays non-singular beyond n features."""
        return bool(np.all(pen.orthant_model(w)[1][omega > 0] > 0))

    @staticmethod
    def _gram_cache(problem) -> GramCache:
        """The Gram memo of this problem's X (weights fixed: least squares only)."""
        cache = problem.memo.get("gram")
        if cache is None:
            cache = problem.memo["gram"] = GramCache(problem.X, problem.sample_weight)
        return cache

    @staticmethod
    def _extrapolated_dual(problem, residuals, n_epochs) -> float:
        """Dual objective at the Anderson extrapolation of the last epochs' residuals.

        CD's residuals converge linearly, so their extrapolation is a much better
        dual point than the last residual (Massias, Gramfort & Salmon, 2018): the
        gap certifies convergence many epochs earlier.
        """
        k = residuals.shape[0]
        last = (n_epochs - 1) % k
        ordered = residuals[[(last + 1 + i) % k for i in range(k)]]
        diffs = np.diff(ordered, axis=0)
        gram = diffs @ diffs.T
        try:
            weights = np.linalg.solve(gram + 1e-14 * np.trace(gram) * np.eye(k - 1),
                                      np.ones(k - 1))
        except np.linalg.LinAlgError:
            return -np.inf
        if not np.isfinite(weights.sum()) or weights.sum() == 0:
            return -np.inf
        weights /= weights.sum()
        r_acc = weights @ ordered[1:]
        u = problem.sample_weight * r_acc / problem.n_samples
        if problem.fit_intercept:
            u = u - u.mean()
        return dual_objective(problem, u)

    def _working_set(self, w, scores, unpenalized):
        support = np.flatnonzero(w)
        size = max(self.ws_min, int(self.ws_growth * support.shape[0]))
        candidates = scores.copy()
        candidates[support] = np.inf
        candidates[unpenalized] = np.inf
        eligible = np.flatnonzero(candidates > 0)  # usually far fewer than p
        n_pick = min(size, eligible.shape[0])
        if n_pick == 0:
            return np.union1d(support, unpenalized).astype(np.int64)
        if n_pick < eligible.shape[0]:
            eligible = np.sort(
                eligible[np.argpartition(-candidates[eligible], n_pick - 1)[:n_pick]])
        return eligible.astype(np.int64, copy=False)  # flatnonzero: already sorted

    @staticmethod
    def _line_search(problem, w_old, b_old, z_old, w_new, b_new, z_new, cert):
        """Backtracking on the true objective along the prox-Newton direction."""
        pen = problem.penalty
        obj_old = cert.objective
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
