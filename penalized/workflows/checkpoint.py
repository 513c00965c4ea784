"""Checkpoints of a cross-validation: each finished task's result on disk, for resuming.

A checkpoint folder holds ``manifest.json`` (the fingerprint of the run) and one
``<task key>.npz`` per finished task. The fingerprint hashes everything that
determines the results: the data (X, y, sample weights), the folds, the alpha
grids, the model (datafit, penalties), the solver options and the library version,
so that a folder written for other data or options is refused instead of mixing
results of two different runs. Every file is written to a temporary name and
renamed into place, so an interrupted write leaves either the whole file or none;
results are stored as plain arrays and read with ``allow_pickle=False``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os

import numpy as np
import scipy.sparse as sp

from .._version import __version__
from ..core.files import atomic_write_bytes
from ..core.results import PathResult

MANIFEST = "manifest.json"
#: the array fields of a PathResult stored in a checkpoint (the penalty, datafit and
#: classes come back from the run's own problem)
_PATH_ARRAYS = ("alphas", "coefs", "intercepts", "objectives", "certificates", "n_iters",
                "converged", "stop_reasons")

#: a fold's result with ``keep_fold_paths``: its scores and its path
_FOLD_PATH_ARRAYS = ("scores", "fold_coefs", "fold_intercepts")


class CheckpointMismatchError(ValueError):
    """The checkpoint folder was written by a run with other data, options or version."""


def _feed_array(digest, array) -> None:
    array = np.ascontiguousarray(array)
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    digest.update(memoryview(array).cast("B"))


def fingerprint(X, y, sample_weight, description: dict, arrays=()) -> str:
    """A hash of the data, the ``description`` (JSON-able: model, options) and
    ``arrays`` (folds, grids), with the library version."""
    digest = hashlib.blake2b(digest_size=20)
    if sp.issparse(X):
        X = X.tocsc()
        for part in (X.data, X.indices, X.indptr):
            _feed_array(digest, part)
    else:
        _feed_array(digest, X)
    for array in (y, sample_weight, *arrays):
        _feed_array(digest, np.asarray(array))
    text = json.dumps({"version": __version__, **description}, sort_keys=True, default=repr)
    digest.update(text.encode())
    return digest.hexdigest()


def run_fingerprint(data, datafit, fit_intercept: bool, candidates, grids, scoring: str,
                    standardize: bool, options: dict, keys: list[str]) -> str:
    """The fingerprint of a cross-validation; ``data``: ``(X, y, sample_weight, arrays)``
    (the folds; for Dask input, the moments stand for the data)."""
    X, y, s, arrays = data
    description = {
        "datafit": repr(datafit), "fit_intercept": fit_intercept,
        "penalties": [repr(dataclasses.replace(pen, weights=None)) for pen in candidates],
        "options": {k: repr(v) for k, v in options.items()}, "scoring": scoring,
        "standardize": standardize, "tasks": keys,
    }
    weights = [np.asarray(pen.weights) for pen in candidates if pen.weights is not None]
    weights += [np.atleast_1d(np.asarray(getattr(pen, side), dtype=float))  # box contents
                for pen in candidates for side in ("lower", "upper")
                if getattr(pen, side) is not None]
    return fingerprint(X, y, s, description, arrays=list(arrays) + list(grids) + weights)


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A checkpoint folder bound to one run's fingerprint (see :func:`open_checkpoint`)."""

    folder: str
    fingerprint: str

    def _path(self, key: str) -> str:
        return os.path.join(self.folder, f"{key}.npz")

    def finished(self) -> list[str]:
        """Keys of the tasks whose results are stored."""
        return sorted(name[:-4] for name in os.listdir(self.folder)
                      if name.endswith(".npz") and not name.startswith("."))

    def save(self, key: str, result) -> None:
        """Store a task's result: an array of scores, a :class:`PathResult`, or a fold's
        ``(scores, coefs, intercepts)`` (``keep_fold_paths``)."""
        if isinstance(result, PathResult):
            arrays = {name: np.asarray(getattr(result, name)) for name in _PATH_ARRAYS}
            arrays["scalars"] = np.array([result.alpha_max])
            arrays["labels"] = np.array([result.certificate_kind, result.solver])
        elif isinstance(result, tuple):
            arrays = dict(zip(_FOLD_PATH_ARRAYS, map(np.asarray, result), strict=True))
        else:
            arrays = {"scores": np.asarray(result)}
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write_bytes(self._path(key), buffer.getvalue())

    def load(self, key: str, problem):
        """The stored result of ``key`` (None when not finished); a path gets the
        penalty, datafit and classes of ``problem`` (the one it was fitted for)."""
        if not os.path.exists(self._path(key)):
            return None
        with np.load(self._path(key), allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        if _FOLD_PATH_ARRAYS[1] in arrays:
            return tuple(arrays[name] for name in _FOLD_PATH_ARRAYS)
        if "scores" in arrays:
            return arrays["scores"]
        kind, solver = (str(v) for v in arrays.pop("labels"))
        return PathResult(
            **{name: arrays[name] for name in _PATH_ARRAYS}, certificate_kind=kind,
            alpha_max=float(arrays.pop("scalars")[0]), solver=solver,
            penalty=problem.penalty.with_alpha(float(arrays["alphas"][-1])),
            datafit=problem.datafit,
            classes=problem.classes)


def open_checkpoint(folder, fingerprint_value: str) -> Checkpoint:
    """The checkpoint in ``folder`` (created when absent or empty); a folder that holds
    another run's checkpoint is refused with :class:`CheckpointMismatchError`."""
    folder = os.path.abspath(os.fspath(folder))
    os.makedirs(folder, exist_ok=True)
    manifest = os.path.join(folder, MANIFEST)
    if os.path.exists(manifest):
        with open(manifest, encoding="utf-8") as handle:
            stored = json.load(handle)
        if stored.get("fingerprint") != fingerprint_value:
            raise CheckpointMismatchError(
                f"the checkpoint in {folder} was made for other data, options or library "
                f"version (penalized {stored.get('version', '?')}; this run is "
                f"{__version__}): it cannot be resumed by this run; use another folder or "
                "delete it")
    elif any(not name.startswith(".") for name in os.listdir(folder)):
        raise CheckpointMismatchError(
            f"{folder} is not empty and holds no checkpoint manifest: choose an empty or "
            "new folder for the checkpoint")
    else:
        text = json.dumps({"fingerprint": fingerprint_value, "version": __version__})
        atomic_write_bytes(manifest, text.encode("utf-8"))
    return Checkpoint(folder, fingerprint_value)
