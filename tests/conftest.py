"""Shared fixtures and helpers of the core-engine test suite.

Tests are parametrized over *instances* from the registries
(``pz.ALL_PENALTIES()``, ``pz.ALL_DATAFITS()``) so that a new penalty or datafit
is tested by the whole suite as soon as it has its registry line.
"""

from __future__ import annotations

import contextlib
import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

import penalized as pz

#: Every registered penalty and datafit, one instance each. Multiclass datafits
#: (2-D coefficients, one intercept per class) have their own suite,
#: tests/test_multinomial.py: the helpers here build 1-D coefficients.
PENALTIES = pz.ALL_PENALTIES()
DATAFITS = [datafit for datafit in pz.ALL_DATAFITS() if not datafit.multiclass]


def penalty_id(penalty) -> str:
    """Short test id of a penalty instance (its registry name)."""
    return type(penalty).name or type(penalty).__name__


def datafit_id(datafit) -> str:
    """Short test id of a datafit instance (its registry name)."""
    return type(datafit).name or type(datafit).__name__


def solvers_for(penalty, datafit=None) -> list[str]:
    """Solvers that accept ``penalty``: fista always, cd for separable penalties with a
    compiled kernel, bcd for block-separable ones, gd when it is smooth and the datafit's
    curvature is bounded (a constant step)."""
    names = ["fista"]
    if penalty.separable and penalty.kernel_id >= 0:
        names.insert(0, "cd")
    if penalty.block_separable and (datafit is None or (
            datafit.kernel_id >= 0 and np.isfinite(datafit.curvature_bound))):
        names.insert(0, "bcd")
    if penalty.smooth and (datafit is None or np.isfinite(datafit.curvature_bound)):
        names.append("gd")
    return names


def is_sparsifying(penalty) -> bool:
    """Whether the penalty has a threshold at 0 (an L1 part): large alphas give w = 0."""
    probe = dataclasses.replace(penalty, alpha=1.0, weights=None, positive=False)
    return float(np.max(probe.subdiff_distance(np.zeros(1), np.full(1, 1e-3)))) == 0.0


def fit_cases():
    """``(penalty, datafit, solver)`` for every registered pair and every solver they allow."""
    cases = []
    for penalty in PENALTIES:
        for datafit in DATAFITS:
            for solver in solvers_for(penalty, datafit):
                cases.append(pytest.param(
                    penalty, datafit, solver,
                    id=f"{penalty_id(penalty)}-{datafit_id(datafit)}-{solver}"))
    return cases


def make_data(datafit, n_samples: int = 50, n_features: int = 15, *, sparse: bool = False,
              seed: int = 0, density: float = 0.4):
    """A small problem suited to ``datafit``: ``(X, y)``.

    X has columns of different scales and a non-zero mean (so that the intercept
    matters); y follows a sparse linear model, thresholded for classification.
    Sparse X is CSC with about ``density`` non-zeros.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)) * rng.uniform(0.5, 2.0, n_features) + 0.3
    if sparse:
        mask = rng.uniform(size=X.shape) < density
        X = sp.csc_matrix(np.where(mask, X, 0.0))
    w_true = np.zeros(n_features)
    w_true[: max(2, n_features // 4)] = rng.choice([-1.0, 1.0], max(2, n_features // 4))
    z = np.asarray(X @ w_true).ravel() + 0.5
    y = make_target(datafit, z, rng)
    return X, y


def make_target(datafit, z, rng):
    """Target for ``datafit`` from a linear predictor ``z`` (noisy)."""
    if datafit.task == "regression":
        y = z + 0.5 * rng.standard_normal(z.shape[0])
        try:
            datafit.prepare_target(y)
        except ValueError:  # a datafit of counts (Poisson): log-linear in z
            return rng.poisson(np.exp(np.clip(0.5 * z, -4.0, 3.0))).astype(float)
        return y
    # classification: noisy labels, every class present; a datafit that accepts
    # more than two classes (multinomial) gets three
    noisy = z + rng.logistic(size=z.shape[0])
    y = np.where(noisy > np.median(z), 1.0, 0.0)
    y[:2] = [0.0, 1.0]
    three = y + (noisy > np.quantile(noisy, 0.8))
    three[:3] = [0.0, 1.0, 2.0]
    try:
        datafit.prepare_target(three)
    except ValueError:
        return y
    return three


def dense(X) -> np.ndarray:
    """Dense copy of X (dense or sparse)."""
    return X.toarray() if sp.issparse(X) else np.asarray(X)


def null_objective(datafit, y, fit_intercept: bool = True) -> float:
    """Objective of the model with every coefficient 0 (a scale for relative checks)."""
    problem = pz.make_problem(np.ones((len(y), 1)), y, datafit, pz.L1(),
                              fit_intercept=fit_intercept)
    b = problem.intercept_at_zero()
    return problem.objective(np.zeros(1), b)


def relative_alpha(X, y, datafit, penalty, fraction: float, fit_intercept: bool = True) -> float:
    """``fraction * alpha_max`` (a ridge uses its glmnet-style alpha_max)."""
    return fraction * pz.alpha_max(X, y, datafit, penalty, fit_intercept=fit_intercept)


def moderate_alpha(X, y, datafit, penalty, fit_intercept: bool = True) -> float:
    """An alpha where the solution is neither 0 nor unregularized.

    A tenth of ``alpha_max`` for a sparsifying penalty; for a ridge, whose
    ``alpha_max`` is glmnet's (that of an elastic net with l1_ratio 1e-3),
    ``1e-4 alpha_max`` (about a tenth of the lasso's ``alpha_max``).
    """
    fraction = 0.1 if is_sparsifying(penalty) else 1e-4
    return relative_alpha(X, y, datafit, penalty, fraction, fit_intercept)


@pytest.fixture(params=[False, True], ids=["dense", "sparse"])
def sparse(request) -> bool:
    """Run a test on dense and on CSC sparse X."""
    return request.param


@pytest.fixture(params=[True, False], ids=["intercept", "no_intercept"])
def fit_intercept(request) -> bool:
    """Run a test with and without an intercept."""
    return request.param


@pytest.fixture
def spy(monkeypatch):
    """The compiled path driver's calls (``path_kernel.cd_path``), counted."""
    from penalized.solvers.cd import path_kernel

    calls = []
    original = path_kernel.cd_path

    def counting(*args):
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(path_kernel, "cd_path", counting)
    return calls


def python_path(*args, **kwargs):
    """``pz.path`` through the Python driver (each alpha solved by the solver)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pz.ConvergenceWarning)  # at rounding level
        return pz.path(*args, engine="python", **kwargs)


@contextlib.contextmanager
def two_worker_client():
    """A client of a 2-process ``LocalCluster`` on 127.0.0.1, both workers up."""
    import distributed

    from penalized.workflows.distributed import local_cluster

    with local_cluster(2) as cluster, distributed.Client(
            cluster, set_as_default=False, timeout=60) as c:
        c.wait_for_workers(2, timeout=60)
        yield c
