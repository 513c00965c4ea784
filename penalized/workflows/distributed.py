"""Cross-validation tasks as Dask futures, surviving the loss of workers.

:func:`run_on_dask` runs the tasks of :mod:`.tasks` on a ``distributed`` cluster:

* the problem (X, y, weights) is scattered once with ``broadcast=True`` so that every
  worker holds a copy and no single death loses it, and ``hash=False`` so that it can
  be scattered again under a new key when it is lost all the same (every worker
  replaced by its nanny);
* each task is a future submitted with ``retries`` and gathered as it finishes; a task
  running on a worker that dies is rescheduled by the scheduler on the survivors (and
  is a pure function, so the result is the serial one, bit for bit);
* a task that raises after its retries stops the run with an error that names it
  (fold and l1_ratio): a deterministic failure is not retried forever;
* when no worker is left (or the scheduler is gone) for ``worker_timeout`` seconds, the
  run stops with an error that says how many tasks finished (a checkpoint keeps them).

Each task runs with one BLAS thread (:func:`~penalized.core.threads.single_blas_thread`),
so that N workers do not each start a pool of BLAS threads on the same cores. Dask is
imported only here, only when a client is used: ``penalized`` imports without it.

Settings come from Dask's configuration (``dask.config.set({"penalized.retries": 3})``)
so that they travel the way Dask users set everything else; defaults in
:data:`DEFAULTS`.
"""

from __future__ import annotations

import dataclasses
import os
import time

from ..core.threads import single_blas_thread


class DaskRunError(RuntimeError):
    """The cross-validation could not finish on the Dask cluster."""


@dataclasses.dataclass(frozen=True)
class DaskSettings:
    """How the Dask runner tolerates faults (every field overridable in ``dask.config``
    under ``penalized.<field with dashes>``)."""

    #: re-runs of a task that raised: rides out a transient error (a worker's memory),
    #: while a deterministic one fails after ``retries + 1`` runs
    retries: int = 2
    #: seconds without any worker (or scheduler) before giving up: long enough for a
    #: nanny to restart a worker (a few seconds), short enough not to look hung
    worker_timeout: float = 30.0
    #: how often (seconds) the runner checks the cluster while no task finishes
    poll: float = 0.5
    #: times the data may be scattered again after every copy was lost
    rescatters: int = 3
    #: memory limit of each worker of ``--dask local:N`` ("2GB"; "auto": the machine's
    #: memory shared out), past which the nanny restarts it
    local_memory_limit: str = "auto"

    @classmethod
    def from_config(cls) -> DaskSettings:
        import dask

        values = {f.name: dask.config.get(f"penalized.{f.name.replace('_', '-')}",
                                          getattr(cls, f.name))
                  for f in dataclasses.fields(cls)}
        return cls(int(values["retries"]), float(values["worker_timeout"]),
                   float(values["poll"]), int(values["rescatters"]),
                   str(values["local_memory_limit"]))


DEFAULTS = DaskSettings()


class _Shared:
    """The problem as it travels to the workers, realigned once on arrival.

    Dask packs an array's bytes into a message frame at any byte offset; numpy
    computes ``X.T @ v`` on a misaligned array with its own loop instead of BLAS,
    which rounds differently, so a worker would not reproduce the serial result bit
    for bit. Copying the misaligned arrays once per worker, when the data arrives
    (not in every task), restores BLAS and the identical result.
    """

    def __init__(self, problem):
        self.problem = problem

    def __getstate__(self):
        return self.problem

    def __setstate__(self, problem):
        self.problem = problem.with_data(X=_aligned(problem.X), y=_aligned(problem.y),
                                         sample_weight=_aligned(problem.sample_weight))


def _aligned(array):
    import numpy as np
    import scipy.sparse as sp

    if sp.issparse(array):
        parts = (_aligned(array.data), _aligned(array.indices), _aligned(array.indptr))
        return type(array)(parts, shape=array.shape)
    return array if array.flags.aligned else np.array(array, order="K", copy=True)


def _remote(shared: _Shared, penalty, task, options):
    """A task on a worker: one BLAS thread, the candidate's penalty on the shared data."""
    with single_blas_thread():
        return task.run(shared.problem.with_penalty(penalty), options)


def run_on_dask(client, tasks: list, problems: list, options: dict, finished,
                settings: DaskSettings | None = None) -> None:
    """Run ``tasks`` on ``client``'s cluster; ``finished(j, result)`` as each one ends."""
    settings = settings or DaskSettings.from_config()
    if not tasks:
        return
    data = _Shared(problems[0].with_data())  # the arrays, without this process's memo
    penalties = [pb.penalty for pb in problems]
    runner = _Runner(client, tasks, penalties, data, options, settings, finished)
    try:
        runner.submit(range(len(tasks)))
        runner.gather()
    finally:
        runner.release()


