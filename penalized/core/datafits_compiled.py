"""The datafits' per-sample operations, compiled (numba), dispatched by ``kernel_id``.

The compiled path driver (:mod:`penalized.solvers.cd.path_kernel`) evaluates the
datafit, its derivatives and its conjugate inside its loop; these are the same formulas
as the numpy methods of :mod:`.datafits` (``tests/test_datafits_compiled.py`` checks
that the two representations agree). A datafit with a compiled form declares its id
as :attr:`penalized.core.datafits.Datafit.kernel_id`; ``-1``: none.
"""

from __future__ import annotations

import math

from numba import njit

#: ``kernel_id`` of each datafit with compiled operations
LEAST_SQUARES, LOGISTIC = 0, 1
#: Poisson, log link: the half deviance ``exp(z) - y + y (log y - z)`` (its intercept
#: has a closed form, ``log_link``)
POISSON = 2


@njit(cache=True, no_cpython_wrapper=True)
def _logistic_margin(y, z):
    """``(m, e, q)`` of ``log(1 + exp(-y z))``: ``m = -y z``, ``e = exp(-|m|)`` and
    ``q = expit(m)``, which is ``1 / (1 + e)`` or ``e / (1 + e)``."""
    m = -y * z
    e = math.exp(-abs(m))
    return m, e, (1.0 / (1.0 + e) if m > 0.0 else e / (1.0 + e))


@njit(cache=True, no_cpython_wrapper=True)
def _logistic_parts(y, z):
    """``(loss, dloss, d2loss)`` of ``log(1 + exp(-y z))`` from one ``exp``
    (:func:`_logistic_margin`): ``loss = max(m, 0) + log1p(e)`` (numpy's
    ``logaddexp(0, m)``), ``dloss = -y q`` and ``d2loss = q (1 - q)`` (symmetric in the
    sign of ``m``)."""
    m, e, q = _logistic_margin(y, z)
    return max(m, 0.0) + math.log1p(e), -y * q, q * (1.0 - q)


@njit(cache=True)
def derivatives_scalar(kind, y, z):
    """``(dloss, d2loss)`` at one sample, as :func:`parts_scalar` without the loss (a
    logistic loss costs a ``log1p`` more than its derivatives, which the compiler keeps
    even when the value is unused)."""
    if kind == LOGISTIC:
        _, _, q = _logistic_margin(y, z)
        return -y * q, q * (1.0 - q)
    _, d1, d2 = parts_scalar(kind, y, z)
    return d1, d2


@njit(cache=True)
def parts_scalar(kind, y, z):
    """``(loss, dloss, d2loss)`` at one sample: the derivatives in ``z`` of
    ``(y - z)^2 / 2``, of ``log(1 + exp(-y z))`` with y in {-1, 1}, or of
    ``exp(z) - y + y (log y - z)``."""
    if kind == LOGISTIC:
        return _logistic_parts(y, z)
    if kind == POISSON:
        mu = math.exp(z)
        log_y = math.log(y) if y > 0.0 else 0.0
        return mu - y + y * (log_y - z), mu - y, mu
    return 0.5 * (y - z) * (y - z), z - y, 1.0


@njit(cache=True, no_cpython_wrapper=True)
def loss_scalar(kind, y, z):
    """``loss(y, z)``."""
    return parts_scalar(kind, y, z)[0]


@njit(cache=True, no_cpython_wrapper=True)
def dloss_scalar(kind, y, z):
    """Derivative of the loss in ``z``."""
    return parts_scalar(kind, y, z)[1]


@njit(cache=True, no_cpython_wrapper=True)
def d2loss_scalar(kind, y, z):
    """Second derivative of the loss in ``z``."""
    return parts_scalar(kind, y, z)[2]


@njit(cache=True, no_cpython_wrapper=True)
def _xlogx(t):
    return t * math.log(t) if t > 0.0 else 0.0


@njit(cache=True)
def conjugate_scalar(kind, y, a):
    """Fenchel conjugate ``loss_y^*(a)`` (``inf`` outside its domain)."""
    if kind == LOGISTIC:  # a = -y t, t in [0, 1]: t log t + (1 - t) log(1 - t)
        t = -y * a
        if t < -1e-12 or t > 1.0 + 1e-12:
            return math.inf
        t = min(max(t, 0.0), 1.0)
        return _xlogx(t) + _xlogx(1.0 - t)
    if kind == POISSON:  # t log t - t with t = a + y >= 0, less y log y - y
        t = a + y
        if t < -1e-12:
            return math.inf
        t = max(t, 0.0)
        return _xlogx(t) - t - _xlogx(y) + y
    return a * y + 0.5 * a * a


@njit(cache=True, no_cpython_wrapper=True)
def log_link(kind):
    """Whether the mean is ``exp(z)`` with ``d loss / dz = mu - y`` (Poisson): the
    optimal intercept is then ``b + log(sum s y / sum s mu)``, exactly."""
    return kind == POISSON
