"""Reading and preparing real-world tables: every problem gets one clear error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from penalized.app.io import apply_spec, prepare_table, read_table, sniff_separator


def messy_frame(n=60, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "customer_id": [f"C{i:04d}" for i in range(n)],
        "age": rng.integers(20, 70, n),
        "city": rng.choice(["Paris", "Lyon", "Nice"], n),
        "income": rng.normal(50, 10, n).round(2),
        "member": rng.random(n) < 0.5,
    })
    frame["price"] = 2.0 * frame["income"] + rng.normal(0, 1, n)
    return frame


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_separator_is_sniffed(tmp_path, sep):
    frame = messy_frame()
    path = tmp_path / "data.csv"
    frame.to_csv(path, sep=sep, index=False)
    assert sniff_separator(path.read_text()) == sep
    back = read_table(path)
    assert list(back.columns) == list(frame.columns)
    np.testing.assert_allclose(back["income"], frame["income"])


def test_forced_separator(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("a;b\n1,5;2\n3,5;4\n")
    frame = read_table(path, sep=";")
    assert list(frame.columns) == ["a", "b"] and frame.shape == (2, 2)
    with pytest.raises(ValueError, match="one character"):
        read_table(path, sep=";;")


def test_parquet(tmp_path):
    frame = messy_frame()
    frame.to_parquet(tmp_path / "data.parquet")
    back = read_table(tmp_path / "data.parquet")
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)


def test_empty_and_header_only_and_missing(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "blank.csv").write_text("\n\n")
    with pytest.raises(ValueError, match="empty"):
        read_table(tmp_path / "blank.csv")
    (tmp_path / "header.csv").write_text("a,b,y\n")
    with pytest.raises(ValueError, match="header .*no data rows"):
        read_table(tmp_path / "header.csv")
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_table(tmp_path / "absent.csv")


def test_prepare_messy_table():
    frame = messy_frame()
    frame.loc[[2, 7, 11], "price"] = np.nan
    table = prepare_table(frame, "price")
    assert table.n_rows_dropped == 3 and table.X.shape[0] == 57
    assert "customer_id" in table.spec.set_aside
    assert table.spec.categorical["city"] == ["Lyon", "Nice", "Paris"]
    assert table.feature_names == ["age", "income", "member", "city=Lyon", "city=Nice",
                                   "city=Paris"]
    kept = frame.drop(index=[2, 7, 11]).reset_index(drop=True)
    np.testing.assert_array_equal(table.X[:, 1], kept["income"])
    np.testing.assert_array_equal(table.X[:, 5], kept["city"] == "Paris")
    np.testing.assert_array_equal(table.X[:, 3:].sum(axis=1), 1.0)
    assert any("3 of 60 rows dropped" in note for note in table.notes)
    assert any("customer_id" in note and "set aside" in note for note in table.notes)


def test_missing_target_column_did_you_mean():
    with pytest.raises(ValueError, match="did you mean 'price'"):
        prepare_table(messy_frame(), "prize")
    with pytest.raises(ValueError, match="did you mean 'price'"):
        prepare_table(messy_frame(), "Price")


def test_missing_features_error_unless_imputed():
    frame = messy_frame()
    frame.loc[[4, 5], "income"] = np.nan
    frame.loc[9, "city"] = np.nan
    with pytest.raises(ValueError, match="'income' \\(2 rows\\).*'city' \\(1 rows\\)"):
        prepare_table(frame, "price")
    table = prepare_table(frame, "price", impute="median")
    median = frame["income"].median()
    np.testing.assert_allclose(table.X[[4, 5], 1], median)
    mode = frame["city"].mode().iloc[0]
    assert table.X[9, 3 + ["Lyon", "Nice", "Paris"].index(mode)] == 1.0
    mean_table = prepare_table(frame, "price", impute="mean")
    np.testing.assert_allclose(mean_table.X[[4, 5], 1], frame["income"].mean())
    with pytest.raises(ValueError, match="impute"):
        prepare_table(frame, "price", impute="zero")


def test_stray_text_in_numeric_column_names_row_and_column(tmp_path):
    frame = messy_frame()
    frame["income"] = frame["income"].astype(object)
    frame.loc[17, "income"] = "n/a?"
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(ValueError, match="column 'income'.*row 18 .*'n/a\\?'"):
        prepare_table(read_table(path), "price")


def test_apply_spec_on_new_data():
    frame = messy_frame()
    table = prepare_table(frame, "price")
    new = messy_frame(seed=5).head(4).copy()
    new.loc[0, "city"] = "Marseille"  # unseen level: all zeros
    X = apply_spec(new, table.spec)
    np.testing.assert_array_equal(X[0, 3:], 0.0)
    np.testing.assert_array_equal(X[1:, 3:].sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="lacks the column.*income"):
        apply_spec(new.drop(columns="income"), table.spec)
    new.loc[1, "age"] = np.nan
    with pytest.raises(ValueError, match="missing values.*age"):
        apply_spec(new, table.spec)


def test_target_all_missing_and_no_features():
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": [np.nan, np.nan]})
    with pytest.raises(ValueError, match="no values"):
        prepare_table(frame, "y")
    frame = pd.DataFrame({"id": ["a", "b", "c"], "y": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="no usable feature"):
        prepare_table(frame, "y")


def test_row_index_columns_are_set_aside_and_overridable():
    frame = messy_frame()
    n = frame.shape[0]
    frame.insert(0, "rownames", np.arange(1, n + 1)[::-1])  # a permutation of 1..n
    frame.insert(1, "Unnamed: 0", np.arange(0, 2 * n, 2))  # index-like name, distinct ints
    frame["rank"] = np.random.default_rng(1).permutation(n) + 10  # values alone say index
    frame.loc[[0, 5], "price"] = np.nan  # detection sees the whole file, before the drop
    table = prepare_table(frame, "price")
    for col in ("rownames", "Unnamed: 0", "rank"):
        assert col in table.spec.set_aside and col not in table.feature_names
        assert any(col in note and "row index" in note for note in table.notes)
    assert "age" in table.feature_names  # repeated integers are a feature
    table = prepare_table(frame, "price", keep=["rank"], drop=["age"])
    assert "rank" in table.feature_names and "age" not in table.feature_names
    assert table.spec.set_aside["age"] == "dropped by --drop"
    with pytest.raises(ValueError, match="--drop column 'agee' not found; did you mean 'age'"):
        prepare_table(frame, "price", drop=["agee"])
    with pytest.raises(ValueError, match="both --drop and --keep"):
        prepare_table(frame, "price", drop=["age"], keep=["age"])


def test_drop_first_is_reference_coding():
    frame = messy_frame()
    full = prepare_table(frame, "price")
    ref = prepare_table(frame, "price", drop_first=True)
    assert [n for n in full.feature_names if n.startswith("city=")] == \
        ["city=Lyon", "city=Nice", "city=Paris"]
    assert [n for n in ref.feature_names if n.startswith("city=")] == ["city=Nice", "city=Paris"]
    lyon = (frame["city"] == "Lyon").to_numpy()
    np.testing.assert_array_equal(ref.X[lyon][:, -2:], 0.0)  # the reference: all zeros
    new = frame.head(5).copy()
    new.loc[new.index[0], "city"] = "Lyon"
    np.testing.assert_array_equal(apply_spec(new, ref.spec)[0, -2:], 0.0)
