r"""``standardize=True`` on the Newton route for Dask arrays (:mod:`.tall_newton_cv`).

As in memory (:func:`.standardize.standardized`), each path (a training fold's, the full
data's) is fitted on its own rows' columns centered and scaled to unit weighted variance,
:math:`\tilde X = (X - \mu) / \sigma`, with the penalty of the scaled columns, and its
fits are reported on the original columns. X is not rewritten on the cluster: the paths
walk in scaled units and only the passes translate,

* a requested point :math:`(\tilde w, \tilde b)` goes to the blocks as
  :math:`(\tilde w / \sigma,\ \tilde b - \mu^\top \tilde w / \sigma)`: the same linear
  predictor, so the same losses, curvatures and held-out scores;
* the moments of :math:`[X, t]` that come back become those of :math:`[\tilde X, t]`:
  means :math:`(m - \mu) / \sigma` and comoments divided by :math:`\sigma \sigma^\top`
  (a centered comoment does not move with a shift).

:math:`\mu, \sigma` of every training fold and of all the rows come from one more pass
(the sample-weighted moments of every held-out fold, :func:`.tall._reduce`). A
multiclass datafit's model, its Hessian's blocks, is translated by its route
(:func:`.tall_multinomial.quadratic_to_scaled`).

The same pass gives a pure ridge its default grid (:func:`ridge_grid`), which is measured
against the columns' variances.
"""

from __future__ import annotations

import dataclasses
import types

import numpy as np

from .sufficient import Moments


def column_moments(X, y, s, labels: np.ndarray, full: int, client=None) -> dict:
    """``{label: Moments}`` of ``[X, y]`` under the sample weights over each training fold
    (the rows whose fold label differs: labels ``0..K-1``) and over all the rows
    (``full``): one pass."""
    from .sufficient import _sum
    from .tall import _reduce

    n_folds = int(labels.max()) + 1
    held_out = _reduce(X, y, s, labels, n_folds, client)
    total = _sum(list(held_out))
    out = {full: total}
    if n_folds > 1:  # (one label: the path's, whose training rows are all of them)
        out.update({k: total - held_out[k] for k in range(n_folds)})
    return out


def shift_scale(moments: dict) -> dict:
    """``{label: (mean, scale)}`` of the columns, by the rule of
    :func:`.standardize.feature_moments`."""
    return {k: (m.mean[:-1].copy(), m.column_scale()) for k, m in moments.items()}


def ridge_grid(datafit, penalty, total: Moments, standardize: bool, null: tuple,
               grid: dict) -> tuple:
    """``(grid, alpha_max)`` of a pure ridge by the rule of :func:`.paths.default_grid`
    (the datafit's curvature at the null model times the columns' variances): that of
    least squares on the columns' moments ``total`` (:func:`.sufficient.gram_grid`),
    times the datafit's mean curvature at the null point ``null = (y, z0, weights)``."""
    from ..core.datafits import LeastSquares
    from .paths import mean_curvature
    from .sufficient import gram_grid

    y, z0, s = null
    owner = types.SimpleNamespace(datafit=LeastSquares(), penalty=penalty)
    alphas = mean_curvature(datafit, y, z0, s / s.sum()) * gram_grid(
        owner, total, standardize, True, grid["n_alphas"], grid["alpha_min_ratio"], None)
    return alphas, float(alphas[0])


def to_scaled(moments: Moments, shift: np.ndarray, scale: np.ndarray) -> Moments:
    """The moments of ``[(x - shift) / scale, t]`` from those of ``[x, t]``."""
    factor = np.append(1.0 / scale, 1.0)
    mean = (moments.mean - np.append(shift, 0.0)) * factor
    return Moments(moments.weight, moments.count, mean,
                   moments.comoment * np.outer(factor, factor))


def to_original(w: np.ndarray, b, shift: np.ndarray, scale: np.ndarray):
    """A point ``(w, b)`` of the scaled columns on the original ones (``w`` of shape (p,)
    and a number ``b``, or (p, K) and (K,): a predictor per class)."""
    coef = w / scale.reshape((-1,) + (1,) * (w.ndim - 1))
    return coef, b - shift @ coef


@dataclasses.dataclass
class ScaledPasses:
    """The passes (:class:`.tall_newton_cv._FoldPasses`) seen in each path's scaled
    units (module docstring); ``columns``: ``{fold label: (shift, scale)}``, or None
    (the columns as they are), after the pass of :func:`column_moments`."""

    passes: object
    columns: dict
    #: ``(model, shift, scale) -> the model on the scaled columns`` (the route's
    #: :attr:`.tall_newton.NewtonRoute.to_scaled`)
    model_to_scaled: object = None

    def models(self, requests: list) -> list:
        if self.columns is None:  # (the columns as they are: the pass only counted)
            return self.passes.models(requests)
        here = [(k, *to_original(w, b, *self.columns[k])) for k, w, b in requests]
        return [(self.model_to_scaled(model[0], *self.columns[k]), *model[1:])
                for (k, _, _), model in zip(requests, self.passes.models(here), strict=True)]

    @property
    def count(self) -> int:
        return self.passes.count + 1  # and the pass that measured the columns

    @property
    def seconds(self) -> float:
        return self.passes.seconds

    @property
    def points(self) -> int:
        return self.passes.points


def unscaled_records(records: list, shift: np.ndarray, scale: np.ndarray) -> list:
    """A path's records (:func:`.tall_newton.walk`) with their points on the original
    columns (objectives and certificates stay the scaled problem's, as in memory:
    :func:`.standardize.unscale_path`)."""
    return [(*to_original(r[0], r[1], shift, scale), *r[2:]) for r in records]
