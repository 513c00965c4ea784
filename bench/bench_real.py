"""Real data: ``pz.path`` on every table of ``penalized.datasets`` against glmnet and skglm.

Usage::

    OPENBLAS_NUM_THREADS=1 python bench/bench_real.py [--quick] [--tables caravan,wine,...]
        [--datafits leastsquares,logistic,multinomial] [--penalties l1,enet,l2]
        [--tols 1e-4,1e-6,1e-8] [--peers glmnet,skglm | --no-peers] [--slow 60]
        [--glmnet-tols 1e-4,...,1e-14] [--skglm-tols ...] [--run-timeout 600] [--ref-timeout 300]

Every table is fitted with the datafit that suits its task (least squares / logistic /
multinomial), with an intercept, on the grid ``pz.path`` makes by itself (100 alphas,
alpha_max down to 1e-3 alpha_max, or the curvature rule of a pure ridge); the peers get
that same grid. Plus one generated problem,
``toeplitz5pct``: 1000 x 5000, Toeplitz correlation 0.6, 250 true nonzeros (5 %), lasso.

For each path: our time (median of repeats, after a warm-up), epochs (sum of
``PathResult.n_iters``), alphas not converged (``~PathResult.converged``) and the worst
relative objective excess along the path, ``(F_k - ref_k) / ref_k``, where ``ref_k`` is the
lowest objective anyone reached at alpha_k, ours at tol=1e-12 (max_iter 200000) included.
Every objective is recomputed by ONE function of ours (``Problem.objective``) from the
coefficients each library returned. Each peer runs at a ladder of its own tolerances; the
"matched" peer run of one of our rows is its fastest run over the whole grid whose worst
excess is at or below ours (excesses below 1e-12 count as equal: rounding). A table is
printed, the whole record goes to ``bench/results/real-<timestamp>[-quick].json``.
See bench/README.md.
"""

from __future__ import annotations

import os

# One thread for every library (BLAS included). Set before numpy is imported anywhere.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import datetime  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import platform  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import penalized as pz  # noqa: E402
from bench._problems import _regression_target, _sparse_coef, _toeplitz_design  # noqa: E402
from penalized import datasets  # noqa: E402
from penalized.workflows.paths import default_grid  # noqa: E402

RESULTS_DIR = pathlib.Path(__file__).resolve().parent / "results"
N_ALPHAS = 100
OUR_TOLS = (1e-4, 1e-6, 1e-8)
SYNTHETIC = "toeplitz5pct"
SYNTHETIC_TOLS = (1e-3, 1e-4, 1e-5, 1e-6)
QUICK_TOLS = (1e-4, 1e-6)
REFERENCE_TOL, REFERENCE_MAX_ITER = 1e-12, 200_000
#: glmnet's ``thresh`` ladder; skglm's KKT tolerance ladder, times ||X^T grad(0)||_inf.
PEER_TOLS = {"glmnet": (1e-4, 1e-6, 1e-8, 1e-10, 1e-12, 1e-14),
             "skglm": (1e-4, 1e-6, 1e-8, 1e-10)}
#: Excesses below this are rounding of the objective: "at or below ours" uses max(ours, it).
NOISE = 1e-12
PENALTIES = {"l1": (lambda a: pz.L1(alpha=a), 1.0),
             "enet": (lambda a: pz.ElasticNet(alpha=a, l1_ratio=0.5), 0.5),
             "l2": (lambda a: pz.L2(alpha=a), 0.0)}
DATAFITS = {"leastsquares": "regression", "logistic": "binary", "multinomial": "multiclass"}


@dataclasses.dataclass(frozen=True, eq=False)
class Case:
    """One path: a table, its datafit, one penalty."""

    table: str
    X: np.ndarray
    y: np.ndarray
    task: str
    datafit_name: str
    penalty_name: str
    tols: tuple[float, ...]

    @property
    def datafit(self):
        return datasets.suitable_datafit(self.task)

    def penalty(self, alpha: float):
        return PENALTIES[self.penalty_name][0](alpha)

    @property
    def l1_ratio(self) -> float:
        return PENALTIES[self.penalty_name][1]

    @property
    def label(self) -> str:
        return f"{self.table} {self.datafit_name} {self.penalty_name}"


