r"""Smooth datafits other than least squares on Dask arrays: proximal Newton, the
weighted Gram of each outer step in one distributed pass, the inner problem local.

At ``(w, b)`` the datafit's second-order model is a weighted least-squares problem:
with ``z = X w + b``, ``g_i = loss'(y_i, z_i)`` and ``h_i = loss''(y_i, z_i)`` (kept
above :data:`MIN_CURVATURE`), the working response ``t_i = z_i - g_i / h_i`` and the
weights ``s_i h_i`` give

.. math:: \frac1n \sum_i s_i\,\mathrm{loss}(y_i, z_i + \delta_i) \approx
          \mathrm{const} + \frac1n \sum_i s_i h_i (t_i - z_i - \delta_i)^2 / 2,

whose gradient at ``delta = 0`` is the datafit's (the clamp changes the curvature, not
the direction's first order). One pass over the row blocks returns the
:class:`~.sufficient.Moments` of ``[X, t]`` under those weights and the loss at
``(w, b)``; the penalized model is then solved here on its Gram form (the least-squares
route of :mod:`.sufficient`, with the alpha rescaled by ``n / sum(s h)`` because that
route normalizes its weights). A step that raises the objective is halved (one more
pass); an alpha stops when a step lowers the objective by less than ``tol`` relative
(a pass per outer step, warm-started along the path).

The steps and paths here are generators of the points whose model they need; the
passes that compute those models, shared by a path and by every fold of a
cross-validation, are :mod:`.tall_newton_cv`'s, and a multiclass datafit's model and
step are :mod:`.tall_multinomial`'s (a :class:`NewtonRoute`).
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable

import numpy as np

from ..core.datafits import LeastSquares
from .sufficient import Moments
from .tall_newton_scaled import to_scaled

#: smallest curvature a row keeps (logistic: p (1 - p) of a 1e-6-sure prediction): the
#: working response stays finite where the model saturates
MIN_CURVATURE = 1e-6
#: outer steps per alpha, and halvings of one step, before giving up on it
MAX_OUTER, MAX_HALVINGS = 50, 30


def _newton_step(moments: Moments, penalty, alpha: float, weight: float, tol: float,
                 w=None, b=None):
    """The penalized weighted least-squares model's minimizer ``(w, b)`` (``weight``: the
    sample weights' sum the datafit averages over; the working response already holds
    the current point ``(w, b)``)."""
    from .sufficient import gram_path

    owner = types.SimpleNamespace(datafit=LeastSquares(), penalty=penalty)
    scaled = alpha * weight / moments.weight  # the Gram route's weights sum to n
    res = gram_path(owner, moments, np.array([scaled]), False, True,
                    {"tol": min(tol, 1e-10)})
    return np.array(res.coefs[0]), float(res.intercepts[0])


def alpha_steps(penalty, alpha, w, b, current, weight, tol, route):
    """Proximal Newton at one alpha from ``(w, b)`` whose model ``current`` is known, as
    a generator: it yields each point whose model it needs (``(w, b)``) and is sent that
    model (``(moments, loss sum, ...)``), so that one pass can serve many paths; it
    returns ``(w, b, model there, outer steps, converged)``. ``weight``: the sum of the
    sample weights the datafit averages over; ``route``: a :class:`NewtonRoute`."""
    objective = current[1] / weight + alpha * penalty.value(w)
    for step in range(1, MAX_OUTER + 1):
        w_new, b_new = route.step(current[0], penalty, alpha, weight, tol, w, b)
        for _ in range(MAX_HALVINGS):
            trial = yield w_new, b_new
            value = trial[1] / weight + alpha * penalty.value(w_new)
            if value <= objective * (1 + 1e-15) + 1e-300:
                break
            w_new, b_new = (w + w_new) / 2, (b + b_new) / 2
        done = objective - value <= tol * abs(value)
        w, b, current, objective = w_new, b_new, trial, value
        if done:
            return w, b, current, step, True
    return w, b, current, MAX_OUTER, False


def walk(penalty, grid, w, b, current, weight, tol, records: list, route=None):
    """A path over ``grid`` from ``(w, b)`` (model ``current``), as a generator of the
    points it needs (:func:`alpha_steps`); appends to ``records`` one
    ``(w, b, objective, steps, converged, kkt, model)`` per alpha (``route``: a
    :class:`NewtonRoute`, default one linear predictor)."""
    route = ONE_OUTPUT if route is None else route
    for alpha in grid:
        w, b, current, steps, ok = yield from alpha_steps(penalty, alpha, w, b, current,
                                                          weight, tol, route)
        b = route.normalized_intercept(b)
        kkt = np.max(penalty.with_alpha(alpha).subdiff_distance(
            w, route.gradient(current[0], w, b, weight)), initial=0.0)
        records.append((w, b, current[1] / weight + alpha * penalty.value(w), steps, ok,
                        kkt, current))


def path_result(grid, records: list, top: float, penalty, datafit, classes):
    """The :class:`PathResult` of :func:`walk`'s records."""
    from ..core.results import PathResult

    w, b, objectives, steps, converged, kkt, _ = (list(c) for c in zip(*records, strict=True))
    return PathResult(
        alphas=np.asarray(grid), coefs=np.array(w), intercepts=np.array(b),
        objectives=np.array(objectives), certificates=np.array(kkt),
        certificate_kind="kkt", n_iters=np.array(steps), converged=np.array(converged),
        alpha_max=float(top), solver="newton-dask", penalty=penalty, datafit=datafit,
        classes=classes, fit_intercept=True)


