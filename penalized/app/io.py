"""Read a user's table (CSV or Parquet) and turn it into a numeric design matrix.

Real-world tables, one clear error per problem:

- the CSV separator is sniffed (``,`` ``;`` tab ``|``) unless given;
- identifier-like text columns (almost every value distinct) are set aside;
- other text columns are one-hot encoded as ``column=value``;
- rows with a missing target are dropped and counted;
- missing feature values are an error naming the columns, unless ``impute`` is
  ``"mean"`` or ``"median"`` (the most frequent level for categorical columns);
- a stray text value in an otherwise numeric column is an error naming the row
  and the column.

:func:`prepare_table` returns the matrix and a :class:`TableSpec`, a plain,
JSON-serializable recipe that :func:`apply_spec` replays on new data (the
``predict`` side), with the training categories and imputation values.
"""

from __future__ import annotations

import csv
import dataclasses
import decimal as decimal_
import difflib
import numbers
import os
import re

import numpy as np
import pandas as pd

__all__ = ["PreparedTable", "TableSpec", "apply_spec", "prepare_table", "read_table"]

SEPARATORS = ",;\t|"
#: text columns with more distinct values than this are never one-hot encoded
MAX_CATEGORIES = 50
#: a text column whose parseable share is above this is numeric with a stray value
NUMERIC_SHARE = 0.9
_ID_NAME = re.compile(r"(^|[_\s-])(id|uuid|guid|key)$|^id[_\s-]", re.IGNORECASE)
#: names that R, pandas and spreadsheets give a row-index column
_INDEX_NAME = re.compile(r"^(rownames?|row[_ .]?(names?|id|number|no)|unnamed: ?\d+|index|"
                         r"idx|id|x|\.\.\.\d+|v1|_c0|)$", re.IGNORECASE)


def read_table(path: str | os.PathLike, sep: str | None = None,
               decimal: str = ".") -> pd.DataFrame:
    """Read a CSV (separator sniffed unless ``sep``), a Parquet file, or a folder (or
    glob) of Parquet files with the same columns (refused when it would not fit in
    memory: ``penalized fit --dask`` reads those on the workers).

    ``decimal`` is the CSV's decimal mark (``","`` for files written with decimal
    commas). Duplicate column names are refused (pandas would rename them ``a.1``);
    Parquet decimal columns become floats.

    Raises
    ------
    FileNotFoundError, ValueError
        Missing file, empty file, or a header without data rows.
    """
    from .parquet_folder import is_parquet_folder, read_folder, read_parquet_frame

    path = os.fspath(path)
    if is_parquet_folder(path):  # a folder or glob of Parquet files
        frame = _decimals_as_floats(read_folder(path))
    elif not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    elif os.path.getsize(path) == 0:
        raise ValueError(f"{path} is empty (0 bytes): expected a header row and data rows")
    elif path.lower().endswith((".parquet", ".pq")):
        try:
            frame = read_parquet_frame([path])
        except Exception as exc:  # pyarrow raises many types; name the file
            raise ValueError(f"{path} is not a readable Parquet file: {exc}") from None
        frame = _decimals_as_floats(frame)
    else:
        frame = _read_csv(path, sep, decimal)
    if frame.shape[0] == 0:
        raise ValueError(f"{path} has a header ({frame.shape[1]} columns) but no data rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise ValueError(f"{path} has duplicated column names: {duplicated[:5]}")
    return frame


def _read_csv(path: str, sep: str | None, decimal: str) -> pd.DataFrame:
    """A CSV in UTF-8, or else Latin-1 (every byte is a character there; said in
    ``frame.attrs["encoding"]``, which :func:`prepare_table` turns into a note)."""
    with open(path, "rb") as handle:
        raw = handle.read(65536)
    if b"\x00" in raw:
        raise ValueError(f"{path} is not a text file (it holds NUL bytes): expected a CSV, "
                         "or a Parquet file named .parquet")
    head = raw.decode("utf-8-sig", errors="replace")
    if not head.strip():
        raise ValueError(f"{path} is empty: expected a header row and data rows")
    sep = sniff_separator(head) if sep is None else _check_sep(sep)
    if decimal not in (".", ","):
        raise ValueError(f"--decimal must be '.' or ',', got {decimal!r}")
    if decimal == sep:
        raise ValueError(f"--decimal {decimal!r} is also the separator; give --sep")
    _check_header(path, head, sep)
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            frame = pd.read_csv(path, sep=sep, encoding=encoding, skipinitialspace=True,
                                low_memory=False, decimal=decimal)
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            raise ValueError(f"{path} is empty: expected a header row and data rows") from None
        except pd.errors.ParserError as exc:
            raise ValueError(f"{path} could not be parsed with separator {sep!r}: "
                             f"{str(exc).strip()} (use --sep to force one)") from None
        if encoding != "utf-8-sig":
            frame.attrs["encoding"] = encoding
        return frame
    raise AssertionError("unreachable: latin-1 decodes every byte")


def _check_header(path: str, head: str, sep: str) -> None:
    """Refuse repeated column names (pandas would silently rename them ``a.1``)."""
    lines = head.splitlines()
    if not lines:
        return
    names = [name.strip() for name in next(csv.reader([lines[0]], delimiter=sep))]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"{path} repeats the column name(s) {repeated[:5]} in its header: "
                         "rename them so that each column has its own name")


