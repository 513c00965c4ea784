"""Time ``pz.path`` against scikit-learn, skglm, celer and glmnet at equal accuracy.

Usage::

    python bench/bench_path.py [--problems tall,wide,wide-enet,sparse,sparse-enet,logistic,
                                            mcp,poisson]
                               [--repeat 3] [--quick] [--peer-tols matched|default]
                               [--precompute auto|false]

Every method fits the same grid (100 alphas from alpha_max down to 1e-3 alpha_max, no
intercept) on the same data; all objectives are computed by ONE function of ours
(``Problem.objective``), so conventions cannot differ. Accuracy is the worst relative
objective excess along the path against the best objective any method (or ours at
tol=1e-12) reached at that alpha. A plain-text table is printed and the full record is
written as JSON to ``bench/results/`` (gitignored). See bench/README.md.
"""

from __future__ import annotations

import os

# One thread for every library (BLAS included): the comparison is single-core. Set before
# numpy is imported anywhere.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import platform  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import penalized as pz  # noqa: E402
from bench import _methods  # noqa: E402
from bench._compile import measure_first_call  # noqa: E402
from bench._problems import ALL_PROBLEMS, BenchProblem, make_bench_problem  # noqa: E402
from penalized.workflows.paths import alpha_grid  # noqa: E402

RESULTS_DIR = pathlib.Path(__file__).resolve().parent / "results"
OUR_TOLS = (1e-8, 1e-6)
REFERENCE_TOL = 1e-12


def seconds_per_pass(X, repeat: int = 20) -> float:
    """Median time of one ``X.T @ r`` (the unit of "passes over X")."""
    r = np.random.default_rng(1).standard_normal(X.shape[0])
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        X.T @ r
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def path_objectives(bp: BenchProblem, alphas: np.ndarray, coefs: np.ndarray) -> np.ndarray:
    """Our objective at every alpha (NaN where a method has no solution)."""
    problem = pz.make_problem(bp.X, bp.y, bp.datafit, bp.penalty(float(alphas[0])),
                              fit_intercept=False)
    out = np.full(len(alphas), np.nan)
    for k, alpha in enumerate(alphas):
        if np.all(np.isfinite(coefs[k])):
            out[k] = problem.with_penalty(bp.penalty(float(alpha))).objective(coefs[k], 0.0)
    return out


def _methods_for(bp: BenchProblem, tols: dict, peers: list[str], precompute="auto"):
    """(label, tol shown, runner) for ours at each tol and every applicable peer."""
    methods = [(f"penalized tol={t:g}", f"{t:g}",
                lambda b, a, t=t: _methods.run_ours(b, a, t, precompute))
               for t in OUR_TOLS]
    for name in peers:
        runner, _, tasks = _methods.PEERS[name]
        if bp.gamma is not None and name not in _methods.MCP_PEERS:
            continue
        if bp.task in tasks:
            methods.append((name, "see README",
                            lambda b, a, runner=runner: runner(b, a, tols)))
    return methods


def _warm_up(runner, bp: BenchProblem) -> float:
    """Run once on a small slice of the same kind of data (compilation, caches, imports)."""
    n, p = min(bp.X.shape[0], 200), min(bp.X.shape[1], 100)
    small = dataclasses.replace(bp, description="warm-up", X=bp.X[:n, :p], y=bp.y[:n])
    if bp.task == "classification" and len(np.unique(small.y)) < 2:
        return float("nan")
    a_max = pz.alpha_max(small.X, small.y, bp.datafit, bp.penalty(1.0), fit_intercept=False)
    t = time.perf_counter()
    runner(small, alpha_grid(a_max, 5, 1e-2))
    return time.perf_counter() - t


class MethodTimeout(Exception):
    """A run exceeded ``--method-timeout``."""


def _alarm(signum, frame):
    raise MethodTimeout


#: the clock of :func:`time_method` (``--clock cpu``: this process's CPU time, which a
#: shared machine inflates less than wall time; the methods run on one thread)
CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = CLOCK["wall"]


def time_method(runner, bp, alphas, repeat: int, budget_s: float, timeout_s: float):
    """Median time (``--clock``) over ``repeat`` runs (fewer if the first exceeds ``budget_s``).

    A run longer than ``timeout_s`` raises :class:`MethodTimeout` (checked whenever the
    solver returns to Python, i.e. between alphas for the path loops).
    """
    times, solved = [], None
    # The handler stays installed (never back to SIG_DFL, which would kill the process
    # if a late alarm arrived).
    signal.signal(signal.SIGALRM, _alarm)
    for _ in range(repeat):
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        t = _clock()
        try:
            solved = runner(bp, alphas)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        times.append(_clock() - t)
        if times[0] > budget_s:
            break
    return float(np.median(times)), times, solved


