"""The path solvers compared by ``bench_path.py``, each behind one signature.

``run(problem, alphas) -> Solved`` fits the whole grid ``alphas`` (our convention: objective
``(1/n) sum loss + alpha * P(w)``, no intercept) and returns the coefficients; every
conversion to a library's own parameters happens here, so that the objectives computed by
``bench_path.py`` with OUR ``Problem.objective`` are comparable.

Tolerances ("matched" mode) aim at our default accuracy, a relative duality gap of 1e-8:

- scikit-learn ``lasso_path``/``enet_path`` stop at gap < tol * ||y||^2 with an objective n
  times ours, i.e. relative gap (to the null objective ||y||^2/2n) < 2 tol: tol = 5e-9.
- celer lasso: gap < tol * ||y||^2 / n (same 2x): tol = 5e-9; celer logreg sums the loss (its
  alpha is n * ours) and stops at gap < tol * n log 2: tol = 1e-8.
- skglm stops on the largest KKT violation (absolute, gradient units); glmnet on the largest
  coefficient change weighted by curvature, relative to the null deviance; liblinear on the
  norm of the projected gradient relative to the start; saga on the relative coefficient
  change. These have no exact gap equivalent: the values in ``PEER_TOLS`` were picked so
  that their worst objective excess is about ours (see bench/README.md); the table reports
  the accuracy actually reached, so the reader can judge.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import warnings

import numpy as np

import penalized as pz

from ._problems import BenchProblem

#: Our default target: relative duality gap.
TARGET_GAP = 1e-8
#: Tolerances of the peers in "matched" mode (see the module docstring); "default" mode
#: uses the libraries' own defaults instead.
PEER_TOLS = {
    "sklearn": TARGET_GAP / 2, "celer": TARGET_GAP / 2, "celer-logreg": TARGET_GAP,
    "skglm": 1e-8,            # times ||X^T grad(0)||_inf (= alpha_max * l1_ratio)
    "glmnet": 1e-12,          # glmnet's `thresh`
    "liblinear": 1e-6,
    "saga": 1e-4,             # tighter is hopeless along 100 alphas (see README)
    "skglm-poisson": 1e-6,    # times ||X^T grad(0)||_inf, on the Poisson path
    "glum": 1e-5,             # glum's gradient_tol (Poisson path)
}
#: Epochs per alpha for saga (sklearn's default is 100; its accuracy is reported).
SAGA_MAX_ITER = 200
DEFAULT_TOLS = {
    "sklearn": 1e-4, "celer": 1e-6, "celer-logreg": 1e-6, "skglm": 1e-4, "glmnet": 1e-7,
    "liblinear": 1e-4, "saga": 1e-4, "skglm-poisson": 1e-4, "glum": 1e-4,
}


@dataclasses.dataclass
class Solved:
    """What a path solver returns.

    Attributes
    ----------
    coefs : ndarray of shape (n_alphas, n_features)
        Rows past ``n_solved`` are NaN (glmnet may stop its path early).
    n_solved : int
    certificates : ndarray of shape (n_alphas,) or None
        Our duality gaps (absolute), for our own rows only.
    """

    coefs: np.ndarray
    n_solved: int
    certificates: np.ndarray | None = None


def _kkt_scale(bp: BenchProblem) -> float:
    """``||X^T grad(0)||_inf``: the gradient of the datafit at w = 0, no intercept."""
    n = bp.X.shape[0]
    g0 = {"regression": -bp.y / n, "classification": -bp.signed_y / (2 * n),
          "poisson": (1.0 - bp.y) / n}[bp.task]  # Poisson: exp(0) - y
    return float(np.max(np.abs(bp.X.T @ g0)))


# ---- ours --------------------------------------------------------------------------------
def run_ours(bp: BenchProblem, alphas: np.ndarray, tol: float, precompute="auto") -> Solved:
    """``pz.path`` on the grid; ``precompute`` is its option ("auto" or "false")."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pz.ConvergenceWarning)
        res = pz.path(bp.X, bp.y, bp.datafit, bp.penalty(1.0), alphas=alphas, tol=tol,
                      fit_intercept=False,
                      precompute=False if precompute == "false" else "auto")
    if not np.allclose(res.alphas, alphas, rtol=0, atol=0):
        raise RuntimeError("pz.path reordered the grid")
    gaps = np.array(res.certificates) if res.certificate_kind == "gap" else None
    return Solved(np.array(res.coefs), len(alphas), gaps)


