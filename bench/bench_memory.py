"""Memory on one machine (issue 17): peak RSS over the size of X, each case in a fresh
process, ours against scikit-learn on the same data in the same run.

A case builds its data, records its RSS (``psutil``), fits, and reports
``(peak RSS - RSS before the fit) / X.nbytes`` (the extra memory the fit needed, in
units of X) and the fit's wall time (the 20-alpha path; on a shared machine, compare
times within one run only). ``ru_maxrss`` is the process's peak, reset through
``/proc/self/clear_refs`` just before the fit so that building the data does not set it;
the data and the imports are there before the fit, so they are subtracted. Cases:

* ``pz.path`` with an intercept (least squares, L1, 20 alphas, ``precompute=False``
  so that the solver sees X itself, and the default ``auto``) on dense C- and
  F-ordered float64, C-ordered float32, CSC and CSR;
* scikit-learn's ``Lasso(fit_intercept=True, warm_start=True)`` along the same alphas
  (its path with an intercept) on the same data;
* ``--cli``: ``penalized fit table.parquet`` in process, peak over the table's float64
  size (the read, the table preparation and the 5-fold CV).

Run: ``PYTHONPATH=. python bench/bench_memory.py [--n 200000 --p 100 --density 0.2 --cli
--kinds C,F,float32,csc,csr]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _rss() -> float:
    import psutil

    return psutil.Process().memory_info().rss


def _peak() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0


def _reset_peak() -> None:
    """Reset the process's peak RSS to its current RSS (Linux's ``clear_refs``), so that
    the peak of the data's construction (scipy's COO copies) does not hide the fit's; where
    it cannot, only a fit peak above that one shows."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _data(kind: str, n: int, p: int, density: float):
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    if kind in ("csc", "csr"):
        X = sp.random(n, p, density=density, format=kind, random_state=0,
                      data_rvs=rng.standard_normal)
        X.indices = X.indices.astype(np.int32)
        X.indptr = X.indptr.astype(np.int32)
        beta = np.zeros(p)
        beta[:10] = 1.0
        return X, X @ beta + rng.standard_normal(n)
    X = rng.standard_normal((n, p), dtype=np.float32 if kind == "float32" else np.float64)
    X = np.asfortranarray(X) if kind == "F" else X
    y = X[:, :10].sum(axis=1, dtype=np.float64) + rng.standard_normal(n)
    return X, y


def _nbytes(X) -> int:
    if hasattr(X, "data") and hasattr(X, "indices"):
        return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    return X.nbytes


def run_case(who: str, kind: str, n: int, p: int, density: float) -> dict:
    """One case, in this (fresh) process."""
    import warnings

    import numpy as np

    X, y = _data(kind, n, p, density)
    if who.startswith("penalized"):
        import penalized as pz

        precompute = "auto" if who.endswith("auto") else False
        for route in (False, True):  # compile, imports: the code of both routes
            with contextlib.suppress(ValueError):  # (True: refused before sparse Gram)
                pz.path(X[:2000], y[:2000], n_alphas=3, precompute=route)
        alphas = pz.path(X[:2000], y[:2000], n_alphas=20).alphas
        _reset_peak()
        base = _rss()
        before = _peak()
        start = time.perf_counter()
        pz.path(X, y, alphas=alphas, precompute=precompute, tol=1e-4)
    else:
        from sklearn.linear_model import Lasso

        import penalized as pz

        alphas = pz.path(X[:2000], y[:2000], n_alphas=20).alphas
        Lasso(alpha=alphas[0]).fit(X[:200], y[:200])
        _reset_peak()
        base = _rss()
        before = _peak()
        start = time.perf_counter()
        model = Lasso(alpha=alphas[0], fit_intercept=True, warm_start=True, tol=1e-4)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for a in alphas:
                model.set_params(alpha=a).fit(X, y)
    seconds = time.perf_counter() - start
    peak = _peak()
    extra = (peak - base) / _nbytes(X) if peak > before else 0.0
    return {"who": who, "kind": kind, "X_MB": _nbytes(X) / 2**20,
            "extra_over_X": float(np.round(extra, 2)), "seconds": seconds}


def run_cli(path: str, table_bytes: int) -> dict:
    from penalized.app.cli import main

    base = _rss()
    with tempfile.TemporaryDirectory() as out:
        code = main(["fit", path, "--target", "y", "--quiet", "--no-report", "--json",
                     "--out", os.path.join(out, "m"), "--n-alphas", "20"])
    assert code in (0, None), code
    return {"who": "penalized fit (CLI)", "kind": "parquet", "X_MB": table_bytes / 2**20,
            "peak_over_table": round((_peak() - base) / table_bytes, 2),
            "peak_total_MB": round(_peak() / 2**20)}


def _spawn(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         cwd=ROOT, check=False)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _write_table(path: str, n: int, p: int) -> int:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p))
    cols = {f"x{j}": X[:, j] for j in range(p)}
    cols["y"] = X[:, :10].sum(axis=1) + rng.standard_normal(n)
    pq.write_table(pa.table(cols), path)
    return n * (p + 1) * 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--p", type=int, default=100)
    parser.add_argument("--density", type=float, default=0.2)
    parser.add_argument("--cli", action="store_true", help="also the CLI's Parquet read")
    parser.add_argument("--kinds", default="C,F,float32,csc,csr",
                        help="comma-separated inputs among C, F, float32, csc, csr")
    parser.add_argument("--case", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--cli-case", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(*args.case, args.n, args.p, args.density)))
        return
    if args.cli_case:
        print(json.dumps(run_cli(args.cli_case[0], int(args.cli_case[1]))))
        return
    size = ["--n", str(args.n), "--p", str(args.p), "--density", str(args.density)]
    print(f"{args.n} x {args.p}; sparse density {args.density}; extra peak RSS over X")
    for kind in args.kinds.split(","):
        for who in ("penalized", "penalized auto", "scikit-learn"):
            r = _spawn(["--case", who, kind, *size])
            print(f"{kind:8s} {who:15s} X {r['X_MB']:7.1f} MB  +{r['extra_over_X']:.2f} x X"
                  f"  {r['seconds']:6.2f} s", flush=True)
    if args.cli:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "table.parquet")
            nbytes = _write_table(path, args.n * 2, args.p)
            r = _spawn(["--cli-case", path, str(nbytes)])
            print(f"CLI parquet: table {r['X_MB']:.0f} MB float64, peak {r['peak_over_table']}"
                  f" x the table over the RSS before (total peak {r['peak_total_MB']} MB)")


if __name__ == "__main__":
    main()
