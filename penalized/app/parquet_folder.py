"""A folder (or glob) of Parquet files read by the workers, never as a whole.

:class:`ParquetFolder` is what ``penalized fit DIR --target y --dask ...`` fits: the
client reads only the files' footers (schema, row counts, null counts), and every
file is reduced where a worker reads it, row group by row group in batches of
:data:`BATCH_ROWS` rows, to the :class:`~penalized.workflows.sufficient.Moments` of
its rows in every held-out fold, the next row group read in a thread meanwhile. A
worker holds two row groups and one batch plus ``(p + 1)^2`` numbers per fold; the
client holds the footers and one fold label per row (1 byte, against ``8 (p + 1)``
for the row itself; the target's distinct values are read a row group at a time:
:func:`target_sample`). ``pz.cross_validate(ParquetFolder(...), None)``
then runs the path and the cross-validation on the Gram forms of least squares
(:mod:`penalized.workflows.tall`), exactly as for the same table in memory.

Other datafits (logistic, multinomial, Poisson) take a pass per proximal-Newton step:
:func:`feature_array` gives the same files as a Dask array, and the target comes to the
client (:func:`read_target`: class labels of any type).

What this route reads: numeric and boolean feature columns, used as they are. It
refuses, naming the columns, what would need the whole table first: text features
(their levels), missing values (imputation). Without ``--dask`` the same folder is read
in memory (:func:`read_folder`), by columns, after a check that it fits.
"""

from __future__ import annotations

import dataclasses
import glob
import os

import numpy as np

#: rows per batch a worker converts at a time: bounds its temporary floats to
#: ``BATCH_ROWS x (p + 1) x 8`` bytes (53 MB for 100 columns) while keeping every
#: product of the moments large enough for BLAS
BATCH_ROWS = 65536
#: peak memory of the in-memory read and fit over the table's float64 size
#: (bench/bench_memory.py --cli measures it), with a margin; a folder needing more than
#: the available memory is refused with a pointer to --dask
IN_MEMORY_FACTOR = 4.0
PARQUET_SUFFIXES = (".parquet", ".pq")


def is_parquet_folder(path: str) -> bool:
    """A folder, or a glob pattern (``*`` ``?`` ``[``) that names files."""
    if os.path.isfile(path):  # a file name may hold a bracket
        return False
    return os.path.isdir(path) or any(c in os.path.basename(path) for c in "*?[")


def parquet_files(path: str) -> list[str]:
    """The Parquet files of a folder (recursively, sorted) or of a glob (sorted)."""
    if os.path.isdir(path):
        files = [os.path.join(root, name) for root, _, names in os.walk(path)
                 for name in names if name.lower().endswith(PARQUET_SUFFIXES)
                 and not name.startswith((".", "_"))]
    else:
        files = [f for f in glob.glob(path, recursive=True)
                 if os.path.isfile(f) and f.lower().endswith(PARQUET_SUFFIXES)]
    if not files and os.path.isdir(path):
        raise ValueError(f"{path} is a folder without Parquet files (*.parquet, *.pq), "
                         "not a data file")
    if not files:
        raise FileNotFoundError(f"no Parquet files (*.parquet, *.pq) match {path}")
    return sorted(files)


