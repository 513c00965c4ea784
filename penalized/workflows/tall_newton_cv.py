r"""K-fold cross-validation of a smooth datafit on Dask arrays: every path in the same
distributed passes.

The route of :mod:`.tall_newton` (proximal Newton, the weighted Gram of an outer step in
one pass over the row blocks, the inner problem solved here) runs, for a
cross-validation, one path per (candidate penalty, training fold) plus the full-data
paths. Each path is a generator of the points whose model it needs
(:func:`.tall_newton.walk`); the paths advance in lockstep, and one pass serves all of
them: each block returns, for every requested point ``(fold k, w, b)``,

* the moments of ``[X, working response]`` under ``s h`` over its rows outside fold
  ``k`` (the training rows; a held-out row enters with weight 0), and the training loss;
* the scorer's weighted sum over its rows in fold ``k`` at the same point, and their
  weight: the held-out score of the point an alpha accepts is known when it is
  accepted, with no pass of its own.

So the passes of a cross-validation are those of its slowest path (plus one, the null
models), not their sum; a pass costs one weighted Gram per requested point. Folds,
grids (``fold_alphas``), scores and results are those of the in-memory route
(:func:`penalized.cross_validate`): stratified K-fold for classification from ``y``
(which comes to this process, as does a fold label per row; X stays on the cluster).
Scorers that are a weighted mean over rows (``Scorer.row_mean``) are served; the
others (AUC, r2, a scikit-learn callable) need all of a fold's rows at once.

A multiclass datafit (its declared ``multiclass``) takes the same passes with the exact
Hessian's blocks instead of the working response's moments
(:mod:`.tall_multinomial`); the paths, folds and scores are shared code.

Limits (each refused with a clear error): K-fold splits only (held-out folds that
partition the rows); an intercept; unpenalized features need ``alphas=`` (a pure ridge's
default grid, the standardized columns (:mod:`.tall_newton_scaled`) and a checkpoint's
fingerprint take one more pass). A datafit whose curvature
vanishes on part of its domain (Huber outside its quadratic zone) is served, with many
more outer steps per alpha.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import warnings

import numpy as np

from .sufficient import BLOCK_ROWS, Moments, _empty, _sum, stacked_moments
from .tall_folds import fold_labels
from .tall_newton import MIN_CURVATURE, ONE_OUTPUT, path_result, walk

#: the fold label of the full-data paths (no held-out rows)
FULL = -1


def _block_models(X, y, s, labels, requests, datafit, scorer, each_point=False):
    """Every requested point's ``(moments, training loss sum, held-out score sum,
    held-out weight)`` on one block (runs where the block lives). ``each_point``: each
    linear predictor by its own product, so that a point's model does not depend on
    which points share the pass (one product over them all rounds a column differently
    for other column counts); a checkpoint's resumed passes are not the uninterrupted
    run's."""
    X, y, s = np.asarray(X, dtype=float), np.asarray(y, dtype=float), np.asarray(s, float)
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(s))):
        raise ValueError("X or sample_weight has NaN or infinite values")
    if each_point:
        Z = np.column_stack([X @ w + b for _, w, b in requests])
    else:
        Z = X @ np.column_stack([w for _, w, _ in requests]) + [b for _, _, b in requests]
    out = []
    for (label, _, _), z in zip(requests, Z.T, strict=True):
        held = labels == label
        g, h = datafit.dloss(y, z), np.maximum(datafit.d2loss(y, z), MIN_CURVATURE)
        score, weight = 0.0, float(s[held].sum())
        if weight > 0:  # the scorer's weighted mean, times the weight: a sum over rows
            score = float(np.ravel(scorer.function(datafit, y[held], z[held][:, None],
                                                   s[held]))[0]) * weight
        train = ~held
        out.append((_moments_of(X, z - g / h, s * h, train),
                    float(s[train] @ datafit.loss(y[train], z[train])), score, weight))
    return out


def _moments_of(X, t, v, rows) -> Moments:
    """The moments of ``[X, t]`` under weights ``v`` over the rows where ``rows`` holds,
    by slices (the copies stay ``BLOCK_ROWS x (p + 1)``)."""
    parts = []
    for start in range(0, X.shape[0], BLOCK_ROWS):
        part = slice(start, start + BLOCK_ROWS)
        keep = rows[part]
        parts.append(stacked_moments(np.column_stack([X[part][keep], t[part][keep]]),
                                     v[part][keep]))
    return _sum(parts) if parts else _empty(X.shape[1] + 1)


