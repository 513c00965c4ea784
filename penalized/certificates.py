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

from .problem import Problem


@dataclasses.dataclass(frozen=True)
class Certificate:
    """What a solver reports on optimality."""

    kind: str          # "gap" or "kkt"
    value: float       # duality gap (objective units) or KKT violation (gradient units)
    objective: float   # primal objective at the returned point
    intercept: float   # intercept after the exact intercept update


def optimal_intercept(problem: Problem, z_without_b: np.ndarray, b: float) -> float:
    """The intercept that minimizes the datafit for fixed ``w`` (exact or Newton)."""
    if not problem.fit_intercept:
        return 0.0
    y, s, datafit = problem.y, problem.sample_weight, problem.datafit
    if datafit.quadratic:
        return float(np.average(y - z_without_b, weights=s))
    for _ in range(50):
        z = z_without_b + b
        g = np.sum(s * datafit.dloss(y, z))
        h = np.sum(s * datafit.d2loss(y, z))
        if h <= 0:
            break
        delta = g / h
        b -= delta
        if abs(delta) <= 1e-13 * (1.0 + abs(b)):
            break
    return float(b)


def uses_gap(problem: Problem) -> bool:
    """Whether the duality gap is available for this problem."""
    pen = problem.penalty
    return bool(pen.convex and problem.datafit.has_conjugate and pen.alpha > 0)


def certify(problem: Problem, w: np.ndarray, b: float) -> Certificate:
    """Certificate at ``(w, b)``; ``b`` is first replaced by its exact optimum."""
    return certify_with_gradient(problem, w, b)[0]


def certify_with_gradient(problem: Problem, w: np.ndarray, b: float, xw=None):
    """:func:`certify`, also returning the datafit gradient and ``X w`` (for reuse)."""
    if xw is None:
        xw = problem.X @ w
    b = optimal_intercept(problem, xw, b)
    z = xw + b
    y, s, datafit, pen = problem.y, problem.sample_weight, problem.datafit, problem.penalty
    n = problem.n_samples
    primal = datafit.value(y, z, s) + pen.value(w)
    gz = datafit.gradient_z(y, z, s)
    grad = problem.X.T @ gz
    if not uses_gap(problem):
        kkt = float(np.max(pen.subdiff_distance(w, grad), initial=0.0))
        if problem.fit_intercept:
            kkt = max(kkt, abs(float(np.sum(gz))))
        return Certificate("kkt", kkt, primal, b), grad, xw
    u = -gz
    v = -grad
    scale = pen.dual_scale(v)
    u, v = u / scale, v / scale
    c = s / n
    pos = c > 0
    conj_f = np.sum(c[pos] * datafit.conjugate(y[pos], -u[pos] / c[pos]))
    dual = -conj_f - pen.conjugate(v)
    gap = max(primal - dual, 0.0)
    return Certificate("gap", float(gap), float(primal), b), grad, xw


def is_converged(cert: Certificate, tol: float, scale: float) -> bool:
    """Stopping rule, relative to the current objective (gap) or to ``scale`` (KKT).

    A gap relative to the objective keeps the whole path accurate: a rule
    relative to ``||y||^2 / n`` (scikit-learn, celer) is lax at the bottom of a
    path, where the objective is far below that.
    """
    if cert.kind == "gap":
        return cert.value <= tol * max(cert.objective, 1e-6 * scale)
    return cert.value <= tol * scale
