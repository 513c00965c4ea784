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
