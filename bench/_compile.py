"""First-call cost in a fresh process: numba compilation (cold cache) vs cache load (warm).

The cold measurement points ``NUMBA_CACHE_DIR`` at an empty temporary folder: numba then
ignores the ``__pycache__/*.nbi, *.nbc`` files of the source tree and compiles everything,
exactly as after deleting them, without disturbing other processes that use those files.
The warm measurement is a second fresh process with the same (now filled) folder.
``--profile CASE`` shows where one case's cold compilation goes (see bench/README.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

_CASES = r"""
rng = np.random.default_rng(0)
X = rng.standard_normal((60, 30)); y = X[:, 0] + 0.1 * rng.standard_normal(60)
Xs = sp.random(60, 30, density=0.2, format="csc", random_state=0)
cases = {
    "dense lasso": (X, y, pz.LeastSquares(), pz.L1()),
    "dense enet": (X, y, pz.LeastSquares(), pz.ElasticNet(l1_ratio=0.5)),
    "sparse lasso": (Xs, y, pz.LeastSquares(), pz.L1()),
    "dense logistic": (X, (y > 0).astype(float), pz.Logistic(), pz.L1()),
}
"""

_OURS = r"""
import json, time, warnings
t0 = time.perf_counter()
import numpy as np, scipy.sparse as sp
import penalized as pz
t_import = time.perf_counter() - t0
cpu_import = time.process_time()
warnings.simplefilter("ignore")
""" + _CASES + r"""out = {"import": t_import}
cpu = {"import": cpu_import}
for name, (A, b, datafit, penalty) in cases.items():
    t, c = time.perf_counter(), time.process_time()
    pz.path(A, b, datafit, penalty, n_alphas=5, fit_intercept=False)
    out[name] = time.perf_counter() - t
    cpu[name] = time.process_time() - c
out.update({"cpu " + k: v for k, v in cpu.items()})
print("RESULT" + json.dumps(out))
"""

# Where a cold first call's CPU goes: numba's nested ``numba:compile`` events give each
# compiled function's own share (its nested compilations subtracted); its phases are
# timed by wrapping numba's methods (numba 0.68 names; a missing one is skipped), each
# phase exclusive of those nested in it, so the shares add up.
_PROFILE = r"""
import functools, json, sys, time, warnings
from numba.core import codegen, event, lowering, typeinfer, untyped_passes
import numpy as np, scipy.sparse as sp
case, top = sys.argv[1], int(sys.argv[2])
funcs, phases, stack, phase_stack = {}, {}, [], []
class Tree(event.Listener):
    def on_start(self, e):
        f = e.data["dispatcher"].py_func
        stack.append([f.__module__.rsplit(".", 1)[-1] + "." + f.__qualname__,
                      time.process_time(), 0.0])
    def on_end(self, e):
        name, t0, nested = stack.pop()
        spent = time.process_time() - t0
        entry = funcs.setdefault(name, [0, 0.0])
        entry[0] += 1
        entry[1] += spent - nested
        if stack:
            stack[-1][2] += spent
event.register("numba:compile", Tree())
def timed(owner, method, phase):
    inner = getattr(owner, method, None)
    if inner is None:
        return
    @functools.wraps(inner)
    def wrapper(*args, **kwargs):
        now = time.process_time()
        if phase_stack:  # pause the enclosing phase
            outer, since = phase_stack[-1]
            phases[outer] = phases.get(outer, 0.0) + now - since
        phase_stack.append([phase, now])
        try:
            return inner(*args, **kwargs)
        finally:
            end = time.process_time()
            phases[phase] = phases.get(phase, 0.0) + end - phase_stack.pop()[1]
            if phase_stack:
                phase_stack[-1][1] = end
    setattr(owner, method, wrapper)
timed(typeinfer.TypeInferer, "propagate", "typing")
timed(untyped_passes.InlineInlinables, "run_pass", "inline='always' (IR copies)")
timed(lowering.Lower, "lower", "lowering to LLVM IR")
timed(codegen.CPUCodeLibrary, "_optimize_functions", "LLVM function passes")
timed(codegen.CPUCodeLibrary, "_optimize_final_module", "LLVM module passes")
timed(codegen.CPUCodeLibrary, "_finalize_final_module", "LLVM machine code")
import penalized as pz
warnings.simplefilter("ignore")
""" + _CASES + r"""
A, b, datafit, penalty = cases[case]
t = time.process_time()
pz.path(A, b, datafit, penalty, n_alphas=5, fit_intercept=False)
total = time.process_time() - t
ranked = sorted(funcs.items(), key=lambda kv: -kv[1][1])
print("RESULT" + json.dumps({"case": case, "cpu": total, "compiled": len(funcs),
                             "phases": phases, "functions": ranked[:top]}))
