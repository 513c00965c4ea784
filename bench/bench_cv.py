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
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

import penalized as pz
from penalized import linear_model as pl

#: RidgeCV fits are timed as the median of this many runs
RIDGE_REPEAT = 5


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
    print(f"{name:48s} penalized {t_ours:7.2f}s  sklearn {t_ref:7.2f}s  "
          f"ratio {t_ref / t_ours:5.1f}x  {extra}")


def cv_curve_deviation(curve, reference):
    """Largest relative difference between a mean CV curve and the reference one."""
    return float(np.max(np.abs(curve - reference) / np.abs(reference)))


def best_of(fn, repeat):
    """``timed(fn)``, the fastest of ``repeat`` runs."""
    runs = [timed(fn) for _ in range(repeat)]
    return min(runs, key=lambda run: run[1])


def lasso_cv(name, X, y, looser_tol=5e-4, repeat=1, matched=()):
    """Ours and scikit-learn's LassoCV at their defaults, and ours at ``looser_tol`` (our
    tol is a gap relative to the objective, scikit-learn's relative to ``||y||^2 / n``:
    ours at its default is far more accurate, see "CV curve off by"); the CV curves
    against a tight one (our folds at tol=1e-10: both use the same unshuffled 5-fold split
    and grid). Times: the fastest of ``repeat`` runs. ``matched``: ``(our tol, its tol)``
    pairs, one run each (ours reused at the default 1e-4): scikit-learn at tighter tols,
    the comparison at equal accuracy the other way round, as ``bench_path.py`` matches
    its peers."""
    ours, t1 = best_of(lambda: pl.LassoCV(cv=5).fit(X, y), repeat)
    ref, t2 = best_of(lambda: sk.LassoCV(cv=5).fit(X, y), repeat)
    loose, t3 = best_of(lambda: pl.LassoCV(cv=5, tol=looser_tol).fit(X, y), repeat)
    tight = pl.LassoCV(cv=5, tol=1e-10).fit(X, y).mse_path_.mean(axis=1)

    def row(label, model, t, ref, t_ref):
        k1, k2 = (int(np.argmin(np.abs(m.alphas_ - m.alpha_))) for m in (model, ref))
        off, off_ref = (cv_curve_deviation(m.mse_path_.mean(axis=1), tight)
                        for m in (model, ref))
        report(label, model, t, ref, t_ref,
               f"grid index {k1} vs {k2}; CV curve off by {off:.1e} vs {off_ref:.1e}")

    row(name, ours, t1, ref, t2)
    row(f"{name} tol={looser_tol:g}", loose, t3, ref, t2)
    theirs = {}  # one run per tol
    for our_tol, tol in matched:
        model, t = (ours, t1) if our_tol == 1e-4 else timed(
            lambda t=our_tol: pl.LassoCV(cv=5, tol=t).fit(X, y))
        if tol not in theirs:
            theirs[tol] = timed(lambda tol=tol: sk.LassoCV(cv=5, tol=tol).fit(X, y))
        row(f"{name} tol={our_tol:g}, sklearn tol={tol:g}", model, t, *theirs[tol])

def fold_excess(X, y, folds, alphas, coefs):
    """Worst relative objective excess, over folds, of the fold fits ``coefs[f][k]``
    (``(coef, intercept)`` at ``alphas[f][k]``), against our tol=1e-10 paths."""
    worst = np.zeros(len(alphas[0]))
    for f, (train, _) in enumerate(folds):
        Xf, yf = X[train], y[train]
        order = np.argsort(alphas[f])[::-1]
        tight = pz.path(Xf, yf, pz.Logistic(), pz.L1(), alphas=alphas[f][order], tol=1e-10)
        problem = pz.make_problem(Xf, yf, pz.Logistic(), pz.L1())
        for rank, k in enumerate(order):
            value = problem.with_penalty(pz.L1(alpha=alphas[f][k])).objective(*coefs[f][k])
            worst[k] = max(worst[k], (value - tight.objectives[rank]) / tight.objectives[rank])
    return worst


def ours_fold_fits(X, y, folds, alphas, tol):
    """Our fold paths as LogisticRegressionCV computes them (same grid, same engine)."""
    out = []
    for train, _ in folds:
        res = pz.path(X[train], y[train], pz.Logistic(), pz.L1(), alphas=alphas, tol=tol)
        out.append([(res.coefs[k], res.intercepts[k]) for k in range(alphas.shape[0])])
    return out


def small_logistic_cv():
    """LogisticRegressionCV on breast cancer (standardized, 569 x 30, nearly separable),
    both at their defaults (L2: scikit-learn's lbfgs) and with L1 (scikit-learn's
    liblinear): best of 3 runs, the chosen C. No target; at large C the prox-Newton model
    is ill-conditioned and CD alone crawls (see ``newton_budget_epochs`` in
    penalized/solvers/cd.py)."""
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    for label, options in (("L2", {}), ("L1", {"penalty": "l1", "solver": "liblinear"})):
        ours, t1 = best_of(lambda o=options: pl.LogisticRegressionCV(cv=5, **o).fit(X, y), 3)
        ref, t2 = best_of(lambda o=options: sk.LogisticRegressionCV(cv=5, **o).fit(X, y), 3)
        report(f"LogisticRegressionCV {label} breast cancer", ours, t1, ref, t2,
               f"C {ours.C_[0]:.4g} vs {ref.C_[0]:.4g}")