def newton_path(X, y, datafit, penalty, *, sample_weight=None, n_alphas=100,
                alpha_min_ratio=None, alphas=None, tol=1e-8, client=None, standardize=False):
    """The path of a smooth datafit on row-chunked Dask ``X`` (intercept fitted;
    ``standardize``: :mod:`.tall_newton_scaled`): ``(PathResult, {"passes",
    "seconds_per_pass", "points"})``; the passes of :mod:`.tall_newton_cv` (a
    cross-validation's, with the full data only)."""
    from .tall_newton_cv import newton_path_all_rows

    return newton_path_all_rows(X, y, datafit, penalty, sample_weight=sample_weight,
                                n_alphas=n_alphas, alpha_min_ratio=alpha_min_ratio,
                                alphas=alphas, tol=tol, client=client,
                                standardize=standardize)


def gradient(moments: Moments, w: np.ndarray, b: float, weight: float) -> np.ndarray:
    """The datafit's gradient ``X^T (s g) / weight`` at ``(w, b)`` from the model's moments
    there: ``s h (z - t) = s g`` and ``z`` is linear in X (centered parts, then means)."""
    p = w.shape[0]
    C, mean = moments.comoment, moments.mean
    sum_g = moments.weight * (mean[:p] @ w + b - mean[p])
    return (C[:p, :p] @ w - C[:p, p] + mean[:p] * sum_g) / weight


@dataclasses.dataclass(frozen=True)
class NewtonRoute:
    """What turns a pass's model (its first entry) into a Newton step and a gradient."""

    #: ``(model, penalty, alpha, weight, tol, w, b) -> (w, b)``: the penalized model's
    #: minimizer
    step: Callable
    #: ``(model, w, b, weight) -> the datafit's gradient in w`` at the model's point
    gradient: Callable
    #: ``(model, shift, scale) -> the model on the columns (x - shift) / scale`` (for
    #: ``standardize=True``: :mod:`.tall_newton_scaled`)
    to_scaled: Callable
    #: the type of a pass's model (``to_arrays`` / ``from_arrays``: a checkpoint stores it)
    model_type: type
    #: the reported form of an intercept (the multinomial's are centered)
    normalized_intercept: Callable = lambda b: b  # noqa: E731


#: one linear predictor: the working response's moments
ONE_OUTPUT = NewtonRoute(_newton_step, gradient, to_scaled, Moments)
