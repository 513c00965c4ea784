"""Cross-validation on a Dask cluster: equal to serial, surviving worker deaths,
failing clearly, checkpointed and resumable (issue 17, section 1).

The clusters are ``distributed.LocalCluster`` s of 2 worker processes on 127.0.0.1,
started inside the tests; every wait is bounded (``pytest`` would otherwise hang on a
scheduler bug).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import penalized as pz
from penalized.workflows.checkpoint import CheckpointMismatchError

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

from conftest import two_worker_client  # noqa: E402

from penalized.workflows.distributed import DaskRunError, local_cluster  # noqa: E402


def _data(n=300, p=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = X[:, :4] @ np.array([2.0, -1.0, 0.5, 1.0]) + rng.standard_normal(n)
    return X, y


def _assert_same(result, reference) -> None:
    """Bit for bit: every fold score and every full-data path."""
    np.testing.assert_array_equal(result.fold_scores_grid, reference.fold_scores_grid)
    np.testing.assert_array_equal(result.alphas_grid, reference.alphas_grid)
    assert len(result.paths) == len(reference.paths)
    for a, b in zip(result.paths, reference.paths, strict=True):
        np.testing.assert_array_equal(a.coefs, b.coefs)
        np.testing.assert_array_equal(a.intercepts, b.intercepts)
    assert result.alpha_min == reference.alpha_min and result.l1_ratio == reference.l1_ratio


@pytest.fixture(scope="module")
def client():
    with two_worker_client() as c:
        yield c


def _worker_pids(client) -> dict:
    return client.run(os.getpid)


def test_dask_cv_equals_serial_bit_for_bit(client):
    X, y = _data()
    options = {"cv": 4, "n_alphas": 25, "l1_ratios": [0.5, 1.0]}
    reference = pz.cross_validate(X, y, **options)
    _assert_same(pz.cross_validate(X, y, client=client, **options), reference)
    # and the local path is not routed to a cluster that is not the default client
    assert distributed.client._get_global_client() is None


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_mlp_cv_folds_run_as_dask_futures(client):
    """MLPRegressorCV(client=...) trains every fold on the cluster: the same fold scores
    and epochs as the local run (every fit is seeded); a fold that fails on every
    worker is named after its retries."""
    pytest.importorskip("torch")
    import penalized.torch as pzt

    X, y = _data(n=120, p=5)
    options = dict(hidden_layer_sizes=(8,), penalty=pz.L1(), max_epochs=15,
                   random_state=0, alphas=[1e-1, 1e-2], cv=3)
    local = pzt.MLPRegressorCV(**options).fit(X, y)
    remote = pzt.MLPRegressorCV(client=client, **options).fit(X, y)
    np.testing.assert_array_equal(remote.fold_scores_, local.fold_scores_)
    np.testing.assert_array_equal(remote.fold_epochs_, local.fold_epochs_)
    assert remote.alpha_ == local.alpha_
    assert distributed.client._get_global_client() is None
    with pytest.raises(DaskRunError, match=r"fold \d failed .* retries"):
        pzt.MLPRegressorCV(client=client, **{**options, "hidden_layer_sizes": (0,)}).fit(X, y)


@pytest.mark.filterwarnings("ignore:the best alpha")
def test_cv_estimators_take_a_client(client):
    from penalized.linear_model import ElasticNetCV, LogisticRegressionCV

    X, y = _data(n=200, p=8)
    local = ElasticNetCV(l1_ratio=[0.5, 0.9], cv=3).fit(X, y)
    remote = ElasticNetCV(l1_ratio=[0.5, 0.9], cv=3, client=client).fit(X, y)
    np.testing.assert_array_equal(remote.coef_, local.coef_)
    np.testing.assert_array_equal(remote.mse_path_, local.mse_path_)
    labels = (y > 0).astype(int)
    local = LogisticRegressionCV(Cs=5, cv=3, l1_ratios=[0.5]).fit(X, labels)
    remote = LogisticRegressionCV(Cs=5, cv=3, l1_ratios=[0.5], client=client).fit(X, labels)
    np.testing.assert_array_equal(remote.coef_, local.coef_)


def test_dask_array_cross_validated_on_the_cluster_equals_in_memory(client):
    import dask.array as da

    X, y = _data(n=500, p=10)
    reference = pz.cross_validate(X, y, cv=4, n_alphas=15, tol=1e-12)
    result = pz.cross_validate(da.from_array(X, chunks=(90, 10)), da.from_array(y, chunks=90),
                               cv=4, n_alphas=15, tol=1e-12, client=client)
    np.testing.assert_allclose(result.fold_scores, reference.fold_scores, rtol=1e-10)
    np.testing.assert_allclose(result.path.coefs, reference.path.coefs, rtol=1e-8, atol=1e-10)


def test_worker_killed_mid_run_gives_the_identical_result(client):
    X, y = _data(n=3000, p=120, seed=1)
    options = {"cv": 5, "n_alphas": 60, "l1_ratios": [0.3, 0.7, 1.0], "tol": 1e-10}
    reference = pz.cross_validate(X, y, **options)
    victim = next(iter(_worker_pids(client).values()))
    killed = []

    def kill_once(done, total):  # at the first finished path: the others are running
        if not killed:
            os.kill(victim, signal.SIGKILL)
            killed.append(done / total)

    result = pz.cross_validate(X, y, client=client, callback=kill_once, **options)
    assert killed and killed[0] < 0.5
    assert victim not in _worker_pids(client).values()  # it died (the nanny replaced it)
    _assert_same(result, reference)


def test_poison_task_names_fold_and_l1_ratio_after_its_retries(client):
    X, y = _data(n=120, p=6)
    weights = np.ones(120)
    weights[:80] = 0.0  # fold 1 trains on rows 0..79 only: weights summing to zero
    folds = [(np.arange(40, 120), np.arange(40)), (np.arange(80), np.arange(80, 120))]
    start = time.monotonic()
    with dask.config.set({"penalized.retries": 1}), \
            pytest.raises(DaskRunError, match=r"fold 1, l1_ratio 0.5 failed .* after 1 "
                                              r"retries: ValueError: .*summing to zero"):
        pz.cross_validate(X, y, cv=folds, sample_weight=weights, l1_ratios=[0.5],
                          n_alphas=5, client=client, refit=False, precompute=False)
    assert time.monotonic() - start < 30


def _start_workers(address: str, count: int) -> list[subprocess.Popen]:
    """Worker processes without a nanny: killed, they stay dead."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(pz.__file__)))
    command = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--no-nanny",
               "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1",
               "--preload", f"import sys; sys.path.insert(0, {root!r})"]
    return [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(count)]


