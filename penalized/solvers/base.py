"""What every solver shares: the protocol, the stopping rule, the result."""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from ..core.certificates import certify, is_converged
from ..core.exceptions import ConvergenceWarning
from ..core.problem import Problem
from ..core.results import FitResult


class Solver(ABC):
    """``solve(problem, coef, intercept) -> FitResult``.

    A solver declares what it needs (``requires_smooth``, ``requires_separable``)
    and :meth:`check` refuses the rest with one clear error.
    """

    name: ClassVar[str] = ""
    requires_smooth: ClassVar[bool] = False
    requires_separable: ClassVar[bool] = False
    #: whether it handles a multiclass datafit (2-D coefficients, one intercept per class)
    supports_multiclass: ClassVar[bool] = False
    default_max_iter: ClassVar[int] = 1000

    def __init__(self, tol: float = 1e-8, max_iter: int | None = None, verbose: bool = False):
        self.tol = float(tol)
        self.max_iter = int(max_iter) if max_iter is not None else self.default_max_iter
        self.verbose = verbose

    def check(self, problem: Problem) -> None:
        pen = problem.penalty
        if problem.datafit.multiclass and not self.supports_multiclass:
            raise ValueError(
                f"solver={self.name!r} does not handle the multiclass datafit "
                f"{type(problem.datafit).__name__}: use solver='cd' or 'fista'"
            )
        if self.requires_smooth and not pen.smooth:
            raise ValueError(
                f"solver={self.name!r} needs a smooth penalty (e.g. L2); "
                f"{type(pen).__name__} is not smooth: use solver='fista' or 'cd'"
            )
        if self.requires_separable and not pen.separable:
            raise ValueError(
                f"solver={self.name!r} needs a separable penalty; "
                f"{type(pen).__name__} is not: use solver='fista'"
            )

    @abstractmethod
    def solve(self, problem: Problem, coef: np.ndarray, intercept: float,
              scale: float) -> FitResult:
        """Minimize from ``(coef, intercept)``; ``scale`` sets the stopping rule's units."""

    def finish(self, problem: Problem, w: np.ndarray, b: float, n_iter: int,
               history: list[float], scale: float, cert=None,
               converged: bool | None = None) -> FitResult:
        """Certify the final point, warn if not converged, build the result.

        ``history`` already ends with ``cert``'s objective when ``cert`` is given;
        otherwise the final certificate is computed and recorded here. ``converged``
        is the certificate's stopping rule unless the solver met its own (cd's
        progress estimate).
        """
        if cert is None:
            cert = certify(problem, w, b)
            history.append(cert.objective)
        if converged is None:
            converged = is_converged(cert, self.tol, scale)
        if not converged:
            warnings.warn(
                f"solver {self.name!r} did not converge in {n_iter} iterations at "
                f"alpha={problem.penalty.alpha:.4g}: {cert.kind} = {cert.value:.3e} "
                f"(objective {cert.objective:.6g}, tol {self.tol:g}); "
                "increase max_iter or tol",
                ConvergenceWarning, stacklevel=4,
            )
        return FitResult(
            coef=w, intercept=cert.intercept, objective=cert.objective,
            certificate=cert.value, certificate_kind=cert.kind, n_iter=n_iter,
            converged=converged, history=np.asarray(history), solver=self.name,
            penalty=problem.penalty, datafit=problem.datafit, classes=problem.classes,
        )