def logistic_cv(X, y, Cs, matched_tol):
    """LogisticRegressionCV L1: times at the defaults and at ``tol=matched_tol``, and each
    fold fit's objective excess (worst over folds, per C) for ours and scikit-learn's."""
    n = X.shape[0]
    folds = list(StratifiedKFold(5).split(X, y))
    runs = {}
    for tol in (1e-4, matched_tol):
        runs[f"penalized tol={tol:g}"] = timed(lambda t=tol: pl.LogisticRegressionCV(
            Cs=Cs, l1_ratios=[1.0], cv=5, tol=t).fit(X, y))
    for solver in ("liblinear", "saga"):
        runs[f"sklearn {solver}"] = timed(lambda s=solver: sk.LogisticRegressionCV(
            Cs=Cs, l1_ratios=[1.0], cv=5, solver=s).fit(X, y))
    # ours: alpha = 1 / (n C) on every fold (the full data's n, one grid for all folds);
    # scikit-learn: C multiplies the fold's summed loss, alpha = 1 / (n_train C)
    alphas_ours = 1.0 / (n * np.sort(Cs))  # decreasing, as the path computes them
    excess = {}
    for name in runs:
        if name.startswith("penalized"):
            tol = float(name.split("=")[1])
            fits = ours_fold_fits(X, y, folds, alphas_ours, tol)
            excess[name] = fold_excess(X, y, folds, [alphas_ours] * 5, fits)
        else:
            model = runs[name][0]
            paths = model.coefs_paths_[model.classes_[1]] if isinstance(
                model.coefs_paths_, dict) else model.coefs_paths_
            paths = paths.reshape(5, len(Cs), -1)  # (folds, Cs increasing, p + 1)
            fits = [[(paths[f, k, :-1], paths[f, k, -1]) for k in range(len(Cs))]
                    for f in range(5)]
            alphas = [1.0 / (train.shape[0] * np.asarray(model.Cs_)) for train, _ in folds]
            excess[name] = fold_excess(X, y, folds, alphas, fits)
    base = runs["sklearn liblinear"][1]
    print(f"\nLogisticRegressionCV L1, n={n} p={X.shape[1]}, Cs={len(Cs)}, 5 folds: time, ratio "
          "to liblinear, chosen C, and the worst relative objective excess of the fold fits")
    print(f"{'':26s} {'time s':>7s} {'x':>5s} {'C_':>9s}  " +
          " ".join(f"C={c:<7.2g}" for c in np.sort(Cs)))
    for name, (model, t) in runs.items():
        print(f"{name:26s} {t:7.2f} {base / t:5.1f} {model.C_[0]:9.4g}  " +
              " ".join(f"{e:9.1e}" for e in excess[name]))
    print("(liblinear also penalizes the intercept: part of its excess where C is small is "
          "that difference of model, not of accuracy)")


def main(quick: bool) -> None:
    warnings.simplefilter("ignore")
    scale = 4 if quick else 1
    pl.Lasso(alpha=0.1).fit(*wide_dense(50, 20))          # compile outside the timings
    lasso_cv("LassoCV wide dense", *wide_dense(1000 // scale, 5000 // scale),
             matched=((1e-4, 1e-5), (1e-4, 1e-6), (1e-6, 1e-6)))
    lasso_cv("LassoCV wide sparse", *wide_sparse(1000 // scale, 20000 // scale))
    # small and mid-size data (no target; the per-alpha overhead that the compiled path of
    # penalized/solvers/cd_path.py removes, and the Gram form of tall data)
    lasso_cv("LassoCV diabetes 442 x 10", *load_diabetes(return_X_y=True), repeat=3)
    lasso_cv("LassoCV 500 x 500", *wide_dense(500 // scale, 500 // scale), repeat=3)
    lasso_cv("LassoCV 2000 x 500", *wide_dense(2000 // scale, 500 // scale), repeat=3)
    rng = np.random.default_rng(0)
    for n, p in [(2000, 500), (500, 5000)]:
        n, p = n // scale, p // scale
        X = rng.standard_normal((n, p))
        y = X[:, :10].sum(axis=1) + rng.standard_normal(n)
        alphas = np.logspace(-3, 4, 100)
        # a fit takes 0.1 s: the median of RIDGE_REPEAT runs each, alternating (a single
        # first run of either library carried 0.1 s of BLAS warm-up)
        runs = [(timed(lambda X=X, y=y, a=alphas: pl.RidgeCV(alphas=a).fit(X, y)),
                 timed(lambda X=X, y=y, a=alphas: sk.RidgeCV(alphas=a).fit(X, y)))
                for _ in range(RIDGE_REPEAT)]
        ours, ref = runs[0][0][0], runs[0][1][0]
        t1 = float(np.median([r[0][1] for r in runs]))
        t2 = float(np.median([r[1][1] for r in runs]))
        report(f"RidgeCV n={n} p={p}", ours, t1, ref, t2,
               f"alpha {ours.alpha_:.4g} vs {ref.alpha_:.4g}")
    small_logistic_cv()
    X, y = wide_dense(1000 // scale, 2000 // scale)
    y = (y > np.median(y)).astype(int)
    logistic_cv(X, y, np.logspace(-4, 4, 10), matched_tol=1e-2)


if __name__ == "__main__":
    main("--quick" in sys.argv)
