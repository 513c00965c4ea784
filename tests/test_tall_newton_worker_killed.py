"""A worker process killed (by pid) while the Newton route's passes run on a
``LocalCluster`` of 2 worker processes (issue 17): the cross-validation of a logistic
model on a Dask array gives the uninterrupted result bit for bit (each pass's blocks
are merged in a fixed tree, whichever worker computes them), with and without a
checkpoint, and an interrupted checkpointed run resumes to it. X is persisted on the
workers, so the victim's chunks are lost and recomputed from their lineage."""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

import penalized as pz

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")

from conftest import two_worker_client  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::penalized.workflows.cv.GridEdgeWarning")


class Interrupted(Exception):
    pass


@pytest.fixture(scope="module")
def client():
    with two_worker_client() as c:
        yield c


def _data(client, n=1500, p=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 3.0, p) + 1.0
    z = X[:, :3] @ np.array([1.0, -1.0, 0.5]) + rng.logistic(size=n)
    Xd, yd = client.persist([da.from_array(X, chunks=(400, p)),
                             da.from_array(np.where(z > 0, "yes", "no"), chunks=400)])
    client.gather(client.compute([Xd.sum(), yd.size]), errors="raise")
    return Xd, yd


def _cv(client, X, y, **options):
    return pz.cross_validate(X, y, pz.Logistic(), cv=3, n_alphas=4, alpha_min_ratio=0.1,
                             tol=1e-10, keep_fold_paths=True, client=client, **options)


def _assert_identical(a, b) -> None:
    for name in ("alphas_grid", "fold_scores_grid", "fold_coefs_grid", "fold_intercepts_grid"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for pa, pb in zip(a.paths, b.paths, strict=True):
        for name in ("coefs", "intercepts", "objectives", "n_iters"):
            np.testing.assert_array_equal(getattr(pa, name), getattr(pb, name))


class _Killer:
    """A callback that kills one worker's process shortly after the first pass (while the
    next runs), and raises :class:`Interrupted` after pass ``stop`` (if given)."""

    def __init__(self, client, stop=None):
        self.victim = next(iter(client.run(os.getpid).values()))
        self.stop, self.calls, self.timer = stop, 0, None

    def __call__(self, done, total):
        self.calls += 1
        if self.calls == 1:
            self.timer = threading.Timer(0.005, os.kill, (self.victim, signal.SIGKILL))
            self.timer.start()
        if self.calls == self.stop:
            raise Interrupted

    def check(self, client) -> None:
        self.timer.join(timeout=10)
        assert self.victim not in client.run(os.getpid).values()  # replaced by its nanny


def test_worker_killed_during_dask_newton_cv_gives_the_identical_result(client, tmp_path):
    X, y = _data(client)
    reference = _cv(client, X, y)
    killer = _Killer(client)
    result = _cv(client, X, y, callback=killer)
    killer.check(client)
    assert killer.calls > 3  # the kill came early in the run
    _assert_identical(result, reference)
    # checkpointed, killed, then interrupted: resumed, the same fits (a checkpointed
    # run computes each point's predictor on its own: equal to rounding)
    folder = tmp_path / "ck"
    killer = _Killer(client, stop=4)
    with pytest.raises(Interrupted):
        _cv(client, X, y, checkpoint=folder, callback=killer)
    killer.check(client)
    assert any(name.endswith(".npz") for name in os.listdir(folder))
    calls = []
    resumed = _cv(client, X, y, checkpoint=folder, callback=lambda d, t: calls.append(d))
    assert calls and calls[0] > 0  # it went on from the stored alphas
    np.testing.assert_array_equal(resumed.alphas_grid, reference.alphas_grid)
    np.testing.assert_allclose(resumed.fold_scores_grid, reference.fold_scores_grid,
                               rtol=1e-10)
    for a, b in zip(resumed.paths, reference.paths, strict=True):
        np.testing.assert_allclose(a.objectives, b.objectives, rtol=1e-12)
        np.testing.assert_allclose(a.coefs, b.coefs, rtol=1e-8, atol=1e-10)
