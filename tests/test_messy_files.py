"""Messy files through ``penalized fit`` and ``predict``: every case ends with the exit code
it should, one line on stderr for an error, and nothing written when it fails.

Each case builds its files in a fresh folder, runs the command in-process and checks:
exit code; on failure exactly one ``penalized: error:`` line naming the problem, an empty
stdout and no file or folder added; on success the message (a note or a warning on
stderr) and a model folder that loads (fit) or a predictions file (predict).
"""

from __future__ import annotations

import io
import os

import numpy as np
import pandas as pd
import pytest

import penalized as pz
from penalized.app.cli import main

FAST = ["--cv", "3", "--n-alphas", "5", "--no-report"]


def table(n=40, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x1": rng.normal(10, 2, n).round(3),
                          "x2": rng.integers(1, 5, n),
                          "city": rng.choice(["Lyon", "Nice", "Paris"], n)})
    frame["y"] = (2 * frame["x1"] + frame["x2"] + rng.normal(0, 1, n)).round(3)
    frame["label"] = np.where(frame["y"] > frame["y"].median(), "high", "low")
    return frame


def csv(frame: pd.DataFrame, encoding: str = "utf-8", **kwargs) -> bytes:
    return frame.to_csv(index=False, **kwargs).encode(encoding)


def parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def edited(**changes):
    """The base table with some cells or columns replaced (value per column: a list or
    a callable of the frame)."""
    frame = table()
    for col, value in changes.items():
        frame[col] = value(frame) if callable(value) else value
    return frame


def with_cell(col, row, value, frame=None):
    frame = table() if frame is None else frame
    frame[col] = frame[col].astype(object)
    frame.loc[row, col] = value
    return frame


GOOD = csv(table())

