"""``cross_validate(n_jobs=2)`` against serial on two cores: the speed-up of running folds
in parallel (threads sharing X when the compiled kernels release the GIL, processes
otherwise).

Run ``OPENBLAS_NUM_THREADS=1 python bench/bench_jobs.py`` (about a minute). A 5-fold CV of
50 alphas at tol 1e-6 on a generated 1000 x 3000 table (20 true features): a lasso and an
L1 logistic model; best of 2 runs of each, serial and parallel alternated, after one small
warm-up of each so that compilation and worker start-up are not timed.

``--plan-order`` also times n_jobs=2 with the tasks dispatched in plan order (the folds,
then the full-data path: the order before ``tasks.longest_first``), alternated with the
others in the same run. ``--timeline`` prints, for the last run of each kind, every task's
start and end (seconds from the call), its thread, and from ``/proc/thread-self/schedstat``
(Linux) its CPU time, its wait for a core (runqueue: other processes) and its blocked time
(``sleep``: in a path, only the GIL blocks); plus the time spent outside the tasks (grid
before, collect after) and a dedicated-core estimate of the speed-up (each thread's tasks'
wall time less their runqueue wait, the longest thread against the serial sum).
``--twin`` runs one fold's path (800 rows) alone, then the same path in two threads at
once, and prints each one's CPU, runqueue and blocked (GIL) time: the blocked share is
what the GIL costs two workers. ``--gil-split`` runs each serial CV once with the entry
points that release the GIL (the compiled kernels, the gradient passes) timed in thread
CPU time: the rest of the tasks' CPU time holds the GIL, or runs numpy outside them.
"""

from __future__ import annotations

import argparse
import threading
import time
import warnings

import numpy as np

import penalized as pz
import penalized.workflows.cv as cv_module
from penalized.workflows import tasks as tasks_module
from penalized.workflows.tasks import kernels_release_gil


