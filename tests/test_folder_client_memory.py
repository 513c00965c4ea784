"""``penalized fit DIR --target y --dask ...``: the client of a least-squares fit holds one
small fold label per row, never the target column or another per-row array (issue 17: "the
client never materializes X"); the task is still inferred from the target as in memory."""

from __future__ import annotations

import tracemalloc
import types

import numpy as np
import pytest

from penalized.app.cli import main

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

FILE_ROWS, GROUP_ROWS = 50_000, 10_000


def _write(root, n: int, p: int = 3, seed: int = 0):
    """A least-squares folder of ``n`` rows in files of FILE_ROWS rows (every file the
    same shape: what a worker holds per file does not change with ``n``)."""
    root.mkdir()
    rng = np.random.default_rng(seed)
    for i, start in enumerate(range(0, n, FILE_ROWS)):
        X = rng.standard_normal((min(FILE_ROWS, n - start), p)) + 5.0
        y = X @ np.arange(1.0, p + 1) + rng.standard_normal(X.shape[0])
        columns = {f"x{j}": X[:, j] for j in range(p)} | {"y": y}
        pq.write_table(pa.table(columns), root / f"part-{i:03d}.parquet",
                       row_group_size=GROUP_ROWS)
    return root


def _client_peak(root, tmp_path, monkeypatch) -> int:
    """tracemalloc's peak over the whole command, less what was held before it, with the
    cluster replaced by this process (``connect`` gives no client: the files are reduced
    here, one row group at a time, as a worker would)."""
    import penalized.workflows.distributed as distributed

    monkeypatch.setattr(distributed, "connect", lambda address: None)
    argv = ["fit", str(root), "--target", "y", "--dask", "local:2", "--cv", "5",
            "--n-alphas", "5", "--out", str(tmp_path / f"model-{root.name}"), "--force",
            "--json", "--no-report", "--quiet"]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        assert main(argv) == 0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - before


def test_the_client_of_a_folder_fit_holds_a_byte_per_row(tmp_path, monkeypatch, capsys):
    """From 100,000 to 1,000,000 rows the command's peak in this process grows by less than
    5 bytes a row: the shuffled folds' int32 permutation (freed once the labels are made)
    and the labels of one byte (measured: 2.8 bytes a row over the 100,000-row run's fixed
    3 MB). The target read here, its distinct values counted by a hash table, int32
    labels, or labels converted to intp, each add 4 bytes a row or more (the old client:
    48 here)."""
    small, large = 100_000, 1_000_000
    _client_peak(_write(tmp_path / "warm", 20_000), tmp_path, monkeypatch)  # (compiles)
    peaks = [_client_peak(_write(tmp_path / f"n{n}", n), tmp_path, monkeypatch)
             for n in (small, large)]
    capsys.readouterr()
    per_row = (peaks[1] - peaks[0]) / (large - small)
    assert per_row < 5, (peaks, per_row)


def _settings(root, task="auto"):
    return types.SimpleNamespace(impute="none", categorical=(), data=str(root), target="y",
                                 drop=(), cv=3, task=task)


@pytest.mark.parametrize("values, task", [
    ([1.5, 2.5, 1.5, np.nan], "auto"),   # two values and NaN: classes, as in memory
    ([3, 3, 3, 3], "auto"),                 # one value: least squares, as in memory
    ([0, 1, 0, 1], "regression"),           # a 0/1 target fitted by least squares
    ([0, 1, 0, 1], "auto"),
    (["a", "b", "a", "b"], "auto"),         # text: read whole, classes
])
def test_the_folder_task_is_decided_as_for_the_whole_column(tmp_path, values, task):
    """The task and datafit from the target's streamed distinct values are those of the
    whole column; the column comes to the client only for a datafit other than least
    squares. A third value in the last row group of the last file still makes a 0/1
    target a regression."""
    from penalized.app.cli._tall import folder_inputs
    from penalized.app.cli.fit import datafit_for, infer_task

    for last in (None, 7):
        root = tmp_path / f"{len(values)}-{task}-{last}"
        root.mkdir()
        target = np.resize(np.array(values, dtype=object if isinstance(values[0], str)
                                    else None), 120)
        if last is not None and not isinstance(values[0], str):
            target[-3:] = last  # (three rows: a class in every fold)
        for i in range(3):
            part = target[40 * i:40 * (i + 1)]
            pq.write_table(pa.table({"x0": np.arange(40.0) * (i + 1), "y": part}),
                           root / f"p{i}.parquet", row_group_size=15)
        expected = datafit_for(infer_task(target, task), target)
        table, found, datafit = folder_inputs(_settings(root, task))
        assert found == expected.task and type(datafit) is type(expected)
        assert (table.y is None) == datafit.quadratic
        if table.y is not None:
            np.testing.assert_array_equal(table.y, target)


def test_a_damaged_target_page_is_one_clear_error(tmp_path, capsys):
    """The target's distinct values are read on the client: a page that cannot be
    decoded there is an error naming the file and the row group, not a traceback."""
    root = tmp_path / "parts"
    root.mkdir()
    rng = np.random.default_rng(0)
    pq.write_table(pa.table({"x0": rng.random(10_000), "y": rng.random(10_000)}),
                   root / "a.parquet", compression="snappy")
    start = pq.read_metadata(root / "a.parquet").row_group(0).column(1).data_page_offset
    with open(root / "a.parquet", "r+b") as handle:  # the target's page header
        handle.seek(start + 2)
        handle.write(b"\xff" * 50)
    code = main(["fit", str(root), "--target", "y", "--dask", "local:2", "--out",
                 str(tmp_path / "model"), "--quiet"])
    err = capsys.readouterr().err
    assert code != 0 and "a.parquet is not a readable Parquet file (row group 0)" in err, err
    assert "Traceback" not in err and "unexpected" not in err