def _merge(a, b):
    return [tuple(u + v for u, v in zip(x, y, strict=True)) for x, y in zip(a, b, strict=True)]


@dataclasses.dataclass
class _FoldPasses:
    """The distributed passes of a cross-validation: the blocks with each row's fold
    label, and a count and clock of passes."""

    blocks: list  # (X block, y block, s block, fold labels of its rows)
    datafit: object
    scorer: object
    client: object
    block_models: object = _block_models  # (X, y, s, labels, requests, datafit, scorer)
    count: int = 0
    seconds: float = 0.0
    points: int = 0  # points modelled (a pass models every requested point)

    def models(self, requests: list) -> list:
        """The model of every ``(fold label, w, b)`` in ``requests``: one pass."""
        import dask

        start = time.perf_counter()
        parts = [dask.delayed(self.block_models)(x, y, s, labels, requests, self.datafit,
                                                 self.scorer)
                 for x, y, s, labels in self.blocks]
        while len(parts) > 1:
            parts = [dask.delayed(_merge)(parts[i], parts[i + 1]) if i + 1 < len(parts)
                     else parts[i] for i in range(0, len(parts), 2)]
        scheduler = {} if self.client is None else {"scheduler": self.client}
        out = dask.compute(parts[0], **scheduler)[0]
        self.count += 1
        self.points += len(requests)
        self.seconds += time.perf_counter() - start
        return out


def run_together(walks: list, passes: _FoldPasses, labels: list, callback=None,
                 total: int = 0, records: list | None = None, after_pass=None) -> None:
    """Drive the generators ``walks`` (path ``i`` trains without fold ``labels[i]``) in
    lockstep: each pass computes the points all unfinished paths asked for
    (``after_pass()``: called after each, e.g. to store a checkpoint)."""
    pending = {}
    for i, steps in enumerate(walks):
        pending[i] = next(steps)
    while pending:
        keys = list(pending)
        models = passes.models([(labels[i], *pending[i]) for i in keys])
        for i, model in zip(keys, models, strict=True):
            try:
                pending[i] = walks[i].send(model)
            except StopIteration:
                del pending[i]
        if after_pass is not None:
            after_pass()
        if callback is not None and records is not None:
            callback(sum(len(r) for r in records), total)


def _inputs(X, y, sample_weight, datafit, client):
    """Row-chunked Dask ``X``, the target in the datafit's coding (on the cluster, and
    here), the weights (both), and the classes."""
    import dask

    from ..core.validation import check_sample_weight
    from .tall import _as_arrays

    X, y, s = _as_arrays(X, y, sample_weight)
    scheduler = {} if client is None else {"scheduler": client}
    y_here, s_here = dask.compute(y, s, **scheduler)
    y_code, classes = datafit.prepare_target(np.asarray(y_here))
    s_here = np.asarray(s_here, dtype=float)  # as the blocks hold them: not renormalized
    check_sample_weight(s_here, X.shape[0])
    if classes is not None:
        codes = datafit.prepare_target(classes)[0]
        y = y.map_blocks(lambda v: codes[np.searchsorted(classes, v)], dtype=float)
    return X, y, s, y_code, s_here, classes


def _blocks(X, y, s, labels) -> list:
    """``(X block, y block, s block, its rows' fold labels)`` of every row block."""
    offsets = np.concatenate([[0], np.cumsum(X.chunks[0])])
    return [(x, yb, sb, labels[offsets[i]:offsets[i + 1]]) for i, (x, yb, sb) in
            enumerate(zip(X.to_delayed().ravel(), y.to_delayed().ravel(),
                          s.to_delayed().ravel(), strict=True))]


def _route(datafit, blocks, scorer, client, n_features: int, classes, penalties):
    """``(NewtonRoute, _FoldPasses)`` of the datafit (by its declared ``multiclass``)."""
    from ..core.gram import GRAM_MAX_FEATURES
    from .sufficient import check_width

    check_width(n_features)
    if datafit.multiclass:  # a predictor per class: the exact Hessian's blocks
        from .tall_multinomial import MULTINOMIAL, block_quadratics, check_penalty

        for penalty in penalties:
            check_penalty(penalty, n_features)

        size = classes.shape[0] * (n_features + 1)
        if size > GRAM_MAX_FEATURES:
            raise ValueError(
                f"{classes.shape[0]} classes x ({n_features} features + 1): the multinomial "
                f"route for Dask arrays holds a {size} x {size} Hessian and serves at most "
                f"{GRAM_MAX_FEATURES} rows of it; fit it in memory (a NumPy or sparse X)")

        return MULTINOMIAL, _FoldPasses(blocks, datafit, scorer, client, block_quadratics)
    return ONE_OUTPUT, _FoldPasses(blocks, datafit, scorer, client)


