r"""Box constraints ``lower_j <= w_j <= upper_j`` on any separable penalty.

A bounded model minimizes ``F(w) + alpha P(w) + sum_j I_[lower_j, upper_j](w_j)``. For a
separable convex penalty the prox of the constrained term is the penalty's prox clipped
into the box (a convex function of one variable is minimized over an interval at its
unconstrained minimizer, clipped), so every solver that takes a prox serves bounds with
one clip (the compiled kernel: :func:`.compiled.box_prox_scalar`), and no penalty is
written twice. The optimality certificate is the KKT score: the distance of ``-grad`` to
``alpha dP(w) + N(w)``, where the normal cone ``N`` of the box is ``[0, inf)`` at an
upper bound and ``(-inf, 0]`` at a lower one. The duality gap is not computed for a
bounded model (the conjugate of the constrained term would be another formula per
penalty): its fits report ``certificate_kind == "kkt"``.

This module is the numpy side (the reference the compiled scalar operations are tested
against, and what FISTA and the certificates use).
"""

from __future__ import annotations

import numpy as np

from .base import Penalty


def _columns(a: np.ndarray, like: np.ndarray) -> np.ndarray:
    return a if like.ndim == 1 else a[:, None]


def clip(w: np.ndarray, box) -> np.ndarray:
    """``w`` clipped into the box (``box`` from :meth:`Penalty.bounds`; None: as is)."""
    if box is None:
        return w
    return np.clip(w, _columns(box[0], w), _columns(box[1], w))


def box_prox(penalty: Penalty, v: np.ndarray, step: float, box) -> np.ndarray:
    """The prox of ``step * (alpha P + box indicator)``: the penalty's prox, clipped."""
    return clip(penalty.prox(v, step), box)


def kkt_scores(penalty: Penalty, w: np.ndarray, grad: np.ndarray, box) -> np.ndarray:
    """Per feature, the distance of ``-grad`` to ``alpha dP(w) + N_box(w)`` (plus the
    distance of ``w`` to the box, 0 for the solvers' iterates): 0 exactly at a KKT point
    of the bounded model. Without a box, :meth:`Penalty.subdiff_distance`."""
    d = penalty.subdiff_distance(w, grad)
    if box is None:
        return d
    lo, hi = _columns(box[0], w), _columns(box[1], w)
    at_lo, at_hi = w <= lo, w >= hi
    if np.any(at_lo | at_hi):
        push = penalty.prox(w - grad, 1.0) - w  # the side -grad leaves dP(w) on
        d = np.where((at_hi & (push > 0)) | (at_lo & (push < 0)), 0.0, d)
    return d + np.maximum(w - hi, 0.0) + np.maximum(lo - w, 0.0)


def box_alpha_max(penalty: Penalty, grad_at_zero: np.ndarray, box) -> float:
    """Smallest alpha at which ``w = 0`` is optimal under the box: a gradient entry
    pushing against a bound at 0 (``lower_j = 0`` and ``grad_j > 0``, or ``upper_j = 0``
    and ``grad_j < 0``) is absorbed by the normal cone and does not count."""
    g = np.asarray(grad_at_zero, dtype=float)
    if box is not None:
        lo, hi = _columns(box[0], g), _columns(box[1], g)
        g = np.where(((lo == 0) & (g > 0)) | ((hi == 0) & (g < 0)), 0.0, g)
    return penalty.alpha_max(g)
