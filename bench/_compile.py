"""First-call cost in a fresh process: numba compilation (cold cache) vs cache load (warm).

The cold measurement points ``NUMBA_CACHE_DIR`` at an empty temporary folder: numba then
ignores the ``__pycache__/*.nbi, *.nbc`` files of the source tree and compiles everything,
exactly as after deleting them, without disturbing other processes that use those files.
The warm measurement is a second fresh process with the same (now filled) folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

_OURS = r"""
import json, time, warnings
t0 = time.perf_counter()
import numpy as np, scipy.sparse as sp
import penalized as pz
t_import = time.perf_counter() - t0
cpu_import = time.process_time()
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
X = rng.standard_normal((60, 30)); y = X[:, 0] + 0.1 * rng.standard_normal(60)
Xs = sp.random(60, 30, density=0.2, format="csc", random_state=0)
cases = {
    "dense lasso": (X, y, pz.LeastSquares(), pz.L1()),
    "dense enet": (X, y, pz.LeastSquares(), pz.ElasticNet(l1_ratio=0.5)),
    "sparse lasso": (Xs, y, pz.LeastSquares(), pz.L1()),
    "dense logistic": (X, (y > 0).astype(float), pz.Logistic(), pz.L1()),
}
out = {"import": t_import}
cpu = {"import": cpu_import}
for name, (A, b, datafit, penalty) in cases.items():
    t, c = time.perf_counter(), time.process_time()
    pz.path(A, b, datafit, penalty, n_alphas=5, fit_intercept=False)
    out[name] = time.perf_counter() - t
    cpu[name] = time.process_time() - c
out.update({"cpu " + k: v for k, v in cpu.items()})
print("RESULT" + json.dumps(out))
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


def _run(code: str, cache_dir: str | None, timeout: float = 600.0) -> dict:
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
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


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skglm", action="store_true", help="also measure skglm")
    args = parser.parse_args()
    for lib, both in measure_first_call(args.skglm).items():
        for state in ("cold", "warm"):
            parts = ", ".join(f"{k} {v:.2f}" for k, v in both[state].items())
            print(f"{lib:<6} {state}: {parts}")