# (id, files {name: bytes}, argv after the command, exit code, message)
FIT_CASES = [
    # -- the file itself
    ("empty file", {"d.csv": b""}, [], 2, "is empty (0 bytes)"),
    ("whitespace only", {"d.csv": b"  \n\n \n"}, [], 2, "is empty"),
    ("header only", {"d.csv": b"x1,x2,y\n"}, [], 2, "no data rows"),
    ("missing file", {}, [], 2, "no such file"),
    ("a folder as data", {"d.csv/inner.txt": b"x"}, [], 2, "is a folder"),
    ("binary garbage", {"d.csv": bytes(np.random.default_rng(0).integers(0, 256, 3000)
                                       .astype(np.uint8))}, [], 2, "is not a text file"),
    ("ragged rows", {"d.csv": b"x1,x2,y\n1,2,3\n4,5,6,7,8\n"}, [], 2, "could not be parsed"),
    ("duplicate header", {"d.csv": b"x1,x1,y\n1,2,3\n4,5,6\n7,8,9\n"}, [], 2,
     "repeats the column name(s) ['x1']"),
    ("latin-1 text", {"d.csv": csv(edited(city=lambda f: f["city"].replace("Nice", "Nîmes")),
                                   encoding="latin-1")}, [], 0, "read as latin-1"),
    ("BOM and CRLF", {"d.csv": b"\xef\xbb\xbf" + GOOD.replace(b"\n", b"\r\n")}, [], 0,
     "one-hot encoded"),
    ("semicolons", {"d.csv": csv(table(), sep=";")}, [], 0, "40 rows"),
    ("tabs", {"d.csv": csv(table(), sep="\t")}, [], 0, "40 rows"),
    ("pipes", {"d.csv": csv(table(), sep="|")}, [], 0, "40 rows"),
    ("quoted commas in text", {"d.csv": csv(edited(
        city=lambda f: f["city"].replace("Lyon", "Lyon, France")))}, [], 0, "3 levels"),
    ("forced separator", {"d.csv": csv(table(), sep=";")}, ["--sep", "semicolon"], 0,
     "40 rows"),
    ("bad --sep", {"d.csv": GOOD}, ["--sep", "ab"], 2, "--sep must be one character"),
    # -- the target
    ("target misspelt", {"d.csv": GOOD}, ["-t", "yy"], 2, "did you mean 'y'"),
    ("target case", {"d.csv": GOOD}, ["-t", "Y"], 2, "did you mean 'y'"),
    ("target all missing", {"d.csv": csv(edited(y=np.nan))}, [], 2, "has no values"),
    ("target some missing", {"d.csv": csv(with_cell("y", [1, 2], np.nan))}, [], 0,
     "2 of 40 rows dropped"),
    ("target blank text", {"d.csv": csv(with_cell("label", [3], " "))}, ["-t", "label"], 0,
     "1 of 40 rows dropped"),
    ("one class", {"d.csv": csv(edited(label="high"))}, ["-t", "label", "--task",
                                                          "classification"], 2, "two classes"),
    ("constant target", {"d.csv": csv(edited(y=3.0))}, [], 0, "is constant"),
    ("text target as regression", {"d.csv": GOOD}, ["-t", "label", "--task", "regression"],
     2, "needs a numeric target"),
    ("three text classes", {"d.csv": GOOD}, ["-t", "city"], 0, "Multinomial"),
    ("binary 0/1 target", {"d.csv": csv(edited(label=lambda f: (f["label"] == "high")
                                               .astype(int)))}, ["-t", "label"], 0, "Logistic"),
    ("infinite target", {"d.csv": csv(with_cell("y", [4], np.inf))}, [], 2,
     "target 'y' has an infinite value in row 5"),
    # -- feature columns
    ("stray text in a number column", {"d.csv": csv(with_cell("x1", [7], "n/a?"))}, [], 2,
     "column 'x1' is numeric but row 8"),
    ("missing feature values", {"d.csv": csv(with_cell("x1", [3, 4], np.nan))}, [], 2,
     "'x1' (2 rows)"),
    ("missing values imputed", {"d.csv": csv(with_cell("x1", [3, 4], np.nan))},
     ["--impute", "median"], 0, "40 rows"),
    ("missing text imputed", {"d.csv": csv(with_cell("city", [3], np.nan))},
     ["--impute", "mean"], 0, "40 rows"),
    ("bad --impute", {"d.csv": GOOD}, ["--impute", "zero"], 2, "--impute"),
    ("infinite feature", {"d.csv": csv(with_cell("x1", [5], "inf"))}, [], 2,
     "infinite value in column 'x1', row 6"),
    ("only the target", {"d.csv": csv(table()[["y"]])}, [], 2, "no usable feature columns"),
    ("only an id besides the target", {"d.csv": csv(table()[["y"]].assign(
        code=[f"K{i}" for i in range(40)]))}, [], 2, "no usable feature columns"),
    ("an all-missing column", {"d.csv": csv(edited(empty=np.nan))}, [], 0,
     "'empty' set aside: every value is missing"),
    ("a constant column", {"d.csv": csv(edited(region="Mid-Atlantic"))}, [], 0,
     "'region' set aside: the same value in every row ('Mid-Atlantic')"),
    ("thousands separators", {"d.csv": csv(edited(x1=lambda f: (f["x1"] * 1000).map(
        "{:,.0f}".format)))}, [], 0, "thousands separators"),
    ("decimal commas", {"d.csv": csv(table(), sep=";", decimal=",")}, [], 2, "--decimal ,"),
    ("decimal commas given", {"d.csv": csv(table(), sep=";", decimal=",")},
     ["--decimal", ","], 0, "40 rows"),
    ("bad --decimal", {"d.csv": GOOD}, ["--decimal", ":"], 2, "--decimal must be"),
    ("one-hot name collision", {"d.csv": csv(edited(**{"city=Lyon": lambda f: f["x2"]}))}, [], 2,
     "both a column and a one-hot level"),
    ("rownames permutation", {"d.csv": csv(edited(rownames=np.arange(1, 41)))}, [], 0,
     "'rownames' set aside: row index"),
    ("pandas index column", {"d.csv": table().to_csv().encode()}, [], 0,
     "'Unnamed: 0' set aside: row index"),
    ("shuffled index", {"d.csv": csv(edited(
        idx=np.random.default_rng(3).permutation(40) + 100))}, [], 0, "'idx' set aside"),
    ("--keep an index", {"d.csv": csv(edited(rownames=np.arange(1, 41)))},
     ["--keep", "rownames"], 0, "40 rows x 8 features"),
    ("--drop a column", {"d.csv": GOOD}, ["--drop", "x2", "--drop", "label"], 0,
     "'x2' set aside: dropped by --drop"),
    ("--drop unknown", {"d.csv": GOOD}, ["--drop", "x3"], 2, "--drop column 'x3' not found"),
    ("--keep unknown", {"d.csv": GOOD}, ["--keep", "cty"], 2, "did you mean 'city'"),
    ("--drop the target", {"d.csv": GOOD}, ["--drop", "y"], 2, "that is the target"),
    ("--drop and --keep", {"d.csv": GOOD}, ["--drop", "x1", "--keep", "x1"], 2,
     "both --drop and --keep"),
    ("reference coding", {"d.csv": csv(with_cell("city", [3], np.nan))},
     ["--drop-first", "--impute", "median", "--json"], 0, '"n_features": 5'),
    ("many text levels", {"d.csv": csv(table(120).assign(code=[f"L{i % 60}"
                                                               for i in range(120)]))}, [],
     0, "'code' set aside: text with 60 distinct values"),
    # -- options
    ("--alpha-min-ratio 0", {"d.csv": GOOD}, ["--alpha-min-ratio", "0"], 2,
     "--alpha-min-ratio must be in (0, 1)"),
    ("--alpha-min-ratio 2", {"d.csv": GOOD}, ["--alpha-min-ratio", "2"], 2,
     "--alpha-min-ratio must be in (0, 1)"),
    ("--l1-ratio with l1", {"d.csv": GOOD}, ["--l1-ratio", "0.5"], 2, "--l1-ratio applies"),
    ("--cv 1", {"d.csv": GOOD}, ["--cv", "1"], 2, "--cv"),
    ("more folds than rows", {"d.csv": csv(table(5))}, ["--cv", "10"], 2,
     "--cv 10 needs at least 10 rows"),
    ("unknown penalty", {"d.csv": GOOD}, ["--penalty", "l3"], 2, "--penalty"),
    ("unknown task", {"d.csv": GOOD}, ["--task", "ranking"], 2, "--task"),
    ("ridge", {"d.csv": GOOD}, ["--penalty", "l2"], 0, "L2"),
    ("a class rarer than the folds", {"d.csv": csv(with_cell("label", [0, 1], "rare"))},
     ["-t", "label", "--cv", "3"], 2, "class 'rare' has 2 row(s), fewer than the 3 folds"),
    ("unstratified folds", {"d.csv": GOOD}, ["-t", "label", "--no-stratify"], 0, "Logistic"),
    ("--tol 0", {"d.csv": GOOD}, ["--tol", "0"], 2, "--tol must be in (0, 1)"),
    ("--max-iter 1", {"d.csv": GOOD}, ["--max-iter", "1", "--tol", "1e-12"], 0,
     "increase --max-iter or --tol"),
    ("--max-iter 0", {"d.csv": GOOD}, ["--max-iter", "0"], 2, "--max-iter"),
    ("elastic net", {"d.csv": GOOD}, ["--penalty", "elasticnet", "--l1-ratio", "0.3"], 0,
     "ElasticNet"),
    # -- parquet
    ("parquet text of numbers", {"d.parquet": parquet(edited(
        zip=[f"{75000 + i % 4:05d}" for i in range(40)]))}, [], 0, "'zip' one-hot encoded"),
    ("parquet decimals", {"d.parquet": parquet(edited(x1=lambda f: [
        __import__("decimal").Decimal(f"{v:.3f}") for v in f["x1"]]))}, [], 0, "40 rows"),
    ("parquet list column", {"d.parquet": parquet(edited(tags=[[1, 2]] * 40))}, [], 2,
     "column 'tags' holds"),
    ("parquet list column dropped", {"d.parquet": parquet(edited(tags=[[1, 2]] * 40))},
     ["--drop", "tags"], 0, "dropped by --drop"),
    ("parquet booleans and dates", {"d.parquet": parquet(edited(
        flag=lambda f: f["x2"] > 2, day=pd.date_range("2024-01-01", periods=40)))}, [], 0,
     "'day' set aside"),
    ("not parquet", {"d.parquet": GOOD}, [], 2, "not a readable Parquet file"),
]