def newton_path_all_rows(X, y, datafit, penalty, *, sample_weight=None, n_alphas=100,
                         alpha_min_ratio=None, alphas=None, tol=1e-8, client=None,
                         standardize=False):
    """:func:`.tall_newton.newton_path` by this module's passes (any route, the
    multinomial's included): ``(PathResult, {"passes", "seconds_per_pass", "points"})``."""
    X, y, s, y_code, s_here, classes = _inputs(X, y, sample_weight, datafit, client)
    n, p = X.shape
    labels = np.zeros(n, dtype=np.int32)
    route, passes = _route(datafit, _blocks(X, y, s, labels), None, client, p, classes,
                           [penalty])
    b0 = datafit.intercept_at_zero(y_code, s_here)
    passes, moments, columns = _column_pass(route, X, y, s, labels, passes, client,
                                            standardize, _ridge_default([penalty], alphas))
    fitted = penalty if columns is None else penalty.for_scaled_columns(columns[FULL][1])
    zero, weight = np.zeros((p,) + np.shape(b0)), float(s_here.sum())
    null = passes.models([(FULL, zero, b0)])[0]
    grid, top = _grid(fitted, route.gradient(null[0], zero, b0, weight),
                      {"n_alphas": n_alphas, "alpha_min_ratio": alpha_min_ratio,
                       "alphas": alphas}, p,
                      _ridge(datafit, penalty, moments, standardize, y_code, b0, s_here))
    records = []
    run_together([walk(fitted, grid, zero, b0, null, weight, tol, records, route)], passes,
                 [FULL])
    if columns is not None:
        from .tall_newton_scaled import unscaled_records

        records = unscaled_records(records, *columns[FULL])
    return path_result(grid, records, top, penalty, datafit, classes), {
        "passes": passes.count, "seconds_per_pass": passes.seconds / passes.count,
        "points": passes.points}


def _column_pass(route, X, y, s, labels, passes, client, standardize: bool,
                 ridge: bool, stored: bool = False):
    """``(passes, moments, columns)``: with ``standardize``, the passes seen in each
    path's scaled units and every path's ``{fold label: (shift, scale)}``; ``moments``:
    the columns' ``{fold label: Moments}``, for a pure ridge's default grid (``ridge``)
    and a checkpoint's fingerprint (``stored``). One more pass when any needs it
    (:mod:`.tall_newton_scaled`), else ``(passes, None, None)``."""
    if not (standardize or ridge or stored):
        return passes, None, None
    from .tall_newton_scaled import ScaledPasses, column_moments, shift_scale

    moments = column_moments(X, y, s, labels, FULL, client)
    columns = shift_scale(moments) if standardize else None
    return ScaledPasses(passes, columns, route.to_scaled), moments, columns


def _ridge_default(penalties, alphas) -> bool:
    """Whether a pure ridge among ``penalties`` takes the default grid."""
    return alphas is None and any(pen.elastic_net_family and pen.ratio == 0
                                  for pen in penalties)


def _ridge(datafit, penalty, moments, standardize: bool, y_code, b0, s_here):
    """The pure ridge ``penalty``'s default grid, as a function of the grid's options
    (:func:`.tall_newton_scaled.ridge_grid`; None without the columns' moments)."""
    if moments is None:
        return None
    from .tall_newton_scaled import ridge_grid

    z0 = np.zeros((y_code.shape[0],) + np.shape(b0)) + b0
    return lambda grid: ridge_grid(datafit, penalty, moments[FULL], standardize,
                                   (y_code, z0, s_here), grid)


