"""What every solver shares: the protocol, the iterate state, the result."""

from __future__ import annotations

import dataclasses
import warnings
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from ..core.certificates import certify, is_converged
from ..core.exceptions import ConvergenceWarning
from ..core.problem import Problem
from ..core.results import FitResult


@dataclasses.dataclass(frozen=True, eq=False)
class Iterate:
    """Where a solver starts, and where it stopped: the point and what is known there.

    A path hands each alpha's final ``Iterate`` to the next alpha (warm start), so what
    a solver computed at its last point (``X w``, the datafit gradient ``X^T g`` with
    its error bound, see :mod:`penalized.core.gradient`) is not computed again. ``grad``
    is valid only with ``xw`` and for an optimal ``intercept``; None: unknown.
    ``grad_ref``: the chain's last full gradient pass, which later points reuse within
    a bound (:class:`penalized.core.gradient.Reference`).
    """

    coef: np.ndarray
    intercept: float | np.ndarray
    xw: np.ndarray | None = None
    grad: np.ndarray | None = None
    grad_err: np.ndarray | float | None = None
    grad_ref: object = None


class Solver(ABC):
    """``solve(problem, start, scale) -> (FitResult, Iterate)``.

    A solver declares what it needs (``requires_smooth``, ``requires_separable``)
    and :meth:`check` refuses the rest with one clear error.
    """

    name: ClassVar[str] = ""
    requires_smooth: ClassVar[bool] = False
    requires_separable: ClassVar[bool] = False
    #: whether it handles a multiclass datafit (2-D coefficients, one intercept per class)
    supports_multiclass: ClassVar[bool] = False
    #: whether it handles box constraints (:mod:`penalized.penalties.bounds`)
    supports_bounds: ClassVar[bool] = True
    default_max_iter: ClassVar[int] = 1000

    def __init__(self, tol: float = 1e-6, max_iter: int | None = None, verbose: bool = False):
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
        if pen.bounded and not self.supports_bounds:
            raise ValueError(
                f"{type(self).__name__} does not handle box constraints (lower / upper "
                "bounds, exclude, infinite weights): use solver='fista'"
                + (" or 'cd'" if not problem.datafit.multiclass else "")
            )
        if self.requires_separable and not pen.separable:
            raise ValueError(
                f"solver={self.name!r} needs a separable penalty; "
                f"{type(pen).__name__} is not: use solver='fista'"
            )

    @abstractmethod
    def solve(self, problem: Problem, start: Iterate,
              scale: float) -> tuple[FitResult, Iterate]:
        """Minimize from ``start``; ``scale`` sets the stopping rule's units. Returns the
        result and the final iterate (the next alpha of a path starts there)."""

    def finish(self, problem: Problem, w: np.ndarray, b: float, n_iter: int,
               history: list[float], scale: float, cert=None,
               stop_reason: str | None = None) -> FitResult:
        """Certify the final point and build the result (the caller warns when it did not
        converge: :func:`warn_not_converged`; a path summarizes its alphas instead).

        ``history`` already ends with ``cert``'s objective when ``cert`` is given;
        otherwise the final certificate is computed and recorded here. ``stop_reason``
        is what stopped the solver ("gap", "kkt", "progress", "max_iter"); by default
        the certificate's rule decides between its kind and "max_iter".
        """
        if cert is None:
            cert = certify(problem, w, b)
            history.append(cert.objective)
        if stop_reason is None:
            stop_reason = cert.kind if is_converged(cert, self.tol, scale) else "max_iter"
        converged = stop_reason != "max_iter"
        return FitResult(
            coef=w, intercept=cert.intercept, objective=cert.objective,
            certificate=cert.value, certificate_kind=cert.kind, n_iter=n_iter,
            converged=converged, stop_reason=stop_reason, history=np.asarray(history),
            solver=self.name,
            penalty=problem.penalty, datafit=problem.datafit, classes=problem.classes,
        )


def warn_not_converged(res: FitResult, stacklevel: int = 2) -> None:
    """The :class:`ConvergenceWarning` of a single fit that stopped at ``max_iter``.

    Solvers do not warn themselves: a path or a cross-validation reports its alphas in
    one summary, and catching per-fit warnings there (``warnings.catch_warnings``) is
    not thread-safe when folds run in threads."""
    if res.converged:
        return
    warnings.warn(
        f"solver {res.solver!r} did not converge in {res.n_iter} iterations at "
        f"alpha={res.penalty.alpha:.4g}: {res.certificate_kind} = {res.certificate:.3e} "
        f"(objective {res.objective:.6g}); increase max_iter or tol",
        ConvergenceWarning, stacklevel=stacklevel + 1)