def synthetic_table() -> datasets.Table:
    """1000 x 5000, AR(1) columns with correlation 0.6^|i-j|, 250 true features, SNR 3."""
    rng = np.random.default_rng(0)
    X = _toeplitz_design(rng, 1000, 5000, rho=0.6)
    y = _regression_target(rng, X, _sparse_coef(rng, 5000, 250))
    X = np.asfortranarray((X - X.mean(axis=0)) / X.std(axis=0))  # as the corpus tables
    return datasets.Table(SYNTHETIC, X, y, "regression", tuple(f"x{j}" for j in range(5000)))


# ---- runners: (alphas, setting) -> coefs (k, p[, K]), intercepts (k[, K]), extra ----------
# Each runner returns ``call_s`` in its extra: the clock around the library's own call
# only (what :func:`timed` reports), not around the harness (models and penalties built
# here, the grid checked, results converted), the same for every method.
def run_ours(case: Case, alphas, tol, max_iter=None):
    datafit, penalty = case.datafit, case.penalty(1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pz.ConvergenceWarning)
        start = CLOCK["now"]()
        res = pz.path(case.X, case.y, datafit, penalty, n_alphas=len(alphas), tol=tol,
                      max_iter=max_iter)
        call_s = CLOCK["now"]() - start
    if not np.allclose(res.alphas, alphas, rtol=1e-12, atol=0):
        raise RuntimeError("pz.path made a different grid")
    return np.asarray(res.coefs), np.asarray(res.intercepts), {
        "epochs": int(np.sum(res.n_iters)), "not_converged": int(np.sum(~res.converged)),
        "max_rel_gap": float(np.max(res.certificates / np.abs(res.objectives))),
        "call_s": call_s}


def glmnet_gaussian_lambda(alphas, y, l1_ratio):
    """glmnet (``standardize=False``, intercept) scales y by ``s_y = std(y)`` (ddof 0) and
    then divides its ridge part by ``s_y``: our ``(alpha, r)`` is its
    ``(lambda, m) = (alpha (r + (1 - r) s_y), r / (r + (1 - r) s_y))``. Checked by solving
    at 1e-13 with both (coefficients equal to 1e-7, objectives to 1e-14; bench/README.md)."""
    s_y, r = float(np.std(y)), l1_ratio
    return alphas * (r + (1 - r) * s_y), r / (r + (1 - r) * s_y)


