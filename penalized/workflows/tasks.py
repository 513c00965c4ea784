"""The tasks of a cross-validation and where they run: here, joblib workers or Dask.

A cross-validation is a list of independent :class:`Task` s (a path on a training
fold, or on the full data, for one penalty of the grid). :func:`run_tasks` runs the
ones a checkpoint does not already hold, in this process (``n_jobs`` None or 1),
on joblib workers, or as Dask futures (:mod:`.distributed`), storing each result in
the checkpoint as it finishes; the results come back in task order whatever ran them,
and equal (bit for bit) to a serial run: every task is a pure function of its inputs.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable

from joblib import Parallel, delayed, effective_n_jobs

from ..core.problem import Problem


@dataclasses.dataclass(frozen=True)
class Task:
    """One path of a cross-validation.

    Attributes
    ----------
    key : str
        Stable, file-safe name (the checkpoint's file name), e.g. ``"fold2-ratio0"``.
    label : str
        For messages, e.g. ``"fold 2, l1_ratio 0.5"``.
    function : callable
        ``function(problem, *arguments, options) -> result``.
    candidate : int
        Which problem (penalty of the grid) it fits.
    arguments : tuple
    size : int
        Alphas on its path (the unit of progress).
    cost : float
        Its work relative to the other tasks' (e.g. alphas times rows fitted; 0: its
        ``size``): parallel workers start the costliest first (:func:`longest_first`).
    """

    key: str
    label: str
    function: Callable
    candidate: int
    arguments: tuple
    size: int
    cost: float = 0.0

    @property
    def work(self) -> float:
        return self.cost if self.cost > 0 else float(self.size)

    def run(self, problem: Problem, options: dict):
        return self.function(problem, *self.arguments, options)


def active_client():
    """The Dask client of this process, or None (without importing Dask when unused)."""
    if sys.modules.get("distributed") is None:  # never imported (or blocked): no client
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None


def run_tasks(tasks: list[Task], problems: list[Problem], options: dict, *, n_jobs=None,
              callback=None, client=None, checkpoint=None) -> list:
    """Every task's result, in order (module docstring).

    ``client``: a ``distributed.Client`` (None: the active one, if any, else local);
    ``checkpoint``: a :class:`.checkpoint.Checkpoint` or None; ``callback(done, total)``:
    progress in alphas.
    """
    total = sum(task.size for task in tasks)
    results: list = [None] * len(tasks)
    if checkpoint is not None:
        for i, task in enumerate(tasks):
            results[i] = checkpoint.load(task.key, problems[task.candidate])
    todo = [i for i, r in enumerate(results) if r is None]
    progress = {"done": sum(t.size for t, r in zip(tasks, results, strict=True)
                            if r is not None)}

    def finished(i: int, result, report: bool = True) -> None:
        results[i] = result
        if checkpoint is not None:
            checkpoint.save(tasks[i].key, result)
        progress["done"] += tasks[i].size
        if callback is not None and report:
            callback(progress["done"], total)

    client = client if client is not None else active_client()
    if client is None and effective_n_jobs(n_jobs) != 1:
        todo = longest_first(tasks, todo)
    if client is not None:
        from .distributed import run_on_dask

        run_on_dask(client, [tasks[i] for i in todo], problems, options,
                    lambda j, result: finished(todo[j], result))
    elif effective_n_jobs(n_jobs) == 1:
        for i in todo:
            _run_here(tasks[i], problems, options, progress["done"], total, callback,
                      lambda result, i=i: finished(i, result, report=False))
    elif kernels_release_gil():  # threads share X: no copy, no worker start-up
        from ..core.threads import single_blas_thread

        with single_blas_thread():  # process-wide: n_jobs threads share the cores
            outputs = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(
                delayed(tasks[i].run)(problems[tasks[i].candidate].with_data(), options)
                for i in todo)
            for i, result in zip(todo, outputs, strict=True):
                finished(i, result)
    else:
        outputs = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(tasks[i].run)(problems[tasks[i].candidate], options) for i in todo)
        for i, result in zip(todo, outputs, strict=True):
            finished(i, result)
    return results


def longest_first(tasks: list[Task], todo: list[int]) -> list[int]:
    """``todo`` (indices of ``tasks``) with the costliest tasks first, ties in task order:
    n_jobs workers taking tasks in this order end closer together than in plan order,
    where the longest (the full-data path: every row) came last and ran alone."""
    return sorted(todo, key=lambda i: -tasks[i].work)


def kernels_release_gil() -> bool:
    """Whether the compiled entry points of the coordinate-descent engine release the GIL
    (numba's ``nogil``): then ``n_jobs`` runs tasks in threads sharing X, each task on its
    own copy of the problem's memo (``with_data()``: same arrays); otherwise in processes
    (threads would take turns holding the GIL)."""
    from ..solvers.cd import cholesky, kernels, path_kernel

    return all(dispatcher.targetoptions.get("nogil", False)
               for dispatcher in (kernels.cd_epochs, path_kernel.cd_path,
                                  cholesky.solve_in_place))


def _run_here(task: Task, problems, options: dict, offset: int, total: int, callback,
              finished) -> None:
    """One task in this process; the callback follows every alpha of its path."""
    if callback is not None:
        options = {**options, "callback": lambda k, _n: callback(offset + k, total)}
    finished(task.run(problems[task.candidate], options))