def _decimals_as_floats(frame: pd.DataFrame) -> pd.DataFrame:
    """Parquet decimal columns arrive as Python Decimal objects: make them floats."""
    for col in frame.columns:
        s = frame[col]
        if s.dtype == object:
            present = s.dropna()
            if not present.empty and all(isinstance(v, decimal_.Decimal) for v in present):
                frame[col] = s.astype(float)
    return frame


def _check_sep(sep: str) -> str:
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
    sep = named.get(sep.lower(), sep)
    if len(sep) != 1:
        raise ValueError(f"--sep must be one character (or tab, comma, semicolon, pipe), "
                         f"got {sep!r}")
    return sep


def sniff_separator(head: str) -> str:
    """Most likely separator of a CSV sample (``,`` when unsure)."""
    lines = [line for line in head.splitlines()[:50] if line.strip()]
    if len(lines) > 1 and not head.endswith("\n"):
        lines = lines[:-1]  # the sample may cut the last line
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=SEPARATORS).delimiter
    except csv.Error:
        pass
    # fall back: the candidate that splits every line into the same number (> 1) of fields
    best, best_fields = ",", 1
    for cand in SEPARATORS:
        counts = {line.count(cand) for line in lines}
        if len(counts) == 1 and (fields := counts.pop() + 1) > best_fields:
            best, best_fields = cand, fields
    return best


@dataclasses.dataclass
class TableSpec:
    """How raw columns become features; JSON-serializable (see :meth:`to_dict`).

    Attributes
    ----------
    target : str
    numeric : list of str
        Numeric input columns, used as they are (booleans as 0/1).
    categorical : dict of str to list of str
        Text columns and their training levels, one-hot encoded as ``col=level``.
    set_aside : dict of str to str
        Columns not used, with the reason.
    impute : {"none", "mean", "median"}
    fill_values : dict of str to float or str
        Training imputation values per column (empty when ``impute == "none"``).
    feature_names : list of str
        The design matrix's columns, in order.
    reference : dict of str to str
        With ``--drop-first``: the level of each text column that gets no column (the
        first in sorted order; its rows are all zeros).
    training_fill : dict of str to float or str
        Training medians (most frequent level for text) of every input column, stored
        whatever ``impute`` was: ``predict --impute`` fills missing values with them.
    """

    target: str
    numeric: list[str]
    categorical: dict[str, list[str]]
    set_aside: dict[str, str]
    impute: str = "none"
    fill_values: dict[str, float | str] = dataclasses.field(default_factory=dict)
    feature_names: list[str] = dataclasses.field(default_factory=list)
    training_fill: dict[str, float | str] = dataclasses.field(default_factory=dict)
    reference: dict[str, str] = dataclasses.field(default_factory=dict)

    def encoded_levels(self, column: str) -> list[str]:
        """The levels of a text column that have a one-hot column."""
        return [v for v in self.categorical[column] if v != self.reference.get(column)]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TableSpec:
        try:
            spec = cls(**data)
        except TypeError as exc:
            raise ValueError(f"invalid feature specification in the model manifest: {exc}") \
                from None
        if not all(isinstance(n, str) for n in spec.feature_names):
            raise ValueError("invalid feature names in the model manifest")
        return spec


