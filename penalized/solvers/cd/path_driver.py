"""When a path runs in the compiled path driver (:mod:`.path_kernel`), and that call.

:func:`penalized.path` solves each alpha with the Python driver (:mod:`.driver`), whose
outer loop costs about 0.15 ms per alpha in Python calls: on small problems, most of the
time. ``pz.path(..., engine=...)`` chooses between the two.
"""

from __future__ import annotations

import functools

import numpy as np

from ...core.problem import Problem
from . import path_kernel, rules
from .kernels import penalty_args
from .settings import DEFAULT, CDSettings


def refusal(problem: Problem, solver: str, alphas: np.ndarray) -> str:
    """Why the compiled path driver cannot serve this path ("" when it can)."""
    datafit, pen = problem.datafit, problem.penalty
    if solver not in ("auto", "cd"):
        return f"solver={solver!r} is not coordinate descent"
    if problem.is_sparse:
        return "X is sparse"
    if datafit.kernel_id < 0:
        return f"the datafit {type(datafit).__name__} has no compiled operations"
    if pen.kernel_id < 0 or not pen.convex:
        return f"{type(pen).__name__} has no compiled convex operations"
    if pen.bounded:
        return "the coefficients are bounded (lower / upper, exclude)"
    if not np.all(pen.feature_weights(problem.n_features) > 0):
        return "some features are unpenalized (weight 0)"
    if not (alphas.size and np.all(alphas > 0)):
        return "an alpha is 0"
    return ""


def pays(problem: Problem, tol: float, n_samples: int, settings: CDSettings = DEFAULT) -> bool:
    """Whether the compiled driver is the faster one where it can serve (``engine="auto"``;
    the ``compiled_*`` fields of :class:`.settings.CDSettings` say where and why)."""
    size = problem.n_samples * problem.n_features
    if not problem.datafit.quadratic:
        return size <= settings.compiled_max_size_curved
    if size > settings.compiled_max_size:
        return False
    return tol >= settings.compiled_loose_tol or \
        n_samples >= settings.compiled_tall_ratio * problem.n_features


def _offset(problem: Problem) -> np.ndarray:
    """The problem's offset as a writable C-contiguous float64 array (zeros: none)."""
    if problem.offset is None:
        return np.zeros(problem.n_samples)
    return np.array(problem.offset, dtype=float)


def _column_major(X) -> np.ndarray:
    """The raveled column-major data of X (a view of validated X; a read-only array
    would be a second compiled specialization of the kernel: copied)."""
    if not (X.dtype == np.float64 and X.flags.f_contiguous and X.flags.writeable):
        X = np.array(X, dtype=float, order="F")
    return X.ravel(order="F")


def solve_path(problem: Problem, alphas: np.ndarray, tol: float, max_iter: int | None,
               scale: float, settings: CDSettings = DEFAULT) -> dict:
    """The path of ``problem`` over ``alphas`` (largest first), from the null model.

    Returns
    -------
    dict
        ``coefs`` (k, p), and arrays of length k: ``intercepts``, ``objectives``,
        ``certificates`` (duality gaps), ``n_iters`` (epochs), ``stop_reasons``,
        ``datafits`` (the datafit's value at each fit).
    """
    pen, p, datafit = problem.penalty, problem.n_features, problem.datafit
    max_epochs = settings.max_epochs if max_iter is None else int(max_iter)
    coefs = np.zeros((alphas.shape[0], p))
    out = np.zeros((6, alphas.shape[0]))
    # writable C-contiguous float64 arrays but for the weights (read-only, as the
    # penalties pass them): one compiled specialization. X: its column-major data,
    # copied only when it is not writable float64 Fortran already (as validated X is).
    omega = np.array(pen.feature_weights(p), dtype=float)
    omega.setflags(write=False)
    b0 = problem.intercept_at_zero() if problem.fit_intercept else 0.0
    path_kernel.cd_path(_column_major(problem.X), int(datafit.kernel_id), _writable(problem.y),
                        _writable(problem.sample_weight), _writable(alphas), omega,
                        penalty_args(pen, p), bool(problem.fit_intercept), float(b0),
                        float(tol), float(scale),
                        rules.FitRules.of(problem, tol, max_epochs, settings),
                        *_settings(settings, bool(datafit.quadratic)), _offset(problem),
                        coefs, out)
    # (rows of ``out``: views, which the result freezes; nothing else holds ``out``)
    return {"coefs": coefs, "intercepts": out[0], "objectives": out[1],
            "certificates": out[2], "n_iters": out[3].astype(int),
            "stop_reasons": _REASON_NAMES[out[4].astype(int)], "datafits": out[5]}


def _writable(a) -> np.ndarray:
    """``a`` itself when it is a writable C-contiguous float64 array (the kernel only
    reads it), else such a copy."""
    if isinstance(a, np.ndarray) and a.dtype == np.float64 and a.flags.c_contiguous \
            and a.flags.writeable:
        return a
    return np.array(a, dtype=float)


@functools.lru_cache(maxsize=16)
def _settings(settings: CDSettings, quadratic: bool) -> tuple:
    """The round and kernel settings the compiled path reads for a datafit (quadratic or
    not), built once per settings object."""
    return (settings.rounds(None if quadratic else settings.compiled_inner_fraction_curved),
            settings.kernel(settings.compiled_anderson_k if quadratic else None))


#: the names of the stop codes of :mod:`.rules`, indexed by code
_REASON_NAMES = np.array([rules.STOP_REASONS.get(c, "") for c in
                          range(max(rules.STOP_REASONS) + 1)])