# ---- scikit-learn --------------------------------------------------------------------------
def run_sklearn(bp: BenchProblem, alphas: np.ndarray, tols: dict) -> Solved:
    from sklearn.linear_model import enet_path

    # enet_path with l1_ratio=1 is lasso_path; same penalty scaling as ours.
    _, coefs, _ = enet_path(bp.X, bp.y, l1_ratio=bp.l1_ratio, alphas=alphas,
                            tol=tols["sklearn"], max_iter=10_000)
    return Solved(coefs.T.copy(), len(alphas))


def _sklearn_logistic(bp: BenchProblem, alphas: np.ndarray, solver: str, tol: float,
                      warm_start: bool) -> Solved:
    from sklearn.linear_model import LogisticRegression

    n = bp.X.shape[0]
    coefs = np.zeros((len(alphas), bp.X.shape[1]))
    model = None
    for k, alpha in enumerate(alphas):
        C = 1.0 / (n * alpha)  # sklearn: C * sum(loss) + ||w||_1  ==  n C * (ours)
        if model is None or not warm_start:
            model = LogisticRegression(l1_ratio=1.0, C=C, solver=solver, tol=tol,
                                       fit_intercept=False, warm_start=warm_start,
                                       max_iter=SAGA_MAX_ITER if solver == "saga" else 1000)
        else:
            model.set_params(C=C)
        model.fit(bp.X, bp.y)
        coefs[k] = model.coef_.ravel()
    return Solved(coefs, len(alphas))


def run_liblinear(bp, alphas, tols) -> Solved:
    return _sklearn_logistic(bp, alphas, "liblinear", tols["liblinear"], warm_start=False)


def run_saga(bp, alphas, tols) -> Solved:
    return _sklearn_logistic(bp, alphas, "saga", tols["saga"], warm_start=True)


# ---- skglm -------------------------------------------------------------------------------
def run_skglm(bp: BenchProblem, alphas: np.ndarray, tols: dict) -> Solved:
    from skglm.datafits import Logistic, Poisson, Quadratic
    from skglm.penalties import L1, L1_plus_L2, MCPenalty
    from skglm.solvers import AndersonCD, ProxNewton

    tol = tols["skglm-poisson" if bp.task == "poisson" else "skglm"] * _kkt_scale(bp)

    def penalty(a):
        if bp.gamma is not None:
            return MCPenalty(a, bp.gamma)
        return L1(a) if bp.l1_ratio == 1.0 else L1_plus_L2(a, bp.l1_ratio)

    if bp.task == "regression":  # skglm's own path (Lasso/ElasticNet estimators use it)
        solver = AndersonCD(tol=tol, fit_intercept=False)
        _, coefs, _ = solver.path(bp.X, bp.y, Quadratic(), penalty(1.0), alphas=alphas)
        return Solved(np.asarray(coefs).T.copy(), len(alphas))
    # Logistic, Poisson: ProxNewton (skglm's SparseLogisticRegression solver, and its
    # Poisson one) has no path method: warm-start it along the grid as AndersonCD.path does.
    # skglm's Poisson datafit is exp(z) - y z: ours less a constant, same minimizers.
    y = bp.y if bp.task == "poisson" else bp.signed_y
    datafit = Poisson() if bp.task == "poisson" else Logistic()
    solver = ProxNewton(tol=tol, fit_intercept=False)
    coefs = np.zeros((len(alphas), bp.X.shape[1]))
    w = np.zeros(bp.X.shape[1])
    for k, alpha in enumerate(alphas):
        w = solver.solve(bp.X, y, datafit, penalty(alpha), w_init=w.copy(),
                         Xw_init=np.asarray(bp.X @ w).ravel())[0]
        coefs[k] = w
    return Solved(coefs, len(alphas))


# ---- celer -------------------------------------------------------------------------------
def run_celer(bp: BenchProblem, alphas: np.ndarray, tols: dict) -> Solved:
    from celer import celer_path

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # celer's ConvergenceWarning: accuracy is reported
        if bp.task == "regression":
            # celer's enet penalty is l1_ratio|w| + (1 - l1_ratio) w^2 / 2 (checked by the
            # objective comparison); prune=True is celer.Lasso's default.
            _, coefs, _ = celer_path(bp.X, bp.y, "lasso", alphas=alphas, l1_ratio=bp.l1_ratio,
                                     tol=tols["celer"], prune=True)
        else:  # logreg objective sums the loss: alpha_celer = n * alpha
            n = bp.X.shape[0]
            _, coefs, _ = celer_path(bp.X, bp.signed_y, "logreg", alphas=alphas * n,
                                     tol=tols["celer-logreg"], prune=True, use_PN=True)
    return Solved(np.asarray(coefs).T.copy(), len(alphas))