def test_a_cluster_without_workers_is_a_clear_error_within_bounded_time():
    X, y = _data(n=100, p=5)
    with local_cluster(0) as cluster, distributed.Client(
            cluster, set_as_default=False, timeout=60) as c:
        start = time.monotonic()
        with dask.config.set({"penalized.worker-timeout": 2}), \
                pytest.raises(DaskRunError, match=r"no Dask worker .* 0 of 4 tasks finished"):
            pz.cross_validate(X, y, cv=3, n_alphas=5, client=c)
        assert time.monotonic() - start < 30


@pytest.mark.slow  # starts its own worker processes (about 10 s)
def test_every_worker_gone_is_a_clear_error_within_bounded_time():
    X, y = _data(n=3000, p=120, seed=2)
    with local_cluster(0) as cluster, distributed.Client(
            cluster, set_as_default=False, timeout=60) as c:
        workers = _start_workers(cluster.scheduler_address, 2)
        try:
            c.wait_for_workers(2, timeout=60)

            def kill_all(done, total):
                for process in workers:
                    os.kill(process.pid, signal.SIGKILL)

            start = time.monotonic()
            with dask.config.set({"penalized.worker-timeout": 3}), \
                    pytest.raises(DaskRunError, match=r"no Dask worker .*: \d+ of 15 tasks "
                                                      r"finished"):
                pz.cross_validate(X, y, cv=5, n_alphas=60, l1_ratios=[0.3, 0.7, 1.0],
                                  tol=1e-10, refit=False, client=c, callback=kill_all)
            assert time.monotonic() - start < 60
        finally:
            for process in workers:
                process.kill()
                process.wait(timeout=30)


class _Interrupt(Exception):
    pass


def test_checkpoint_resume_after_an_interruption_gives_the_identical_result(tmp_path):
    X, y = _data(n=200, p=10)
    options = {"cv": 3, "n_alphas": 20, "l1_ratios": [0.5, 1.0]}
    reference = pz.cross_validate(X, y, **options)
    folder = tmp_path / "checkpoint"
    total_paths = 2 * 3 + 2

    def interrupt(done, total):  # Ctrl-C in the middle of the fourth path
        if done >= 3 * 20 + 5:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        pz.cross_validate(X, y, checkpoint=folder, callback=interrupt, **options)
    stored = sorted(f for f in os.listdir(folder) if f.endswith(".npz"))
    assert len(stored) == 3
    seen = []
    resumed = pz.cross_validate(X, y, checkpoint=folder,
                                callback=lambda done, total: seen.append(done), **options)
    assert seen[0] == 3 * 20 + 1  # the three finished paths were not run again
    _assert_same(resumed, reference)
    assert len([f for f in os.listdir(folder) if f.endswith(".npz")]) == total_paths
    # a finished checkpoint gives the result without fitting anything
    _assert_same(pz.cross_validate(X, y, checkpoint=folder, **options), reference)


@pytest.mark.parametrize("change", ["data", "options"])
def test_checkpoint_of_another_run_is_refused(tmp_path, change):
    X, y = _data(n=100, p=5)
    pz.cross_validate(X, y, cv=3, n_alphas=10, checkpoint=tmp_path)
    if change == "data":
        y = y.copy()
        y[0] += 1e-9
        kwargs = {"n_alphas": 10}
    else:
        kwargs = {"n_alphas": 10, "tol": 1e-5}
    with pytest.raises(CheckpointMismatchError, match="other data, options"):
        pz.cross_validate(X, y, cv=3, checkpoint=tmp_path, **kwargs)


