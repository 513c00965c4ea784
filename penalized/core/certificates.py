r"""Optimality certificates: the duality gap, or the KKT violation.

For a convex penalty and a datafit with a conjugate, the Fenchel dual of

.. math::  \min_w F(Xw + b) + \alpha P(w)

is :math:`\max_u -F^*(-u) - (\alpha P)^*(X^\top u)` subject to
:math:`\sum_i u_i = 0` when an intercept is fitted. The dual point is built
from the primal one, :math:`u = -\nabla F(z)`, after the intercept is made
exactly optimal (so that :math:`\sum_i u_i = 0`) and after rescaling so that
:math:`(\alpha P)^*` is finite. The gap ``P(w) - D(u) >= 0`` bounds the
distance to the optimal objective: a certificate that needs no reference.

Otherwise (non-convex penalty, ``alpha = 0``) the certificate is the largest
KKT violation: the distance of ``-grad`` to the subdifferential, per feature.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..penalties.bounds import kkt_scores
from . import gradient as _gradient
from .newton import damped_newton
from .problem import Problem


@dataclasses.dataclass(frozen=True)
class Certificate:
    """What a solver reports on optimality."""

    kind: str          # "gap" or "kkt"
    value: float       # duality gap (objective units) or KKT violation (gradient units)
    objective: float   # primal objective at the returned point
    intercept: float   # intercept after the exact intercept update (per class if multiclass)


def optimal_intercept(problem: Problem, z_without_b: np.ndarray, b: float) -> float:
    """The intercept that minimizes the datafit for fixed ``w`` (the datafit's
    :meth:`~penalized.core.datafits.Datafit.optimal_intercept`: exact or Newton)."""
    if not problem.fit_intercept:
        return np.zeros(problem.intercept_shape) if problem.intercept_shape else 0.0
    return problem.datafit.optimal_intercept(problem.y, z_without_b, b, problem.sample_weight)


def optimal_free_part(problem: Problem, free: np.ndarray, z_penalized: np.ndarray,
                      z: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Unpenalized coefficients and intercept that minimize the datafit, the rest fixed.

    Parameters
    ----------
    problem : Problem
    free : ndarray of int
        Indices of the unpenalized features (may be empty).
    z_penalized : ndarray of shape (n_samples,)
        ``X_P w_P``, the contribution of the penalized features (held fixed).
    z : ndarray of shape (n_samples,)
        Current linear predictor, the starting point.

    Returns
    -------
    coef_free : ndarray of shape (len(free),)
    intercept : float
    z : ndarray of shape (n_samples,)
        The new linear predictor.

    Damped Newton on ``(w_F, b)``: one step is exact for a quadratic datafit.
    """
    y, s, datafit = problem.y, problem.sample_weight, problem.datafit
    X_free = problem.X[:, free]
    A = X_free.toarray() if problem.is_sparse else np.asarray(X_free, dtype=float)
    if problem.fit_intercept:
        A = np.column_stack([A, np.ones(A.shape[0])])
    if A.shape[1] == 0:
        return np.zeros(0), 0.0, z_penalized
    theta = np.linalg.lstsq(A, z - z_penalized, rcond=None)[0]

    def value(theta):
        return datafit.value(y, z_penalized + A @ theta, s)

    def direction(theta):
        z = z_penalized + A @ theta
        g = A.T @ (s * datafit.dloss(y, z))
        H = A.T @ ((s * datafit.d2loss(y, z))[:, None] * A)
        return np.linalg.lstsq(H, g, rcond=None)[0]

    quadratic = datafit.quadratic  # one exact step
    theta = damped_newton(value, direction, theta, max_iter=1 if quadratic else 100,
                          max_halvings=1 if quadratic else 40)
    z = z_penalized + A @ theta
    if problem.fit_intercept:
        return theta[:-1], float(theta[-1]), z
    return theta, 0.0, z