# ---- glmnet ------------------------------------------------------------------------------
def glmnet_gaussian_lambda(alphas: np.ndarray, y: np.ndarray, l1_ratio: float):
    """Our ``(alpha, l1_ratio)`` as glmnet's ``(lambda, alpha)``, ``standardize=False``.

    glmnet always scales y to unit variance (``s_y = sqrt(mean(y^2))`` without an intercept)
    and rescales lambda by ``s_y`` for the L1 part only, so that its solution is
    ``1/(2n)||y - Xw||^2 + lambda m ||w||_1 + lambda (1 - m) / (2 s_y) ||w||^2``
    (measured by a KKT fit). Matching ``alpha r`` and ``alpha (1 - r)``:
    ``lambda = alpha (r + (1 - r) s_y)``, ``m = r / (r + (1 - r) s_y)``. For the lasso
    (r = 1) lambda = alpha.
    """
    s_y = float(np.sqrt(np.mean(y**2)))
    r = l1_ratio
    return alphas * (r + (1 - r) * s_y), r / (r + (1 - r) * s_y)


def run_glmnet(bp: BenchProblem, alphas: np.ndarray, tols: dict) -> Solved:
    from glmnet import ElasticNet, LogitNet

    common = dict(standardize=False, fit_intercept=False, n_splits=0, tol=tols["glmnet"],
                  max_iter=1_000_000)
    if bp.task == "regression":
        lambdas, mixing = glmnet_gaussian_lambda(alphas, bp.y, bp.l1_ratio)
        model = ElasticNet(alpha=mixing, lambda_path=lambdas, **common)
    else:  # binomial deviance / 2n is our mean logistic loss: lambda = alpha
        model = LogitNet(alpha=bp.l1_ratio, lambda_path=alphas.copy(), **common)
    model.fit(bp.X, bp.y)
    path = np.asarray(model.coef_path_)
    path = path.reshape(-1, path.shape[-1])  # LogitNet: (1, p, k) -> (p, k)
    coefs = np.full((len(alphas), bp.X.shape[1]), np.nan)
    n_solved = path.shape[1]
    coefs[:n_solved] = path.T
    return Solved(coefs, n_solved)


# ---- glum --------------------------------------------------------------------------------
def run_glum(bp: BenchProblem, alphas: np.ndarray, tols: dict) -> Solved:
    """glum's own path (``alpha_search`` over our grid): its Poisson objective is half the
    mean deviance plus ``alpha (r ||w||_1 + (1 - r) ||w||^2 / 2)``, ours exactly."""
    from glum import GeneralizedLinearRegressor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glum's ConvergenceWarning: accuracy is reported
        model = GeneralizedLinearRegressor(
            family="poisson", alphas=alphas.copy(), alpha_search=True,
            l1_ratio=bp.l1_ratio, fit_intercept=False, gradient_tol=tols["glum"],
            max_iter=1000).fit(bp.X, bp.y)
    return Solved(np.asarray(model.coef_path_).reshape(len(alphas), -1).copy(), len(alphas))


#: name -> (runner, library module that must be importable, tasks it applies to)
PEERS = {
    "sklearn": (run_sklearn, "sklearn", ("regression",)),
    "sklearn-liblinear": (run_liblinear, "sklearn", ("classification",)),
    "sklearn-saga": (run_saga, "sklearn", ("classification",)),
    "skglm": (run_skglm, "skglm", ("regression", "classification", "poisson")),
    "glum": (run_glum, "glum", ("poisson",)),
    "celer": (run_celer, "celer", ("regression", "classification")),
    "glmnet": (run_glmnet, "glmnet", ("regression", "classification")),
}


#: the peers that have MCP (the others run only on the elastic-net problems)
MCP_PEERS = ("skglm",)


def peer_available(name: str) -> bool:
    """Whether the peer's library is importable (peers are optional)."""
    return importlib.util.find_spec(PEERS[name][1]) is not None
