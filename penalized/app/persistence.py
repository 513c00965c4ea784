"""Model folders: a JSON manifest plus arrays, loaded without pickle.

A model folder holds

- ``manifest.json``: format name and version, library version, task, datafit,
  penalty, alpha, the objective's convention, the feature recipe
  (:class:`penalized.app.io.TableSpec`: names, encodings, imputation), the target's
  classes, and the SHA-256 and size of every other file;
- ``arrays.npz``: the coefficients (original units) and intercept, plus any
  extra arrays (a path, CV curves), read with ``allow_pickle=False``;
- optionally ``weights.pt``: a PyTorch state dict, read with ``weights_only=True``.

Every file is written to a temporary name in the same folder and moved into
place with :func:`os.replace` (atomic on one file system); the manifest is
written last, so a folder without one is an interrupted save. :func:`load`
checks sizes and checksums before parsing anything, so a tampered or
truncated file gives one clear :class:`ModelFileError`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io as _io
import json
import os
import shutil
import stat
import tempfile
import zipfile

import numpy as np

from .._version import __version__
from ..core.files import atomic_write_bytes

__all__ = ["FORMAT", "FORMAT_VERSION", "ModelFileError", "SavedModel", "atomic_write_bytes",
           "atomic_write_text", "load", "save_linear_model"]

FORMAT = "penalized-model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = "arrays.npz"
WEIGHTS = "weights.pt"
#: what :func:`load` knows how to read
KINDS = ("linear", "mlp")
TASKS = ("regression", "classification")
#: no array or weight file of a model is larger (checked before reading a byte)
MAX_FILE_BYTES = 4 * 2**30
#: a manifest is a few kB (a feature recipe of many thousand columns stays far below this)
MAX_MANIFEST_BYTES = 64 * 2**20
CONVENTION = ("(1/n) sum_i loss(y_i, x_i.w + b) + alpha * P(w); loss = (y - z)^2 / 2 or "
              "log(1 + exp(-y z)); L1: ||w||_1, L2: ||w||^2 / 2, elastic net: "
              "r ||w||_1 + (1 - r) ||w||^2 / 2 (scikit-learn Lasso scaling)")


class ModelFileError(ValueError):
    """A model folder is missing, tampered with, truncated or from an unknown format."""


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = _io.BytesIO()
    clean = {}
    for key, value in arrays.items():
        arr = np.asarray(value)
        if arr.dtype == object:
            raise TypeError(f"array {key!r} has dtype object: it would need pickle to save")
        clean[key] = arr
    np.savez(buffer, **clean)
    return buffer.getvalue()


def _json_safe(value):
    """Classes and other labels as plain JSON types."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return [_json_safe(v) for v in value.tolist()]
    return value


def _stage_files(folder: str, payloads: dict[str, bytes]) -> None:
    for name, data in payloads.items():
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())


def _versioned(name: str, data: bytes) -> str:
    """``arrays.npz`` -> ``arrays-<sha256 prefix>.npz``: a new save never overwrites the
    files that the current manifest names."""
    stem, ext = os.path.splitext(name)
    return f"{stem}-{_sha256(data)[:16]}{ext}"


def save_model_folder(folder: str | os.PathLike, manifest: dict,
                      arrays: dict[str, np.ndarray], state_dict: dict | None = None,
                      extra_files: dict[str, bytes] | None = None) -> str:
    """Write a model folder so that at every instant either the old or the new model loads.

    The array (and weight) files get content-versioned names that the manifest lists
    under ``roles``. A new folder is written beside its final name and renamed into
    place (one rename); an existing model folder receives the new versioned files first,
    then the new manifest by one atomic rename, then ``extra_files`` (the report), and
    only then loses the files that the old manifest named. Returns the folder path.
    """
    folder = os.path.abspath(os.fspath(folder))
    payloads = {ARRAYS: _npz_bytes(arrays)}
    if state_dict is not None:
        import torch  # only when saving a network

        buffer = _io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, buffer)
        payloads[WEIGHTS] = buffer.getvalue()
    roles = {role: _versioned(role, data) for role, data in payloads.items()}
    files = {roles[role]: {"sha256": _sha256(data), "bytes": len(data)}
             for role, data in payloads.items()}
    files[roles[ARRAYS]]["members"] = sorted(arrays)
    full = {"format": FORMAT, "format_version": FORMAT_VERSION,
            "library_version": __version__, "convention": CONVENTION, **manifest,
            "files": files, "roles": roles}
    text = json.dumps(full, indent=2, default=_json_safe, allow_nan=False) + "\n"
    staged = {roles[role]: data for role, data in payloads.items()}
    if not os.path.exists(folder) or (os.path.isdir(folder) and not os.listdir(folder)):
        _save_new_folder(folder, staged, text, extra_files or {})
        return folder
    _stage_files(folder, staged)
    atomic_write_text(os.path.join(folder, MANIFEST), text)
    for name, data in (extra_files or {}).items():
        atomic_write_bytes(os.path.join(folder, name), data)
    _remove_stale(folder, set(staged))
    return folder


