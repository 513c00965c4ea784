"""``cross_validate(..., n_jobs=2)``: threads sharing X when the compiled kernels release
the GIL, processes otherwise; either way the serial result, bit for bit."""

from __future__ import annotations

import numpy as np

import penalized as pz
from penalized.workflows import tasks


def test_thread_backend_equals_the_serial_run(monkeypatch):
    # the process backend has its tests (test_gram.py); the thread one is taken where the
    # kernels are compiled with nogil=True: forced here, its result must not change
    monkeypatch.setattr(tasks, "kernels_release_gil", lambda: True)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 30))
    y = (X[:, :3].sum(axis=1) + rng.standard_normal(120) > 0).astype(int)
    options = {"cv": 4, "n_alphas": 12, "l1_ratios": [0.5, 1.0]}
    serial = pz.cross_validate(X, y, pz.Logistic(), **options)
    parallel = pz.cross_validate(X, y, pz.Logistic(), n_jobs=2, **options)
    np.testing.assert_array_equal(parallel.fold_scores_grid, serial.fold_scores_grid)
    for a, b in zip(parallel.paths, serial.paths, strict=True):
        np.testing.assert_array_equal(a.coefs, b.coefs)


def test_kernels_release_the_gil():
    """The compiled entry points are built with nogil: n_jobs runs folds in threads."""
    assert tasks.kernels_release_gil()


def test_threads_report_only_the_paths_summaries(monkeypatch):
    """Folds in threads: each path's alphas that stopped at max_iter are reported in its
    one summary warning; no solver warns per alpha (catching those per thread with
    ``warnings.catch_warnings`` is not thread-safe: they leaked from the folds)."""
    import warnings

    monkeypatch.setattr(tasks, "kernels_release_gil", lambda: True)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((80, 200))
    y = X[:, :5].sum(axis=1) + rng.standard_normal(80)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pz.cross_validate(X, y, cv=4, n_alphas=8, max_iter=2, tol=1e-12, n_jobs=2,
                          refit=False)
    messages = [str(w.message) for w in caught if issubclass(w.category,
                                                              pz.ConvergenceWarning)]
    assert messages and all("alphas did not converge" in m for m in messages), messages


def test_solvers_do_not_warn_single_fits_do():
    import warnings

    import pytest

    from penalized.solvers import Iterate
    from penalized.workflows.fitting import null_point, solve_from

    rng = np.random.default_rng(2)
    X = rng.standard_normal((40, 60))
    y = X[:, :5].sum(axis=1)
    problem = pz.make_problem(X, y, pz.LeastSquares(), pz.L1(alpha=1e-3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res, _ = solve_from(problem, "cd", 1e-12, 1, Iterate(*null_point(problem)))
    assert not res.converged
    with pytest.warns(pz.ConvergenceWarning, match="did not converge in 1 iter"):
        pz.fit(X, y, alpha=1e-3, tol=1e-12, max_iter=1)
