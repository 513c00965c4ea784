"""``--categorical``: columns one-hot encoded whatever their values (R's factors of
numbers, codes written as numbers), and ``--keep`` of identifier-like text."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from penalized.app.cli import main
from penalized.app.io import apply_spec, level_of, prepare_table


def run(argv, capsys):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def cars(n=120, seed=0):
    """A regression table: ``cylinders`` as R's MASS::Cars93 has it (numbers and one
    'rotary'), ``region`` integer codes whose effect is not linear in the code."""
    rng = np.random.default_rng(seed)
    cylinders = rng.choice(["3", "4", "6", "8"], size=n).astype(object)
    cylinders[57] = "rotary"
    region = rng.integers(1, 5, size=n)
    effect = {1: 0.0, 2: 3.0, 3: -2.0, 4: 1.0}
    weight = rng.normal(size=n)
    price = 2.0 * weight + np.array([effect[r] for r in region]) + 0.1 * rng.normal(size=n)
    return pd.DataFrame({"cylinders": cylinders, "region": region, "weight": weight,
                         "price": price})


def test_numbers_with_a_text_value_are_an_error_naming_the_option():
    with pytest.raises(ValueError, match="row 58 .* holds 'rotary'.*--categorical cylinders"):
        prepare_table(cars(), "price")


def test_categorical_columns_are_one_hot_encoded_as_pandas_does():
    frame = cars()
    table = prepare_table(frame, "price", categorical=["cylinders", "region"])
    dummies = pd.get_dummies(frame[["cylinders", "region"]].astype(str), dtype=float,
                             prefix_sep="=")
    assert sorted(table.feature_names) == sorted(["weight", *dummies.columns])
    for name in dummies.columns:
        np.testing.assert_array_equal(table.X[:, table.feature_names.index(name)],
                                      dummies[name].to_numpy())
    assert table.spec.categorical["cylinders"] == ["3", "4", "6", "8", "rotary"]
    assert any("'region' one-hot encoded (4 levels, --categorical)" in n for n in table.notes)


def test_codes_match_whatever_the_dtype_of_the_new_data():
    frame = cars()
    table = prepare_table(frame, "price", categorical=["region"], drop=["cylinders"])
    new = frame.assign(region=frame["region"].astype(float))  # as read with a missing value
    new.loc[3, "region"] = np.nan
    spec = table.spec
    spec.fill_values = {"region": level_of(2)}  # (as --impute would store it)
    X = apply_spec(new, spec)
    rows = np.arange(frame.shape[0]) != 3
    np.testing.assert_array_equal(X[rows], table.X[rows])
    assert X[3, table.feature_names.index("region=2")] == 1.0
    assert [level_of(v) for v in (4, 4.0, np.int64(4), np.float32(4), 2.5, "04", True)] == \
        ["4", "4", "4", "4", "2.5", "04", "True"]


def test_option_errors_name_the_column():
    frame = cars()
    with pytest.raises(ValueError, match="--categorical column 'regoin' not found; did you "
                                         "mean 'region'"):
        prepare_table(frame, "price", categorical=["regoin"])
    with pytest.raises(ValueError, match="--categorical 'price': that is the target"):
        prepare_table(frame, "price", categorical=["price"])
    with pytest.raises(ValueError, match="both --drop and --categorical"):
        prepare_table(frame, "price", categorical=["region"], drop=["region"])


def test_keep_uses_identifier_like_text():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"code": [f"c{i}" for i in range(60)],  # distinct: identifier-like
                          "x": rng.normal(size=60), "y": rng.normal(size=60)})
    assert "code" in prepare_table(frame, "y").spec.set_aside
    kept = prepare_table(frame, "y", keep=["code"])
    assert "code" not in kept.spec.set_aside and len(kept.spec.categorical["code"]) == 60


def test_cli_fit_and_predict_with_codes(tmp_path, capsys):
    frame = cars()
    path = tmp_path / "cars.csv"
    frame.to_csv(path, index=False)
    args = ["fit", path, "-t", "price", "--cv", "3", "--n-alphas", "20", "--json",
            "--no-report", "--categorical", "cylinders", "--categorical", "region"]
    code, out, err = run([*args, "-o", tmp_path / "m"], capsys)
    assert code == 0, err
    coefs = json.loads(out)["coefficients"]
    # the codes' effects are not monotone in the code: one coefficient each
    assert coefs["region=2"] - coefs.get("region=3", 0.0) > 3.0
    new = frame.drop(columns="price").iloc[:20].assign(region=lambda f: f.region.astype(float))
    new.to_csv(tmp_path / "new.csv", index=False)
    frame.drop(columns="price").iloc[:20].to_csv(tmp_path / "same.csv", index=False)
    for name in ("new", "same"):
        code, _, err = run(["predict", tmp_path / "m", tmp_path / f"{name}.csv", "--out",
                            tmp_path / f"{name}_pred.csv"], capsys)
        assert code == 0, err
    np.testing.assert_array_equal(pd.read_csv(tmp_path / "new_pred.csv")["prediction"],
                                  pd.read_csv(tmp_path / "same_pred.csv")["prediction"])