OUT_CASES = [
    ("--out is a file", "file", [], 2, "is an existing file"),
    ("--out under a file", "under-file", [], 2, "which is a file"),
    ("--out a user's folder", "user-folder", [], 2, "not a model folder"),
    ("--out a model without --force", "model", [], 2, "pass --force"),
    ("--out a model with --force", "model", ["--force"], 0, "40 rows"),
    ("--out an empty folder", "empty", [], 0, "40 rows"),
]


def tree(folder) -> set[str]:
    return {os.path.relpath(os.path.join(root, name), folder)
            for root, dirs, files in os.walk(folder) for name in dirs + files}


def write_files(folder, files: dict) -> None:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def check(code, out, err, expected_code, message, before, after):
    assert code == expected_code, err
    lines = err.strip().splitlines()
    if expected_code:
        assert len(lines) == 1 and lines[0].startswith("penalized: error: "), err
        assert message in lines[0], err
        assert out == "" and after == before  # nothing written
    else:
        assert message in err + out, err


@pytest.mark.parametrize(("files", "argv", "code", "message"),
                         [c[1:] for c in FIT_CASES], ids=[c[0] for c in FIT_CASES])
def test_fit(tmp_path, capsys, files, argv, code, message):
    write_files(tmp_path, files)
    data = tmp_path / (next(iter(files)).split("/")[0] if files else "d.csv")
    target = [] if "-t" in argv else ["-t", "y"]
    before = tree(tmp_path)
    result = main([str(a) for a in ["fit", data, *target, "-o", tmp_path / "m", *FAST,
                                    *argv]])
    out, err = capsys.readouterr()
    check(result, out, err, code, message, before, tree(tmp_path))
    if code == 0:
        assert pz.load(tmp_path / "m").coef.shape[0] > 0