@dataclasses.dataclass
class PreparedTable:
    """The design matrix and what was done to get it."""

    X: np.ndarray  # (n_rows_used, n_features), float64
    y: np.ndarray  # (n_rows_used,)
    spec: TableSpec
    n_rows_read: int
    n_rows_dropped: int
    notes: list[str]

    @property
    def feature_names(self) -> list[str]:
        return self.spec.feature_names

    @property
    def n_rows_used(self) -> int:
        return self.X.shape[0]


def _did_you_mean(name: str, columns, what: str = "target column") -> str:
    close = difflib.get_close_matches(name, list(columns), n=1, cutoff=0.5)
    if not close:  # case-insensitive or substring match
        lowered = {str(c).lower(): c for c in columns}
        close = [lowered[name.lower()]] if name.lower() in lowered else []
    shown = ", ".join(repr(c) for c in list(columns)[:10])
    more = f" and {len(columns) - 10} more" if len(columns) > 10 else ""
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{what} {name!r} not found{hint} (columns: {shown}{more})"


def level_of(value) -> str:
    """The level a one-hot encoded cell names: its text, or for a number (a column of
    codes, ``--categorical``) its shortest form whatever the column's dtype in a file
    (``4``, ``4.0`` and ``np.int64(4)`` are the level ``"4"``: a column of codes reads
    as floats where a value is missing)."""
    if isinstance(value, str | bool | np.bool_):
        return str(value)
    if isinstance(value, numbers.Real) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _is_text(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


_THOUSANDS = re.compile(r"^[+-]?[1-9]\d{0,2}(,\d{3})+(\.\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")


def _as_numbers(series: pd.Series, name: str) -> pd.Series | None:
    """A text column of numbers with thousands separators (``"195,630"``) as floats;
    None when it is not one. Decimal commas (``"1,5"``) are an error pointing to
    ``--decimal ,``."""
    present = series.dropna().astype(str).str.strip()
    if present.empty or not present.str.contains(",", regex=False).any():
        return None
    plain = pd.to_numeric(present, errors="coerce").notna()
    thousands = present.str.match(_THOUSANDS)
    if (plain | thousands).all():
        return pd.to_numeric(series.astype(str).str.strip().str.replace(",", "", regex=False)
                             .where(series.notna()), errors="coerce")
    decimal_comma = present.str.match(_DECIMAL_COMMA)
    if (plain | thousands | decimal_comma).mean() > NUMERIC_SHARE:
        example = present[decimal_comma & ~thousands]
        example = example.iloc[0] if not example.empty else present.iloc[0]
        raise ValueError(f"column {name!r} holds numbers written with a decimal comma "
                         f"(e.g. {example!r}); pass --decimal , (and --sep if needed)")
    return None


def _stray_value_error(series: pd.Series, name: str) -> ValueError | None:
    """A mostly-numeric text column: the error naming the first bad row, else None."""
    present = series.dropna()
    if present.empty:
        return None
    numbers = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
    bad = numbers.isna()
    if not bad.any() or bad.mean() > 1 - NUMERIC_SHARE:
        return None  # text that is all numbers (a typed text column: zip codes), or text
    # the index is the file's row order (0-based, header excluded): rows dropped
    # for a missing target keep their numbers
    label = bad[bad].index[0]
    row = int(label) + 1 if isinstance(label, int | np.integer) else label
    where = f"row {row} (line {row + 1} of a CSV with a header)" if isinstance(row, int) \
        else f"row {row!r}"
    return ValueError(f"column {name!r} is numeric but {where} holds "
                      f"{present[bad].iloc[0]!r}, not a number")


def _nested_error(series: pd.Series, name: str) -> ValueError | None:
    """Lists, arrays or mappings in a cell (Parquet list and struct columns)."""
    if series.dtype != object:
        return None
    for value in series.dropna().iloc[:1000]:
        if isinstance(value, list | tuple | dict | set | np.ndarray):
            return ValueError(f"column {name!r} holds {type(value).__name__} values (a "
                              f"Parquet list or struct column), not single values; "
                              f"--drop {name} leaves it out")
    return None


def _row_index_reason(series: pd.Series, name: str) -> str | None:
    """Why ``series`` looks like a row index (None when it does not).

    A row index predicts nothing and leaks whatever order the file was sorted
    in: a permutation of a consecutive integer range, or an index-like name
    (``rownames``, ``Unnamed: 0``, ``index``, ``id``...) with all values distinct.
    """
    n = series.shape[0]
    if n < 3 or series.isna().any() or series.nunique() != n:
        return None
    if _INDEX_NAME.match(str(name).strip()) and _is_text(series):
        return "row index (index-like name, every value distinct)"
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return None
    values = series.to_numpy(dtype=float)
    if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
        return None
    low, high = values.min(), values.max()
    if high - low == n - 1:
        return f"row index (a permutation of the integers {low:.0f}..{high:.0f})"
    if _INDEX_NAME.match(str(name).strip()):
        return "row index (index-like name, distinct integers)"
    return None


def _check_named(columns, names, option: str, target: str) -> list[str]:
    names = list(dict.fromkeys(names or ()))
    for name in names:
        if name not in columns:
            raise ValueError(_did_you_mean(name, columns, f"{option} column"))
        if name == target:
            raise ValueError(f"{option} {name!r}: that is the target column")
    return names


def _set_aside_first(frame: pd.DataFrame, target: str, drop, keep) -> dict[str, str]:
    """Columns set aside before any typing: ``--drop`` and row indexes (``--keep`` wins)."""
    drop = _check_named(frame.columns, drop, "--drop", target)
    keep = _check_named(frame.columns, keep, "--keep", target)
    both = set(drop) & set(keep)
    if both:
        raise ValueError(f"column(s) {sorted(both)} given to both --drop and --keep")
    set_aside = {col: "dropped by --drop" for col in drop}
    for col in frame.columns:
        if col in set_aside:
            continue
        err = _nested_error(frame[col], col)
        if err is not None:
            raise err
        if col == target or col in keep:
            continue
        why = _row_index_reason(frame[col], col)
        if why is not None:
            set_aside[col] = f"{why}; --keep {col} uses it"
    return set_aside


def _classify_columns(frame: pd.DataFrame, target: str, notes: list[str],
                      set_aside: dict[str, str], keep=(), categorical=()):
    numeric, text = [], []
    set_aside = dict(set_aside)
    n = frame.shape[0]
    for col in frame.columns:
        if col == target or col in set_aside:
            continue
        s = frame[col]
        if s.isna().all():
            set_aside[col] = "every value is missing"
        elif s.nunique(dropna=True) == 1 and col not in keep:
            set_aside[col] = f"the same value in every row ({s.dropna().iloc[0]!r})"
        elif col in categorical:
            text.append(col)
        elif _is_text(s):
            err = _stray_value_error(s, col)
            if err is not None:
                raise ValueError(f"{err}; fix the value, or pass --categorical {col} to "
                                 f"one-hot encode the column (or --drop {col})")
            n_unique = s.nunique(dropna=True)
            if col in keep:
                text.append(col)
            elif n_unique == n or (n_unique > MAX_CATEGORIES and n_unique > 0.5 * n):
                set_aside[col] = f"identifier-like text ({n_unique} distinct values in {n} rows)"
            elif n_unique > MAX_CATEGORIES:
                set_aside[col] = f"text with {n_unique} distinct values (over {MAX_CATEGORIES})"
            else:
                text.append(col)
        elif (col not in keep and _ID_NAME.search(str(col))
              and pd.api.types.is_integer_dtype(s) and s.nunique() == n):
            set_aside[col] = "identifier-like integer column (name and all values distinct)"
        else:
            numeric.append(col)
    for col, why in set_aside.items():
        notes.append(f"column {col!r} set aside: {why}")
    return numeric, text, set_aside


def _check_impute(impute: str) -> str:
    impute = (impute or "none").lower()
    if impute not in ("none", "mean", "median"):
        raise ValueError(f"impute must be 'none', 'mean' or 'median', got {impute!r}")
    return impute


def prepare_table(frame: pd.DataFrame, target: str, *, impute: str = "none",
                  drop=(), keep=(), drop_first: bool = False, categorical=()
                  ) -> PreparedTable:
    """Turn a raw table into ``X`` (float64) and ``y``, recording every step.

    Parameters
    ----------
    frame : pandas.DataFrame
    target : str
        The column to predict; rows where it is missing are dropped.
    impute : {"none", "mean", "median"}, default="none"
        Missing feature values are an error naming the columns unless imputed.
    drop, keep : sequences of column names
        Columns never used (``--drop``), and columns used even when they look like a
        row index or an identifier (``--keep``). Row indexes are detected on the
        whole file, before rows without a target are dropped.
    categorical : sequence of column names
        Columns one-hot encoded whatever their values (``--categorical``): codes written
        as numbers, or numbers with a few text values (R's factors).

    Returns
    -------
    PreparedTable
    """
    impute = _check_impute(impute)
    if target not in frame.columns:
        raise ValueError(_did_you_mean(target, frame.columns))
    notes: list[str] = []
    n_read = frame.shape[0]
    if frame.attrs.get("encoding"):
        notes.append(f"the file is not UTF-8: read as {frame.attrs['encoding']} (check the "
                     "accented text)")
    categorical = _check_named(frame.columns, categorical, "--categorical", target)
    both = set(categorical) & set(drop or ())
    if both:
        raise ValueError(f"column(s) {sorted(both)} given to both --drop and --categorical")
    first = _set_aside_first(frame, target, drop, [*keep, *categorical])
    has_target = frame[target].notna()
    if _is_text(frame[target]):
        has_target &= frame[target].astype(str).str.strip().ne("")
    n_dropped = int((~has_target).sum())
    if n_dropped:
        frame = frame.loc[has_target]
        notes.append(f"{n_dropped} of {n_read} rows dropped: target {target!r} is missing")
    if frame.shape[0] == 0:
        raise ValueError(f"target column {target!r} has no values: every row is missing it")
    frame = _parse_number_columns(frame, target, {**first, **dict.fromkeys(categorical)},
                                  notes)
    numeric, text, set_aside = _classify_columns(frame, target, notes, first, keep,
                                                 categorical)
    if not numeric and not text:
        raise ValueError(f"no usable feature columns besides the target {target!r}"
                         + (f" (set aside: {', '.join(set_aside)})" if set_aside else ""))
    categories = {}
    for col in text:
        levels = sorted({level_of(v) for v in frame[col].dropna()})
        categories[col] = levels
        asked = ", --categorical" if col in categorical else ""
        notes.append(f"column {col!r} one-hot encoded ({len(levels)} levels{asked})")
    spec = TableSpec(target=target, numeric=numeric, categorical=categories,
                     set_aside=set_aside, impute=impute,
                     reference={c: v[0] for c, v in categories.items()} if drop_first else {})
    spec.fill_values = _fill_values(frame, spec)
    spec.training_fill = _fill_values(frame, dataclasses.replace(spec, impute="median"))
    spec.feature_names = list(numeric) + [f"{c}={v}" for c in text
                                          for v in spec.encoded_levels(c)]
    _check_unique_names(spec.feature_names)
    _constant_target_note(frame[target], target, notes)
    X = apply_spec(frame, spec, what="training data")
    y = frame[target].to_numpy()
    _check_finite_target(frame[target], target)
    return PreparedTable(X=X, y=y, spec=spec, n_rows_read=n_read, n_rows_dropped=n_dropped,
                         notes=notes)


def _parse_number_columns(frame: pd.DataFrame, target: str, set_aside: dict,
                          notes: list[str]) -> pd.DataFrame:
    """Text columns of numbers with thousands separators, as numbers (a copy if any)."""
    parsed = {}
    for col in frame.columns:
        if col in set_aside or not _is_text(frame[col]):
            continue
        numbers = _as_numbers(frame[col], col)
        if numbers is not None:
            parsed[col] = numbers
            notes.append(f"column {col!r} read as numbers with thousands separators "
                         f"({frame[col].dropna().iloc[0]!r} = {numbers.dropna().iloc[0]:g})")
    return frame.assign(**parsed) if parsed else frame


def _check_unique_names(names: list[str]) -> None:
    seen, repeated = set(), []
    for name in names:
        if name in seen:
            repeated.append(name)
        seen.add(name)
    if repeated:
        raise ValueError(f"feature name(s) {repeated[:5]} would be both a column and a one-hot "
                         "level (column=level): rename the column or --drop one of them")


def _check_finite_target(y: pd.Series, target: str) -> None:
    if _is_text(y):
        return
    values = y.to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        label = y.index[np.flatnonzero(bad)[0]]
        row = int(label) + 1 if isinstance(label, int | np.integer) else label
        raise ValueError(f"target {target!r} has an infinite value in row {row}")


def _constant_target_note(y: pd.Series, target: str, notes: list[str]) -> None:
    if y.nunique() == 1:
        notes.append(f"warning: target {target!r} is constant (every row is "
                     f"{y.iloc[0]!r}): the model can only be its intercept")


def _fill_values(frame: pd.DataFrame, spec: TableSpec) -> dict:
    cols = spec.numeric + list(spec.categorical)
    missing = [c for c in cols if frame[c].isna().any()]
    if missing and spec.impute == "none":
        counts = ", ".join(f"{c!r} ({int(frame[c].isna().sum())} rows)" for c in missing[:8])
        raise ValueError(f"missing values in feature columns {counts}"
                         f"{' and more' if len(missing) > 8 else ''}; "
                         "pass --impute mean or --impute median, or clean the file")
    fill: dict[str, float | str] = {}
    if spec.impute == "none":
        return fill
    for c in spec.numeric:
        values = frame[c].astype(float)
        fill[c] = float(values.mean() if spec.impute == "mean" else values.median())
    for c in spec.categorical:
        fill[c] = str(frame[c].dropna().map(level_of).mode().iloc[0])
    return fill


PREDICT_IMPUTE = ("'penalized predict --impute' fills them with the training medians (most "
                  "frequent level for text)")


def with_training_fill(spec: TableSpec) -> TableSpec:
    """The recipe that fills missing values with the stored training values (``predict
    --impute``); unchanged when the model was fitted with an imputation."""
    if spec.impute != "none":
        return spec
    if not spec.training_fill:
        raise ValueError("this model folder stores no training values to impute with "
                         "(saved by an older penalized)")
    return dataclasses.replace(spec, impute="median", fill_values=dict(spec.training_fill))


def apply_spec(frame: pd.DataFrame, spec: TableSpec, what: str = "new data",
               notes: list[str] | None = None) -> np.ndarray:
    """Build the design matrix of ``frame`` with a training :class:`TableSpec`.

    Unseen categories encode as all zeros (counted in ``notes`` when given); missing
    values use the training imputation values, or are an error when the model was
    fitted without.
    """
    needed = spec.numeric + list(spec.categorical)
    absent = [c for c in needed if c not in frame.columns]
    if absent:
        raise ValueError(f"{what} lacks the column(s) {absent[:8]} the model was trained on")
    n = frame.shape[0]
    X = np.empty((n, len(spec.feature_names)), dtype=np.float64, order="F")
    j = 0
    for c in spec.numeric:
        s = frame[c]
        if _is_text(s):
            s = _as_numbers(s, c)
            if s is None:
                raise _stray_value_error(frame[c], c) or ValueError(
                    f"column {c!r} in {what} is not numeric")
        X[:, j] = s.to_numpy(dtype=np.float64, na_value=np.nan)
        j += 1
    for c, levels in spec.categorical.items():
        s = frame[c].astype(object).where(frame[c].notna(), None)
        values = np.array([None if v is None else level_of(v) for v in s], dtype=object)
        encoded = spec.encoded_levels(c)
        for level in encoded:
            X[:, j] = values == level
            j += 1
        unseen = pd.Series(values[[v is not None and v not in levels for v in values]])
        if notes is not None and not unseen.empty:
            counts = ", ".join(f"{v!r} ({k})" for v, k in unseen.value_counts().iloc[:5].items())
            notes.append(f"warning: column {c!r} has {unseen.shape[0]} row(s) with levels "
                         f"unseen in training, encoded as no level: {counts}")
        if c in spec.fill_values:
            absent_rows = values == None  # noqa: E711 - elementwise on an object array
            if spec.fill_values[c] in encoded:  # else the reference level: all zeros
                X[absent_rows, j - len(encoded) + encoded.index(spec.fill_values[c])] = 1.0
        elif any(v is None for v in values):
            raise ValueError(f"missing values in column {c!r} of {what}; the model was "
                             f"fitted without imputation: {PREDICT_IMPUTE}")
    bad = np.isnan(X[:, :len(spec.numeric)])
    if bad.any():
        cols = [spec.numeric[k] for k in np.flatnonzero(bad.any(axis=0))]
        if spec.impute == "none":
            raise ValueError(f"missing values in feature columns {cols[:8]} of {what}; "
                             f"the model was fitted without imputation: {PREDICT_IMPUTE}")
        for k, c in enumerate(spec.numeric):
            X[bad[:, k], k] = spec.fill_values[c]
    if not np.all(np.isfinite(X)):
        row, col = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"infinite value in column {spec.feature_names[col]!r}, "
                         f"row {row + 1} of {what}")
    return X
