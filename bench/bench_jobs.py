"""``cross_validate(n_jobs=2)`` against serial on two cores: the speed-up of running folds
in parallel (threads sharing X when the compiled kernels release the GIL, processes
otherwise).

Run ``OPENBLAS_NUM_THREADS=1 python bench/bench_jobs.py`` (about a minute). A 5-fold CV of
50 alphas at tol 1e-6 on a generated 1000 x 3000 table (20 true features): a lasso and an
L1 logistic model; best of 2 runs of each, serial and parallel alternated, after one small
warm-up of each so that compilation and worker start-up are not timed.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

import penalized as pz
from penalized.workflows.tasks import kernels_release_gil


def main() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 3000))
    coef = np.zeros(3000)
    coef[:20] = 1.0
    z = X @ coef + rng.standard_normal(1000)
    cases = {"lasso": (z, pz.LeastSquares()), "logistic": ((z > 0).astype(int), pz.Logistic())}
    print("compiled kernels release the GIL (threads):", kernels_release_gil())
    warnings.simplefilter("ignore", pz.ConvergenceWarning)
    for name, (y, datafit) in cases.items():
        for n_jobs in (None, 2):  # warm-up: compilation, worker start-up
            pz.cross_validate(X[:200], y[:200], datafit, cv=5, n_alphas=10, n_jobs=n_jobs)
        times: dict = {None: [], 2: []}
        for _ in range(2):
            for n_jobs in (None, 2):
                start = time.perf_counter()
                pz.cross_validate(X, y, datafit, cv=5, n_alphas=50, tol=1e-6, n_jobs=n_jobs)
                times[n_jobs].append(time.perf_counter() - start)
        serial, parallel = min(times[None]), min(times[2])
        print(f"{name} 1000 x 3000, 5 folds: serial {serial:.2f} s, n_jobs=2 {parallel:.2f} s, "
              f"speed-up {serial / parallel:.2f}x")


if __name__ == "__main__":
    main()
