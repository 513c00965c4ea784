"""``penalized fit`` / ``predict`` on real tables: row indexes, multiclass, ridge, safe saves."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import softmax
from sklearn.datasets import load_breast_cancer, load_iris

import penalized as pz
from penalized.app.cli import main


def run(argv, capsys):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


QUICK = ["--cv", "3", "--n-alphas", "15", "--json"]


def test_rownames_on_a_class_sorted_file_is_set_aside(tmp_path, capsys):
    data = load_breast_cancer(as_frame=True).frame.sort_values("target", kind="stable")
    data = data.iloc[:, [0, 1, 2, 3, -1]]  # weak features: an index would dominate them
    data.insert(0, "rownames", np.arange(1, data.shape[0] + 1))
    path = tmp_path / "sorted.csv"
    data.to_csv(path, index=False)
    code, out, err = run(["fit", path, "-t", "target", "-o", tmp_path / "a", *QUICK], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert "rownames" in result["set_aside"] and "rownames" not in result["coefficients"]
    assert "'rownames' set aside: row index" in err
    assert "rownames" in (tmp_path / "a" / "report.html").read_text()
    # the leak it prevents: kept, the index separates the sorted classes almost perfectly
    code, out, err = run(["fit", path, "-t", "target", "-o", tmp_path / "b", "--keep",
                          "rownames", "--no-report", *QUICK], capsys)
    assert code == 0, err
    leaky = json.loads(out)
    assert "rownames" in leaky["coefficients"]
    assert leaky["cv_score"] < 0.5 * result["cv_score"]


@pytest.fixture(scope="module")
def iris_csv(tmp_path_factory):
    iris = load_iris(as_frame=True)
    frame = iris.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    frame["species"] = np.asarray(iris.target_names)[frame.pop("target")]
    path = tmp_path_factory.mktemp("iris") / "iris.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_iris_multiclass_end_to_end(tmp_path, capsys, iris_csv):
    path, frame = iris_csv
    out = tmp_path / "m"
    code, stdout, err = run(["fit", path, "-t", "species", "-o", out, *QUICK], capsys)
    assert code == 0, err
    result = json.loads(stdout)
    assert result["task"] == "classification" and len(result["classes"]) == 3
    some = next(iter(result["coefficients"].values()))
    assert set(some) == {"setosa", "versicolor", "virginica"}
    metrics = result["cv_metrics"]
    assert metrics["accuracy"] > 0.9 and metrics["AUC"] > 0.95
    # 3 folds of 50 rows: the mean fold deviance is the out-of-fold log-loss (times 2 or 1)
    assert result["cv_score"] == pytest.approx(2 * metrics["log_loss"], rel=1e-6) or \
        result["cv_score"] == pytest.approx(metrics["log_loss"], rel=1e-6)
    page = (out / "report.html").read_text()
    assert "Confusion matrix" in page and "class virginica" in page
    model = pz.load(out)
    assert model.coef.shape == (4, 3) and model.intercept.shape == (3,)
    code, stdout, err = run(["predict", out, path], capsys)
    assert code == 0, err
    pred = pd.read_csv(io.StringIO(stdout))
    proba = pred[[f"probability_{c}" for c in ("setosa", "versicolor", "virginica")]]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert (pred["prediction"] == proba.idxmax(axis=1).str.replace("probability_", "")).all()
    assert np.mean(pred["prediction"] == frame["species"]) > 0.93
    # the folder's model is the in-process one: softmax of X W + b
    X = frame.drop(columns="species").to_numpy()
    z = X @ model.coef + model.intercept
    np.testing.assert_allclose(proba.to_numpy(), softmax(z, axis=1), rtol=1e-10)


def test_numerical_residue_is_not_a_selected_feature(tmp_path, capsys):
    from penalized.app.cli._model import NEGLIGIBLE, snap_negligible

    coef, n = snap_negligible(np.array([[2.0, 0.0], [5e-11, -1e-12], [0.0, 0.3]]),
                              np.array([1.0, 1.0, 10.0]))
    assert n == 2 and np.count_nonzero(coef) == 2 and coef[0, 0] == 2.0
    # a two-level text column, fully one-hot encoded, is collinear with the intercept:
    # the solver leaves ~1e-16 on one of its two columns
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.standard_normal(200), "group": rng.choice(["a", "b"], 200)})
    frame["y"] = frame["x"] + 3 * (frame["group"] == "b") + 0.1 * rng.standard_normal(200)
    frame.to_csv(tmp_path / "d.csv", index=False)
    code, out, err = run(["fit", tmp_path / "d.csv", "-t", "y", "-o", tmp_path / "m",
                          "--alpha-min-ratio", "1e-6", *QUICK], capsys)
    assert code == 0, err
    result = json.loads(out)
    model = pz.load(tmp_path / "m")
    scale = np.array([frame["x"].std(ddof=0), 0.5, 0.5])
    size = np.abs(model.coef) * scale
    nonzero = size[model.coef != 0]
    assert np.all(nonzero > NEGLIGIBLE * size.max())
    assert result["n_nonzero"] == np.count_nonzero(model.coef) == len(result["coefficients"])


def test_convert_takes_the_sources_datafit_and_says_what_it_assumes(capsys):
    from penalized import conventions

    code, out, err = run(["convert", "--from", "sklearn-logistic-c", "--alpha", "0.5",
                          "--n-samples", "569", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    alpha = result["penalized_alpha"]
    assert result["context"]["datafit"] == "logistic"
    for name in ("keras-l2", "torch-weight-decay"):  # logistic: no unhalved-MSE factor
        assert result["to"][name] == pytest.approx(conventions.from_penalized(
            name, alpha, datafit="logistic"))
        assert result["to"][name] != pytest.approx(conventions.from_penalized(
            name, alpha, datafit="leastsquares"))
    code, _, err = run(["convert", "--from", "sklearn-logistic-c", "--alpha", "0.5",
                        "--n-samples", "569", "--datafit", "leastsquares"], capsys)
    assert code == 2 and "logistic convention" in err
    code, _, err = run(["convert", "--from", "glmnet", "--alpha", "0.1", "--l1-ratio", "0.5",
                        "--to", "penalized"], capsys)
    assert code == 0 and "assuming --y-std 1" in err
    code, _, err = run(["convert", "--from", "glmnet", "--alpha", "0.1", "--l1-ratio", "0.5",
                        "--y-std", "3", "--to", "penalized"], capsys)
    assert code == 0 and "assuming" not in err