def run_glmnet(case: Case, alphas, thresh):
    from glmnet import ElasticNet, LogitNet

    common = dict(standardize=False, fit_intercept=True, n_splits=0, tol=thresh,
                  max_iter=10_000_000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if case.task == "regression":
            lambdas, mixing = glmnet_gaussian_lambda(alphas, case.y, case.l1_ratio)
            model = ElasticNet(alpha=mixing, lambda_path=lambdas, **common)
            start = CLOCK["now"]()
            model.fit(case.X, case.y)
            call_s = CLOCK["now"]() - start
            coefs, b = np.asarray(model.coef_path_).T, np.asarray(model.intercept_path_)
        else:  # binomial and (ungrouped) multinomial: -loglik / n + lambda P, lambda = alpha
            model = LogitNet(alpha=case.l1_ratio, lambda_path=alphas.copy(), **common)
            start = CLOCK["now"]()
            model.fit(case.X, case.y)
            call_s = CLOCK["now"]() - start
            path, b = np.asarray(model.coef_path_), np.asarray(model.intercept_path_)
            if case.task == "binary":  # (1, p, k): the coefficients of classes_[1]
                coefs, b = path[0].T, b[0]
            else:  # (K, p, k) -> (k, p, K)
                coefs, b = path.transpose(2, 1, 0), b.T
    notes = sorted({str(w.message)[:80] for w in caught})
    return coefs, b, {"notes": notes, "call_s": call_s} if notes else {"call_s": call_s}


def run_skglm(case: Case, alphas, tol):
    from skglm.datafits import Logistic, Quadratic
    from skglm.penalties import L1, L1_plus_L2
    from skglm.solvers import AndersonCD, ProxNewton

    # skglm stops on the largest KKT violation (gradient units): scaled as bench_path does
    tol = tol * pz.alpha_max(case.X, case.y, case.datafit, pz.L1())
    r = case.l1_ratio  # skglm's L2 has no subdiff_distance: L1_plus_L2(a, 0) is the ridge
    pen = (lambda a: L1(a)) if r == 1.0 else (lambda a: L1_plus_L2(a, r))
    p = case.X.shape[1]
    if case.task == "regression":  # skglm's own path (its Lasso/ElasticNet use it)
        solver, datafit, penalty = AndersonCD(tol=tol, fit_intercept=True), Quadratic(), pen(1.0)
        start = CLOCK["now"]()
        _, w, _ = solver.path(case.X, case.y, datafit, penalty, alphas=alphas)
        call_s = CLOCK["now"]() - start
        w = np.asarray(w).T
        return w[:, :p], w[:, p], {"call_s": call_s}
    # binary: ProxNewton (SparseLogisticRegression's solver) warm-started along the grid
    y = np.where(case.y == np.unique(case.y)[1], 1.0, -1.0)
    solver, w = ProxNewton(tol=tol, fit_intercept=True), np.zeros(p + 1)
    out = np.zeros((len(alphas), p + 1))
    start = CLOCK["now"]()
    for k, alpha in enumerate(alphas):
        w = solver.solve(case.X, y, Logistic(), pen(alpha), w_init=w.copy(),
                         Xw_init=case.X @ w[:p] + w[p])[0]
        out[k] = w
    return out[:, :p], out[:, p], {"call_s": CLOCK["now"]() - start}


#: name -> (runner, module, tasks)
PEERS = {"glmnet": (run_glmnet, "glmnet", ("regression", "binary", "multiclass")),
         "skglm": (run_skglm, "skglm", ("regression", "binary"))}  # skglm: no multinomial


# ---- measuring ---------------------------------------------------------------------------
class RunTimeout(Exception):
    """A run exceeded ``--run-timeout`` (checked when the solver returns to Python)."""


def _alarm(signum, frame):
    raise RunTimeout


#: the clock of :func:`timed`: wall time, or ``--clock cpu``: this process's CPU time, which
#: a shared machine disturbs far less (every method runs on one thread: see the top)
CLOCK = {"now": time.perf_counter}


def timed(fn, timeout_s: float, min_total: float = 1.0, max_runs: int = 5,
          min_small: float = 0.05, max_small: int = 101):
    """(median seconds, result). A first run under 2 s is a warm-up (discarded), then runs
    are repeated until ``min_total`` seconds or ``max_runs``, and in any case until
    ``min_small`` seconds (at most ``max_small`` runs: a millisecond path's median of 5
    moved by 50 % between runs of the benchmark on a shared machine); a longer first run
    is the measurement (compilation was done by the warm-up on a slice). A run's seconds
    are its runner's ``call_s`` (the library call alone) when it reports one."""
    signal.signal(signal.SIGALRM, _alarm)

    def once():
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        t = CLOCK["now"]()
        try:
            out = fn()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        elapsed = CLOCK["now"]() - t
        return out[2].pop("call_s", elapsed), out

    first, out = once()
    if first >= 2.0:
        return first, out
    times = []
    while not times or (sum(times) < min_total and len(times) < max_runs) or \
            (sum(times) < min_small and len(times) < max_small):
        t, out = once()
        times.append(t)
    return float(np.median(times)), out


def objectives(case: Case, alphas, coefs, intercepts) -> np.ndarray:
    """Our objective at each alpha (NaN where a method has no solution)."""
    problem = pz.make_problem(case.X, case.y, case.datafit, case.penalty(float(alphas[0])))
    out = np.full(len(alphas), np.nan)
    for k in range(min(len(alphas), len(coefs))):
        if np.all(np.isfinite(coefs[k])) and np.all(np.isfinite(intercepts[k])):
            out[k] = problem.with_penalty(case.penalty(float(alphas[k]))).objective(
                coefs[k], intercepts[k])
    return out


FIRST_CALL: dict[str, float] = {}  # our first pz.path per datafit x penalty in this process


def warm_up(case: Case, methods) -> None:
    """Every method once on a row-strided 200 x 100 slice (compilation, imports)."""
    rows = np.unique(np.linspace(0, case.X.shape[0] - 1, 200).astype(int))
    small = dataclasses.replace(case, X=np.asfortranarray(case.X[rows, :100]), y=case.y[rows])
    if case.task != "regression" and len(np.unique(small.y)) < 2:
        return
    kind = f"{case.datafit_name} {case.penalty_name}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, tol in methods:
            t = time.perf_counter()
            runner = run_ours if name == "ours" else PEERS[name][0]
            runner(small, _grid(small, 5), tol)
            if name == "ours" and kind not in FIRST_CALL:
                FIRST_CALL[kind] = time.perf_counter() - t


def _grid(case: Case, n_alphas: int) -> np.ndarray:
    """The grid ``pz.path`` makes by itself (``default_grid``: alpha_max down to 1e-3
    alpha_max with an L1 part, the curvature rule for a pure ridge)."""
    problem = pz.make_problem(case.X, case.y, case.datafit, case.penalty(1.0))
    return default_grid(problem, n_alphas)[0]


def bench_case(case: Case, peers: dict, slow_s: float, timeout_s: float,
               ref_timeout_s: float, log) -> dict:
    """Reference, ours at each tol, every peer along its ladder; the JSON record."""
    n, p = case.X.shape
    warm_up(case, [("ours", t) for t in (*case.tols, REFERENCE_TOL)]
            + [(name, tols[0]) for name, tols in peers.items()])
    rows, objs = [], {}
    t = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, ref_timeout_s)
            try:
                ref = pz.path(case.X, case.y, case.datafit, case.penalty(1.0),
                              n_alphas=N_ALPHAS, tol=REFERENCE_TOL,
                              max_iter=REFERENCE_MAX_ITER)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        alphas = np.asarray(ref.alphas)
        objs["reference"] = objectives(case, alphas, ref.coefs, ref.intercepts)
        ref_info = {"time_s": time.perf_counter() - t, "not_converged": int(np.sum(~ref.converged))}
    except Exception as error:  # RunTimeout too: the best of all runs is the reference then
        alphas = _grid(case, N_ALPHAS)
        ref_info = {"error": f"no reference ({type(error).__name__}{': ' if str(error) else ''}"
                             f"{str(error)[:80]} after {time.perf_counter() - t:.0f} s): the "
                             "best of all runs is the reference"}
    log(f"\n== {case.label}  ({n} x {p}, {case.task})  alpha_max {alphas[0]:.3g}  reference "
        + (f"tol={REFERENCE_TOL:g}: {ref_info['time_s']:.2f} s, "
           f"{ref_info['not_converged']} not converged" if "time_s" in ref_info
           else ref_info["error"]))
    series = [("ours", case.tols, run_ours)] + [(k, v, PEERS[k][0]) for k, v in peers.items()]
    for method, tols, runner in series:
        slow = False
        for tol in tols:
            row = {"method": method, "tol": tol}
            rows.append(row)
            if slow:
                row["status"] = "slow"
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    row["time_s"], (coefs, b, extra) = timed(
                        lambda r=runner, tol=tol: r(case, alphas, tol), timeout_s)
            except RunTimeout:
                row["status"], slow = f"timed out after {timeout_s:g} s", True
                continue
            except Exception as error:  # a peer failing must not stop the benchmark
                row["status"] = f"FAILED {type(error).__name__}: {str(error)[:100]}"
                continue
            row.update(extra, status="ok", n_solved=int(len(coefs)),
                       nnz_last=int(np.count_nonzero(coefs[-1])))
            objs[f"{method} {tol:g}"] = objectives(case, alphas, coefs, b)
            slow = row["time_s"] > slow_s
    best = np.nanmin(np.vstack(list(objs.values())), axis=0)
    for row in rows:
        if row["status"] == "ok":
            excess = (objs[f"{row['method']} {row['tol']:g}"] - best) / np.abs(best)
            row["worst_excess"] = float(np.nanmax(excess))
    for row in (r for r in rows if r["method"] == "ours" and r["status"] == "ok"):
        for peer in peers:
            row[f"vs_{peer}"] = match(row, [r for r in rows if r["method"] == peer], N_ALPHAS)
    rec = {"table": case.table, "datafit": case.datafit_name, "penalty": case.penalty_name,
           "shape": [n, p], "task": case.task, "alpha_max": float(alphas[0]),
           "reference": ref_info, "rows": rows,
           "objectives": {k: v.tolist() for k, v in objs.items()}}
    log(format_case(rec, list(peers)))
    return rec