@dataclasses.dataclass(frozen=True)
class ParquetFolder:
    """The files, the columns used and the rows of each file (from the footers).

    Declares ``moments_source``: :func:`penalized.cross_validate` and
    :func:`penalized.path` call :meth:`fold_moments` instead of reading X.
    """

    files: tuple[str, ...]
    features: tuple[str, ...]
    target: str
    rows: tuple[int, ...]
    set_aside: dict
    #: every list of fold moments :meth:`fold_moments` returned (a pure function of the
    #: files and labels), kept for the caller's column scales, means and metrics
    computed: list = dataclasses.field(default_factory=list, compare=False, repr=False)
    moments_source = True

    @property
    def shape(self) -> tuple[int, int]:
        return (int(sum(self.rows)), len(self.features))

    @property
    def columns(self) -> tuple[str, ...]:
        return self.features

    def fold_moments(self, labels: np.ndarray, n_folds: int, client=None) -> list:
        """The moments of every held-out fold (``labels``: a fold per row, files in
        order): one task per file on ``client``'s cluster, merged in a tree."""
        from ..workflows.sufficient import _sum

        offsets = np.concatenate([[0], np.cumsum(self.rows)])
        args = [(f, self.features, self.target, labels[offsets[i]:offsets[i + 1]], n_folds)
                for i, f in enumerate(self.files)]
        if client is None:
            parts = [file_moments(*a) for a in args]
        else:  # pure tasks: a worker lost mid-run is replaced and the file read again
            futures = [client.submit(file_moments, *a, pure=False, retries=2) for a in args]
            parts = client.gather(futures)
        tests = [_sum([part[k] for part in parts]) for k in range(n_folds)]
        self.computed.append(tests)
        return tests


def file_moments(path: str, features, target: str, labels: np.ndarray, n_folds: int
                 ) -> list:
    """One file's moments in every held-out fold, batch by batch (runs on a worker)."""
    import contextlib

    import pyarrow.parquet as pq

    from ..core.threads import single_blas_thread
    from ..workflows.sufficient import _empty, _sum

    names = [*features, target]
    parts: list[list] = [[] for _ in range(n_folds)]
    start = 0
    # one float buffer for every batch (a fresh array per batch would pay its page
    # faults again each time)
    buffer = np.empty((BATCH_ROWS, len(names)), order="F")
    # one BLAS thread: a pool spinning on busy cores made these products 17x slower;
    # the batches closed before the file: no read-ahead thread outlives an error
    with pq.ParquetFile(path, pre_buffer=False) as handle, single_blas_thread(), \
            contextlib.closing(_batches(handle, names, path)) as batches:
        for batch in batches:
            part = labels[start:start + batch.num_rows]
            start += batch.num_rows
            _reduce(batch, names, path, part, buffer[:batch.num_rows], parts)
    if start != labels.shape[0]:
        raise ValueError(f"{path} changed while it was read: {start} rows, its footer said "
                         f"{labels.shape[0]}")
    return [_sum(p) if p else _empty(len(names)) for p in parts]


def _reduce(batch, names, path: str, part: np.ndarray, out: np.ndarray, parts: list) -> None:
    """Append each fold's moments of the batch's rows (``part``: their folds) to
    ``parts[fold]``; ``out``: the batch's float scratch. A missing, NaN or infinite value
    is an error naming the column and the file: such a value makes its column's mean
    non-finite (sums never return to finite), so the means are the check."""
    from ..workflows.sufficient import stacked_moments

    # rows grouped by fold: each fold's rows are one slice of out (a stable sort of
    # the smallest unsigned type: numpy's radix sort, the same order as before)
    order = np.argsort(part.astype(np.min_scalar_type(len(parts) - 1)), kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(part, minlength=len(parts)))])
    _floats(batch, names, path, order, out)
    finite = np.ones(len(names), dtype=bool)
    for k, fold in enumerate(parts):
        if bounds[k + 1] > bounds[k]:
            rows = out[bounds[k]:bounds[k + 1]]
            with np.errstate(invalid="ignore", over="ignore"):  # (raised below)
                fold.append(stacked_moments(rows, np.ones(rows.shape[0])))
            finite &= np.isfinite(fold[-1].mean)
    if not finite.all():
        raise ValueError(f"column {names[int(np.flatnonzero(~finite)[0])]!r} of {path} has "
                         "a NaN or infinite value (or values too large to sum)")


def read_target(folder: ParquetFolder) -> np.ndarray:
    """The target column of every file, in order (read here: one value per row)."""
    import pyarrow.parquet as pq

    return np.concatenate([pq.read_table(f, columns=[folder.target])
                           .column(folder.target).to_numpy() for f in folder.files])


