"""``checkpoint=`` for the Newton route's cross-validation on Dask arrays
(:mod:`.tall_newton_cv`): every path's accepted alphas on disk, for resuming.

The paths advance together, a pass at a time, so there is no finished task to store
until the end; what a path needs to go on is its last accepted alpha: the walk
(:func:`.tall_newton.walk`) starts each alpha from the previous one's point and model
only. So after every pass each path whose record grew is stored (one ``.npz`` per
path in the folder of :mod:`.checkpoint`, written atomically): its accepted points,
objectives, steps, certificates and held-out score sums, and the model (the moments
of ``[X, t]`` and the loss) at the last one. A resumed run restarts every path at its
next alpha from there and takes the same steps: with a checkpoint each requested
point's linear predictor is computed on its own (``each_point`` of
:func:`.tall_newton_cv._block_models`), whichever points share its pass, so the result
is the uninterrupted checkpointed run's, bit for bit.

The fingerprint (:func:`.checkpoint.run_fingerprint`) stands X by its columns' moments
over every held-out fold (one more pass, :func:`.tall_newton_scaled.column_moments`);
y, the weights, the fold labels, the grids, the model and the options as for the
in-memory route. The model is stored as its type's arrays (the route's ``model_type``:
the moments, or the multinomial's Hessian blocks).
"""

from __future__ import annotations

import io
import os

import numpy as np

from ..core.files import atomic_write_bytes

_RECORD_ARRAYS = ("coefs", "intercepts", "objectives", "steps", "converged", "kkt",
                  "score_sums", "score_weights")


def track_key(c: int, k: int, full: int) -> str:
    return f"newton-ratio{c}-" + ("full" if k == full else f"fold{k}")


def open_store(folder, moments: dict, y_code, s_here, labels, datafit, candidates, grids,
               scorer, how, tol: float, keys: list):
    """The checkpoint of this run (:func:`.checkpoint.open_checkpoint`); ``moments``:
    ``{fold label: Moments}`` of the columns (:func:`.tall_newton_scaled.column_moments`)."""
    from .checkpoint import open_checkpoint, run_fingerprint

    order = sorted(moments)
    data = (np.array([moments[k].comoment for k in order]), y_code, s_here,
            [np.array([moments[k].mean for k in order]), labels])
    return open_checkpoint(folder, run_fingerprint(
        data, datafit, True, candidates, grids, scorer.name, how.standardize,
        {"route": "newton-dask", "tol": tol, "fold_alphas": how.fold_alphas,
         "keep_fold_paths": how.keep_fold_paths}, keys))


def save_track(store, key: str, records: list) -> None:
    """Store one path's records (:func:`.tall_newton.walk`'s) and its last model."""
    columns = list(zip(*records, strict=True))
    arrays = dict(zip(_RECORD_ARRAYS[:6], map(np.asarray, columns[:6]), strict=True))
    arrays["score_sums"] = np.array([model[2] for model in columns[6]])
    arrays["score_weights"] = np.array([model[3] for model in columns[6]])
    model, loss = columns[6][-1][:2]
    arrays.update({f"model_{name}": a for name, a in model.to_arrays().items()},
                  loss=np.array(loss))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(os.path.join(store.folder, f"{key}.npz"), buffer.getvalue())


def load_track(store, key: str, model_type: type) -> list:
    """The stored records of one path ([] when none): the model of the last one whole
    (a ``model_type``), the others' held-out score sums only (all that the results
    read)."""
    path = os.path.join(store.folder, f"{key}.npz")
    if not os.path.exists(path):
        return []
    with np.load(path, allow_pickle=False) as stored:
        a = {name: stored[name] for name in stored.files}
    m = a["coefs"].shape[0]
    models = [(None, None, float(a["score_sums"][i]), float(a["score_weights"][i]))
              for i in range(m)]
    model = model_type.from_arrays({name[len("model_"):]: value for name, value in a.items()
                                    if name.startswith("model_")})
    models[-1] = (model, float(a["loss"]), *models[-1][2:])
    # (an intercept is a number, or one per class)
    intercepts = [float(b) if b.ndim == 0 else b for b in a["intercepts"]]
    return [(a["coefs"][i], intercepts[i], float(a["objectives"][i]),
             int(a["steps"][i]), bool(a["converged"][i]), float(a["kkt"][i]), models[i])
            for i in range(m)]


class TrackSaver:
    """After each pass, stores the paths whose records grew (``keys[i]`` for
    ``records[i]``)."""

    def __init__(self, store, keys: list, records: list) -> None:
        self.store, self.keys, self.records = store, keys, records
        self.saved = [len(r) for r in records]

    def __call__(self) -> None:
        for i, rec in enumerate(self.records):
            if len(rec) > self.saved[i]:
                save_track(self.store, self.keys[i], rec)
                self.saved[i] = len(rec)