def _fastest(peer_rows: list, k: int, level: float) -> dict | None:
    ok = [r for r in peer_rows if r["status"] == "ok" and r["n_solved"] == k
          and r["worst_excess"] <= max(level, NOISE)]
    return min(ok, key=lambda r: r["time_s"]) if ok else None


def match(ours: dict, peer_rows: list, k: int) -> dict | None:
    """The peer's fastest full-grid run at or below our worst excess (None if none), and
    ``ratio_at_tol``: against its fastest run at or below our ``tol`` (the accuracy asked
    for; differs when we over-solve)."""
    best = _fastest(peer_rows, k, ours["worst_excess"])
    at_tol = _fastest(peer_rows, k, ours["tol"])
    out = {"ratio_at_tol": ours["time_s"] / at_tol["time_s"] if at_tol else None,
           "tol_at_tol": at_tol["tol"] if at_tol else None}
    if best is None:
        done = [r for r in peer_rows if r["status"] == "ok"]
        out["best_excess"] = min((r["worst_excess"] for r in done), default=None)
        return out
    return {**out, "tol": best["tol"], "time_s": best["time_s"],
            "worst_excess": best["worst_excess"], "ratio": ours["time_s"] / best["time_s"]}


# ---- printing ----------------------------------------------------------------------------
def format_case(rec: dict, peers: list[str]) -> str:
    head = (f"  {'method':<8}{'tol':>8}{'time s':>10}{'epochs':>9}{'not conv':>9}"
            f"{'worst excess':>14}{'solved':>9}"
            + "".join(f"  {'vs ' + p + ': tol, s, x, x@tol':<36}" for p in peers))
    lines = [head]
    for r in rec["rows"]:
        lead = f"  {r['method']:<8}{r['tol']:>8.0e}"
        if r["status"] != "ok":
            lines.append(f"{lead}  {r['status']}")
            continue
        epochs = (f"{r['epochs']:>9}{r['not_converged']:>9}" if "epochs" in r
                  else f"{'-':>9}{'-':>9}")
        line = (f"{lead}{r['time_s']:>10.4g}{epochs}{r['worst_excess']:>14.1e}"
                f"{r['n_solved']:>5}/{N_ALPHAS:<3}")
        for p in peers:
            m = r.get(f"vs_{p}")
            if m is None:
                continue
            at = f"{m['ratio_at_tol']:>7.2f}x" if m["ratio_at_tol"] else f"{'-':>8}"
            line += (f"  {m['tol']:>7.0e} {m['time_s']:>9.4g} {m['ratio']:>7.2f}x{at}  "
                     if "ratio" in m else f"  {'none this accurate':<25}{at}  ")
        if r.get("notes"):
            line += "  " + "; ".join(r["notes"])[:90]
        lines.append(line)
    return "\n".join(lines)