def _check(datafit, scorer, how) -> None:
    """What the route does not serve, each refused with one clear error."""
    if not how.fit_intercept:
        raise ValueError(f"{type(datafit).__name__} on Dask arrays is fitted by proximal "
                         "Newton with an intercept: use fit_intercept=True")
    if scorer.uses_data or not scorer.row_mean:
        from .scoring import SCORERS, SKLEARN_SCORERS

        served = [name for name, sc in {**SCORERS, **SKLEARN_SCORERS}.items()
                  if sc.row_mean and sc.requires in ("any", datafit.task)]
        raise ValueError(f"scoring={scorer.name!r}: a Dask X is scored block by block, "
                         "which serves the scores that are a weighted mean over rows: "
                         + ", ".join(repr(name) for name in served))


def _grid(penalty, grad0: np.ndarray, grid: dict, n_features: int, ridge=None) -> tuple:
    """``(grid, alpha_max)`` of the full data (the rule of :func:`.paths.default_grid`;
    ``ridge(grid)``: a pure ridge's, from the columns' moments)."""
    from ..penalties.bounds import box_alpha_max
    from .paths import L1_MIN_RATIO, alpha_grid, check_alphas

    top = box_alpha_max(penalty, grad0, penalty.bounds(n_features))
    if grid["alphas"] is not None:
        return check_alphas(grid["alphas"]), top
    if penalty.elastic_net_family and penalty.ratio == 0:
        return ridge(grid)
    if np.any(penalty.feature_weights(n_features) == 0):
        raise ValueError("unpenalized features (penalty weights of 0) move alpha_max: give "
                         "alphas= to cross-validate them on a Dask array")
    ratio = L1_MIN_RATIO if grid["alpha_min_ratio"] is None else grid["alpha_min_ratio"]
    return alpha_grid(top, grid["n_alphas"], ratio), top


def newton_cross_validate(X, y, datafit, candidates, scorer, how, *, cv=5, foldid=None,
                          groups=None, sample_weight=None, tol=1e-8, client=None,
                          callback=None, checkpoint=None):
    """:func:`penalized.cross_validate` of a smooth datafit on row-chunked Dask ``X``:
    ``(CVResult, {"passes", "seconds_per_pass", "points"})`` (``how``: the
    :class:`.cv_tasks.RouteOptions`; ``candidates``: one penalty per l1_ratio)."""
    from .cv_tasks import _fold_grid

    _check(datafit, scorer, how)
    X, y, s, y_code, s_here, classes = _inputs(X, y, sample_weight, datafit, client)
    n, p = X.shape
    labels = fold_labels(cv, n, foldid=foldid, groups=groups, y=y_code, classes=classes)
    route, passes = _route(datafit, _blocks(X, y, s, labels), scorer, client, p, classes,
                           candidates)
    if checkpoint is not None:
        passes.block_models = functools.partial(passes.block_models, each_point=True)
    passes, moments, columns = _column_pass(route, X, y, s, labels, passes, client,
                                            how.standardize,
                                            _ridge_default(candidates, how.grid["alphas"]),
                                            checkpoint is not None)
    folds = [*range(int(labels.max()) + 1), FULL]
    weight, b0 = {}, {}
    for k in folds:
        train = labels != k
        weight[k] = float(s_here[train].sum())
        if not weight[k] > 0:
            raise ValueError(f"training fold {k} has sample weights summing to zero")
        b0[k] = datafit.intercept_at_zero(y_code[train], s_here[train])
    zero = np.zeros((p,) + np.shape(b0[FULL]))
    nulls = dict(zip(folds, passes.models([(k, zero, b0[k]) for k in folds]), strict=True))
    grad0 = route.gradient(nulls[FULL][0], zero, b0[FULL], weight[FULL])
    def fitted(c: int, k: int):  # the penalty of track (c, k)'s columns
        pen = candidates[c]
        return pen if columns is None else pen.for_scaled_columns(columns[k][1])

    grids = [_grid(fitted(c, FULL), grad0, how.grid, p,
                   _ridge(datafit, candidates[c], moments, how.standardize, y_code,
                          b0[FULL], s_here)) for c in range(len(candidates))]
    tracks = [(c, k) for c in range(len(candidates)) for k in folds[:-1]]
    tracks += [(c, FULL) for c in range(len(candidates))] if how.refit else []
    alphas = [_fold_grid(grids[c][0], how.fold_alphas, weight[FULL], weight[k])
              for c, k in tracks]
    records, saver = _stored_records(checkpoint, tracks, moments, y_code, s_here, labels,
                                     datafit, candidates, [g[0] for g in grids], scorer,
                                     how, tol, route.model_type)
    todo = [i for i in range(len(tracks)) if len(records[i]) < alphas[i].shape[0]]
    walks = [walk(fitted(*tracks[i]), alphas[i][len(records[i]):],
                  *_start(records[i], zero, b0[tracks[i][1]], nulls[tracks[i][1]]),
                  weight[tracks[i][1]], tol, records[i], route) for i in todo]
    run_together(walks, passes, [tracks[i][1] for i in todo], callback,
                 sum(a.shape[0] for a in alphas), records, saver)
    if columns is not None:
        from .tall_newton_scaled import unscaled_records

        records = [unscaled_records(rec, *columns[k]) for (_, k), rec in
                   zip(tracks, records, strict=True)]
    result = _result(records, tracks, grids, candidates, scorer, how, datafit, classes)
    return result, {"passes": passes.count, "seconds_per_pass": passes.seconds / passes.count,
                    "points": passes.points}