def is_model_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder with a manifest of this format (not checked further)."""
    manifest = os.path.join(os.fspath(path), MANIFEST)
    if not os.path.isfile(manifest) or os.path.getsize(manifest) > MAX_MANIFEST_BYTES:
        return False
    try:
        with open(manifest, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT


def check_new_folder(folder: str | os.PathLike, *, force: bool = False,
                     option: str = "--out") -> str:
    """Refuse, before any work, a path that cannot become a model folder: an existing
    file, a path under a file, an unwritable parent, a non-empty folder that is not a
    model folder, or a model folder without ``force``. Returns the absolute path."""
    shown = os.fspath(folder)
    path = os.path.abspath(shown)
    if os.path.lexists(path) and not os.path.isdir(path):
        raise ValueError(f"{option} {shown} is an existing file, not a folder")
    parent = path
    while not os.path.lexists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise ValueError(f"{option} {shown} lies under {parent}, which is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {shown}: no permission to write in {parent}")
    if os.path.isdir(path) and os.listdir(path):
        if not is_model_folder(path):
            raise ValueError(f"{option} {shown} is a non-empty folder that is not a model "
                             "folder; choose a new or empty folder")
        if not force:
            raise ValueError(f"{option} {shown} already holds a model; pass --force to "
                             "replace it")
    return path


def _save_new_folder(folder: str, staged: dict, manifest_text: str, extra: dict) -> None:
    parent = os.path.dirname(folder)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(folder)}.tmp-", dir=parent)
    try:
        _stage_files(tmp, {**staged, **extra, MANIFEST: manifest_text.encode("utf-8")})
        os.rename(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _remove_stale(folder: str, current: set[str]) -> None:
    """Array and weight files of earlier saves (only names this module writes)."""
    stems = tuple(os.path.splitext(n)[0] + "-" for n in (ARRAYS, WEIGHTS))
    for name in os.listdir(folder):
        if name not in current and (name in (ARRAYS, WEIGHTS) or name.startswith(stems)):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))


def save_linear_model(folder, *, coef, intercept: float, feature_spec: dict, task: str,
                      datafit: str, penalty: str, alpha: float, l1_ratio: float | None = None,
                      classes=None, extra: dict | None = None,
                      extra_arrays: dict[str, np.ndarray] | None = None,
                      extra_files: dict[str, bytes] | None = None) -> str:
    """Save a fitted linear model (coefficients in original feature units).

    Parameters
    ----------
    folder : path
    coef : array of shape (n_features,) or (n_features, n_classes)
        One column per class for a multiclass (more than two classes) model.
    intercept : float or array of shape (n_classes,)
    feature_spec : dict
        :meth:`penalized.app.io.TableSpec.to_dict` (feature names and encodings).
    task : {"regression", "classification"}
    datafit, penalty : str
        Registry names (``"leastsquares"``, ``"l1"``...).
    alpha : float
        The chosen strength in this library's convention.
    classes : sequence, optional
        Labels; ``classes[1]`` is the positive class.
    extra : dict, optional
        More JSON fields (CV settings, standardization...).
    extra_arrays : dict, optional
        More numeric arrays for the npz (a path, a CV curve).
    extra_files : dict of str to bytes, optional
        More files saved with the model (the report), not read by :func:`load`.
    """
    coef = np.asarray(coef, dtype=np.float64)
    names = feature_spec.get("feature_names", [])
    expected = _coef_shape(len(names), None if classes is None else len(classes))
    if coef.shape != expected:
        raise ValueError(f"coef has shape {coef.shape}, expected {expected} (features, "
                         "classes when more than two)")
    manifest = {
        "kind": "linear", "task": task, "datafit": datafit,
        "penalty": {"name": penalty, "l1_ratio": l1_ratio}, "alpha": float(alpha),
        "features": feature_spec,
        "classes": None if classes is None else _json_safe(np.asarray(classes)),
        **(extra or {}),
    }
    arrays = {"coef": coef, "intercept": np.atleast_1d(np.asarray(intercept, dtype=np.float64))}
    arrays.update(extra_arrays or {})
    return save_model_folder(folder, manifest, arrays, extra_files=extra_files)


def _coef_shape(n_features: int, n_classes: int | None) -> tuple[int, ...]:
    """``(p,)`` for regression and two classes, ``(p, K)`` for K > 2 classes."""
    return (n_features,) if n_classes is None or n_classes == 2 else (n_features, n_classes)


@dataclasses.dataclass(frozen=True, eq=False)
class SavedModel:
    """A model read back by :func:`load`.

    Attributes
    ----------
    manifest : dict
    arrays : dict of str to ndarray
    state_dict : dict or None
        PyTorch weights when the folder has them.
    """

    path: str
    manifest: dict
    arrays: dict
    state_dict: dict | None = None

    @property
    def coef(self) -> np.ndarray:
        return self.arrays["coef"]

    @property
    def intercept(self) -> float | np.ndarray:
        """A float, or one value per class for a multiclass model."""
        b = self.arrays["intercept"]
        return b.copy() if self.coef.ndim == 2 else float(b[0])

    @property
    def alpha(self) -> float:
        return float(self.manifest["alpha"])

    @property
    def feature_names(self) -> list[str]:
        return list(self.manifest["features"]["feature_names"])

    @property
    def classes(self) -> np.ndarray | None:
        c = self.manifest.get("classes")
        return None if c is None else np.asarray(c)

    @property
    def spec(self):
        from .io import TableSpec

        return TableSpec.from_dict(self.manifest["features"])

    def design_matrix(self, data) -> np.ndarray:
        """A DataFrame (raw columns, encoded with the training recipe) or an array."""
        if hasattr(data, "columns"):
            from .io import apply_spec

            return apply_spec(data, self.spec)
        X = np.asarray(data, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.coef.shape[0]:
            raise ValueError(f"X must have shape (n_samples, {self.coef.shape[0]}), "
                             f"got {X.shape}")
        return X

    def decision_function(self, data) -> np.ndarray:
        return self.design_matrix(data) @ self.coef + self.intercept

    def predict_proba(self, data) -> np.ndarray:
        """Probability of ``classes[1]`` (two classes), or of every class, shape
        (n_samples, n_classes), for more."""
        if self.manifest["task"] != "classification":
            raise TypeError("predict_proba is for classification models")
        from scipy.special import expit, softmax

        z = self.decision_function(data)
        return softmax(z, axis=1) if z.ndim == 2 else expit(z)

    def predict(self, data) -> np.ndarray:
        """Mean response (the datafit's inverse link: ``exp`` for Poisson) or label, as
        the in-process model predicts."""
        z = self.decision_function(data)
        if self.manifest["task"] != "classification":
            from ..core.datafits import DATAFITS

            datafit = DATAFITS.get(self.manifest.get("datafit", ""))
            return z if datafit is None else datafit().inverse_link(z)
        return self.classes[np.argmax(z, axis=1)] if z.ndim == 2 \
            else self.classes[(z > 0).astype(int)]


def _open_inside(folder: str, name: str, limit: int) -> bytes:
    """The bytes of ``folder/name``: a plain file name (no path, no symbolic link),
    its size checked against ``limit`` before anything is read. Messages name only the
    folder's own files, never anything a link might point to."""
    if not isinstance(name, str) or name != os.path.basename(name) or name in ("", ".", ".."):
        raise ModelFileError(f"{folder}: the manifest names {name!r}, not a file of the folder")
    path = os.path.join(folder, name)
    if os.path.islink(path):
        raise ModelFileError(f"{path} is a symbolic link: refused (a model folder holds its "
                             "own files)")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise ModelFileError(f"{folder}: {name} is missing") from None
    except OSError:
        raise ModelFileError(f"{path} cannot be opened as a plain file") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ModelFileError(f"{path} is not a plain file")
        if info.st_size > limit:
            raise ModelFileError(f"{path} has {info.st_size} bytes, more than the "
                                 f"{limit} expected: truncated, altered or not ours")
        return handle.read(limit + 1)


def _read_checked(folder: str, name: str, entry) -> bytes:
    if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str) or \
            isinstance(entry.get("bytes"), bool) or not isinstance(entry.get("bytes"), int):
        raise ModelFileError(f"{folder}: manifest entry for {name} is malformed")
    size = entry["bytes"]
    if not 0 <= size <= MAX_FILE_BYTES:
        raise ModelFileError(f"{folder}: manifest entry for {name} claims {size} bytes")
    data = _open_inside(folder, name, size)
    if len(data) != size:
        raise ModelFileError(f"{os.path.join(folder, name)} is truncated or altered: "
                             f"{len(data)} bytes, the manifest says {size}")
    if _sha256(data) != entry["sha256"]:
        raise ModelFileError(f"{os.path.join(folder, name)} does not match its checksum in "
                             "the manifest: the file was modified or corrupted")
    return data


