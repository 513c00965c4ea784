"""``penalized fit DIR --target y --dask ADDRESS``: a Parquet folder larger than memory.

The features stay on the workers, which read the files row group by row group. A numeric
target fitted by least squares stays there too: this process reads its distinct values
by row groups until it finds a third (the task is inferred from them as for a table in
memory) and holds one fold label of a byte per row. Any other target comes to this
process (one value per row: classes, the folds stratified by them).

* Least squares: one pass reduces the files to every fold's moments; the path and the
  cross-validation run on the Gram forms; the cross-validated R² and RMSE come from the
  held-out folds' moments at the chosen alpha.
* Any other datafit (logistic, multinomial, Poisson): proximal Newton on a Dask array of
  the row groups (:mod:`penalized.workflows.tall_newton_cv`), every fold's path in the
  same passes, one per outer step; the out-of-fold predictions at the chosen alpha take
  one more pass. The row groups are kept in the workers' memory when the features fit
  in half of it, and read again at every pass otherwise.

The report and the model folder are those of an in-memory fit.
"""

from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np

from ..io import TableSpec


@dataclasses.dataclass
class FolderTable:
    """What the report and the model folder show of a :class:`ParquetFolder` (the
    fields of :class:`penalized.app.io.PreparedTable` they read)."""

    folder: object  # ParquetFolder
    spec: TableSpec
    notes: list
    #: the target as read (class labels), kept for a datafit fitted by proximal Newton
    y: np.ndarray | None = None

    @property
    def n_rows_read(self) -> int:
        return self.folder.shape[0]

    @property
    def n_rows_used(self) -> int:
        return self.folder.shape[0]

    n_rows_dropped = 0

    @property
    def feature_names(self) -> list:
        return self.spec.feature_names


def folder_inputs(s) -> tuple[FolderTable, str, object]:
    """The folder's table, task and datafit from the footers and the target column (no
    feature read): the task inferred, and the classes checked, as in memory."""
    from ..parquet_folder import open_folder

    if s.impute != "none":
        raise ValueError("--impute needs the whole table in memory: the Dask route reads "
                         "every value as is (fit without --dask)")
    if s.categorical:
        raise ValueError("--categorical needs the whole table in memory: the Dask route "
                         "reads numeric features only (fit without --dask)")
    notes: list[str] = []
    folder = open_folder(s.data, s.target, drop=s.drop, notes=notes, numeric_target=False)
    if s.cv > folder.shape[0]:
        raise ValueError(f"--cv {s.cv} needs at least {s.cv} rows, found {folder.shape[0]}")
    y, datafit = _target(folder, s)
    names = list(folder.features)
    spec = TableSpec(target=s.target, numeric=names, categorical={},
                     set_aside=dict(folder.set_aside), feature_names=names)
    table = FolderTable(folder, spec, notes, None if datafit.quadratic else y)
    return table, datafit.task, datafit


def _target(folder, s) -> tuple[np.ndarray | None, object]:
    """``(y, datafit)``: the task inferred and the classes checked as in memory. A numeric
    target fitted by least squares stays on the workers (None here): its task is decided
    from its distinct values, read by row groups up to the third
    (:func:`~penalized.app.parquet_folder.target_sample`); any other target (classes, or
    a datafit fitted by proximal Newton) comes here whole."""
    from ..parquet_folder import read_target, target_sample
    from .fit import _check_class_counts, datafit_for, infer_task

    sample = target_sample(folder)
    if sample is not None:
        task = infer_task(sample, s.task)
        datafit = datafit_for(task, sample) if task != "classification" else None
        if datafit is not None and datafit.quadratic:
            return None, datafit
    y = read_target(folder)
    datafit = datafit_for(infer_task(y, s.task), y)
    _check_class_counts(y, datafit.task, s.cv)
    return y, datafit


def _ticker(name: str, s, progress):
    """The progress callback of a folder's cross-validation."""
    def tick(done: int, total: int) -> None:
        fold = (done - 1) // s.n_alphas
        progress(done, total, f"{name}: " + (f"fold {fold + 1}/{s.cv}" if fold < s.cv
                                             else "full data"))
    return tick


def folder_fold_labels(s, n: int, y_code=None, classes=None) -> np.ndarray:
    """Each row's held-out fold, as the in-memory CLI draws them (:func:`._model._splitter`:
    shuffled by ``--seed``, stratified for classes unless ``--no-stratify``), computed as
    one int32 label per row (:func:`~penalized.workflows.tall_folds.fold_labels`)."""
    from ...workflows.tall_folds import fold_labels
    from ._model import check_folds

    return fold_labels(check_folds(s.cv), n, y=y_code, classes=classes, seed=s.seed,
                       stratify=s.stratify)


def folder_model(table: FolderTable, datafit, penalty, s, ratio, client, progress):
    """``(ModelRun, metrics)`` of the folder (:class:`~._model.ModelRun`): least squares
    on the folds' moments; any other datafit by :func:`newton_folder_model`."""
    if not datafit.quadratic:
        return newton_folder_model(table, datafit, penalty, s, ratio, client, progress)
    from ...workflows.cv import GridEdgeWarning, cross_validate
    from ...workflows.sufficient import _sum
    from ._model import ModelRun, snap_negligible

    start = time.perf_counter()
    labels = folder_fold_labels(s, table.folder.shape[0])
    name = f"{type(datafit).__name__} + {penalty.name}"
    tick = _ticker(name, s, progress)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridEdgeWarning)  # the caller words its own
        result = cross_validate(table.folder, None, datafit, penalty, foldid=labels,
                                n_alphas=s.n_alphas, alpha_min_ratio=ratio,
                                standardize=s.standardize, tol=s.tol, max_iter=s.max_iter,
                                callback=tick, client=client, checkpoint=s.checkpoint)
    tests = table.folder.computed[-1]
    total = _sum(list(tests))
    p = total.mean.shape[0] - 1
    scale = total.column_scale() if s.standardize else np.ones(p)
    table.spec.training_fill = {c: float(m) for c, m in zip(table.spec.numeric,
                                                             total.mean[:p], strict=True)}
    k = result.index(s.rule)
    coef, n_snapped = snap_negligible(result.path.coefs[k], scale)
    run = ModelRun(name=name, cv=result, rule=s.rule, coef=coef, n_snapped=n_snapped,
                   intercept=float(result.path.intercepts[k]),
                   feature_names=list(table.feature_names), standardize=s.standardize,
                   scale=scale, classes=None, seconds=time.perf_counter() - start)
    return run, folder_metrics(run, tests, total)