def summary(records: list[dict], peers: list[str]) -> str:
    ours = [(rec, r) for rec in records for r in rec["rows"]
            if r["method"] == "ours" and r["status"] == "ok"]
    name = lambda rec, r: f"{rec['table']} {rec['datafit']} {rec['penalty']} tol={r['tol']:g}"  # noqa: E731
    skipped = sum(r["status"] != "ok" for rec in records for r in rec["rows"]
                  if r["method"] == "ours")
    lines = ["", "===== summary =====",
             f"our paths measured: {len(ours)} ({skipped} skipped as slow or failed)"]
    bad = [(rec, r) for rec, r in ours if r["not_converged"]]
    lines.append(f"paths with non-converged alphas: {len(bad)}")
    lines += [f"  {name(rec, r):<50} {r['not_converged']:>3}/{N_ALPHAS} not converged, "
              f"worst excess {r['worst_excess']:.1e}" for rec, r in bad]
    over = [(rec, r) for rec, r in ours if r["worst_excess"] > r["tol"]]
    lines.append(f"paths with worst excess > tol: {len(over)}")
    lines += [f"  {name(rec, r):<50} excess {r['worst_excess']:.1e} "
              f"({r['worst_excess'] / r['tol']:.0f} x tol)"
              for rec, r in sorted(over, key=lambda x: -x[1]["worst_excess"] / x[1]["tol"])]
    for p in peers:
        pairs = [(rec, r, r[f"vs_{p}"]) for rec, r in ours if f"vs_{p}" in r]
        got = [(rec, r, m) for rec, r, m in pairs if "ratio" in m]
        ratios = np.array([m["ratio"] for _, _, m in got])
        at_tol = np.array([m["ratio_at_tol"] for _, _, m in pairs if m["ratio_at_tol"]])
        lines.append(f"ours / {p} at matched accuracy (time ratio, > 1: we are slower): "
                     + (f"median {np.median(ratios):.2f}, max {ratios.max():.2f} over "
                        f"{len(got)} paths" if len(got) else "no matched path")
                     + (f"; at tol (peer's fastest run with excess <= our tol): median "
                        f"{np.median(at_tol):.2f}, max {at_tol.max():.2f} over {len(at_tol)}"
                        if len(at_tol) else ""))
        for rec, r, m in sorted(got, key=lambda x: -x[2]["ratio"])[:15]:
            lines.append(f"  {name(rec, r):<50} ours {r['time_s']:.4g} s (excess "
                         f"{r['worst_excess']:.1e}) vs {p} tol={m['tol']:g} "
                         f"{m['time_s']:.4g} s (excess {m['worst_excess']:.1e}): "
                         f"{m['ratio']:.2f}x")
        unmatched = [(rec, r, m) for rec, r, m in pairs if "ratio" not in m]
        lines.append(f"paths where no {p} run (full grid) was as accurate as ours: "
                     f"{len(unmatched)}")
        for rec, r, m in unmatched:
            best = f"{m['best_excess']:.1e}" if m.get("best_excess") is not None else "-"
            lines.append(f"  {name(rec, r):<50} ours {r['time_s']:.4g} s, excess "
                         f"{r['worst_excess']:.1e}; {p}'s best excess {best}")
    if FIRST_CALL:
        lines.append("first call in this process (numba compile or cache load), s: "
                     + ", ".join(f"{k} {v:.2f}" for k, v in FIRST_CALL.items()))
    return "\n".join(lines)


