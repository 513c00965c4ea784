"""Cross-validation side by side with scikit-learn: times, ratios, chosen alphas, accuracy.

Run: ``python bench/bench_cv.py [--quick]`` (the full run takes minutes).
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.linalg import toeplitz
from sklearn import linear_model as sk

from penalized import linear_model as pl


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def wide_dense(n, p, rho=0.6, seed=0):
    rng = np.random.default_rng(seed)
    cov = toeplitz(rho ** np.arange(p))
    X = rng.standard_normal((n, p)) @ np.linalg.cholesky(cov).T
    beta = np.zeros(p)
    beta[rng.choice(p, 20, replace=False)] = rng.standard_normal(20)
    return X, X @ beta + 0.5 * rng.standard_normal(n)


def wide_sparse(n, p, density=0.01, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, format="csc", random_state=seed)
    beta = np.zeros(p)
    beta[rng.choice(p, 20, replace=False)] = 1.0
    return X, X @ beta + 0.1 * rng.standard_normal(n)


def report(name, ours, t_ours, ref, t_ref, extra=""):
    print(f"{name:40s} penalized {t_ours:7.2f}s  sklearn {t_ref:7.2f}s  "
          f"ratio {t_ref / t_ours:5.1f}x  {extra}")


def main(quick: bool) -> None:
    warnings.simplefilter("ignore")
    scale = 4 if quick else 1
    pl.Lasso(alpha=0.1).fit(*wide_dense(50, 20))          # compile outside the timings
    for name, (X, y) in [("LassoCV wide dense", wide_dense(1000 // scale, 5000 // scale)),
                         ("LassoCV wide sparse", wide_sparse(1000 // scale, 20000 // scale))]:
        ours, t1 = timed(lambda X=X, y=y: pl.LassoCV(cv=5).fit(X, y))
        ref, t2 = timed(lambda X=X, y=y: sk.LassoCV(cv=5).fit(X, y))
        k1 = int(np.argmin(np.abs(ours.alphas_ - ours.alpha_)))
        k2 = int(np.argmin(np.abs(ref.alphas_ - ref.alpha_)))
        report(name, ours, t1, ref, t2, f"grid index {k1} vs {k2}")
    rng = np.random.default_rng(0)
    for n, p in [(2000, 500), (500, 5000)]:
        n, p = n // scale, p // scale
        X = rng.standard_normal((n, p))
        y = X[:, :10].sum(axis=1) + rng.standard_normal(n)
        alphas = np.logspace(-3, 4, 100)
        ours, t1 = timed(lambda X=X, y=y, a=alphas: pl.RidgeCV(alphas=a).fit(X, y))
        ref, t2 = timed(lambda X=X, y=y, a=alphas: sk.RidgeCV(alphas=a).fit(X, y))
        report(f"RidgeCV n={n} p={p}", ours, t1, ref, t2,
               f"alpha {ours.alpha_:.4g} vs {ref.alpha_:.4g}")
    X, y = wide_dense(1000 // scale, 2000 // scale)
    y = (y > np.median(y)).astype(int)
    ours, t1 = timed(lambda: pl.LogisticRegressionCV(Cs=10, l1_ratios=[1.0], cv=5).fit(X, y))
    for solver in ("liblinear", "saga"):
        ref, t2 = timed(lambda s=solver: sk.LogisticRegressionCV(
            Cs=10, l1_ratios=[1.0], cv=5, solver=s).fit(X, y))
        report(f"LogisticRegressionCV L1 vs {solver}", ours, t1, ref, t2,
               f"C {ours.C_[0]:.4g} vs {ref.C_[0]:.4g}, train acc "
               f"{ours.score(X, y):.3f} vs {ref.score(X, y):.3f}")


if __name__ == "__main__":
    main("--quick" in sys.argv)
