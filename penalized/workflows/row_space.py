"""A ridge problem with more features than samples, solved in the row space of X.

For a ridge penalty ``alpha / 2 sum_j omega_j w_j^2`` (``penalty.ridge``) and any
datafit, the optimum satisfies ``X^T g + alpha Omega w = 0`` (``g`` the datafit's
gradient in the predictor; the intercept and the offset do not change this), so
``Omega^{1/2} w`` lies in the row space of ``X Omega^{-1/2}``. With the thin SVD
``X Omega^{-1/2} = U S V^T`` of rank ``r``, ``w = Omega^{-1/2} V t`` and the problem in
``t`` has the ``r`` columns ``U S`` and the penalty ``alpha / 2 ||t||^2``: the same
predictor ``X w = U S t``, the same penalty value and, since ``X^T u`` lies in that row
space for every dual point ``u``, the same duality gap. Every alpha of the path is
solved on ``r <= n`` orthogonal columns instead of ``p``: fewer and better conditioned
coordinates, which is where a ridge path of a wide table spends its time (the bottom
of the path, nearly unregularized, is ill-conditioned in the original columns).

A quadratic datafit needs none of this (the whole path is one decomposition,
:func:`.paths.ridge_path`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..core.problem import Problem

#: The largest ``min(n, p)`` reduced (the SVD costs ``min(n, p)^2 max(n, p)``), and the
#: largest rank, as a fraction of the features, worth the change of columns.
MAX_RANK = 2000
MAX_RANK_FRACTION = 0.8


@dataclasses.dataclass(frozen=True)
class RowSpace:
    """The reduced problem and the map back: ``w = basis @ t`` (``basis``: p x r)."""

    problem: Problem
    basis: np.ndarray

    def coefs(self, reduced: np.ndarray) -> np.ndarray:
        """Coefficients ``(k, p[, K])`` of the original problem from the reduced ones."""
        return np.einsum("jr,kr...->kj...", self.basis, reduced)


def applies(problem: Problem) -> bool:
    """A ridge penalty, a datafit that is not quadratic, dense X wider than tall."""
    n, p = problem.X.shape
    return (problem.penalty.ridge and not problem.datafit.quadratic
            and not problem.is_sparse and n < MAX_RANK_FRACTION * p
            and min(n, p) <= MAX_RANK)


def reduce(problem: Problem) -> RowSpace | None:
    """The problem in the row space of ``X Omega^{-1/2}``, or None when its rank is not
    below ``MAX_RANK_FRACTION`` of the features (nothing to gain)."""
    root = np.sqrt(problem.penalty.feature_weights(problem.n_features))
    U, S, Vt = np.linalg.svd(np.asarray(problem.X) / root, full_matrices=False)
    rank = int(np.count_nonzero(S > S[0] * max(problem.X.shape) * np.finfo(float).eps))
    if rank == 0 or rank >= MAX_RANK_FRACTION * problem.n_features:
        return None
    X_reduced = np.asfortranarray(U[:, :rank] * S[:rank])
    penalty = dataclasses.replace(problem.penalty, weights=None)
    return RowSpace(problem.with_data(X=X_reduced, penalty=penalty),
                    Vt[:rank].T / root[:, None])