# ---- main --------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", default=None, help="comma-separated subset of "
                        + ",".join([*datasets.names(), SYNTHETIC]) + " (default: all)")
    parser.add_argument("--datafits", default=",".join(DATAFITS))
    parser.add_argument("--penalties", default=None,
                        help=f"comma-separated subset of {','.join(PENALTIES)} (default: all; "
                        "with --quick: l1)")
    parser.add_argument("--tols", default=None, help="our tols (default 1e-4,1e-6,1e-8; "
                        f"{','.join(f'{t:g}' for t in SYNTHETIC_TOLS)} on {SYNTHETIC})")
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--no-peers", action="store_true")
    for peer, ladder in PEER_TOLS.items():
        parser.add_argument(f"--{peer}-tols", default=",".join(f"{t:g}" for t in ladder),
                            help=f"{peer}'s tolerance ladder (matching picks from it)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="time the runs by wall clock or by this process's CPU time "
                        "(steadier on a shared machine)")
    parser.add_argument("--quick", action="store_true",
                        help="tols 1e-4,1e-6 only, L1 only (unless --penalties says "
                        "otherwise), glmnet the only peer")
    parser.add_argument("--slow", type=float, default=60.0, help="after a run longer than "
                        "this (s), the tighter tols of that method are skipped ('slow')")
    parser.add_argument("--run-timeout", type=float, default=600.0,
                        help="abandon a run after this many seconds (checked between alphas)")
    parser.add_argument("--ref-timeout", type=float, default=300.0,
                        help=f"abandon our tol={REFERENCE_TOL:g} reference path after this "
                        "many seconds (the best objective of all runs is the reference then)")
    args = parser.parse_args(argv)
    all_tables = [*datasets.names(), SYNTHETIC]
    split = lambda s: [x.strip() for x in s.split(",") if x.strip()]  # noqa: E731
    args.tables = all_tables if args.tables is None else split(args.tables)
    penalties = args.penalties or ("l1" if args.quick else ",".join(PENALTIES))
    args.datafits, args.penalties, args.peers = (split(args.datafits), split(penalties),
                                                 split(args.peers))
    if args.quick:
        args.peers = ["glmnet"]
        args.tols = args.tols or ",".join(f"{t:g}" for t in QUICK_TOLS)
    if args.no_peers:
        args.peers = []
    for what, got, known in [("tables", args.tables, all_tables),
                             ("datafits", args.datafits, DATAFITS),
                             ("penalties", args.penalties, PENALTIES),
                             ("peers", args.peers, PEERS)]:
        if set(got) - set(known):
            parser.error(f"unknown {what} {sorted(set(got) - set(known))}; choose from "
                         f"{', '.join(known)}")
    args.tols = None if args.tols is None else tuple(sorted(map(float, split(args.tols)),
                                                            reverse=True))
    return args


