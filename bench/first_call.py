"""First call in a new process: import, a small dense lasso path, a sparse logistic path.

Cold numba cache: ``NUMBA_CACHE_DIR=$(mktemp -d) python bench/first_call.py``; warm: run it
again with the same ``NUMBA_CACHE_DIR`` (or without the variable once the package's own cache
exists). Targets (issue 2): under 15 s cold, under 3 s warm.
"""

import time

start = time.perf_counter()

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

import penalized as pz  # noqa: E402

imported = time.perf_counter()
rng = np.random.default_rng(0)
X = rng.standard_normal((100, 20))
y = X[:, 0] + rng.standard_normal(100)
pz.path(X, y, pz.LeastSquares(), pz.L1(), n_alphas=10)
dense = time.perf_counter()
pz.path(sp.csc_matrix(X), (y > 0).astype(int), pz.Logistic(), pz.L1(), n_alphas=5)
done = time.perf_counter()
print(f"import {imported - start:.2f} s, first path (dense lasso) {dense - imported:.2f} s, "
      f"second (sparse logistic) {done - dense:.2f} s, total {done - start:.2f} s")
