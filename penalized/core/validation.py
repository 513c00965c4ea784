"""Validate and coerce at the edge; everything below trusts its inputs.

Dense X becomes a Fortran-ordered float64 array (column access is what the
coordinate-descent kernels do; a route that reads rows may keep the caller's array),
sparse X a CSC float64 matrix with sorted indices (int32 index arrays stay int32).
Every error names the problem: the argument, the shape, the value.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import scipy.sparse as sp


def check_X(X, name: str = "X", keep_dense: bool = False, check_finite: bool = True):
    """Return X as float64 Fortran array or CSC matrix, or raise a clear error.

    ``keep_dense``: a dense float32 or float64 array is returned as it is (any order),
    and so is a CSR or CSC matrix of float32 or float64 values (its duplicates summed and
    indices sorted in place, as for the CSC copy otherwise), for a route that reads X by
    blocks of rows; :func:`solver_layout` converts it later if the route is not taken.
    ``check_finite=False``: the caller checks NaN and infinity itself
    (:func:`check_magnitude` with ``not_finite``, in the same passes)."""
    if sp.issparse(X):
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got {X.ndim}-D")
        if not (keep_dense and _row_readable_sparse(X)):
            X = _csc_float64(X)
        X.sum_duplicates()
        X.sort_indices()
        data = X.data
    else:
        if hasattr(X, "dtypes") and hasattr(X, "columns"):  # DataFrame: name the bad column
            for col, dt in zip(X.columns, X.dtypes, strict=True):
                # ``kind`` also exists on pandas extension dtypes (nullable Int64: "i",
                # the pandas 3 string dtype: "O"), which np.dtype() cannot interpret
                if getattr(dt, "kind", "O") not in "biuf":
                    raise TypeError(f"{name} column {col!r} is not numeric (dtype {dt})")
        arr = np.asarray(X)
        if arr.dtype == object or arr.dtype.kind in "USV":
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"{name} must be numeric; could not convert: {exc}") from None
        elif arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
        if arr.ndim != 2:
            raise ValueError(
                f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}; "
                "reshape a single feature with X.reshape(-1, 1)"
            )
        keep = keep_dense and arr.dtype in (np.float32, np.float64)
        X = arr if keep else np.asfortranarray(arr, dtype=np.float64)
        data = X
    n, p = X.shape
    if n == 0 or p == 0:
        raise ValueError(f"{name} is empty: shape {X.shape}")
    # the sum is finite when every entry is (NaN and inf propagate) and needs no n x p
    # temporary; a sum that overflowed is checked entry by entry
    if check_finite and not np.isfinite(data.sum()) and not np.isfinite(data).all():
        raise_not_finite(X, name)
    return X


def raise_not_finite(X, name: str = "X"):
    """The error for X with a NaN or an infinite entry, naming the first."""
    bad = np.argwhere(~np.isfinite(X.toarray() if sp.issparse(X) else X))[0]
    raise ValueError(
        f"{name} contains NaN or infinity (first at row {bad[0]}, column {bad[1]})"
    )


def solver_layout(X):
    """X validated by :func:`check_X` (``keep_dense`` or not) as the solvers read it: a
    float64 Fortran array (a copy only when it is not one already) or a float64 CSC
    matrix (the same condition)."""
    if sp.issparse(X):
        return X if X.format == "csc" and X.dtype == np.float64 else _csc_float64(X)
    return np.asfortranarray(X, dtype=np.float64)


def _row_readable_sparse(X) -> bool:
    """Whether sparse X is kept as given by ``check_X(..., keep_dense=True)``."""
    return X.format in ("csr", "csc") and X.dtype in (np.float32, np.float64)


def _csc_float64(X):
    """Sparse X as a float64 CSC matrix with sorted indices and no duplicates (CSC
    float64 input is itself, sorted in place)."""
    X = sp.csc_matrix(X, dtype=np.float64) if X.dtype != np.float64 else sp.csc_matrix(X)
    X.sum_duplicates()
    X.sort_indices()
    return X


_FLOAT_MAX = float(np.finfo(np.float64).max)


def check_magnitude(values, n_entries: int, name: str, where=None, not_finite=None) -> None:
    """Refuse values whose sums of squares over ``n_entries`` terms overflow float64
    (the solvers' norms, Gram entries and gaps would be infinite or NaN). ``not_finite``:
    called (to raise its error) when a value is NaN or infinite, which the same two
    reductions find."""
    data = values.data if sp.issparse(values) else np.asarray(values)
    if data.size == 0:
        return
    largest = max(float(data.max()), -float(data.min()))  # no |data| temporary
    if not_finite is not None and not math.isfinite(largest):  # (NaN propagates in both)
        not_finite()
    limit = math.sqrt(_FLOAT_MAX / max(n_entries, 1))
    if largest > limit:
        at = "" if where is None else f" ({where(largest)})"
        raise ValueError(
            f"{name} has values as large as {largest:.3g}{at}: sums of their squares "
            f"overflow float64 (the limit for {n_entries} terms is {limit:.3g}); "
            f"rescale {name}")


def check_y(y, n_samples: int, name: str = "y") -> np.ndarray:
    """1-D target of length n_samples (a column vector is flattened)."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.shape[0] != n_samples:
        raise ValueError(
            f"X and {name} have inconsistent lengths: {n_samples} rows in X, "
            f"{arr.shape[0]} in {name}"
        )
    # (a finite sum: every entry is finite; one that overflowed is checked entry by entry)
    if arr.dtype.kind in "biuf" and not np.isfinite(arr.sum()) and \
            not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def check_sample_weight(sample_weight, n_samples: int) -> np.ndarray:
    """Sample weights normalized to sum to n_samples (the mean convention)."""
    if sample_weight is None:
        return np.ones(n_samples)
    s = np.asarray(sample_weight, dtype=float)
    if s.ndim == 0:
        s = np.full(n_samples, float(s))
    if s.shape != (n_samples,):
        raise ValueError(f"sample_weight has shape {s.shape}, expected ({n_samples},)")
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError("sample_weight must be finite and non-negative")
    total = s.sum()
    if total <= 0:
        raise ValueError("sample_weight sums to zero")
    return s * (n_samples / total)


def check_alpha(alpha, name: str = "alpha") -> float:
    """A finite, non-negative scalar."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        try:
            alpha = float(alpha)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a number, got {alpha!r}") from None
    alpha = float(alpha)
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {alpha!r}")
    return alpha


def check_positive_int(value, name: str) -> int:
    """A strictly positive integer."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_offset(offset, n_samples: int) -> np.ndarray | None:
    """A fixed part of the linear predictor per sample (glmnet's ``offset``, e.g.
    ``log(exposure)``): float64 of shape (n_samples,), finite; None stays None."""
    if offset is None:
        return None
    try:
        arr = np.asarray(offset, dtype=float)
    except (TypeError, ValueError):
        raise TypeError("offset must be numeric") from None
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or arr.shape[0] != n_samples:
        raise ValueError(f"offset has shape {arr.shape}, expected ({n_samples},)")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"offset contains NaN or infinity ({bad.size} row(s), first at row "
                         f"{bad[0]}: {arr[bad[0]]}); for exposures give log(exposure) of "
                         "positive exposures")
    return np.ascontiguousarray(arr)