def _revision() -> str:
    """The git commit of the penalized being measured (+ "with local changes")."""
    import subprocess

    root = pathlib.Path(pz.__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "penalized"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "git commit unknown"
    if not head:
        return "not a git checkout"
    return f"commit {head}" + (" with local changes" if dirty else "")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.clock == "cpu":
        CLOCK["now"] = time.process_time

    def log(message):
        print(message, flush=True)

    ladders = {k: tuple(sorted((float(t) for t in getattr(args, f"{k}_tols").split(",")),
                               reverse=True)) for k in PEER_TOLS}
    peers = {k: ladders[k] for k in args.peers if importlib.util.find_spec(PEERS[k][1])}
    missing = sorted(set(args.peers) - set(peers))
    log(f"penalized {pz.__version__} from {pathlib.Path(pz.__file__).parent} "
        f"({_revision()}); numpy {np.__version__}")
    log(f"peers: {', '.join(peers) or 'none'}"
        + (f"; not installed: {', '.join(missing)}" if missing else "")
        + f"; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = RESULTS_DIR / f"real-{stamp}{'-quick' if args.quick else ''}.json"
    record = {"command": " ".join(sys.argv), "started": stamp, "peer_tols": peers,
              "penalized": {"version": pz.__version__, "revision": _revision()},
              "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                          "loadavg_before": os.getloadavg()}, "cases": []}
    started = time.perf_counter()
    for name in args.tables:
        table = synthetic_table() if name == SYNTHETIC else datasets.load(name)
        datafit = {v: k for k, v in DATAFITS.items()}[table.task]
        if datafit not in args.datafits:
            continue
        penalties = ["l1"] if name == SYNTHETIC else args.penalties
        default = SYNTHETIC_TOLS if name == SYNTHETIC else OUR_TOLS
        tols = args.tols or default
        for pen in (p for p in penalties if p in args.penalties):
            case = Case(name, table.X, table.y, table.task, datafit, pen, tols)
            case_peers = {k: v for k, v in peers.items() if table.task in PEERS[k][2]}
            record["cases"].append(bench_case(case, case_peers, args.slow, args.run_timeout,
                                              args.ref_timeout, log))
            RESULTS_DIR.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(record, indent=1, default=str))
    record.update(wall_s=time.perf_counter() - started, first_call=FIRST_CALL, complete=True)
    record["machine"]["loadavg_after"] = os.getloadavg()
    log(summary(record["cases"], list(peers)))
    log(f"wall {record['wall_s']:.0f} s; load average after {os.getloadavg()[0]:.1f}; "
        f"written {target}")
    target.write_text(json.dumps(record, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