def _read_manifest(folder: str) -> dict:
    path = os.path.join(folder, MANIFEST)
    if not os.path.isdir(folder):
        raise ModelFileError(f"{folder} is not a model folder (no such directory)")
    if not os.path.lexists(path):
        raise ModelFileError(f"{folder} has no {MANIFEST}: not a model folder, or an "
                             "interrupted save")
    raw = _open_inside(folder, MANIFEST, MAX_MANIFEST_BYTES)
    try:
        manifest = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path} is not valid JSON (truncated or edited?): {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a {FORMAT} manifest")
    version = manifest.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or \
            not 1 <= version <= FORMAT_VERSION:
        raise ModelFileError(f"{path} has format version {version!r}; this library reads "
                             f"versions 1 to {FORMAT_VERSION} (upgrade penalized if newer)")
    for key in ("kind", "task", "alpha", "features", "files"):
        if key not in manifest:
            raise ModelFileError(f"{path} lacks the field {key!r}")
    if manifest["kind"] not in KINDS:
        raise ModelFileError(f"{path} has kind {manifest['kind']!r}; known: {', '.join(KINDS)}")
    if manifest["task"] not in TASKS:
        raise ModelFileError(f"{path} has task {manifest['task']!r}; known: {', '.join(TASKS)}")
    alpha = manifest["alpha"]
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not alpha >= 0:
        raise ModelFileError(f"{path} has alpha {alpha!r}, not a number >= 0")
    if not isinstance(manifest["files"], dict) or _role_file(manifest, ARRAYS) is None:
        raise ModelFileError(f"{path} does not list {ARRAYS}")
    return manifest


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _read_arrays(folder: str, name: str, data: bytes, names=None) -> dict[str, np.ndarray]:
    """The members of the npz that the manifest names (every member for older manifests
    without the list), refusing compressed members (whose size on disk does not bound
    what they expand to) and pickled objects."""
    where = os.path.join(folder, name)
    if names is not None and (not isinstance(names, list)
                              or not all(isinstance(n, str) for n in names)):
        raise ModelFileError(f"{folder}: the manifest's member list for {name} is malformed")
    try:
        with zipfile.ZipFile(_io.BytesIO(data)) as archive:
            members = archive.infolist()
            if names is not None:
                found = {info.filename.removesuffix(".npy"): info for info in members}
                missing = [n for n in names if n not in found]
                if missing:
                    raise ModelFileError(f"{where} lacks the arrays {missing[:5]} that the "
                                         "manifest names")
                members = [found[n] for n in names]
            for info in members:
                if info.compress_type != zipfile.ZIP_STORED or info.file_size > len(data):
                    raise ModelFileError(f"{where}: member {info.filename!r} is compressed or "
                                         "larger than the file: refused")
            arrays = {}
            for info in members:
                key = info.filename.removesuffix(".npy")
                with archive.open(info) as member:
                    arrays[key] = np.lib.format.read_array(member, allow_pickle=False)
    except ModelFileError:
        raise
    except Exception as exc:  # zipfile / format errors, pickled objects
        raise ModelFileError(f"{where} cannot be read: {exc}") from None
    return arrays


def _role_file(manifest: dict, role: str) -> str | None:
    """The file holding ``role`` (``arrays.npz``, ``weights.pt``): named under ``roles``
    (content-versioned names), or the role's own name in older folders."""
    roles = manifest.get("roles", {})
    if not isinstance(roles, dict):
        return None
    name = roles.get(role, role if "roles" not in manifest else None)
    return name if isinstance(name, str) and name in manifest["files"] else None


def load(path: str | os.PathLike) -> SavedModel:
    """Load a model folder written by ``penalized fit`` (or :func:`save_linear_model`).

    No pickle is involved: JSON, ``np.load(allow_pickle=False)`` and
    ``torch.load(weights_only=True)``.

    Raises
    ------
    ModelFileError
        Missing, tampered, truncated or unknown files.

    Examples
    --------
    >>> import penalized as pz                               # doctest: +SKIP
    >>> model = pz.load("run/")                              # doctest: +SKIP
    >>> model.predict(pandas.read_csv("new.csv"))            # doctest: +SKIP
    """
    folder = os.fspath(path)
    manifest = _read_manifest(folder)
    name = _role_file(manifest, ARRAYS)
    entry = manifest["files"][name]
    arrays = _read_arrays(folder, name, _read_checked(folder, name, entry),
                          entry.get("members") if isinstance(entry, dict) else None)
    state_dict = None
    weights = _role_file(manifest, WEIGHTS)
    if weights is not None:
        import torch

        raw = _read_checked(folder, weights, manifest["files"][weights])
        try:
            state_dict = torch.load(_io.BytesIO(raw), weights_only=True, map_location="cpu")
        except Exception as exc:
            raise ModelFileError(f"{os.path.join(folder, weights)} cannot be read: {exc}") \
                from None
    model = SavedModel(folder, manifest, arrays, state_dict)
    if manifest["kind"] == "linear":
        _check_linear(model)
    return model


def _check_linear(model: SavedModel) -> None:
    for key in ("coef", "intercept"):
        if key not in model.arrays:
            raise ModelFileError(f"{model.path}: {ARRAYS} lacks {key!r}")
        value = model.arrays[key]
        if value.dtype.kind != "f" or not np.all(np.isfinite(value)):
            raise ModelFileError(f"{model.path}: {key} must be finite floating-point numbers "
                                 f"(dtype {value.dtype}"
                                 + (")" if value.dtype.kind != "f" else ", NaN or infinity)"))
    try:
        names = model.feature_names
        model.spec  # noqa: B018 - validates the recipe
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{model.path}: invalid feature recipe in the manifest: {exc}") \
            from None
    classes = model.classes
    if model.manifest["task"] == "classification" and (
            classes is None or classes.ndim != 1 or classes.shape[0] < 2):
        raise ModelFileError(f"{model.path}: a classification model needs two or more classes")
    n_classes = None if classes is None else classes.shape[0]
    expected = _coef_shape(len(names), n_classes)
    if model.coef.shape != expected:
        raise ModelFileError(f"{model.path}: coefficients of shape {model.coef.shape} for "
                             f"{len(names)} features, expected {expected}")
    n_intercepts = expected[1] if len(expected) == 2 else 1
    if model.arrays["intercept"].shape != (n_intercepts,):
        raise ModelFileError(f"{model.path}: intercept of shape "
                             f"{model.arrays['intercept'].shape}, expected ({n_intercepts},)")