class _Runner:
    """The state of one run: the scattered data, the futures and what finished."""

    def __init__(self, client, tasks, penalties, data, options, settings, finished):
        self.client, self.tasks, self.penalties = client, tasks, penalties
        self.data, self.options, self.settings = data, options, settings
        self.finished = finished
        self.futures: dict = {}
        self.n_done = 0
        self.n_scatters = 0
        self.shared = None

    def scatter(self) -> None:
        if self.n_scatters > self.settings.rescatters:
            raise DaskRunError(
                f"the data was lost with every worker {self.n_scatters} times; "
                f"{self._finished_text()}")
        self.n_scatters += 1
        try:
            self.shared = self.client.scatter(self.data, broadcast=True, hash=False,
                                              timeout=self.settings.worker_timeout)
        except TimeoutError:
            raise DaskRunError(
                f"no Dask worker took the data within {self.settings.worker_timeout:g} s: "
                f"{self._finished_text()}") from None

    def submit(self, indices) -> None:
        if self.shared is None or self.shared.status != "finished":
            self.scatter()
        for j in indices:
            task = self.tasks[j]
            future = self.client.submit(
                _remote, self.shared, self.penalties[task.candidate], task, self.options,
                key=f"penalized-cv-{task.key}-{os.urandom(4).hex()}", pure=False,
                retries=self.settings.retries)
            self.futures[future] = j

    def gather(self) -> None:
        """Collect results until every task finished; resubmit the ones whose data was
        lost once a worker is there to take them; give up after ``worker_timeout``
        seconds without a worker."""
        last_alive = time.monotonic()
        waiting: list[int] = []
        while self.futures or waiting:
            self._wait_any()
            done = [future for future in self.futures if future.status != "pending"]
            waiting += [j for j in map(self._collect, done) if j is not None]
            if self._cluster_alive():
                last_alive = time.monotonic()
                if waiting:
                    self.submit(waiting)
                    waiting = []
            elif time.monotonic() - last_alive > self.settings.worker_timeout:
                raise DaskRunError(
                    f"no Dask worker (or no scheduler) for {self.settings.worker_timeout:g} "
                    f"s: {self._finished_text()}; the cluster lost its workers")

    def _wait_any(self) -> None:
        """Until a future is done, or ``poll`` seconds."""
        from distributed import wait
        from distributed.client import FuturesCancelledError

        if not self.futures:
            time.sleep(self.settings.poll)
            return
        try:
            with self.client.as_current():  # wait() talks to the current client
                wait(list(self.futures), timeout=self.settings.poll,
                     return_when="FIRST_COMPLETED")
        except (TimeoutError, FuturesCancelledError):
            pass  # cancelled futures (their data lost) are collected with the others

    def _collect(self, future):
        """Hand a finished future's result on; the task's index when it must run again."""
        from distributed.client import FutureCancelledError

        j = self.futures.pop(future)
        if future.status == "finished":
            try:
                result = future.result()
            except FutureCancelledError:  # its worker died between "finished" and now
                return j
            self.finished(j, result)
            self.n_done += 1
            return None
        if future.status == "error":
            error = future.exception()
            raise DaskRunError(
                f"{self.tasks[j].label} failed on the Dask cluster after "
                f"{self.settings.retries} retries: {type(error).__name__}: {error}; "
                f"{self._finished_text()}") from error
        return j  # cancelled or lost with the data: scattered again, submitted again

    def _cluster_alive(self) -> bool:
        if self.client.status != "running":
            return False
        try:
            return bool(self.client.scheduler_info().get("workers"))
        except Exception:  # the scheduler is unreachable
            return False

    def _finished_text(self) -> str:
        return f"{self.n_done} of {len(self.tasks)} tasks finished"

    def release(self) -> None:
        pending = list(self.futures)
        if self.client.status == "running":
            if pending:
                self.client.cancel(pending)
            if self.shared is not None:
                self.client.cancel([self.shared])
        self.futures.clear()


def _package_root() -> str:
    import penalized

    return os.path.dirname(os.path.dirname(os.path.abspath(penalized.__file__)))


def local_cluster(n_workers: int = 2, **kwargs):
    """A ``distributed.LocalCluster`` of ``n_workers`` processes on 127.0.0.1 (one thread
    each) whose workers import the same ``penalized`` as this process (a preload puts
    its folder first on their path: a source checkout need not be installed)."""
    from distributed import LocalCluster

    root = _package_root()
    options = {"n_workers": n_workers, "threads_per_worker": 1, "processes": True,
               "host": "127.0.0.1", "dashboard_address": None,
               "preload": [f"import sys; sys.path.insert(0, {root!r})"], **kwargs}
    return LocalCluster(**options)


def connect(address: str):
    """A ``distributed.Client`` for ``address``: ``local`` or ``local:N`` (a local cluster
    of N worker processes, 2 by default) or a scheduler address (``tcp://host:8786``).
    The client closes its local cluster with it."""
    try:
        from distributed import Client
    except ImportError:
        raise ImportError("--dask needs Dask: pip install 'penalized[dask]'") from None
    if address == "local" or address.startswith("local:"):
        count = address.partition(":")[2] or "2"
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"--dask local:N needs a positive number of workers, got "
                             f"{address!r}")
        cluster = local_cluster(int(count),
                                memory_limit=DaskSettings.from_config().local_memory_limit)
        client = Client(cluster)
        client.close = _closing(client.close, cluster)
        return client
    return Client(address, timeout=30)


def _closing(close, cluster):
    def close_both(*args, **kwargs):
        try:
            return close(*args, **kwargs)
        finally:
            cluster.close()
    return close_both
