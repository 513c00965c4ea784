"""``penalized fit DIR --target y --dask ADDRESS``: a Parquet folder larger than memory.

The workers read the files (:mod:`penalized.app.parquet_folder`) and reduce them, in
one pass, to every fold's moments; the path and the cross-validation run on the Gram
forms of least squares; the report and the model folder are those of an in-memory
fit. The cross-validated R² and RMSE come from the held-out folds' moments at the
chosen alpha (no pass over the rows for out-of-fold predictions).
"""

from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np

from ...core.datafits import LeastSquares
from ..io import TableSpec


@dataclasses.dataclass
class FolderTable:
    """What the report and the model folder show of a :class:`ParquetFolder` (the
    fields of :class:`penalized.app.io.PreparedTable` they read)."""

    folder: object  # ParquetFolder
    spec: TableSpec
    notes: list

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
    """The folder's table, task and datafit from the footers (no data read): least
    squares on a numeric target only."""
    from ..parquet_folder import open_folder

    if s.impute != "none":
        raise ValueError("--impute needs the whole table in memory: the Dask route reads "
                         "every value as is (fit without --dask)")
    if s.task == "classification":
        raise ValueError("--dask on a Parquet folder fits least squares (regression); for "
                         "classification, fit the folder without --dask")
    notes: list[str] = []
    folder = open_folder(s.data, s.target, drop=s.drop, notes=notes)
    if s.cv > folder.shape[0]:
        raise ValueError(f"--cv {s.cv} needs at least {s.cv} rows, found {folder.shape[0]}")
    names = list(folder.features)
    spec = TableSpec(target=s.target, numeric=names, categorical={},
                     set_aside=dict(folder.set_aside), feature_names=names)
    return FolderTable(folder, spec, notes), "regression", LeastSquares()


def folder_model(table: FolderTable, datafit, penalty, s, ratio, client, progress):
    """:class:`~._model.ModelRun` of the folder: CV on the folds' moments, then the
    scales, training means and cross-validated metrics from the same moments."""
    from ...workflows.cv import GridEdgeWarning, cross_validate
    from ...workflows.sufficient import _sum
    from ._model import ModelRun, _splitter, snap_negligible

    start = time.perf_counter()
    splitter = _splitter(s.cv, "regression", s.seed)
    name = f"{type(datafit).__name__} + {penalty.name}"

    def tick(done: int, total: int) -> None:
        fold = (done - 1) // s.n_alphas
        progress(done, total, f"{name}: " + (f"fold {fold + 1}/{s.cv}" if fold < s.cv
                                             else "full data"))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridEdgeWarning)  # the caller words its own
        result = cross_validate(table.folder, None, datafit, penalty, cv=splitter,
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
