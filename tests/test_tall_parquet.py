"""A folder of Parquet files fitted by the workers, never read whole (issue 17, section
2): ``penalized fit DIR --target y --dask local:2`` equals the in-memory fit; the
folder's footers are checked before any work; the in-memory read goes by columns."""

from __future__ import annotations

import json
import types

import numpy as np
import pytest
from sklearn.model_selection import KFold

import penalized as pz
from penalized.app.cli import main
from penalized.app.parquet_folder import open_folder, read_parquet_frame

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

P = 6


def _table(n=900, seed=0):
    rng = np.random.default_rng(seed)
    # means far from zero and unequal scales: the moments are merged centered
    X = rng.standard_normal((n, P)) * rng.uniform(0.5, 3.0, P) + 20.0
    y = X[:, :3] @ np.array([1.0, -2.0, 0.5]) + rng.standard_normal(n)
    columns = {f"f{j}": X[:, j] for j in range(P)}
    columns["n_int"] = rng.integers(0, 5, n)  # an integer feature
    columns["y"] = y
    return pa.table(columns)


@pytest.fixture()
def folder(tmp_path):
    """Three files of uneven sizes and row groups, and the same rows as one file."""
    table = _table()
    root = tmp_path / "parts"
    root.mkdir()
    for i, (start, stop, group) in enumerate([(0, 210, 70), (210, 640, 200), (640, 900, 47)]):
        pq.write_table(table.slice(start, stop - start), root / f"part-{i}.parquet",
                       row_group_size=group)
    whole = tmp_path / "whole.parquet"
    pq.write_table(table, whole)
    return root, whole, table


def _fit(argv, capsys):
    code = main(["fit", *map(str, argv), "--json", "--no-report", "--quiet", "--cv", "4",
                 "--n-alphas", "30", "--tol", "1e-12"])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else None), captured.err


def _path(model_dir):
    saved = np.load(next(model_dir.glob("arrays*.npz")))
    return saved["alphas"], saved["path_coefs"], saved["path_intercepts"]


def _objectives(X, y, alphas, coefs, intercepts):
    """Least squares + L1 objective of every path fit on the data."""
    residual = y[None, :] - coefs @ X.T - intercepts[:, None]
    return 0.5 * np.mean(residual**2, axis=1) + alphas * np.abs(coefs).sum(axis=1)


def test_cli_dask_on_a_parquet_folder_equals_the_in_memory_fit(folder, tmp_path, capsys):
    root, whole, table = folder
    code, tall, err = _fit([root, "--target", "y", "--dask", "local:2", "--out",
                            tmp_path / "tall"], capsys)
    assert code == 0, err
    code, memory, err = _fit([whole, "--target", "y", "--out", tmp_path / "memory"], capsys)
    assert code == 0, err
    frame = table.to_pandas()
    X, y = frame.drop(columns="y").to_numpy(float), frame["y"].to_numpy()
    assert tall["alpha"] == pytest.approx(memory["alpha"], rel=1e-12)
    alphas, coefs, intercepts = _path(tmp_path / "tall")
    alphas_memory, *fits = _path(tmp_path / "memory")
    np.testing.assert_allclose(alphas, alphas_memory, rtol=1e-12)
    np.testing.assert_allclose(_objectives(X, y, alphas, coefs, intercepts),
                               _objectives(X, y, alphas, *fits), rtol=1e-10)
    assert tall["rows_used"] == memory["rows_used"] == 900
    assert tall["cv_score"] == pytest.approx(memory["cv_score"], rel=1e-9)
    for name in ("R2", "RMSE"):  # out-of-fold metrics from the held-out moments
        assert tall["cv_metrics"][name] == pytest.approx(memory["cv_metrics"][name], rel=1e-7)
    assert tall["coefficients"].keys() == memory["coefficients"].keys()
    for key, value in memory["coefficients"].items():
        assert tall["coefficients"][key] == pytest.approx(value, rel=1e-7, abs=1e-10)