def target_sample(folder: ParquetFolder, cap: int = 3) -> np.ndarray | None:
    """The target's distinct values (NaN aside) when there are at most ``cap``, else
    ``cap + 1`` of them; None when the target is not numeric (or boolean) as
    :func:`read_target` gives it. Read row group by row group, stopping at the first
    beyond ``cap``: the client holds one row group of the column, never a value per row.
    Whatever the task inference asks of a numeric target (its type, whether it holds two
    values) it answers as the whole column would."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    distinct: set = set()
    for path in folder.files:
        with pq.ParquetFile(path, pre_buffer=False) as handle:
            for group in range(handle.metadata.num_row_groups):
                try:
                    column = handle.read_row_group(group, columns=[folder.target])
                except (pa.ArrowException, OSError) as exc:  # a damaged page
                    raise ValueError(f"{path} is not a readable Parquet file (row group "
                                     f"{group}): {exc}") from None
                values = column.column(folder.target).to_numpy()
                if values.dtype.kind not in "iuf":  # (text, booleans, decimals: read whole)
                    return None
                distinct.update(np.unique(values[~np.isnan(values)] if values.dtype.kind
                                          == "f" else values).tolist())
                if len(distinct) > cap:
                    return np.array(list(distinct)[:cap + 1])
    return np.array(sorted(distinct))


def feature_array(folder: ParquetFolder):
    """The feature columns as a Dask array of float64, read where a task needs them (the
    proximal-Newton route takes a pass per outer step): a chunk is a file's consecutive
    row groups up to at least :data:`BATCH_ROWS` rows (a task per tiny row group would
    cost more in scheduling than in arithmetic)."""
    import dask
    import dask.array as da
    import pyarrow.parquet as pq

    p = len(folder.features)
    chunks = []
    for path in folder.files:
        meta = pq.read_metadata(path)
        groups, rows = [], 0
        for group in range(meta.num_row_groups):
            groups.append(group)
            rows += meta.row_group(group).num_rows
            if rows >= BATCH_ROWS or group == meta.num_row_groups - 1:
                if rows:
                    block = dask.delayed(_row_groups, pure=True)(path, groups, folder.features)
                    chunks.append(da.from_delayed(block, shape=(rows, p), dtype=float))
                groups, rows = [], 0
    return da.concatenate(chunks, axis=0)


def _row_groups(path: str, groups: list, features) -> np.ndarray:
    """Row groups' feature columns as float64 (runs on a worker)."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path, pre_buffer=False) as handle:
        table = handle.read_row_groups(groups, columns=list(features))
    out = _floats(table, list(features), path, np.arange(table.num_rows))
    if not np.all(np.isfinite(out)):
        bad = features[int(np.flatnonzero(~np.isfinite(out).all(axis=0))[0])]
        raise ValueError(f"column {bad!r} of {path} has an infinite value")
    return out


def _batches(handle, columns, path: str):
    """Record batches of at most BATCH_ROWS rows, one row group read at a time (pyarrow's
    ``iter_batches`` buffered whole files: 690 MB of Arrow memory for a 400 MB file),
    the next one read in a thread (:func:`read_ahead`) while these are reduced."""
    import pyarrow as pa

    def read(group: int):
        try:
            table = handle.read_row_group(group, columns=columns)
        except (pa.ArrowException, OSError) as exc:  # a damaged page
            raise ValueError(f"{path} is not a readable Parquet file (row group {group}): "
                             f"{exc}") from None
        missing = [c for c in columns if c not in table.column_names]  # (no error above)
        if missing:
            raise ValueError(f"{path} changed while it was read: row group {group} has no "
                             f"column {missing[0]!r}")
        return table

    for table in read_ahead(read, handle.metadata.num_row_groups):
        yield from table.to_batches(BATCH_ROWS)