def _stored_records(checkpoint, tracks, moments, y_code, s_here, labels, datafit,
                    candidates, grids, scorer, how, tol, model_type) -> tuple:
    """``(records, after_pass)``: every track's records so far (those a ``checkpoint``
    holds, else none) and what stores them after each pass (None without one;
    :mod:`.tall_newton_checkpoint`)."""
    if checkpoint is None:
        return [[] for _ in tracks], None
    from .tall_newton_checkpoint import TrackSaver, load_track, open_store, track_key

    keys = [track_key(c, k, FULL) for c, k in tracks]
    store = open_store(checkpoint, moments, y_code, s_here, labels, datafit, candidates,
                       grids, scorer, how, tol, keys)
    records = [load_track(store, key, model_type) for key in keys]
    return records, TrackSaver(store, keys, records)


def _start(records: list, zero, b0, null) -> tuple:
    """Where a path goes on: its last accepted point and model, else the null model."""
    if not records:
        return zero, b0, null
    w, b, *_, model = records[-1]
    return w, b, model


def _result(records, tracks, grids, candidates, scorer, how, datafit, classes):
    """The :class:`.cv.CVResult` of the paths' records (as :func:`.cv._collect`)."""
    from .cv import _summarize
    from .paths import describe_path

    n_folds = sum(1 for _, k in tracks if k != FULL) // len(candidates)
    fold = [rec for (_, k), rec in zip(tracks, records, strict=True) if k != FULL]
    scores = np.array([[r[6][2] / r[6][3] if r[6][3] > 0 else np.nan for r in rec]
                       for rec in fold]).reshape(len(candidates), n_folds, -1)
    paths = tuple(describe_path(path_result(grids[c][0], rec, grids[c][1], candidates[c],
                                            datafit, classes),
                                how.fit_intercept, how.standardize, how.feature_names)
                  for (c, k), rec in zip(tracks, records, strict=True) if k == FULL)
    res = _summarize(np.array([g[0] for g in grids]), scores, scorer, paths, candidates,
                     True if how.is_grid else None)
    if not how.keep_fold_paths:
        return res
    coefs, intercepts = (np.array([[r[i] for r in rec] for rec in fold]) for i in (0, 1))
    shape = (len(candidates), n_folds)  # (folds x candidates, alphas, ...) -> (c, k, ...)
    return dataclasses.replace(res, fold_coefs_grid=coefs.reshape(shape + coefs.shape[1:]),
                               fold_intercepts_grid=intercepts.reshape(shape
                                                                       + intercepts.shape[1:]))


def dask_newton_cv(X, y, datafit, candidates, scorer, how, *, checkpoint=None, **options):
    """The entry of :func:`penalized.cross_validate` for a smooth datafit on Dask ``X``:
    the :class:`.cv.CVResult` of :func:`newton_cross_validate`."""
    if getattr(X, "moments_source", False):
        raise ValueError(f"{type(datafit).__name__}: a table that computes its own moments "
                         "serves least squares; give the Newton route a Dask array of it "
                         "(penalized.app.parquet_folder.feature_array for a Parquet folder, "
                         "or a Dask DataFrame)")
    with warnings.catch_warnings(record=True) as caught:  # shown at the caller's line
        warnings.simplefilter("always")
        result = newton_cross_validate(X, y, datafit, candidates, scorer, how,
                                       checkpoint=checkpoint, **options)[0]
    for warning in caught:
        warnings.warn(warning.message, warning.category, stacklevel=3)
    return result