def exact_intercept_gradient(problem: Problem, gz: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``gz``, the datafit's gradient in ``z``, at the exactly optimal intercept for a
    quadratic datafit with an intercept: one Newton step on the intercept applied to
    ``gz`` alone, so that ``sum_i gz_i = 0`` up to the rounding of ``gz``'s own entries
    (the dual point's constraint); unchanged otherwise.

    The intercept is optimal only up to the rounding of ``z = X w + b``: with a column
    far from zero (a year, 1e4 +- 1), ``b`` and ``X w`` cancel about ``mean^2 /
    variance`` of their digits and ``sum gz`` is off by that much (1e-11 to 1e-8 of
    ``sum |gz|`` at 1e4); ``X^T gz`` then carries ``mean_j sum gz``, and the rescaling
    of the dual point turns it into a gap floor (5e-6 of the objective, where the
    excess is 1e-12). Correcting ``gz`` instead of ``z`` is exact: the intercept's step
    moves every ``z_i`` alike, and a quadratic datafit's ``gz`` is linear in ``z``."""
    if not (problem.fit_intercept and problem.datafit.quadratic):
        return gz
    y, s = problem.y, problem.sample_weight
    c = s.reshape((-1,) + (1,) * (gz.ndim - 1)) * problem.datafit.d2loss(y, z)
    total = np.sum(c, axis=0)
    if not np.all(total > 0):
        return gz
    return gz - c * (np.sum(gz, axis=0) / total)


def uses_gap(problem: Problem) -> bool:
    """Whether the duality gap is available for this problem (not under box
    constraints: :mod:`penalized.penalties.bounds`)."""
    pen = problem.penalty
    return bool(pen.convex and problem.datafit.has_conjugate and pen.alpha > 0
                and not pen.bounded)


def certify(problem: Problem, w: np.ndarray, b: float) -> Certificate:
    """Certificate at ``(w, b)``; ``b`` is first replaced by its exact optimum."""
    return certify_with_gradient(problem, w, b)[0]


def certify_with_gradient(problem: Problem, w: np.ndarray, b: float, xw=None, grad=None,
                          grad_err=None, ref=None):
    """:func:`certify`, also returning the datafit gradient, ``X w``, the gradient's
    error bound and the chain's gradient passes (:class:`.gradient.Reference`, given as
    ``ref``): ``(certificate, grad, xw, grad_err, ref)``.

    The gradient is exact wherever the certificate depends on it; elsewhere it may be
    known only within ``grad_err`` per entry (a float32 pass, or an earlier pass reused;
    None: exact everywhere; see :mod:`penalized.core.gradient`). ``xw`` and ``grad`` (with
    its ``grad_err``) may be passed when known (``grad`` only together with ``xw``, and
    only if ``b`` is already the optimal intercept for ``w``).
    """
    if xw is None:  # (X w + offset: the predictor less the intercept)
        xw, grad = problem.linear_predictor(w, 0.0), None
    b_opt = optimal_intercept(problem, xw, b)
    moved = abs(b_opt - b) > 1e-12 * (1.0 + abs(b)) if np.ndim(b_opt) == 0 else \
        np.max(np.abs(np.subtract(b_opt, b))) > 1e-12 * (1.0 + np.max(np.abs(b)))
    if moved:
        grad = None  # the intercept moved: the given gradient is not at this point
    b = b_opt
    z = xw + b
    y, s, datafit, pen = problem.y, problem.sample_weight, problem.datafit, problem.penalty
    primal = datafit.value(y, z, s) + pen.value(w)
    gz = datafit.gradient_z(y, z, s)
    intercept_kkt = float(np.max(np.abs(np.sum(gz, axis=0)))) if problem.fit_intercept else 0.0
    gz = exact_intercept_gradient(problem, gz, z)
    if grad is None:
        grad, grad_err, ref = _gradient.gradient(problem, gz, w, ref)
    else:  # known within grad_err: this penalty may need more of it exactly
        grad, grad_err = _gradient.refine(problem, gz, w, grad, grad_err)
    if not uses_gap(problem):
        kkt = float(np.max(kkt_scores(pen, w, grad, pen.bounds(problem.n_features)),
                           initial=0.0))
        kkt = max(kkt, intercept_kkt)
        return Certificate("kkt", kkt, primal, b), grad, xw, grad_err, ref
    u, v = -gz, -grad
    free, held = _free_and_held(pen, w, problem.n_features)
    if free.size:
        # The dual constrains X_F^T u = 0 on unpenalized features F (as sum u = 0 for
        # the intercept): build u where those coefficients are optimal. The gap stays
        # a valid bound: primal(w) >= primal(w with F optimal) >= optimum >= dual(u).
        _, _, z_free = optimal_free_part(problem, free, xw - problem.X[:, free] @ w[free], z)
        u = -exact_intercept_gradient(problem, datafit.gradient_z(y, z_free, s), z_free)
        v = problem.X.T @ u
    dual = dual_objective(problem, u, v)
    if held.size and not _nonpositive(v[held]):
        dual = -np.inf  # u is outside the dual's domain: no bound from it yet
    gap = max(primal - dual, 0.0)
    return Certificate("gap", float(gap), float(primal), b), grad, xw, grad_err, ref


def ridge_certificates(problem: Problem, alphas: np.ndarray, coefs: np.ndarray,
                       intercepts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Objectives and duality gaps of the points ``(coefs[k], intercepts[k])`` at
    ``alphas[k]``, all at once: :func:`certify` batched over a path, for a ridge penalty
    (``penalty.ridge``: ``alpha / 2 sum_j omega_j w_j^2``, whose conjugate is
    ``sum_j v_j^2 / (2 alpha omega_j)`` with no rescaling of the dual point) and a
    single-output datafit. The intercepts must be optimal for their ``w`` (as
    :func:`certify` makes them), so that ``sum u = 0``.
    """
    y, datafit = problem.y[:, None], problem.datafit
    c = (problem.sample_weight / problem.n_samples)[:, None]
    Z = np.asarray(problem.X @ coefs.T) + intercepts
    if problem.offset is not None:
        Z += problem.offset[:, None]
    omega = problem.penalty.feature_weights(problem.n_features)
    quadratic = (coefs**2) @ omega  # (sum_j omega_j w_j^2 per point)
    primal = np.sum(c * datafit.loss(y, Z), axis=0) + 0.5 * alphas * quadratic
    U = -c * datafit.dloss(y, Z)  # the dual point -gradient_z at each point
    V = np.asarray(problem.X.T @ U)
    pos = c[:, 0] > 0  # zero-weight samples do not enter the dual
    conj_f = np.sum(c[pos] * datafit.conjugate(y[pos], -U[pos] / c[pos]), axis=0)
    if problem.offset is not None:
        conj_f += problem.offset @ U
    dual = -conj_f - (V**2).T @ (1.0 / omega) / (2.0 * alphas)
    return primal, np.maximum(primal - dual, 0.0)


def dual_objective(problem: Problem, u: np.ndarray, v: np.ndarray | None = None) -> float:
    """Fenchel dual objective at the candidate ``u`` (rescaled to be feasible).

    ``u`` must satisfy ``sum_i u_i = 0`` when an intercept is fitted (callers
    project it); ``v = X^T u`` is computed when not given. Any such ``u`` gives a
    lower bound on the optimal objective, so the best one seen can be kept.
    """
    y, s, datafit, pen = problem.y, problem.sample_weight, problem.datafit, problem.penalty
    if v is None:
        v = problem.X.T @ u
    scale = pen.dual_scale(v)
    conj_f = sum(_conjugate_sum(datafit, y[rows], u[rows] / scale, s[rows] / problem.n_samples)
                 for rows in _row_blocks(u.shape[0]))
    if problem.offset is not None:
        # the datafit of sample i is loss(y_i, z_i + o_i), whose conjugate at a is
        # loss^*(a) - a o_i: with a = -u_i / c_i, c_i times it adds u_i o_i
        conj_f += float(np.dot(u, problem.offset)) / scale
    return float(-conj_f - pen.conjugate(v / scale))


#: rows per block of the dual's conjugate sum: its temporaries (several per sample) are
#: this long instead of n_samples
ROWS = 8192


def _row_blocks(n: int):
    return (slice(start, start + ROWS) for start in range(0, n, ROWS))


def _conjugate_sum(datafit, y, u, c) -> float:
    """``sum_i c_i loss_i^*(-u_i / c_i)`` over the samples of positive weight ``c_i``
    (zero-weight samples do not enter the dual)."""
    if not np.all(c > 0):
        pos = c > 0
        y, u, c = y[pos], u[pos], c[pos]
    c_column = c.reshape((-1,) + (1,) * (u.ndim - 1))  # multiclass u is (n, n_classes)
    return float(np.sum(c * datafit.conjugate(y, -u / c_column)))


def _unpenalized(pen, n_features: int) -> np.ndarray:
    """Indices of the features with weight 0 (a group penalty also frees whole groups)."""
    if pen.weights is None and not pen.block_separable:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(pen.feature_weights(n_features) == 0)


def _free_and_held(pen, w: np.ndarray, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """The unpenalized features split into those whose optimum the certificate takes
    (unconstrained) and those held at 0 by ``positive``.

    Under ``positive`` an unpenalized coefficient is constrained to ``w_j >= 0``: the
    conjugate of that constraint is the indicator of ``v_j <= 0``, not of ``v_j = 0``.
    A feature at 0 (every class at 0) is held there and only needs ``v_j <= 0``; solving
    it unconstrained would certify against a lower, unreachable objective and the gap
    would never close. The others are optimized unconstrained, which still gives a
    feasible dual point (``v_j = 0``)."""
    free = _unpenalized(pen, n_features)
    if not (free.size and pen.positive):
        return free, np.zeros(0, dtype=np.int64)
    at_zero = w[free] <= 0.0
    if at_zero.ndim > 1:
        at_zero = np.all(at_zero, axis=tuple(range(1, at_zero.ndim)))
    return free[~at_zero], free[at_zero]


def _nonpositive(v: np.ndarray) -> bool:
    """``v <= 0`` up to rounding (relative, as the L1 dual constraint's test)."""
    return bool(np.max(v) <= 1e-12 * (1.0 + np.max(np.abs(v))))


def is_converged(cert: Certificate, tol: float, scale: float) -> bool:
    """Stopping rule, relative to the current objective (gap) or to ``scale`` (KKT).

    A gap relative to the objective keeps the whole path accurate: a rule
    relative to ``||y||^2 / n`` (scikit-learn, celer) is lax at the bottom of a
    path, where the objective is far below that.
    """
    if cert.kind == "gap":
        return cert.value <= objective_tolerance(cert, tol, scale)
    return cert.value <= tol * scale


def tightened(cert: Certificate, best_dual: float) -> tuple[Certificate, float]:
    """A gap certificate measured against the best dual objective seen so far (every dual
    point along a solver's iterates bounds the optimum from below), and that best value;
    other certificates unchanged."""
    if cert.kind != "gap":
        return cert, best_dual
    best_dual = max(best_dual, cert.objective - cert.value)
    return dataclasses.replace(cert, value=max(cert.objective - best_dual, 0.0)), best_dual


def objective_tolerance(cert: Certificate, tol: float, scale: float) -> float:
    """The stopping rule in objective units: ``tol`` times the current objective
    (floored at ``1e-6 * scale``, the null objective, for exactly fitted data)."""
    return float(tolerance_at(cert.objective, tol, scale))


def tolerance_at(objective, tol: float, scale: float):
    """:func:`objective_tolerance` at objective values (an array: one per fit)."""
    return tol * np.maximum(objective, 1e-6 * scale)
