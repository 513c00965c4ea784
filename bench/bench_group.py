"""Group lasso paths against skglm's GroupBCD, at equal accuracy, in one run.

    python bench/bench_group.py [--problems generated,wage] [--n-alphas 30] [--repeat 3]

- ``generated``: dense Gaussian, n=1000, p=500 (pairwise correlation 0.3), groups of 5
  consecutive features, 10 true groups, noise sd 1; centered.
- ``wage``: ISLR Wage (``penalized.datasets``, 3000 x 22 standardized), one group per
  input column (the one-hot columns of each factor together), y = logwage centered.
- ``oj``: ISLR OJ (1070 x 21 standardized, 16 column groups), logistic on ``Purchase``.

Same grid for everyone (``n-alphas`` from alpha_max down to 1e-2 alpha_max), no
intercept (the data are centered; for ``oj``, none for anyone), group weights
sqrt(|g|), least squares (logistic for ``oj``). skglm warm
starts along the grid (``w_init``); its solver stops on its own criterion, run at a
ladder of ``tol``. ``worst excess``: the largest relative objective excess along the path
against the best objective found by any run at that alpha (ours at tol=1e-12 included),
every objective computed by ``pz.make_problem(...).objective``. Times: the median of
``repeat`` runs, after one warm-up run (compilation excluded). One thread.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

import penalized as pz  # noqa: E402


def generated():
    rng = np.random.default_rng(0)
    n, p, size = 1000, 500, 5
    X = rng.standard_normal((n, p)) + np.sqrt(0.3 / 0.7) * rng.standard_normal((n, 1))
    w = np.zeros(p)
    true = rng.choice(p // size, 10, replace=False)
    for g in true:
        w[g * size:(g + 1) * size] = rng.standard_normal(size)
    y = X @ w + rng.standard_normal(n)
    X = np.asfortranarray(X - X.mean(axis=0))
    return X, y - y.mean(), [list(range(g, g + size)) for g in range(0, p, size)]


def column_groups(table):
    labels = [name.split("=")[0] for name in table.feature_names]
    return [[j for j, lab in enumerate(labels) if lab == g] for g in dict.fromkeys(labels)]


def wage():
    import penalized.datasets as datasets

    table = datasets.load("wage")
    return np.asfortranarray(table.X), table.y - table.y.mean(), column_groups(table)


def oj():
    import penalized.datasets as datasets

    table = datasets.load("oj")
    y = np.where(table.y == np.unique(table.y)[1], 1.0, -1.0)
    return np.asfortranarray(table.X), y, column_groups(table)


PROBLEMS = {"generated": generated, "wage": wage, "oj": oj}
LOGISTIC = {"oj"}


def ours(X, y, groups, alphas, tol, datafit):
    res = pz.path(X, y, datafit, pz.GroupLasso(groups=groups), alphas=alphas,
                  tol=tol, fit_intercept=False)
    return res.coefs


def skglm_path(X, y, groups, alphas, tol, logistic):
    from skglm.datafits import LogisticGroup, QuadraticGroup
    from skglm.penalties import WeightedGroupL2
    from skglm.solvers import GroupBCD

    grp_ptr = np.cumsum([0] + [len(g) for g in groups]).astype(np.int32)
    grp_indices = np.concatenate(groups).astype(np.int32)
    weights = np.sqrt(np.diff(grp_ptr)).astype(float)
    datafit = (LogisticGroup if logistic else QuadraticGroup)(grp_ptr, grp_indices)
    solver = GroupBCD(tol=tol, max_iter=1000, max_epochs=10_000, warm_start=True)
    w = np.zeros(X.shape[1])
    coefs = np.zeros((alphas.shape[0], X.shape[1]))
    for k, a in enumerate(alphas):
        w = solver.solve(X, y, datafit, WeightedGroupL2(a, weights, grp_ptr, grp_indices),
                         w_init=w.copy(), Xw_init=X @ w)[0]
        coefs[k] = w
    return coefs


def timed(fn, repeat):
    fn()  # warm-up: compilation excluded
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def run(name, n_alphas, repeat, skglm_tols, our_tols):
    X, y, groups = PROBLEMS[name]()
    logistic = name in LOGISTIC
    datafit = pz.Logistic() if logistic else pz.LeastSquares()
    pen = pz.GroupLasso(groups=groups)
    a_max = pz.alpha_max(X, y, datafit, pen, fit_intercept=False)
    alphas = np.geomspace(a_max, 1e-2 * a_max, n_alphas)
    problem = pz.make_problem(X, y, datafit, pen, fit_intercept=False)

    def objectives(coefs):
        return np.array([problem.with_penalty(pen.with_alpha(a)).objective(c, 0.0)
                         for a, c in zip(alphas, coefs, strict=True)])

    rows = [("penalized", tol,
             *timed(lambda t=tol: ours(X, y, groups, alphas, t, datafit), repeat))
            for tol in our_tols]
    try:
        rows += [("skglm GroupBCD", tol,
                  *timed(lambda t=tol: skglm_path(X, y, groups, alphas, t, logistic), repeat))
                 for tol in skglm_tols]
    except ImportError:
        print("skglm not installed")
    reference = objectives(ours(X, y, groups, alphas, 1e-12, datafit))
    values = [objectives(coefs) for *_, coefs in rows]
    best = np.minimum(reference, np.min(values, axis=0))
    print(f"\n{name}: {X.shape[0]} x {X.shape[1]}, {len(groups)} groups, {n_alphas} alphas, "
          f"{type(datafit).__name__}")
    print(f"{'method':<16}{'tol':>8}{'seconds':>10}{'worst excess':>15}")
    for (method, tol, seconds, _), objs in zip(rows, values, strict=True):
        excess = float(np.max((objs - best) / best))
        print(f"{method:<16}{tol:>8.0e}{seconds:>10.3f}{excess:>15.2e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--n-alphas", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skglm-tols", default="1e-4,1e-6,1e-8")
    parser.add_argument("--our-tols", default="1e-6,1e-8")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    for name in args.problems.split(","):
        run(name, args.n_alphas, args.repeat,
            [float(t) for t in args.skglm_tols.split(",")],
            [float(t) for t in args.our_tols.split(",")])


if __name__ == "__main__":
    main()