def _schedstat() -> tuple[float, float]:
    """This thread's ``(CPU seconds, runqueue seconds)`` ((0, 0) off Linux)."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            run, queue, _ = f.read().split()
        return int(run) / 1e9, int(queue) / 1e9
    except OSError:
        return 0.0, 0.0


class Recorder:
    """Per-task timelines (``Task.run`` wrapped) and the span of ``run_tasks``."""

    def __init__(self) -> None:
        self.rows: list = []
        self.span = (0.0, 0.0)
        run, collect = tasks_module.Task.run, cv_module.run_tasks

        def timed_run(task, problem, options):
            start, (cpu0, queue0) = time.perf_counter(), _schedstat()
            out = run(task, problem, options)
            cpu1, queue1 = _schedstat()
            self.rows.append((task.key, threading.get_ident(), start, time.perf_counter(),
                              cpu1 - cpu0, queue1 - queue0))
            return out

        def timed_collect(*args, **kwargs):
            start = time.perf_counter()
            out = collect(*args, **kwargs)
            self.span = (start, time.perf_counter())
            return out

        tasks_module.Task.run, cv_module.run_tasks = timed_run, timed_collect

    def report(self, label: str, t0: float, t1: float, serial_cpu: float | None) -> float:
        threads = {ident: i for i, ident in enumerate(dict.fromkeys(r[1] for r in self.rows))}
        busy: dict = {}
        print(f"  {label}: wall {t1 - t0:.2f} s; outside the tasks: before "
              f"{self.span[0] - t0:.3f} s, after {t1 - self.span[1]:.3f} s")
        for key, ident, start, end, cpu, queue in self.rows:
            sleep = max(end - start - cpu - queue, 0.0)
            busy[ident] = busy.get(ident, 0.0) + (end - start - queue)
            print(f"    {key:14s} thread {threads[ident]} {start - t0:6.2f} -> {end - t0:6.2f}"
                  f"  cpu {cpu:5.2f}  runqueue {queue:5.2f}  sleep (GIL) {sleep:5.2f}")
        total_cpu = sum(r[4] for r in self.rows)
        if serial_cpu is not None and busy:
            print(f"    dedicated-core estimate: speed-up {serial_cpu / max(busy.values()):.2f}x")
        return total_cpu


def twin(X, y, datafit) -> None:
    """One path alone, then the same path in two threads at once (module docstring)."""
    from penalized.core.threads import single_blas_thread

    rows = np.asfortranarray(X[:800])
    pz.path(rows[:100], y[:100], datafit, n_alphas=5)  # compilation

    def one(out: list) -> None:
        start, (cpu0, queue0) = time.perf_counter(), _schedstat()
        pz.path(rows, y[:800], datafit, n_alphas=50, tol=1e-6)
        cpu1, queue1 = _schedstat()
        wall = time.perf_counter() - start
        out.append((wall, cpu1 - cpu0, queue1 - queue0))

    with single_blas_thread():
        for label, n_threads in (("alone", 1), ("twin", 2)):
            out: list = []
            threads = [threading.Thread(target=one, args=(out,)) for _ in range(n_threads)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            for wall, cpu, queue in out:
                blocked = max(wall - cpu - queue, 0.0)
                print(f"  {datafit.name} {label}: wall {wall:.2f} s, cpu {cpu:.2f} s, runqueue "
                      f"{queue:.2f} s, blocked (GIL) {blocked:.2f} s ({blocked / cpu:.0%})")


def gil_split(X, y, datafit) -> None:
    """Thread CPU time inside the GIL-free entry points against the whole (module
    docstring)."""
    import functools

    from penalized.core import gradient
    from penalized.solvers.cd import driver, kernels

    spent: dict = {}

    def timed(module, name):
        function = getattr(module, name)

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            start = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.thread_time() - start
        setattr(module, name, wrapper)
        return module, name, function

    pz.cross_validate(X[:200], y[:200], datafit, cv=5, n_alphas=10)
    saved = [timed(module, name) for module, name in (
        (kernels, "cd_epochs"), (kernels, "weighted_col_stats"), (gradient, "_full_pass"),
        (gradient, "_columns_dot"), (driver, "newton_on_support"))]
    start = time.thread_time()
    pz.cross_validate(X, y, datafit, cv=5, n_alphas=50, tol=1e-6)
    total = time.thread_time() - start
    for module, name, function in saved:
        setattr(module, name, function)
    free = sum(spent.values())
    print(f"  {datafit.name}: CPU {total:.2f} s, in the GIL-free entry points {free:.2f} s "
          f"({free / total:.0%}): " + ", ".join(f"{k} {v:.2f} s" for k, v in spent.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plan-order", action="store_true")
    parser.add_argument("--timeline", action="store_true")
    parser.add_argument("--twin", action="store_true")
    parser.add_argument("--gil-split", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 3000))
    coef = np.zeros(3000)
    coef[:20] = 1.0
    z = X @ coef + rng.standard_normal(1000)
    cases = {"lasso": (z, pz.LeastSquares()), "logistic": ((z > 0).astype(int), pz.Logistic())}
    print("compiled kernels release the GIL (threads):", kernels_release_gil())
    warnings.simplefilter("ignore", pz.ConvergenceWarning)
    recorder = Recorder() if args.timeline else None
    longest_first = tasks_module.longest_first
    kinds = {"serial": None, "n_jobs=2": 2} | ({"plan order": 2} if args.plan_order else {})
    if args.twin or args.gil_split:
        for y, datafit in cases.values():
            (twin if args.twin else gil_split)(X, y, datafit)
        return
    for name, (y, datafit) in cases.items():
        for n_jobs in (None, 2):  # warm-up: compilation, worker start-up
            pz.cross_validate(X[:200], y[:200], datafit, cv=5, n_alphas=10, n_jobs=n_jobs)
        times: dict = {kind: [] for kind in kinds}
        timelines: dict = {}
        for _ in range(2):
            for kind, n_jobs in kinds.items():
                tasks_module.longest_first = (lambda tasks, todo: todo) \
                    if kind == "plan order" else longest_first
                if recorder is not None:
                    recorder.rows = []
                start = time.perf_counter()
                pz.cross_validate(X, y, datafit, cv=5, n_alphas=50, tol=1e-6, n_jobs=n_jobs)
                end = time.perf_counter()
                times[kind].append(end - start)
                if recorder is not None:
                    timelines[kind] = (list(recorder.rows), recorder.span, start, end)
        tasks_module.longest_first = longest_first
        serial = min(times["serial"])
        print(f"{name} 1000 x 3000, 5 folds: serial {serial:.2f} s, " + ", ".join(
            f"{kind} {min(t):.2f} s ({serial / min(t):.2f}x)"
            for kind, t in times.items() if kind != "serial"))
        serial_cpu = None
        for kind, (rows, span, start, end) in timelines.items():
            recorder.rows, recorder.span = rows, span
            cpu = recorder.report(f"{name} {kind}", start, end, serial_cpu)
            serial_cpu = cpu if kind == "serial" else serial_cpu


if __name__ == "__main__":
    main()
