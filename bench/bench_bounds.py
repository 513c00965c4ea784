"""What box constraints cost: a lasso path with bounds that never bind against the same path
unbounded, and a binding box against glmnet's lower_limits / upper_limits (same run).

    python bench/bench_bounds.py [--repeat 3]

A bounded fit has no duality gap (its KKT score stops it), no progress estimate and no
Newton step on the support, and the compiled path driver refuses it
(:mod:`penalized.penalties.bounds`): the first ratio is that price where the box changes
nothing. 100 alphas, ``pz.path``'s defaults otherwise (tol 1e-6, the Gram form for this
tall least squares); glmnet at its default tol 1e-7, unbounded and with the binding box.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import penalized as pz


def _best(function, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n, p = 2000, 500
    X = rng.standard_normal((n, p))
    beta = np.zeros(p)
    beta[:20] = rng.uniform(-2, 2, 20)
    y = X @ beta + rng.standard_normal(n)
    loose = pz.L1(lower=-1e3, upper=1e3)  # never binds
    tight = pz.L1(lower=-0.5, upper=0.5)  # binds on the large coefficients
    options = dict(n_alphas=100)
    pz.path(X, y, penalty=loose, n_alphas=5)  # compile
    pz.path(X, y, n_alphas=5)
    plain = _best(lambda: pz.path(X, y, **options), args.repeat)
    boxed = _best(lambda: pz.path(X, y, penalty=loose, **options), args.repeat)
    binding = _best(lambda: pz.path(X, y, penalty=tight, **options), args.repeat)
    print(f"n={n} p={p}: unbounded {plain:.3f} s, bounds that never bind {boxed:.3f} s "
          f"({boxed / plain:.2f}x), binding bounds {binding:.3f} s")
    try:
        import glmnet
    except ImportError:
        print("glmnet: not installed")
        return
    grid = pz.path(X, y, penalty=tight, n_alphas=100).alphas
    free = glmnet.ElasticNet(alpha=1.0, lambda_path=grid, standardize=False, n_splits=0)
    peer_free = _best(lambda: free.fit(X, y), args.repeat)
    model = glmnet.ElasticNet(alpha=1.0, lambda_path=grid, lower_limits=-0.5,
                              upper_limits=0.5, standardize=False, n_splits=0)
    peer = _best(lambda: model.fit(X, y), args.repeat)
    ours = pz.path(X, y, penalty=tight, alphas=grid)
    worst = max(abs(pz.make_problem(X, y, pz.LeastSquares(), tight.with_alpha(a)).objective(
        model.coef_path_[:, k], model.intercept_path_[k]) - ours.objectives[k]) / ours.objectives[k]
        for k, a in enumerate(model.lambda_path_))
    print(f"glmnet: unbounded {peer_free:.3f} s (ours {plain / peer_free:.2f}x its time), "
          f"the same binding limits {peer:.3f} s (ours {binding / peer:.2f}x); its worst "
          f"objective relative to ours along the bounded path {worst:+.2e}")


if __name__ == "__main__":
    main()