@pytest.mark.parametrize(("kind", "argv", "code", "message"),
                         [c[1:] for c in OUT_CASES], ids=[c[0] for c in OUT_CASES])
def test_fit_out(tmp_path, capsys, kind, argv, code, message):
    (tmp_path / "d.csv").write_bytes(GOOD)
    out = tmp_path / "m"
    if kind == "file":
        out.write_text("mine")
    elif kind == "under-file":
        (tmp_path / "f").write_text("mine")
        out = tmp_path / "f" / "m"
    elif kind == "user-folder":
        out.mkdir()
        (out / "thesis.tex").write_text("mine")
    elif kind == "model":
        assert main([str(a) for a in ["fit", tmp_path / "d.csv", "-t", "y", "-o", out,
                                      *FAST]]) == 0
    elif kind == "empty":
        out.mkdir()
    capsys.readouterr()
    before = tree(tmp_path)
    result = main([str(a) for a in ["fit", tmp_path / "d.csv", "-t", "y", "-o", out, *FAST,
                                    *argv]])
    stdout, err = capsys.readouterr()
    check(result, stdout, err, code, message, before, tree(tmp_path))


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    (folder / "train.csv").write_bytes(GOOD)
    assert main([str(a) for a in ["fit", folder / "train.csv", "-t", "y", "-o",
                                  folder / "m", *FAST]]) == 0
    return folder / "m"