"""

_SKGLM = r"""
import json, time, warnings
t0 = time.perf_counter()
import numpy as np
from skglm.datafits import Quadratic
from skglm.penalties import L1
from skglm.solvers import AndersonCD
t_import = time.perf_counter() - t0
rng = np.random.default_rng(0)
X = rng.standard_normal((60, 30)); y = X[:, 0] + 0.1 * rng.standard_normal(60)
t = time.perf_counter()
AndersonCD(fit_intercept=False).path(X, y, Quadratic(), L1(1.0), alphas=np.geomspace(1, 0.01, 5))
print("RESULT" + json.dumps({"import": t_import, "dense lasso": time.perf_counter() - t}))
"""


def _run(code: str, cache_dir: str | None, timeout: float = 600.0, args=()) -> dict:
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                          text=True, timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT"):
            return json.loads(line[len("RESULT"):])
    raise RuntimeError(f"compile probe failed:\n{proc.stderr[-2000:]}")


def measure_first_call(include_skglm: bool = True) -> dict:
    """Seconds for import and the first ``pz.path`` of each kind, cold and warm cache.

    Returns
    -------
    dict
        ``{"ours": {"cold": {...}, "warm": {...}}, "skglm": {...}}``: each inner dict
        maps ``"import"`` and each case to wall seconds, plus ``"total"``; for ours also
        ``"cpu <case>"`` and ``"cpu total"``, the child's CPU seconds (the machine may be
        shared, which inflates wall time but not CPU time).
    """
    result = {}
    probes = {"ours": _OURS}
    if include_skglm:
        probes["skglm"] = _SKGLM
    for name, code in probes.items():
        with tempfile.TemporaryDirectory(prefix="numba-cold-") as cache_dir:
            cold = _run(code, cache_dir)
            warm = _run(code, cache_dir)
        for timings in (cold, warm):
            timings["total"] = sum(v for k, v in timings.items() if not k.startswith("cpu "))
            cpu = [v for k, v in timings.items() if k.startswith("cpu ")]
            if cpu:
                timings["cpu total"] = sum(cpu)
        result[name] = {"cold": cold, "warm": warm}
    return result


def profile_first_call(case: str = "dense lasso", top: int = 25) -> dict:
    """Where the cold first call of one case goes, in CPU seconds of a fresh process.

    Returns
    -------
    dict
        ``cpu`` (the call), ``compiled`` (functions compiled), ``phases`` (typing,
        inlining, lowering, LLVM; each exclusive of the phases nested in it) and
        ``functions``: the ``top`` compiled functions by their own share, as
        ``[name, [times compiled, seconds]]``.
    """
    with tempfile.TemporaryDirectory(prefix="numba-cold-") as cache_dir:
        return _run(_PROFILE, cache_dir, args=(case, str(top)))


def _print_profile(case: str) -> None:
    prof = profile_first_call(case)
    print(f"{case}, cold: {prof['cpu']:.2f} s CPU, {prof['compiled']} functions compiled")
    for phase, seconds in sorted(prof["phases"].items(), key=lambda kv: -kv[1]):
        print(f"  {seconds:6.2f}  {phase}")
    print("  own share (nested compilations subtracted), times compiled, function:")
    for name, (count, seconds) in prof["functions"]:
        print(f"  {seconds:6.2f}  {count:3d}  {name}")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skglm", action="store_true", help="also measure skglm")
    parser.add_argument("--profile", metavar="CASE",
                        help="instead: where one case's cold compilation goes "
                             "('dense lasso', 'sparse lasso', ...)")
    args = parser.parse_args()
    if args.profile:
        _print_profile(args.profile)
        sys.exit()
    for lib, both in measure_first_call(args.skglm).items():
        for state in ("cold", "warm"):
            parts = ", ".join(f"{k} {v:.2f}" for k, v in both[state].items())
            print(f"{lib:<6} {state}: {parts}")
