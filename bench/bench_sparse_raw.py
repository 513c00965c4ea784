"""Sparse CSC coordinate-descent route (``precompute=False``) against the dense one on the
corpus's regression tables, unstandardized (raw columns: years, prices, counts).

    PYTHONPATH=. python bench/bench_sparse_raw.py
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import scipy.sparse as sp

import penalized as pz
from penalized import datasets


def main() -> None:
    warnings.simplefilter("ignore")
    for name in datasets.names("regression"):
        t = datasets.load(name, standardize=False)
        X, y = np.asarray(t.X, float), np.asarray(t.y, float)
        S = sp.csc_matrix(X)
        full = int(np.sum(np.diff(S.indptr) == X.shape[0]))
        d = pz.path(X, y, n_alphas=50, tol=1e-8, precompute=False)
        c0 = time.process_time()
        s = pz.path(S, y, alphas=d.alphas, tol=1e-8, precompute=False)
        cpu = time.process_time() - c0
        print(f"{name:24s} {X.shape} full cols {full:4d} sparse unconverged "
              f"{int(np.sum(s.stop_reasons == 'max_iter')):2d} dense unconverged "
              f"{int(np.sum(d.stop_reasons == 'max_iter')):2d} max rel obj diff "
              f"{np.max(np.abs(s.objectives / d.objectives - 1)):.1e} epochs "
              f"{int(s.n_iters.sum())} vs {int(d.n_iters.sum())} cpu {cpu:.2f}s")


if __name__ == "__main__":
    main()