def tampered(model_folder, tmp_path):
    import shutil

    copy = tmp_path / "t"
    shutil.copytree(model_folder, copy)
    manifest = (copy / "manifest.json").read_text()
    (copy / "manifest.json").write_text(manifest.replace('"alpha": ', '"alpha": 1'))
    arrays = next(p for p in copy.iterdir() if p.name.startswith("arrays"))
    arrays.write_bytes(arrays.read_bytes()[:-5] + b"xxxxx")
    return copy


PREDICT_CASES = [
    ("good", GOOD, [], 0, "prediction"),
    ("columns reordered", csv(table()[["label", "city", "y", "x2", "x1"]]), [], 0,
     "prediction"),
    ("missing column", csv(table().drop(columns="x2")), [], 2, "lacks the column(s) ['x2']"),
    ("missing values", csv(with_cell("x1", [2], np.nan)), [], 2, "predict --impute"),
    ("missing values imputed", csv(with_cell("x1", [2], np.nan)), ["--impute"], 0,
     "prediction"),
    ("missing level imputed", csv(with_cell("city", [2], np.nan)), ["--impute"], 0,
     "prediction"),
    ("unseen level", csv(with_cell("city", [1, 2], "Rome")), [], 0,
     "2 row(s) with levels unseen in training"),
    ("stray text", csv(with_cell("x2", [9], "two")), [], 2, "column 'x2' is numeric but row 10"),
    ("thousands separators", csv(edited(x1=lambda f: (f["x1"] * 1000).map("{:,.0f}".format))),
     [], 0, "prediction"),
    ("--out a folder", GOOD, ["--out", "{tmp}"], 2, "is a folder"),
    ("--out under a missing folder", GOOD, ["--out", "{tmp}/no/p.csv"], 2,
     "not an existing folder"),
    ("no model folder", GOOD, ["@missing"], 2, "not a model folder"),
    ("a tampered model", GOOD, ["@tampered"], 2, "manifest"),
    ("empty data", b"", [], 2, "is empty"),
]


@pytest.mark.parametrize(("data", "argv", "code", "message"),
                         [c[1:] for c in PREDICT_CASES], ids=[c[0] for c in PREDICT_CASES])
def test_predict(tmp_path, capsys, model, data, argv, code, message):
    (tmp_path / "new.csv").write_bytes(data)
    folder = model
    if "@missing" in argv:
        folder = tmp_path / "nothing"
    if "@tampered" in argv:
        folder = tampered(model, tmp_path)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv if not a.startswith("@")]
    before = tree(tmp_path)
    result = main([str(a) for a in ["predict", folder, tmp_path / "new.csv", *argv]])
    out, err = capsys.readouterr()
    check(result, out, err, code, message, before, tree(tmp_path))
    if code == 0:
        predictions = pd.read_csv(io.StringIO(out))
        assert predictions.shape[0] == 40 and predictions["prediction"].notna().all()


def test_an_unexpected_error_is_a_bug_exit_1(tmp_path, capsys, monkeypatch):
    import penalized.app.io as io_module

    def broken(*args, **kwargs):
        raise IndexError("index 0 is out of bounds")

    (tmp_path / "d.csv").write_bytes(GOOD)
    monkeypatch.setattr(io_module, "prepare_table", broken)
    argv = ["fit", str(tmp_path / "d.csv"), "-t", "y", "-o", str(tmp_path / "m")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "unexpected error (a bug" in err and "IndexError" in err and "--debug" in err
    assert main([*argv, "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "def broken" not in err
    assert "raise IndexError" in err
    assert not (tmp_path / "m").exists()


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"penalized {pz.__version__}"
