"""Benchmark problems for ``bench_path.py``: generated data, one seed, one convention.

Every problem is solved WITHOUT an intercept by every method (``fit_intercept=False``): the
dense least-squares data are centered (so an intercept would be 0 anyway), the sparse data
cannot be centered without densifying, and the logistic data are drawn without an offset.
This removes the libraries' different intercept treatments (liblinear penalizes it, celer's
path has none) from the comparison.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

import penalized as pz

#: Full-size shapes of the issue; ``--quick`` uses the ``quick`` shapes.
SHAPES = {
    "tall": {"full": (10_000, 100), "quick": (1_000, 30)},
    "wide": {"full": (1_000, 5_000), "quick": (100, 400)},
    "wide-enet": {"full": (1_000, 5_000), "quick": (100, 400)},
    "sparse": {"full": (10_000, 50_000), "quick": (1_000, 3_000)},
    "sparse-enet": {"full": (10_000, 50_000), "quick": (1_000, 3_000)},
    "logistic": {"full": (2_000, 2_000), "quick": (200, 100)},
    "mcp": {"full": (10_000, 1_000), "quick": (1_000, 100)},
    "poisson": {"full": (2_000, 200), "quick": (300, 30)},
}
ALL_PROBLEMS = tuple(SHAPES)


@dataclasses.dataclass(frozen=True, eq=False)
class BenchProblem:
    """One benchmark problem: data, model and a human description.

    Attributes
    ----------
    name : str
    description : str
    X : ndarray of shape (n_samples, n_features), Fortran order, or csc_matrix
    y : ndarray of shape (n_samples,)
        Real values (least squares), labels in {0, 1} (logistic) or counts (Poisson).
    task : {"regression", "classification", "poisson"}
    l1_ratio : float
        1.0 for the lasso / L1 logistic, 0.5 for the elastic net.
    gamma : float or None
        MCP's gamma: the penalty is ``MCP(gamma)`` instead of the elastic net.
    """

    name: str
    description: str
    X: np.ndarray | sp.csc_matrix
    y: np.ndarray
    task: str
    l1_ratio: float
    gamma: float | None = None

    @property
    def is_sparse(self) -> bool:
        return sp.issparse(self.X)

    @property
    def datafit(self) -> pz.Datafit:
        return {"regression": pz.LeastSquares, "classification": pz.Logistic,
                "poisson": pz.Poisson}[self.task]()

    def penalty(self, alpha: float) -> pz.Penalty:
        """Our penalty at ``alpha`` (L1, ElasticNet or MCP)."""
        if self.gamma is not None:
            return pz.MCP(alpha=alpha, gamma=self.gamma)
        if self.l1_ratio == 1.0:
            return pz.L1(alpha=alpha)
        return pz.ElasticNet(alpha=alpha, l1_ratio=self.l1_ratio)

    @property
    def signed_y(self) -> np.ndarray:
        """Labels in {-1, +1} (skglm, celer); the real target for regression."""
        return 2.0 * self.y - 1.0 if self.task == "classification" else self.y


def _sparse_coef(rng, n_features: int, n_nonzero: int) -> np.ndarray:
    coef = np.zeros(n_features)
    support = rng.choice(n_features, size=n_nonzero, replace=False)
    coef[support] = rng.choice([-1.0, 1.0], size=n_nonzero) * rng.uniform(0.5, 2.0, n_nonzero)
    return coef


def _toeplitz_design(rng, n_samples: int, n_features: int, rho: float) -> np.ndarray:
    """Gaussian rows with correlation ``rho ** |i - j|`` (an AR(1) recursion, exact)."""
    X = np.empty((n_samples, n_features), order="F")
    X[:, 0] = rng.standard_normal(n_samples)
    innovation = np.sqrt(1.0 - rho**2)
    for j in range(1, n_features):
        X[:, j] = rho * X[:, j - 1] + innovation * rng.standard_normal(n_samples)
    return X


def _regression_target(rng, X, coef, snr: float = 3.0) -> np.ndarray:
    signal = np.asarray(X @ coef).ravel()
    noise = rng.standard_normal(X.shape[0])
    return signal + noise * np.std(signal) / snr


def make_bench_problem(name: str, quick: bool = False, seed: int = 0) -> BenchProblem:
    """Generate one problem of :data:`ALL_PROBLEMS` (``quick`` = scaled down)."""
    if name not in SHAPES:
        raise ValueError(f"unknown problem {name!r}; choose from {', '.join(ALL_PROBLEMS)}")
    n, p = SHAPES[name]["quick" if quick else "full"]
    rng = np.random.default_rng(seed)
    if name == "tall":
        X = np.asfortranarray(rng.standard_normal((n, p)))
        y = _regression_target(rng, X, _sparse_coef(rng, p, 10))
        desc = f"tall dense n={n} p={p}, lasso"
    elif name in ("wide", "wide-enet"):
        X = _toeplitz_design(rng, n, p, rho=0.6)
        y = _regression_target(rng, X, _sparse_coef(rng, p, max(p // 100, 5)))
        penalty = "lasso" if name == "wide" else "elastic net l1_ratio=0.5"
        desc = f"wide dense n={n} p={p}, Toeplitz rho=0.6, {penalty}"
    elif name in ("sparse", "sparse-enet"):
        density = 1e-3 if not quick else 5e-3
        X = sp.random(n, p, density=density, format="csc", random_state=seed,
                      data_rvs=rng.standard_normal)
        X.sort_indices()
        y = _regression_target(rng, X, _sparse_coef(rng, p, 200))
        penalty = "lasso" if name == "sparse" else "elastic net l1_ratio=0.5"
        desc = f"wide sparse CSC n={n} p={p} density={density:g}, {penalty}"
    elif name == "mcp":
        # iid columns, p / n = 0.1: the smallest eigenvalue of X^T X / n, about
        # (1 - sqrt(0.1))^2 = 0.47, exceeds MCP's concavity 1 / gamma = 1/3, so the
        # objective is strongly convex: one minimizer, reached by every method
        X = np.asfortranarray(rng.standard_normal((n, p)))
        y = _regression_target(rng, X, _sparse_coef(rng, p, 20))
        desc = f"tall dense n={n} p={p}, MCP gamma=3"
    elif name == "poisson":  # counts of mean exp(X w), X centered: no intercept
        X = _toeplitz_design(rng, n, p, rho=0.5)
        X -= X.mean(axis=0)
        coef = _sparse_coef(rng, p, 20) * 0.15
        y = rng.poisson(np.exp(X @ coef)).astype(float)
        desc = f"Poisson dense n={n} p={p}, Toeplitz rho=0.5, L1"
    else:  # logistic
        X = np.asfortranarray(rng.standard_normal((n, p)))
        z = X @ _sparse_coef(rng, p, 20)
        y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-z))).astype(float)
        desc = f"logistic dense n={n} p={p}, L1"
    if not sp.issparse(X):  # centered dense data: no intercept needed, for everyone
        X -= X.mean(axis=0)
        if name not in ("logistic", "poisson"):
            y = y - y.mean()
    task = {"logistic": "classification", "poisson": "poisson"}.get(name, "regression")
    return BenchProblem(name=name, description=desc, X=X, y=np.ascontiguousarray(y),
                        task=task,
                        l1_ratio=0.5 if name.endswith("-enet") else 1.0,
                        gamma=3.0 if name == "mcp" else None)
