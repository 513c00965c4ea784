"""``penalized fit --dask ADDRESS --checkpoint DIR --resume``: the cross-validation on a
Dask cluster, and a run that survives Ctrl-C, a crash or a dead scheduler."""

from __future__ import annotations

import contextlib
import os

import typer

from ...workflows.checkpoint import Checkpoint
from ._output import error_line, log

#: a cluster that could not finish the run: not a bug of penalized, not bad input
EXIT_CLUSTER = 1


def check_resume(checkpoint: str | None, resume: bool) -> None:
    """``--resume`` needs ``--checkpoint``; a checkpoint that holds finished tasks is only
    continued on request (a stale folder is not silently reused)."""
    if resume and checkpoint is None:
        raise ValueError("--resume needs --checkpoint DIR (the folder of the run to continue)")
    if checkpoint is None or resume or not os.path.isdir(checkpoint):
        return
    finished = Checkpoint(os.path.abspath(checkpoint), "").finished()
    if finished:
        raise ValueError(f"--checkpoint {checkpoint} already holds {len(finished)} finished "
                         "tasks: add --resume to continue that run (same data and options), "
                         "or choose a new folder")


@contextlib.contextmanager
def cluster_run(address: str | None, checkpoint: str | None, resume: bool, quiet: bool):
    """The Dask client for ``--dask`` (None without it), closed at the end; a run the
    cluster could not finish is one error line and exit code 1."""
    from ...workflows.distributed import DaskRunError, connect

    check_resume(checkpoint, resume)
    client = None if address is None else connect(address)
    if client is not None:
        log(f"Dask cluster {address}: {len(client.scheduler_info()['workers'])} workers", quiet)
    try:
        yield client
    except DaskRunError as exc:
        error_line(f"{exc}" + (f" (finished tasks are kept in {checkpoint}: rerun with "
                               "--resume)" if checkpoint else ""))
        raise typer.Exit(EXIT_CLUSTER) from None
    finally:
        if client is not None:
            client.close()