def bench_problem(bp: BenchProblem, *, n_alphas: int, repeat: int, tols: dict,
                  peers: list[str], budget_s: float, timeout_s: float, reference: bool,
                  log, precompute="auto") -> dict:
    """All methods on one problem; returns the JSON record of that problem."""
    a_max = pz.alpha_max(bp.X, bp.y, bp.datafit, bp.penalty(1.0), fit_intercept=False)
    alphas = alpha_grid(a_max, n_alphas, 1e-3)
    pass_s = seconds_per_pass(bp.X)
    log(f"\n== {bp.description}  (one X.T@r = {pass_s * 1e3:.3f} ms)")
    objectives, ref_time = {}, None
    if reference:
        t = time.perf_counter()
        solved = _methods.run_ours(bp, alphas, REFERENCE_TOL)
        ref_time = time.perf_counter() - t
        objectives["reference"] = path_objectives(bp, alphas, solved.coefs)
        log(f"   reference: penalized tol={REFERENCE_TOL:g} in {ref_time:.2f} s")
    rows = []
    for label, tol_label, runner in _methods_for(bp, tols, peers, precompute):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                warm = _warm_up(runner, bp)
                median, times, solved = time_method(runner, bp, alphas, repeat, budget_s,
                                                    timeout_s)
        except MethodTimeout:
            log(f"   {label}: TIMED OUT after {timeout_s:g} s")
            rows.append({"method": label, "error": f"timed out after {timeout_s:g} s"})
            continue
        except Exception as error:  # a peer failing must not kill the benchmark
            log(f"   {label}: FAILED {type(error).__name__}: {error}")
            rows.append({"method": label, "error": f"{type(error).__name__}: {error}"})
            continue
        objectives[label] = path_objectives(bp, alphas, solved.coefs)
        row = {"method": label, "tol": tol_label, "time_s": median, "times_s": times,
               "warm_up_s": warm, "passes": median / pass_s, "n_solved": solved.n_solved,
               "nnz_last": int(np.count_nonzero(np.nan_to_num(solved.coefs[-1])))}
        if solved.certificates is not None:
            row["max_gap"] = float(np.max(solved.certificates))
            row["max_rel_gap"] = float(np.max(solved.certificates / objectives[label]))
        rows.append(row)
        log(f"   {label}: {median:.3f} s (runs {', '.join(f'{x:.2f}' for x in times)})")
    best = np.nanmin(np.vstack(list(objectives.values())), axis=0)
    ours = next((r["time_s"] for r in rows
                 if r["method"] == f"penalized tol={OUR_TOLS[0]:g}" and "time_s" in r), np.nan)
    for row in rows:
        if "error" in row:
            continue
        excess = (objectives[row["method"]] - best) / np.abs(best)
        row["worst_rel_excess"] = float(np.nanmax(excess))
        row["ratio_to_ours"] = row["time_s"] / ours
    return {"problem": bp.name, "description": bp.description, "shape": list(bp.X.shape),
            "n_alphas": len(alphas), "alpha_max": a_max, "seconds_per_pass": pass_s,
            "reference_time_s": ref_time, "rows": rows,
            "objectives": {k: v.tolist() for k, v in objectives.items()}}


def format_table(records: list[dict]) -> str:
    """Plain-text table of every problem's rows."""
    head = (f"{'method':<24}{'time s':>9}{'x ours':>8}{'passes':>9}{'worst excess':>14}"
            f"{'max rel gap':>13}{'solved':>8}{'nnz':>7}{'warm-up s':>11}")
    lines = []
    for rec in records:
        lines += ["", f"{rec['description']}  (1 pass = {rec['seconds_per_pass'] * 1e3:.3f} ms)",
                  head, "-" * len(head)]
        for row in rec["rows"]:
            if "error" in row:
                lines.append(f"{row['method']:<24} FAILED: {row['error'][:80]}")
                continue
            gap = f"{row['max_rel_gap']:.1e}" if "max_rel_gap" in row else "-"
            lines.append(
                f"{row['method']:<24}{row['time_s']:>9.3f}{row['ratio_to_ours']:>8.2f}"
                f"{row['passes']:>9.0f}{row['worst_rel_excess']:>14.1e}{gap:>13}"
                f"{row['n_solved']:>5}/{rec['n_alphas']:<3}{row['nnz_last']:>6}"
                f"{row['warm_up_s']:>11.2f}")
    return "\n".join(lines)


def format_compile(first_call: dict) -> str:
    lines = ["", "First call in a fresh process (s): cold = empty numba cache, warm = cached"]
    for lib, both in first_call.items():
        for state in ("cold", "warm"):
            parts = ", ".join(f"{k} {v:.2f}" for k, v in both[state].items())
            lines.append(f"  {lib:<6} {state}: {parts}")
    return "\n".join(lines)


def _results_path(quick: bool) -> pathlib.Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return RESULTS_DIR / f"path-{stamp}{'-quick' if quick else ''}.json"