def read_ahead(read, count: int):
    """``read(0), ..., read(count - 1)``, each started in a thread while the caller uses
    the one before (pyarrow reads and decodes without the GIL, so the disk works while
    the caller reduces): at most one result beyond the caller's is held. A read's error
    is raised here, in the caller's thread; closing the generator waits for the read
    under way, so that no thread outlives it."""
    from concurrent.futures import ThreadPoolExecutor

    if count == 0:
        return
    with ThreadPoolExecutor(1, thread_name_prefix="penalized-read-ahead") as pool:
        ahead = pool.submit(read, 0)
        for i in range(count):
            current = ahead.result()
            ahead = pool.submit(read, i + 1) if i + 1 < count else None
            yield current


def _floats(batch, names, path: str, order: np.ndarray, out: np.ndarray | None = None
            ) -> np.ndarray:
    """The named columns of a record batch, rows taken in ``order``, as a float64
    Fortran array (each column written whole; into ``out`` when given); a missing value
    is an error naming the column and the file."""
    import pyarrow as pa

    if out is None:
        out = np.empty((batch.num_rows, len(names)), order="F")
    for j, name in enumerate(names):
        column = batch.column(name)
        if column.null_count:
            raise ValueError(f"column {name!r} of {path} has missing values: the Dask route "
                             "reads every value as is (clean the files, or fit without "
                             "--dask and with --impute)")
        np.take(column.cast(pa.float64()).to_numpy(zero_copy_only=False), order,
                out=out[:, j])
    return out


# ---- the client side: footers only -----------------------------------------------------
def open_folder(path: str, target: str, drop=(), notes: list | None = None,
                numeric_target: bool = True) -> ParquetFolder:
    """A :class:`ParquetFolder` from the files' footers: one schema across the files,
    numeric features, a numeric target (any type with ``numeric_target=False``: class
    labels), no missing values (by the footers' counts)."""
    import pyarrow.parquet as pq

    from .io import _did_you_mean

    files = parquet_files(path)
    schema, rows, nulls = None, [], {}
    for f in files:
        try:
            meta = pq.read_metadata(f)
            file_schema = pq.read_schema(f)
        except Exception as exc:  # pyarrow raises many types; name the file
            raise ValueError(f"{f} is not a readable Parquet file: {exc}") from None
        if schema is None:
            schema = file_schema
        elif not file_schema.remove_metadata().equals(schema.remove_metadata()):
            raise ValueError(f"{f} has other columns or types than {files[0]}: "
                             "every file of the folder needs the same schema")
        rows.append(meta.num_rows)
        _count_nulls(meta, nulls)
    names = [n for n in schema.names if n not in _pandas_index(schema)]
    if target not in names:
        raise ValueError(_did_you_mean(target, names))
    drop = list(dict.fromkeys(drop or ()))
    for name in drop:
        if name not in names:
            raise ValueError(_did_you_mean(name, names, "--drop column"))
    features = tuple(n for n in names if n != target and n not in drop)
    _check_types(schema, [*features, target] if numeric_target else features)
    if not features:
        raise ValueError(f"no usable feature columns besides the target {target!r}")
    missing = {n: c for n, c in nulls.items() if c and n in (*features, target)}
    if missing:
        shown = ", ".join(f"{n!r} ({c} rows)" for n, c in list(missing.items())[:8])
        raise ValueError(f"missing values in column(s) {shown}: the Dask route reads every "
                         "value as is (clean the files, or fit without --dask)")
    if sum(rows) == 0:
        raise ValueError(f"{path}: the Parquet files have no rows")
    set_aside = {n: "dropped by --drop" for n in drop}
    if notes is not None:
        notes.append(f"{len(files)} Parquet file(s), {sum(rows)} rows, read by the workers "
                     f"in batches of {BATCH_ROWS} rows")
        notes.extend(f"column {n!r} set aside: {why}" for n, why in set_aside.items())
    return ParquetFolder(tuple(files), features, target, tuple(rows), set_aside)


