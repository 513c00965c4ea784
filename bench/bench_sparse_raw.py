"""Sparse CSC coordinate-descent route (precompute=False) against the dense one on the
corpus's regression tables, unstandardized (raw columns: years, prices, counts)."""
import time, warnings
import numpy as np, scipy.sparse as sp, penalized as pz
from penalized import datasets
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
          f"{np.max(np.abs(s.objectives / d.objectives - 1)):.1e} epochs {int(s.n_iters.sum())} "
          f"vs {int(d.n_iters.sum())} cpu {cpu:.2f}s")