def write_json(record: dict, target: pathlib.Path) -> pathlib.Path:
    """Atomically (temporary file, then rename) write ``record`` to ``target``."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=RESULTS_DIR, suffix=".tmp", delete=False) as f:
        json.dump(record, f, indent=1)
    os.chmod(f.name, 0o644)  # NamedTemporaryFile creates 0600
    os.replace(f.name, target)
    return target


def _versions(peers) -> dict:
    import importlib.metadata as md
    names = {"penalized": "penalized", "numpy": "numpy", "scipy": "scipy", "numba": "numba",
             "sklearn": "scikit-learn", "skglm": "skglm", "celer": "celer",
             "glmnet": "python-glmnet", "glum": "glum"}
    out = {}
    for key, dist in names.items():
        try:
            out[key] = md.version(dist)
        except md.PackageNotFoundError:
            out[key] = None
    return out


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", default=",".join(ALL_PROBLEMS),
                        help=f"comma-separated subset of {','.join(ALL_PROBLEMS)}")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--our-tols", default="1e-8,1e-6",
                        help="our tolerances to time, comma-separated (the first is the "
                             "baseline of the 'x ours' column)")
    parser.add_argument("--quick", action="store_true", help="scaled-down problems (< 1 min)")
    parser.add_argument("--n-alphas", type=int, default=None,
                        help="grid size (default 100; 30 with --quick)")
    parser.add_argument("--peers", default=None,
                        help="comma-separated subset of " + ",".join(_methods.PEERS)
                        + " (default: every installed one)")
    parser.add_argument("--peer-tols", choices=("matched", "default"), default="matched")
    parser.add_argument("--precompute", choices=("auto", "false"), default="auto",
                        help="pz.path's precompute for our timed rows (false: no Gram form "
                             "of tall least squares; the reference keeps auto)")
    parser.add_argument("--budget", type=float, default=60.0,
                        help="no repeats for a method whose first run exceeds this (s)")
    parser.add_argument("--method-timeout", type=float, default=600.0,
                        help="abandon a run after this many seconds (reported as such)")
    parser.add_argument("--no-reference", action="store_true",
                        help=f"skip our tol={REFERENCE_TOL:g} reference path (the best "
                        "objective of all methods is the reference then)")
    parser.add_argument("--no-compile", action="store_true",
                        help="skip the fresh-process first-call measurement (implied by "
                        "--quick unless --compile)")
    parser.add_argument("--compile", action="store_true",
                        help="measure the first call even with --quick")
    parser.add_argument("--clock", choices=tuple(CLOCK), default="wall",
                        help="time the methods by wall clock or by this process's CPU time "
                        "(on a shared machine; one thread: OPENBLAS_NUM_THREADS=1)")
    args = parser.parse_args(argv)
    global OUR_TOLS, _clock
    _clock = CLOCK[args.clock]
    OUR_TOLS = tuple(float(t) for t in args.our_tols.split(","))
    args.problems = [p.strip() for p in args.problems.split(",") if p.strip()]
    unknown = sorted(set(args.problems) - set(ALL_PROBLEMS))
    if unknown:
        parser.error(f"unknown problems {unknown}; choose from {', '.join(ALL_PROBLEMS)}")
    if args.n_alphas is None:
        args.n_alphas = 30 if args.quick else 100
    if args.peers is not None:
        args.peers = [p.strip() for p in args.peers.split(",") if p.strip()]
        bad = sorted(set(args.peers) - set(_methods.PEERS))
        if bad:
            parser.error(f"unknown peers {bad}; choose from {', '.join(_methods.PEERS)}")
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)

    def log(message):
        print(message, flush=True)

    tols = _methods.PEER_TOLS if args.peer_tols == "matched" else _methods.DEFAULT_TOLS
    wanted = args.peers if args.peers is not None else list(_methods.PEERS)
    peers = [name for name in wanted if _methods.peer_available(name)]
    missing = [name for name in wanted if not _methods.peer_available(name)]
    log(f"peers available: {', '.join(peers) or 'none'}"
        + (f"; not installed: {', '.join(missing)}" if missing else ""))
    load_before = os.getloadavg()
    started = time.perf_counter()
    record = {
        "command": " ".join(sys.argv), "quick": args.quick, "repeat": args.repeat,
        "peer_tols": args.peer_tols, "tols": tols, "our_tols": list(OUR_TOLS),
        "precompute": args.precompute,
        "versions": _versions(peers), "peers_missing": missing,
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "loadavg_before": load_before, "threads": 1},
        "problems": [], "first_call": None, "complete": False,
    }
    target = _results_path(args.quick)
    records = record["problems"]
    for name in args.problems:
        bp = make_bench_problem(name, quick=args.quick)
        records.append(bench_problem(bp, n_alphas=args.n_alphas, repeat=args.repeat,
                                     tols=tols, peers=peers, budget_s=args.budget,
                                     timeout_s=args.method_timeout,
                                     reference=not args.no_reference, log=log,
                                     precompute=args.precompute))
        log(format_table(records[-1:]))
        write_json(record, target)  # after every problem: a long run keeps what it measured
    first_call = None
    if args.compile or not (args.no_compile or args.quick):
        first_call = measure_first_call("skglm" in peers and not args.quick)
    record.update(first_call=first_call, complete=True, wall_s=time.perf_counter() - started)
    record["machine"]["loadavg_after"] = os.getloadavg()
    log("\n===== summary =====")
    log(format_table(records))
    if first_call is not None:
        log(format_compile(first_call))
    log(f"\nload average before/after: {load_before[0]:.1f} / {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores")
    log(f"written {write_json(record, target)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
