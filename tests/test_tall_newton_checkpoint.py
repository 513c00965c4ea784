"""``checkpoint=`` on the Newton route for Dask arrays: a cross-validation interrupted
mid-run and resumed from its folder gives the uninterrupted result bit for bit; a folder
of another run is refused (:mod:`penalized.workflows.tall_newton_checkpoint`)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import penalized as pz
from penalized.workflows.checkpoint import CheckpointMismatchError

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
pytestmark = pytest.mark.filterwarnings("ignore::penalized.workflows.cv.GridEdgeWarning")


class Interrupted(Exception):
    pass


def _data(n=700, p=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 3.0, p) + 1.0
    z = X[:, :3] @ np.array([1.0, -1.0, 0.5]) + rng.logistic(size=n)
    return X, np.where(z > 0, "yes", "no"), rng.uniform(0.5, 2.0, n)


def _cv(X, y, s, datafit=None, **options):
    Xd = da.from_array(X, chunks=((250, 150, X.shape[0] - 400), (X.shape[1],)))
    with dask.config.set(scheduler="synchronous"):
        return pz.cross_validate(Xd, da.from_array(y, chunks=300), datafit or pz.Logistic(),
                                 sample_weight=da.from_array(s, chunks=200), cv=3,
                                 n_alphas=6, alpha_min_ratio=1e-2, tol=1e-10,
                                 keep_fold_paths=True, **options)


def _assert_identical(a, b) -> None:
    for name in ("alphas_grid", "fold_scores_grid", "fold_coefs_grid", "fold_intercepts_grid"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for pa, pb in zip(a.paths, b.paths, strict=True):
        for name in ("coefs", "intercepts", "objectives", "certificates", "n_iters"):
            np.testing.assert_array_equal(getattr(pa, name), getattr(pb, name))


@pytest.mark.parametrize("options", [{}, {"standardize": True, "l1_ratios": [0.5, 1.0]},
                                     {"datafit": pz.Multinomial(), "standardize": True}])
def test_interrupted_dask_newton_cv_resumes_to_the_uninterrupted_result(tmp_path, options):
    X, y, s = _data()
    if "datafit" in options:  # three classes: the stored model is the Hessian's blocks
        y = np.where(X[:, 3] > np.median(X[:, 3]), "c", y)
    reference = _cv(X, y, s, checkpoint=tmp_path / "whole", **options)  # not interrupted
    plain = _cv(X, y, s, **options)  # (no checkpoint: the same fits, to rounding)
    np.testing.assert_allclose(plain.path.objectives, reference.path.objectives, rtol=1e-12)
    folder = tmp_path / "ck"
    calls = []

    def interrupt(done, total):
        calls.append(done)
        if len(calls) == 4:  # some paths have accepted alphas, none has finished
            raise Interrupted

    with pytest.raises(Interrupted):
        _cv(X, y, s, checkpoint=folder, callback=interrupt, **options)
    stored = sorted(name for name in os.listdir(folder) if name.endswith(".npz"))
    assert stored and calls[-1] < calls[0] + 100
    resumed_from = []
    resumed = _cv(X, y, s, checkpoint=folder,
                  callback=lambda done, total: resumed_from.append(done), **options)
    assert resumed_from[0] > calls[-1] - 1  # it went on from the stored alphas
    _assert_identical(resumed, reference)
    # a finished checkpoint: the result without one more Newton pass
    again = []
    _assert_identical(_cv(X, y, s, checkpoint=folder,
                          callback=lambda d, t: again.append(d), **options), reference)
    assert again == []


def test_a_checkpoint_of_other_data_or_options_is_refused(tmp_path):
    X, y, s = _data(n=500)
    _cv(X, y, s, checkpoint=tmp_path)
    with pytest.raises(CheckpointMismatchError, match="other data, options"):
        _cv(X + 1e-3, y, s, checkpoint=tmp_path)
    with pytest.raises(CheckpointMismatchError, match="other data, options"):
        _cv(X, y, s, checkpoint=tmp_path, standardize=True)
