"""Solvers: textbook gradient descent, FISTA, working-set coordinate descent."""

from __future__ import annotations

import numpy as np

from ..core.problem import Problem
from .base import Iterate, Solver
from .cd.block import BlockCoordinateDescent
from .cd.driver import CoordinateDescent
from .cd.multinomial import MultinomialCoordinateDescent
from .fista import FISTA
from .gd import GradientDescent

#: name -> solver class; ``solver="auto"`` picks with :func:`choose_solver`.
SOLVERS: dict[str, type[Solver]] = {
    cls.name: cls for cls in (GradientDescent, FISTA, CoordinateDescent)
}
SOLVERS[BlockCoordinateDescent.name] = BlockCoordinateDescent

#: solvers that replace a name of ``SOLVERS`` for a multiclass datafit
MULTICLASS_SOLVERS: dict[str, type[Solver]] = {"cd": MultinomialCoordinateDescent}


def choose_solver(problem: Problem) -> str:
    """``cd`` for separable penalties (fastest), ``bcd`` for penalties separable over
    groups (with a compiled datafit, one coefficient per feature), ``fista`` otherwise."""
    if problem.penalty.separable and problem.penalty.kernel_id >= 0:
        return "cd"
    if problem.penalty.block_separable and problem.datafit.kernel_id >= 0 \
            and not problem.datafit.multiclass and np.isfinite(problem.datafit.curvature_bound):
        return "bcd"
    return "fista"


def make_solver(name: str, problem: Problem, tol: float, max_iter: int | None) -> Solver:
    """Instantiate and check a solver by name (``"auto"`` allowed)."""
    if name == "auto":
        name = choose_solver(problem)
    if name not in SOLVERS:
        raise ValueError(f"unknown solver {name!r}; choose from 'auto', "
                         + ", ".join(repr(k) for k in SOLVERS))
    if name == "cd" and problem.penalty.kernel_id < 0:
        raise ValueError(f"solver='cd' has no compiled kernel for "
                         f"{type(problem.penalty).__name__}: use solver='fista'")
    cls = SOLVERS[name]
    if problem.datafit.multiclass:
        cls = MULTICLASS_SOLVERS.get(name, cls)
    solver = cls(tol=tol, max_iter=max_iter)
    solver.check(problem)
    return solver


__all__ = ["FISTA", "MULTICLASS_SOLVERS", "SOLVERS", "CoordinateDescent", "GradientDescent",
           "Iterate", "MultinomialCoordinateDescent", "Solver", "choose_solver", "make_solver"]
__all__ += ["BlockCoordinateDescent"]