def _pandas_index(schema) -> set:
    """Columns that pandas wrote for a DataFrame's index (not data)."""
    import json

    meta = (schema.metadata or {}).get(b"pandas")
    if not meta:
        return set()
    return {c for c in json.loads(meta).get("index_columns", []) if isinstance(c, str)}


def _count_nulls(meta, nulls: dict) -> None:
    """Add each column's null count from the row groups' statistics (when written)."""
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            column = group.column(c)
            stats = column.statistics
            if stats is not None and stats.has_null_count:
                name = column.path_in_schema
                nulls[name] = nulls.get(name, 0) + stats.null_count


def _check_types(schema, names) -> None:
    import pyarrow.types as t

    bad = [f"{n!r} ({schema.field(n).type})" for n in names
           if not any(check(schema.field(n).type) for check in
                      (t.is_integer, t.is_floating, t.is_boolean, t.is_decimal))]
    if bad:
        raise ValueError(f"column(s) {', '.join(bad[:8])} are not numeric: the Dask route "
                         "reads numbers only (no one-hot encoding without a pass over the "
                         "whole table); --drop them, or fit without --dask")


# ---- in memory, by column groups ---------------------------------------------------------
#: columns converted at a time when a Parquet table is read in memory: the Arrow copy of
#: a group is freed before the next (a whole-table read peaked at 2.6x the table)
COLUMN_GROUP = 8


def read_parquet_frame(files: list[str]):
    """The rows of ``files`` (in order) as a pandas DataFrame, read by groups of
    :data:`COLUMN_GROUP` columns: every numeric column is copied out of Arrow's memory,
    whose pool is then asked to give the freed memory back to the system."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = [n for n in pq.read_schema(files[0]).names
             if n not in _pandas_index(pq.read_schema(files[0]))]
    columns = {}
    for i in range(0, len(names), COLUMN_GROUP):
        group = names[i:i + COLUMN_GROUP]
        table = pa.concat_tables([pq.read_table(f, columns=group) for f in files])
        for name in group:
            series = table.column(name).to_pandas()
            if series.dtype.kind in "biuf":  # own the numbers: the Arrow buffer can go
                series = pd.Series(series.to_numpy(copy=True), name=name)
            columns[name] = series
        del table
        pa.default_memory_pool().release_unused()
    return pd.DataFrame(columns, copy=False)


def read_folder(path: str):
    """A folder or glob of Parquet files in memory (:func:`read_parquet_frame`), after a
    check that the table fits: a clear error pointing to ``--dask`` when it would not."""
    import pyarrow.parquet as pq

    files = parquet_files(path)
    schemas = [_schema(f).remove_metadata() for f in files]
    for f, schema in zip(files[1:], schemas[1:], strict=True):
        if not schema.equals(schemas[0]):
            raise ValueError(f"{f} has other columns or types than {files[0]}: every file "
                             "of the folder needs the same schema")
    rows = sum(pq.read_metadata(f).num_rows for f in files)
    needed = IN_MEMORY_FACTOR * rows * len(schemas[0].names) * 8
    available = _available_memory()
    if available is not None and needed > available:
        raise ValueError(
            f"{path}: {rows} rows x {len(schemas[0].names)} columns need about "
            f"{needed / 2**30:.1f} GiB in memory, {available / 2**30:.1f} GiB are available: "
            "fit it with --dask local:N (read by the workers, never whole) or a cluster")
    return read_parquet_frame(files)


def _schema(path: str):
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(path)
    except Exception as exc:  # pyarrow raises many types; name the file
        raise ValueError(f"{path} is not a readable Parquet file: {exc}") from None


def _available_memory() -> float | None:
    try:
        import psutil
    except ImportError:
        return None
    return float(psutil.virtual_memory().available)