def test_penalized_imports_without_dask():
    code = ("import sys; sys.modules['dask'] = None; sys.modules['distributed'] = None\n"
            "import penalized, penalized.workflows.distributed\n"
            "from penalized.workflows.tasks import active_client\n"
            "print(active_client())")
    root = os.path.dirname(os.path.dirname(os.path.abspath(pz.__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=root)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "None"  # cross_validate takes its local path


# ---- the command line ----------------------------------------------------------------
@pytest.fixture()
def table_csv(tmp_path):
    import pandas as pd

    X, y = _data(n=200, p=6, seed=3)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(6)]).assign(y=y)
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    return path


def _fit(argv, capsys):
    import json

    from penalized.app.cli import main

    code = main(["fit", *map(str, argv), "--json", "--no-report", "--quiet", "--cv", "3",
                 "--n-alphas", "20"])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else None), captured.err


def test_cli_dask_equals_the_local_run(tmp_path, table_csv, capsys, client):
    code, local, err = _fit([table_csv, "--target", "y", "--out", tmp_path / "a"], capsys)
    assert code == 0, err
    code, remote, err = _fit([table_csv, "--target", "y", "--out", tmp_path / "b",
                              "--dask", client.scheduler.address], capsys)
    assert code == 0, err
    assert remote["coefficients"] == local["coefficients"] and remote["alpha"] == local["alpha"]
    code, _, err = _fit([table_csv, "--target", "y", "--dask", "local:x"], capsys)
    assert code == 2 and "local:N" in err


def test_cli_checkpoint_resume(tmp_path, table_csv, capsys):
    folder = tmp_path / "checkpoint"
    code, reference, err = _fit([table_csv, "--target", "y", "--out", tmp_path / "a"], capsys)
    assert code == 0, err
    code, first, err = _fit([table_csv, "--target", "y", "--out", tmp_path / "b",
                             "--checkpoint", folder], capsys)
    assert code == 0, err
    for name in ("fold1-ratio0.npz", "full-ratio0.npz"):  # as if interrupted before them
        os.remove(folder / name)
    code, _, err = _fit([table_csv, "--target", "y", "--checkpoint", folder], capsys)
    assert code == 2 and "holds 2 finished tasks: add --resume" in err
    code, resumed, err = _fit([table_csv, "--target", "y", "--out", tmp_path / "c",
                               "--checkpoint", folder, "--resume"], capsys)
    assert code == 0, err
    assert resumed["coefficients"] == reference["coefficients"] == first["coefficients"]
    code, _, err = _fit([table_csv, "--target", "y", "--checkpoint", folder, "--resume",
                         "--rule", "1se", "--seed", "4"], capsys)
    assert code == 2 and "made for other data, options" in err


def test_dask_cv_with_foldid_alphas_by_weight_fold_paths_and_a_scorer(client):
    from sklearn.metrics import make_scorer, mean_absolute_error

    X, y = _data(n=200, p=8)
    weights = np.random.default_rng(2).uniform(0.5, 2.0, X.shape[0])
    options = {"foldid": np.arange(X.shape[0]) % 3, "n_alphas": 12, "sample_weight": weights,
               "fold_alphas": "by_weight", "keep_fold_paths": True,
               "scoring": make_scorer(mean_absolute_error, greater_is_better=False)}
    reference = pz.cross_validate(X, y, **options)
    result = pz.cross_validate(X, y, client=client, **options)
    _assert_same(result, reference)
    np.testing.assert_array_equal(result.fold_coefs_grid, reference.fold_coefs_grid)
    np.testing.assert_array_equal(result.fold_intercepts_grid, reference.fold_intercepts_grid)
    np.testing.assert_array_equal(result.path.deviance_ratio, reference.path.deviance_ratio)


def test_checkpoint_resumes_fold_paths_and_refuses_other_fold_options(tmp_path):
    X, y = _data(n=150, p=6)
    labels = (y > 0).astype(int)
    options = {"cv": 3, "n_alphas": 10, "keep_fold_paths": True, "fold_alphas": "by_weight"}
    reference = pz.cross_validate(X, labels, pz.Logistic(), **options)

    def interrupt(done, total):  # in the middle of the third path
        if done >= 2 * 10 + 5:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        pz.cross_validate(X, labels, pz.Logistic(), checkpoint=tmp_path, callback=interrupt,
                          **options)
    resumed = pz.cross_validate(X, labels, pz.Logistic(), checkpoint=tmp_path, **options)
    _assert_same(resumed, reference)
    np.testing.assert_array_equal(resumed.fold_coefs_grid, reference.fold_coefs_grid)
    np.testing.assert_array_equal(resumed.fold_intercepts_grid, reference.fold_intercepts_grid)
    for change in ({"keep_fold_paths": False}, {"fold_alphas": "shared"}):
        with pytest.raises(CheckpointMismatchError, match="other data, options"):
            pz.cross_validate(X, labels, pz.Logistic(), checkpoint=tmp_path,
                              **{**options, **change})