def folder_metrics(run, tests, total) -> dict:
    """Cross-validated R² and RMSE at the chosen alpha from the held-out folds' mean
    squared errors (each fold's weight is its row count)."""
    counts = np.array([m.count for m in tests], dtype=float)
    squared = float(counts @ run.cv.fold_scores[:, run.index])
    p = total.mean.shape[0] - 1
    spread = float(total.comoment[p, p])
    return {"R2": 1 - squared / spread if spread > 0 else float("nan"),
            "RMSE": float(np.sqrt(squared / counts.sum()))}


def newton_folder_model(table: FolderTable, datafit, penalty, s, ratio, client, progress):
    """``(ModelRun, metrics)`` of a datafit fitted by proximal Newton on the folder's row
    groups: the folds drawn here from the target (stratified for classes, as in memory),
    the cross-validation on the workers, the out-of-fold predictions and the columns'
    means and scales in one more pass."""
    from ...workflows.cv import GridEdgeWarning, cross_validate
    from ..parquet_folder import feature_array
    from ._model import ModelRun, cross_validated_metrics, snap_negligible

    start = time.perf_counter()
    name = f"{type(datafit).__name__} + {penalty.name}"
    classes = datafit.prepare_target(table.y)[1]  # (None: not a classification)
    # class labels as their index in ``classes`` (the order the datafit codes them in)
    y = table.y.astype(float) if classes is None else \
        np.searchsorted(classes, table.y).astype(float)
    labels = folder_fold_labels(s, y.shape[0], *datafit.prepare_target(y))
    X = _kept_if_it_fits(feature_array(table.folder), client)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridEdgeWarning)  # the caller words its own
        result = cross_validate(X, y, datafit, penalty, foldid=labels, n_alphas=s.n_alphas,
                                alpha_min_ratio=ratio, standardize=s.standardize, tol=s.tol,
                                keep_fold_paths=True, callback=_ticker(name, s, progress),
                                client=client, checkpoint=s.checkpoint)
    k = result.index(s.rule)
    z, total = _out_of_fold(X, labels, result.fold_coefs_grid[0][:, k],
                            result.fold_intercepts_grid[0][:, k], client)
    table.spec.training_fill = {c: float(m) for c, m in zip(table.spec.numeric,
                                                             total.mean[:-1], strict=True)}
    scale = total.column_scale() if s.standardize else np.ones(X.shape[1])
    coef, n_snapped = snap_negligible(result.path.coefs[k], scale)
    intercept = result.path.intercepts[k]
    run = ModelRun(name=name, cv=result, rule=s.rule, coef=coef, n_snapped=n_snapped,
                   intercept=float(intercept) if np.ndim(intercept) == 0 else intercept.copy(),
                   feature_names=list(table.feature_names), standardize=s.standardize,
                   scale=scale, classes=classes, seconds=time.perf_counter() - start,
                   out_of_fold=z)
    return run, cross_validated_metrics(run, table.y)


#: the features are kept in the workers' memory when they take at most this fraction
#: of the workers' combined memory limit (a pass then reads no file)
KEEP_FRACTION = 0.5


def _kept_if_it_fits(X, client):
    """``X`` persisted on the workers when it fits (:data:`KEEP_FRACTION`), else as is."""
    limits = [w.get("memory_limit") or 0 for w in
              client.scheduler_info().get("workers", {}).values()]
    if limits and all(limits) and X.nbytes <= KEEP_FRACTION * sum(limits):
        return client.persist(X)
    return X


def _out_of_fold(X, labels, coefs, intercepts, client):
    """``(predictors, moments)``: every row's linear predictor from the fold fit that did
    not see it (``coefs``: (folds, p[, classes]) at one alpha), and the columns'
    :class:`~penalized.workflows.sufficient.Moments` (the last one a zero stand-in for a
    target), in one pass over the row blocks."""
    import dask

    from ...workflows.sufficient import _sum

    offsets = np.concatenate([[0], np.cumsum(X.chunks[0])])
    parts = [dask.delayed(_block_predictors)(block, labels[offsets[i]:offsets[i + 1]],
                                             coefs, intercepts)
             for i, block in enumerate(X.to_delayed().ravel())]
    parts = dask.compute(*parts, scheduler=client)
    return np.concatenate([z for z, _ in parts]), _sum([m for _, m in parts])


def _block_predictors(X, labels, coefs, intercepts):
    from ...workflows.sufficient import stacked_moments

    out = np.empty((X.shape[0],) + coefs.shape[2:])
    for k in range(coefs.shape[0]):
        rows = labels == k
        out[rows] = X[rows] @ coefs[k] + intercepts[k]
    n = X.shape[0]
    return out, stacked_moments(np.column_stack([X, np.zeros(n)]), np.ones(n))
