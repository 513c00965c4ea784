"""The command line end to end on generated CSV and Parquet files, messy ones included."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import penalized as pz
from penalized import conventions
from penalized.app.cli import main
from penalized.app.io import prepare_table, read_table


def make_frame(n=200, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in range(n)],
        "size": rng.normal(100, 20, n).round(1),
        "rooms": rng.integers(1, 6, n),
        "city": rng.choice(["Paris", "Lyon", "Nice"], n),
        "noise": rng.normal(0, 1, n),
    })
    frame["price"] = (3 * frame["size"] + 20 * frame["rooms"] + 50 * (frame["city"] == "Paris")
                      + rng.normal(0, 10, n))
    return frame


@pytest.fixture()
def messy_csv(tmp_path):
    frame = make_frame()
    frame.loc[[5, 50], "price"] = np.nan
    path = tmp_path / "houses.csv"
    frame.to_csv(path, sep=";", index=False)
    return path


def run(argv, capsys):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_fit_predict_round_trip_csv(tmp_path, messy_csv, capsys):
    out = tmp_path / "run"
    code, stdout, stderr = run(["fit", messy_csv, "--target", "price", "--out", out, "--json",
                                "--cv", "3", "--n-alphas", "30", "--no-report"], capsys)
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["rows_dropped"] == 2 and result["rows_used"] == 198
    assert "customer_id" in result["set_aside"]
    assert "2 of 200 rows dropped" in stderr and "customer_id" in stderr
    assert result["task"] == "regression" and result["alpha"] == result["alpha_min"]
    assert result["coefficients"]["size"] == pytest.approx(3.0, rel=0.05)
    # predict from the folder equals the in-process model
    code, _, stderr = run(["predict", out, messy_csv, "--out", tmp_path / "pred.csv"], capsys)
    assert code == 0, stderr
    predictions = pd.read_csv(tmp_path / "pred.csv")
    frame = read_table(messy_csv)
    table = prepare_table(frame, "price")
    model = pz.load(out)
    np.testing.assert_allclose(predictions["prediction"], model.predict(frame), rtol=1e-12)
    coef = np.array([result["coefficients"].get(name, 0.0) for name in table.feature_names])
    in_process = read_table(messy_csv).pipe(lambda f: f)  # same file, all rows
    from penalized.app.io import apply_spec

    X_all = apply_spec(in_process, table.spec)
    np.testing.assert_allclose(predictions["prediction"], X_all @ coef + result["intercept"],
                               rtol=1e-9)
    assert list(predictions["customer_id"]) == list(frame["customer_id"])


def test_fit_matches_in_process_cross_validation(tmp_path, messy_csv, capsys):
    from penalized.app.cli._model import cross_validated_model

    code, stdout, _ = run(["fit", messy_csv, "-t", "price", "-o", tmp_path / "r", "--json",
                           "--cv", "3", "--n-alphas", "20", "--rule", "1se", "--no-report",
                           "--alpha-min-ratio", "0.001"], capsys)
    assert code == 0
    result = json.loads(stdout)
    table = prepare_table(read_table(messy_csv), "price")
    ref = cross_validated_model(table.X, table.y, pz.LeastSquares(), pz.L1(), cv=3, n_alphas=20,
                                alpha_min_ratio=1e-3, rule="1se")
    assert result["alpha"] == pytest.approx(ref.alpha, rel=1e-12)
    np.testing.assert_allclose(pz.load(tmp_path / "r").coef, ref.coef, rtol=1e-10, atol=1e-12)


def test_fit_parquet_classification_elasticnet(tmp_path, capsys):
    frame = make_frame(seed=1)
    frame["expensive"] = np.where(frame["price"] > frame["price"].median(), "yes", "no")
    path = tmp_path / "churn.parquet"
    frame.drop(columns="price").to_parquet(path)
    code, stdout, stderr = run(["fit", path, "--target", "expensive", "--penalty", "elasticnet",
                                "--l1-ratio", "0.5", "--cv", "3", "--rule", "1se", "--out",
                                tmp_path / "run", "--json", "--n-alphas", "20", "--no-report"],
                               capsys)
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["task"] == "classification" and result["penalty"] == "elasticnet"
    assert result["alpha"] == result["alpha_1se"] >= result["alpha_min"]
    code, stdout, _ = run(["predict", tmp_path / "run", path], capsys)
    predictions = pd.read_csv(__import__("io").StringIO(stdout))
    assert set(predictions["prediction"]) <= {"yes", "no"}
    assert predictions["probability_yes"].between(0, 1).all()
    accuracy = np.mean(predictions["prediction"] == frame["expensive"])
    assert accuracy > 0.8


def test_no_standardize_and_impute(tmp_path, capsys):
    frame = make_frame()
    frame.loc[[3, 4], "size"] = np.nan
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    code, _, stderr = run(["fit", path, "-t", "price", "-o", tmp_path / "a"], capsys)
    assert code == 2 and "'size' (2 rows)" in stderr and "--impute" in stderr
    assert len(stderr.strip().splitlines()) == 1
    code, stdout, stderr = run(["fit", path, "-t", "price", "-o", tmp_path / "b", "--json",
                                "--impute", "mean", "--no-standardize", "--cv", "3",
                                "--n-alphas", "10", "--no-report"], capsys)
    assert code == 0, stderr
    assert pz.load(tmp_path / "b").manifest["standardize"] is False


@pytest.mark.parametrize(("content", "args", "message"), [
    ("", [], "empty"),
    ("a,b,price\n", [], "no data rows"),
    ("a,b,price\n1,2,3\n4,5,6\n", ["--target", "prize"], "did you mean 'price'"),
    ("a,b,price\n" + "".join(f"{i},{i % 3},{i}\n" for i in range(30)).replace("7,1,", "7,x,"),
     [], "column 'b' is numeric but row 8"),
])
def test_bad_input_exit_2_one_line(tmp_path, capsys, content, args, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    argv = ["fit", path, "-o", tmp_path / "o"] + (args or ["--target", "price"])
    code, stdout, stderr = run(argv, capsys)
    assert code == 2
    assert stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], stderr


@pytest.mark.parametrize("argv", [
    ["fit"], ["fit", "x.csv"], ["fit", "x.csv", "-t", "y", "--penalty", "l3"],
    ["fit", "x.csv", "-t", "y", "--cv", "1"], ["nonsense"], ["convert", "--alpha", "1"],
])
def test_bad_usage_exit_2(argv, capsys):
    code, _, stderr = run(argv, capsys)
    assert code == 2
    assert len(stderr.strip().splitlines()) == 1 and "error" in stderr


def test_missing_file_and_model_folder(tmp_path, capsys):
    code, _, stderr = run(["fit", tmp_path / "nope.csv", "-t", "y"], capsys)
    assert code == 2 and "no such file" in stderr
    (tmp_path / "new.csv").write_text("a\n1\n")
    code, _, stderr = run(["predict", tmp_path / "nomodel", tmp_path / "new.csv"], capsys)
    assert code == 2 and "not a model folder" in stderr


def test_ctrl_c_exits_130(tmp_path, messy_csv, capsys, monkeypatch):
    import penalized.app.cli._model as model_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(model_module, "cross_validated_model", interrupted)
    code, _, stderr = run(["fit", messy_csv, "-t", "price", "-o", tmp_path / "x"], capsys)
    assert code == 130 and "interrupted" in stderr


def test_penalty_choices_come_from_the_registry(capsys):
    code, stdout, _ = run(["fit", "--help"], capsys)
    assert code == 0
    for name in pz.PENALTIES:
        assert name in stdout


@pytest.mark.parametrize("command", ["demo", "fit", "predict", "convert"])
def test_help_has_examples(command, capsys):
    code, stdout, _ = run([command, "--help"], capsys)
    assert code == 0 and "Examples" in stdout and f"penalized {command}" in stdout


def test_convert_matches_conventions(capsys):
    code, stdout, _ = run(["convert", "--from", "sklearn-ridge", "--alpha", "1.0",
                           "--n-samples", "442", "--to", "all", "--json"], capsys)
    assert code == 0
    result = json.loads(stdout)
    assert result["penalized_alpha"] == pytest.approx(1.0 / 442)
    assert result["to"]["tutorial"] == pytest.approx(1.0)
    assert result["to"]["torch-weight-decay"] == pytest.approx(
        conventions.from_penalized("torch-weight-decay", 1.0 / 442))
    assert "n/a" in result["to"]["sklearn-lasso"]
    code, stdout, _ = run(["convert", "--from", "sklearn-ridge", "--alpha", "1.0",
                           "--n-samples", "442"], capsys)
    assert code == 0 and "0.002262" in stdout


def test_python_dash_m(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "penalized", "convert", "--from", "tutorial",
                           "--alpha", "2", "--n-samples", "4", "--to", "penalized", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["to"]["penalized"] == pytest.approx(0.5)
    proc = subprocess.run([sys.executable, "-m", "penalized", "fit", "missing.csv", "-t", "y"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().startswith("penalized: error:")


def test_demo_quick_without_torch(tmp_path, capsys):
    code, stdout, stderr = run(["demo", "--quick", "--no-torch", "--out", tmp_path, "--json"],
                               capsys)
    assert code == 0, stderr
    result = json.loads(stdout)
    names = [row["model"] for row in result["models"]]
    assert any("diabetes" in n and "l1" in n for n in names)
    assert any("breast cancer" in n for n in names)
    assert (tmp_path / "report.html").exists()


@pytest.mark.slow
def test_full_demo_under_two_minutes(tmp_path, capsys):
    pytest.importorskip("torch")
    code, stdout, stderr = run(["demo", "--out", tmp_path, "--json"], capsys)
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["seconds"] < 120
    mlp = [row for row in result["models"] if "MLP" in row["model"]]
    assert len(mlp) == 3