def test_folder_moments_equal_the_in_memory_cross_validation(folder):
    """The route the workers run, here without a cluster: every fold score and the
    full-data path equal the in-memory Gram route and the per-fold route."""
    root, _, table = folder
    frame = table.to_pandas()
    X, y = frame.drop(columns="y").to_numpy(float), frame["y"].to_numpy()
    options = {"cv": KFold(5, shuffle=True, random_state=3), "n_alphas": 15, "tol": 1e-12,
               "standardize": True}
    tall = pz.cross_validate(open_folder(str(root), "y"), None, **options)
    per_fold = pz.cross_validate(X, y, precompute=False, **options)
    np.testing.assert_allclose(tall.fold_scores, per_fold.fold_scores, rtol=1e-10)
    np.testing.assert_allclose(tall.path.coefs, per_fold.path.coefs, rtol=1e-8, atol=1e-10)
    path = pz.path(open_folder(str(root), "y"), None, n_alphas=10, tol=1e-12)
    np.testing.assert_allclose(path.objectives,
                               pz.path(X, y, n_alphas=10, tol=1e-12).objectives, rtol=1e-10)


def test_in_memory_reads_of_a_folder_a_glob_and_a_file_agree(folder):
    from penalized.app.io import read_table

    root, whole, table = folder
    expected = table.to_pandas()
    for source in (root, str(root / "part-*.parquet"), whole):
        frame = read_table(str(source))
        assert list(frame.columns) == list(expected.columns)
        np.testing.assert_array_equal(frame.to_numpy(float), expected.to_numpy(float))
    assert read_parquet_frame([str(whole)])["n_int"].dtype.kind == "i"


@pytest.mark.parametrize("change, args, message", [
    ("text", [], "'name' (string) are not numeric"),
    ("null", [], "missing values in column(s) 'f1' (1 rows)"),
    ("schema", [], "other columns or types"),
    (None, ["--task", "classification"], "fewer than the 4 folds"),
    (None, ["--impute", "mean"], "--impute needs the whole table"),
    (None, ["--categorical", "f0"], "--categorical needs the whole table"),
    (None, ["--drop", "nope"], "--drop column 'nope' not found"),
])
def test_folder_problems_are_one_clear_error_before_any_work(tmp_path, capsys, change, args,
                                                             message):
    table = _table(n=60)
    root = tmp_path / "parts"
    root.mkdir()
    second = table.slice(30)
    if change == "text":
        table = table.append_column("name", pa.array(["a"] * table.num_rows))
        second = table.slice(30)
    elif change == "null":
        second = second.set_column(1, "f1", pa.array([None] + [1.0] * 29, pa.float64()))
    elif change == "schema":
        second = second.drop_columns(["f0"])
    pq.write_table(table.slice(0, 30), root / "a.parquet")
    pq.write_table(second, root / "b.parquet")
    code, _, err = _fit([root, "--target", "y", "--dask", "local:2", *args,
                         "--out", tmp_path / "m"], capsys)
    assert code == 2 and message in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("dask", [[], ["--dask", "local:2"]])
def test_unreadable_or_absent_parquet_files_are_one_clear_error(tmp_path, capsys, dask):
    root = tmp_path / "parts"
    root.mkdir()
    (root / "a.parquet").write_bytes(b"a,b\n")
    code, _, err = _fit([root, "--target", "y", *dask, "--out", tmp_path / "m"], capsys)
    assert code == 2 and "a.parquet is not a readable Parquet file" in err, err
    code, _, err = _fit([tmp_path / "none" / "*.parquet", "--target", "y", *dask], capsys)
    assert code == 2 and "no Parquet files" in err, err


