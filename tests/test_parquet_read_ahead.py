"""The folder pass reads the next row group in a thread while the current one is reduced
(issue 17, part (b)): the moments are bit for bit those of a plain synchronous
reduction, at most one row group is read ahead, and an error in a later row group is
one clear error naming the file, with no reading thread left behind."""

from __future__ import annotations

import contextlib
import json
import threading
import time

import numpy as np
import pytest

from penalized.app import parquet_folder
from penalized.app.cli import main
from penalized.app.parquet_folder import file_moments, read_ahead
from penalized.workflows.sufficient import _empty, _sum, stacked_moments

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

P, FOLDS = 5, 4
NAMES = [f"x{j}" for j in range(P)]


def _write(path, n=1000, group=150, seed=0, bad=None):
    """A file of ``n`` rows in row groups of ``group`` (features with means far from
    zero, an integer one, y); ``bad = (row, column, value)`` puts one value in."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, P)) * rng.uniform(0.5, 3.0, P) + 10.0
    y = X @ rng.standard_normal(P) + rng.standard_normal(n)
    columns = {name: X[:, j] for j, name in enumerate(NAMES)}
    columns["k"] = rng.integers(0, 7, n)
    columns["y"] = y
    if bad is not None:
        row, name, value = bad
        columns[name] = columns[name].astype(float)
        columns[name][row] = value
    pq.write_table(pa.table(columns), path, row_group_size=group, use_dictionary=False,
                   compression="none")
    return X, columns["k"], y


def _labels(n, seed=1):
    return np.random.default_rng(seed).integers(0, FOLDS, n).astype(np.int32)


def _reading_threads():
    return [t for t in threading.enumerate() if t.name.startswith("penalized-read-ahead")]


def _synchronous(path, names, labels):
    """The reduction without read-ahead: each row group read, then its batches sorted
    by fold and reduced, in the same order."""
    parts, start = [[] for _ in range(FOLDS)], 0
    handle = pq.ParquetFile(path)
    for group in range(handle.metadata.num_row_groups):
        table = handle.read_row_group(group, columns=names)
        for batch in table.to_batches(parquet_folder.BATCH_ROWS):
            part = labels[start:start + batch.num_rows]
            start += batch.num_rows
            order = np.argsort(part, kind="stable")
            Z = np.asfortranarray(np.column_stack(
                [batch.column(n).to_numpy().astype(float)[order] for n in names]))
            sizes = np.bincount(part, minlength=FOLDS)
            for k, stop in enumerate(np.cumsum(sizes)):
                if sizes[k]:
                    rows = Z[stop - sizes[k]:stop]
                    parts[k].append(stacked_moments(rows, np.ones(sizes[k])))
    return [_sum(p) if p else _empty(len(names)) for p in parts]


def test_read_ahead_moments_equal_a_synchronous_reduction_bit_for_bit(tmp_path,
                                                                       monkeypatch):
    # batches of 64 rows: several per row group of 150, the last one partial
    monkeypatch.setattr(parquet_folder, "BATCH_ROWS", 64)
    path = str(tmp_path / "a.parquet")
    X, k, y = _write(path)
    labels = _labels(1000)
    got = file_moments(path, [*NAMES, "k"], "y", labels, FOLDS)
    expected = _synchronous(path, [*NAMES, "k", "y"], labels)
    Z = np.column_stack([X, k, y])
    for fold, (moments, reference) in enumerate(zip(got, expected, strict=True)):
        assert moments.count == reference.count and moments.weight == reference.weight
        np.testing.assert_array_equal(moments.mean, reference.mean)
        np.testing.assert_array_equal(moments.comoment, reference.comoment)
        rows = Z[labels == fold]  # and the closed form, from the rows in memory
        np.testing.assert_allclose(moments.mean, rows.mean(axis=0), rtol=1e-13)
        np.testing.assert_allclose(moments.comoment, np.cov(rows.T) * (len(rows) - 1),
                                   rtol=1e-9, atol=1e-9)
    assert not _reading_threads()


def test_read_ahead_reads_the_next_item_in_a_thread_while_the_caller_works():
    started, next_started = [], threading.Event()
    callers = threading.get_ident()

    def read(i):
        assert threading.get_ident() != callers
        started.append(i)
        if i == 1:
            next_started.set()
        return i * 10

    items = []
    for j, item in enumerate(read_ahead(read, 4)):
        if j == 0:  # item 1 is read while the caller still works on item 0
            assert next_started.wait(10), "the next item was not read ahead"
        time.sleep(0.05)  # (time for a reader that would run further ahead)
        assert max(started) <= j + 1, f"read({max(started)}) while the caller holds {j}"
        items.append(item)
    assert items == [0, 10, 20, 30] and started == [0, 1, 2, 3]
    assert list(read_ahead(read, 0)) == []
    assert not _reading_threads()


def test_a_callers_error_waits_for_the_read_under_way():
    finished = []

    def read(i):
        time.sleep(0.2)
        finished.append(i)
        return i

    with pytest.raises(RuntimeError, match="reduce"):
        with contextlib.closing(read_ahead(read, 5)) as items:  # as file_moments does
            for _ in items:
                raise RuntimeError("reduce failed")
    # the read of item 1 was under way and is waited for; item 2 is never read
    assert finished == [0, 1]
    assert not _reading_threads()


def _damage_row_group(path, group):
    """Overwrite the first page header of ``group``'s first column with garbage."""
    offset = pq.ParquetFile(path).metadata.row_group(group).column(0).data_page_offset
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(b"\xff" * 32)


def test_an_error_in_a_later_row_group_is_raised_naming_the_file(tmp_path):
    labels = _labels(1000)
    damaged = str(tmp_path / "damaged.parquet")
    _write(damaged)
    _damage_row_group(damaged, 4)
    with pytest.raises(ValueError, match=r"damaged\.parquet is not a readable Parquet file "
                                         r"\(row group 4\)"):
        file_moments(damaged, NAMES, "y", labels, FOLDS)
    assert not _reading_threads()
    with pytest.raises(ValueError, match=r"damaged\.parquet changed while it was read: row "
                                         "group 0 has no column 'gone'"):
        file_moments(damaged, [*NAMES, "gone"], "y", labels, FOLDS)
    assert not _reading_threads()
    for value, name in [(np.inf, "x3"), (np.nan, "y"), (-np.inf, "k")]:
        path = str(tmp_path / f"bad-{name}.parquet")
        _write(path, bad=(870, name, value))  # the sixth of seven row groups
        with pytest.raises(ValueError, match=rf"column '{name}' of .*bad-{name}\.parquet "
                                             "has a NaN or infinite value"):
            file_moments(path, [*NAMES, "k"], "y", labels, FOLDS)
        assert not _reading_threads()


def test_cli_dask_reports_a_damaged_row_group_in_one_line(tmp_path, capsys):
    root = tmp_path / "parts"
    root.mkdir()
    _write(root / "a.parquet", n=300, seed=2)
    _write(root / "b.parquet", n=600, seed=3)
    _damage_row_group(root / "b.parquet", 3)
    code = main(["fit", str(root), "--target", "y", "--dask", "local:2", "--json",
                 "--no-report", "--quiet", "--out", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "b.parquet is not a readable Parquet file (row group 3)" in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    # the folder itself is fine without the damage: the same command fits it
    _write(root / "b.parquet", n=600, seed=3)
    code = main(["fit", str(root), "--target", "y", "--dask", "local:2", "--json",
                 "--no-report", "--quiet", "--out", str(tmp_path / "m")])
    assert code == 0 and json.loads(capsys.readouterr().out)["rows_used"] == 900
