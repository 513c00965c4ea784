"""``n_jobs`` workers start the costliest paths of a cross-validation first (the full-data
path: every row), and the results stay in plan order, equal to the serial run's."""

from __future__ import annotations

import threading
import time

import numpy as np

import penalized as pz
from penalized.workflows import tasks
from penalized.workflows.cv_tasks import fitted_rows


def _record(problem, key, log, lock, options):
    with lock:
        log.append(key)
    time.sleep(0.05)  # both workers hold a task before either takes a third
    return key


def test_parallel_workers_start_the_costliest_tasks_first(monkeypatch):
    monkeypatch.setattr(tasks, "kernels_release_gil", lambda: True)
    log, lock = [], threading.Lock()
    costs = [4.0, 4.0, 4.0, 5.0, 0.0]  # the last: no cost given, its size (3 alphas)
    plan = [tasks.Task(f"t{i}", f"task {i}", _record, 0, (f"t{i}", log, lock), 3, cost)
            for i, cost in enumerate(costs)]
    problems = [pz.make_problem(np.eye(3), np.arange(3.0), pz.LeastSquares(), pz.L1())]
    results = tasks.run_tasks(plan, problems, {}, n_jobs=2)
    assert results == [f"t{i}" for i in range(5)]  # plan order, whatever ran first
    assert set(log[:2]) == {"t3", "t0"} and log[2:] == ["t1", "t2", "t4"]
    log.clear()
    tasks.run_tasks(plan, problems, {})  # serial: plan order
    assert log == [f"t{i}" for i in range(5)]


def test_cross_validation_tasks_cost_their_rows_and_keep_serial_results(monkeypatch):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((103, 40))
    y = X[:, :4].sum(axis=1) + rng.standard_normal(103)
    splits = [(np.arange(20, 103), np.arange(20)), (np.arange(50), np.arange(50, 103))]
    assert fitted_rows(splits, 103) == [83, 50, 103]
    seen = []
    real = tasks.run_tasks

    def spy(plan, *args, **kwargs):
        seen.extend((t.key, t.cost, t.size) for t in plan)
        return real(plan, *args, **kwargs)

    monkeypatch.setattr("penalized.workflows.cv.run_tasks", spy)
    monkeypatch.setattr(tasks, "kernels_release_gil", lambda: True)
    options = {"cv": splits, "n_alphas": 9, "precompute": False}
    serial = pz.cross_validate(X, y, **options)
    assert seen[:3] == [("fold0-ratio0", 83.0 * 9, 9), ("fold1-ratio0", 50.0 * 9, 9),
                        ("full-ratio0", 103.0 * 9, 9)]
    parallel = pz.cross_validate(X, y, n_jobs=2, **options)
    np.testing.assert_array_equal(parallel.fold_scores, serial.fold_scores)
    np.testing.assert_array_equal(parallel.path.coefs, serial.path.coefs)