def _class_folder(tmp_path, n=600, n_classes=2, seed=1):
    """Text class labels from a linear model of three of six features (means far from
    zero), in files of uneven sizes and row groups, and the same rows as one file."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, P)) * rng.uniform(0.5, 3.0, P) + 20.0
    scores = (X[:, :3] - 20.0) @ rng.standard_normal((3, n_classes))
    noisy = scores + rng.gumbel(size=scores.shape)
    labels = np.array([f"class {c}" for c in "abcdef"[:n_classes]])[noisy.argmax(axis=1)]
    table = pa.table({**{f"f{j}": X[:, j] for j in range(P)}, "label": labels})
    root = tmp_path / "parts"
    root.mkdir()
    for i, (start, stop, group) in enumerate([(0, 150, 40), (150, 420, 270), (420, n, 90)]):
        pq.write_table(table.slice(start, stop - start), root / f"part-{i}.parquet",
                       row_group_size=group)
    pq.write_table(table, tmp_path / "whole.parquet")
    return root, tmp_path / "whole.parquet"


def _same_fit(tall, memory):
    assert tall["task"] == memory["task"] == "classification"
    assert tall["classes"] == memory["classes"]
    assert tall["alpha"] == pytest.approx(memory["alpha"], rel=1e-12)
    assert tall["cv_score"] == pytest.approx(memory["cv_score"], rel=1e-7)
    for name, value in memory["cv_metrics"].items():  # out-of-fold, one more pass
        assert tall["cv_metrics"][name] == pytest.approx(value, rel=1e-6)
    assert tall["coefficients"].keys() == memory["coefficients"].keys()
    for key, value in memory["coefficients"].items():
        assert tall["coefficients"][key] == pytest.approx(value, rel=1e-5, abs=1e-8)


@pytest.mark.parametrize("n_classes", [2, pytest.param(3, marks=pytest.mark.slow)])
def test_cli_dask_classifies_a_parquet_folder_as_in_memory(tmp_path, capsys, n_classes):
    """Text labels on a folder: the task inferred from the target, stratified folds,
    proximal Newton on the row groups (logistic; multinomial for three classes); the
    model, CV score and out-of-fold metrics equal the in-memory fit of the same rows."""
    root, whole = _class_folder(tmp_path, n_classes=n_classes)
    options = ["--target", "label", "--cv", "3", "--n-alphas", "12", "--tol", "1e-10"]
    # (with a checkpoint of every path: stored as it runs)
    store = ["--checkpoint", tmp_path / "ck"]
    code, tall, err = main_json(["fit", root, *options, "--dask", "local:2", *store,
                                 "--out", tmp_path / "tall"], capsys)
    assert code == 0, err
    assert len(list((tmp_path / "ck").glob("newton-*"))) == 4  # 3 folds + full
    code, memory, err = main_json(["fit", whole, *options, "--out", tmp_path / "mem"], capsys)
    assert code == 0, err
    _same_fit(tall, memory)
    assert set(tall["cv_metrics"]) >= {"accuracy", "log_loss", "AUC"}
    # the columns' means (the fill for predictions) from the out-of-fold pass
    manifest = json.loads((tmp_path / "tall" / "manifest.json").read_text())
    frame = pq.read_table(whole).to_pandas()
    for column, value in manifest["features"]["training_fill"].items():
        assert value == pytest.approx(frame[column].mean(), rel=1e-12)


def main_json(argv, capsys):
    code = main([*map(str, argv), "--json", "--no-report", "--quiet"])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else None), captured.err


@pytest.mark.parametrize("values, task", [([0, 1], "classification"),
                                          ([True, False], "classification"),
                                          ([0.5, 1.5, 2.5], "regression")])
def test_a_folder_task_is_inferred_from_its_target_as_in_memory(tmp_path, values, task):
    """A 0/1 target on a folder is a classification (it was fitted by least squares)."""
    from penalized.app.cli._tall import folder_inputs
    from penalized.app.cli.fit import infer_task

    table = _table(n=60).drop_columns(["y"])
    target = np.resize(np.array(values), 60)
    table = table.append_column("y", pa.array(target))
    pq.write_table(table, tmp_path / "a.parquet")
    settings = types.SimpleNamespace(impute="none", categorical=(), data=str(tmp_path),
                                     target="y", drop=(), cv=3, task="auto")
    folder, found, datafit = folder_inputs(settings)
    assert found == task == infer_task(target, "auto")
    assert datafit.quadratic == (task == "regression")
