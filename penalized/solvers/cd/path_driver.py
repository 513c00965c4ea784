"""When a regularization path runs as one compiled call, and that call.

:func:`penalized.workflows.paths` solves each alpha with the working-set solver of :mod:`.cd`,
whose outer loop runs in numpy (about 0.15 ms per alpha in Python calls). On small
least-squares problems that overhead is most of the time, so there the whole path runs
in :func:`._path_kernel.cd_path`: same kernel, same certificate (the duality gap below
``tol`` times the objective), the outer loop compiled.
"""

from __future__ import annotations

import numpy as np

from ...core.problem import Problem
from . import path_kernel as _path_kernel

#: used when the problem the path solves (after the Gram form) has at most this many
#: entries: beyond, the working-set solver's float32 and reused gradient passes pay
#: (``LassoCV`` on the 1000 x 5000 benchmark: 1.8 s with them, 2.1-3.4 s without)
MAX_SIZE = 1_000_000
#: ... and either ``tol >= LOOSE_TOL`` or ``n_samples >= TALL_RATIO * n_features`` in
#: the original data. Below that tol, with about as many or more features than
#: samples, the working-set solver's Newton step on the support pays: a correlated
#: 300 x 300 lasso path at tol 1e-6 took 0.27 s with it and 0.91 s here; and its exact
#: coefficients on the support make the CV curves more accurate at the same tol
#: (``LassoCV`` on 250 x 1250 at tol 1e-5: 3.7e-3 off the exact curve against 1.2e-2
#: here; at 1e-4, 1.8e-2 against 2.2e-2, both choosing the same alpha)
LOOSE_TOL = 1e-4
TALL_RATIO = 2


def applies(problem: Problem, solver: str, alphas: np.ndarray, tol: float,
            n_samples: int) -> bool:
    """Whether the path of ``problem`` over ``alphas`` runs compiled.

    Least squares; dense X of at most ``MAX_SIZE`` entries; an elastic-net family
    penalty (L1, L2, ElasticNet; ``positive`` and feature weights allowed) with every
    weight positive; every alpha positive; ``solver`` "auto" or "cd"; and ``tol`` at
    least ``LOOSE_TOL`` or ``n_samples`` (of the original data, before any Gram
    form) at least ``TALL_RATIO`` times the number of features. Elsewhere the
    working-set solver's extras (Newton on the support, the float32 gradient, the
    free features' exact fit) are needed or pay for their overhead.
    """
    datafit, pen = problem.datafit, problem.penalty
    if solver not in ("auto", "cd") or problem.is_sparse:
        return False
    if not (datafit.quadratic and datafit.task == "regression" and not datafit.multiclass):
        return False
    if not (pen.separable and pen.kernel == "enet"):  # the elastic-net family
        return False
    if problem.n_samples * problem.n_features > MAX_SIZE:
        return False
    if tol < LOOSE_TOL and n_samples < TALL_RATIO * problem.n_features:
        return False
    if not np.all(pen.feature_weights(problem.n_features) > 0):
        return False
    return bool(alphas.size and np.all(alphas > 0))


def solve_path(problem: Problem, alphas: np.ndarray, tol: float, max_iter: int | None,
               scale: float) -> dict:
    """The path of ``problem`` over ``alphas`` (largest first), from the null model.

    Returns
    -------
    dict
        ``coefs`` (k, p), and arrays of length k: ``intercepts``, ``objectives``,
        ``certificates`` (duality gaps), ``n_iters`` (epochs) and ``converged``.
    """
    from .driver import CoordinateDescent

    cd = CoordinateDescent
    pen = problem.penalty
    p = problem.n_features
    max_epochs = cd.default_max_iter if max_iter is None else int(max_iter)
    # the progress stop where the working-set solver uses it (an L1 part, tol not tiny)
    progress = not pen.smooth and tol >= cd.progress_min_tol
    params = np.array([pen.params[0], float(pen.positive), float(problem.fit_intercept),
                       float(tol), float(scale), float(max_epochs), float(progress),
                       cd.tail_safety, cd.outside_safety, cd.max_outer, cd.ws_min,
                       cd.ws_growth, cd.inner_fraction])
    coefs = np.zeros((alphas.shape[0], p))
    out = np.zeros((5, alphas.shape[0]))
    # C-contiguous float64 copies, writable but for the weights (read-only, as the
    # penalties pass them): one compiled specialization. X: one copy, column-major.
    data = np.array(problem.X, dtype=float, order="F").ravel(order="F")
    omega = np.array(pen.feature_weights(p), dtype=float)
    omega.setflags(write=False)
    _path_kernel.cd_path(data, np.array(problem.y, dtype=float),
                         np.array(problem.sample_weight, dtype=float),
                         np.array(alphas, dtype=float), omega, params, coefs, out)
    return {"coefs": coefs, "intercepts": out[0].copy(), "objectives": out[1].copy(),
            "certificates": out[2].copy(), "n_iters": out[3].astype(int),
            "converged": out[4] > 0}
