"""The certificate gradient's two mechanisms (``penalized.core.gradient``), switched on and off.

Run: ``OPENBLAS_NUM_THREADS=1 python bench/bench_gradient.py [--repeat 3] [--quick]``

Times the five fold paths of ``pz.cross_validate`` (no refit) on the wide dense
cross-validation problem of ``bench_cv.py`` with: both mechanisms (the default), the
reused pass alone, the float32 pass alone, neither; alternating, the median of
``--repeat`` runs each. Also the full passes made and the largest difference of the mean
CV curve from the default's (the certificates are exact, so the curves agree up to the
solver's own path).
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
from bench_cv import wide_dense

import penalized as pz
from penalized.core import gradient as _gradient

#: (LOWPREC_AFTER, REUSE_MAX_REFINE) per setting; an unreachable value switches one off
SETTINGS = {
    "both": (_gradient.LOWPREC_AFTER, _gradient.REUSE_MAX_REFINE),
    "reuse only": (10**9, _gradient.REUSE_MAX_REFINE),
    "float32 only": (_gradient.LOWPREC_AFTER, -1.0),
    "neither": (10**9, -1.0),
}


def main(repeat: int, quick: bool) -> None:
    warnings.simplefilter("ignore")
    scale = 4 if quick else 1
    X, y = wide_dense(1000 // scale, 5000 // scale)
    if quick:  # the small problem is below the size floor: lower it
        _gradient.MIN_SIZE = _gradient.LOWPREC_MIN_SIZE = 0
    pz.cross_validate(X[:60, :30], y[:60], cv=3, n_alphas=5)  # compile
    passes = {"n": 0}
    full_pass = _gradient._full_pass

    def counted(*args):
        passes["n"] += 1
        return full_pass(*args)

    _gradient._full_pass = counted
    times, curves, counts = {}, {}, {}
    for _ in range(repeat):
        for name, (after, reuse) in SETTINGS.items():
            _gradient.LOWPREC_AFTER, _gradient.REUSE_MAX_REFINE = after, reuse
            passes["n"] = 0
            start = time.perf_counter()
            res = pz.cross_validate(X, y, cv=5, tol=1e-4, refit=False)
            times.setdefault(name, []).append(time.perf_counter() - start)
            curves[name], counts[name] = res.mean, passes["n"]
    print(f"LassoCV folds, wide dense {X.shape[0]} x {X.shape[1]}, 5 folds x 100 alphas, "
          f"tol=1e-4 (median of {repeat})")
    for name in SETTINGS:
        off = np.max(np.abs(curves[name] - curves["both"]) / curves["both"])
        print(f"{name:14s} {np.median(times[name]):6.2f} s   full passes {counts[name]:4d}   "
              f"curve vs default {off:.1e}")


if __name__ == "__main__":
    args = sys.argv[1:]
    n_repeat = int(args[args.index("--repeat") + 1]) if "--repeat" in args else 3
    main(n_repeat, "--quick" in args)
