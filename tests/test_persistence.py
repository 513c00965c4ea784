"""Model folders: round trip, no pickle, tampering and truncation detected, atomic writes."""

from __future__ import annotations

import io
import json
import os
import signal

import numpy as np
import pandas as pd
import pytest

import penalized as pz
from penalized.app import persistence
from penalized.app.io import prepare_table
from penalized.app.persistence import ModelFileError, load, save_linear_model


def messy_frame(n=60, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"customer_id": [f"C{i:04d}" for i in range(n)],
                          "age": rng.integers(20, 70, n),
                          "city": rng.choice(["Paris", "Lyon", "Nice"], n),
                          "income": rng.normal(50, 10, n).round(2)})
    frame["price"] = 2.0 * frame["income"] + rng.normal(0, 1, n)
    return frame


def role(folder, name="arrays.npz"):
    """The file a manifest names for a role (content-versioned names)."""
    manifest = json.loads((folder / "manifest.json").read_text())
    return folder / manifest["roles"][name]


@pytest.fixture()
def saved(tmp_path):
    frame = messy_frame()
    table = prepare_table(frame, "price")
    res = pz.fit(table.X, table.y, pz.LeastSquares(), pz.L1(), alpha=0.5)
    folder = tmp_path / "model"
    save_linear_model(folder, coef=res.coef, intercept=res.intercept,
                      feature_spec=table.spec.to_dict(), task="regression",
                      datafit="leastsquares", penalty="l1", alpha=0.5, l1_ratio=1.0,
                      extra_arrays={"alphas": np.geomspace(1, 0.01, 5)})
    return folder, frame, table, res


def test_round_trip_predictions_equal(saved):
    folder, frame, table, res = saved
    model = pz.load(folder)
    np.testing.assert_array_equal(model.coef, res.coef)
    assert model.intercept == res.intercept and model.alpha == 0.5
    assert model.feature_names == table.feature_names
    np.testing.assert_allclose(model.predict(frame), res.predict(table.X), rtol=1e-12)
    np.testing.assert_allclose(model.predict(table.X), res.predict(table.X), rtol=1e-12)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == "penalized-model" and manifest["format_version"] == 1
    assert manifest["library_version"] == pz.__version__
    assert "alpha * P(w)" in manifest["convention"]
    assert len(manifest["files"][role(folder).name]["sha256"]) == 64
    assert not [p for p in os.listdir(folder) if p.startswith(".tmp-")]


def test_classification_round_trip(tmp_path):
    frame = messy_frame()
    frame["label"] = np.where(frame["price"] > frame["price"].median(), "high", "low")
    table = prepare_table(frame.drop(columns="price"), "label")
    res = pz.fit(table.X, table.y, pz.Logistic(), pz.L1(), alpha=0.01)
    save_linear_model(tmp_path / "m", coef=res.coef, intercept=res.intercept,
                      feature_spec=table.spec.to_dict(), task="classification",
                      datafit="logistic", penalty="l1", alpha=0.01, classes=res.classes)
    model = load(tmp_path / "m")
    assert list(model.predict(frame)) == list(res.predict(table.X))
    np.testing.assert_allclose(model.predict_proba(frame),
                               1 / (1 + np.exp(-res.decision_function(table.X))))


def test_tampered_array_file(saved):
    folder = saved[0]
    data = bytearray(role(folder).read_bytes())
    data[len(data) // 2] ^= 0xFF
    role(folder).write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checksum"):
        load(folder)


def test_truncated_files(saved):
    folder = saved[0]
    data = role(folder).read_bytes()
    role(folder).write_bytes(data[:100])
    with pytest.raises(ModelFileError, match="truncated"):
        load(folder)
    text = (folder / "manifest.json").read_text()
    (folder / "manifest.json").write_text(text[: len(text) // 2])
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load(folder)


def test_missing_and_foreign_folders(tmp_path, saved):
    with pytest.raises(ModelFileError, match="no such directory"):
        load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFileError, match="manifest.json"):
        load(tmp_path / "empty")
    folder = saved[0]
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["format_version"] = 99
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="format version 99"):
        load(folder)


def test_pickled_arrays_are_refused_even_with_a_valid_checksum(saved):
    """A rewritten npz holding an object array (pickle) is rejected by allow_pickle=False."""
    folder = saved[0]
    buffer = io.BytesIO()
    np.savez(buffer, coef=np.array([{"evil": 1}] * 6, dtype=object), intercept=np.zeros(1))
    data = buffer.getvalue()
    role(folder).write_bytes(data)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][role(folder).name] = {"sha256": persistence._sha256(data), "bytes": len(data)}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="cannot be read"):
        load(folder)
    with pytest.raises(TypeError, match="pickle"):
        persistence.save_model_folder(folder / "x", {}, {"a": np.array([None], dtype=object)})


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "report.html"
    persistence.atomic_write_text(path, "old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(persistence.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        persistence.atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["report.html"]  # the temporary file was removed


def test_torch_state_dict_weights_only(tmp_path):
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    persistence.save_model_folder(tmp_path / "net", {"kind": "mlp", "task": "regression",
                                                     "alpha": 0.1, "features": {}},
                                  {"layers": np.array([3, 4, 1])}, state_dict=net.state_dict())
    model = load(tmp_path / "net")
    for key, value in net.state_dict().items():
        assert torch.equal(model.state_dict[key], value)
    data = bytearray(role(tmp_path / "net", "weights.pt").read_bytes())
    data[-10] ^= 0x01
    role(tmp_path / "net", "weights.pt").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="weights-"):
        load(tmp_path / "net")


SPEC = {"target": "y", "numeric": ["a", "b"], "categorical": {}, "set_aside": {},
        "feature_names": ["a", "b"]}


def save(folder, value: float):
    persistence.save_linear_model(folder, coef=np.array([value, -value]), intercept=value,
                                  feature_spec=SPEC, task="regression", datafit="leastsquares",
                                  penalty="l1", alpha=0.1, extra_files={"report.html": b"<p>"})


def save_killed(folder, where: str, value: float) -> int:
    """Save in a forked child that SIGKILLs itself at its first call of ``os.<where>``
    (no finally blocks, no cleanup: a real kill between two writes); its wait status."""
    pid = os.fork()
    if pid == 0:  # the child
        try:
            real = getattr(os, where)

            def killed(*args, **kwargs):
                os.kill(os.getpid(), signal.SIGKILL)
                return real(*args, **kwargs)

            setattr(os, where, killed)
            save(folder, value)
        finally:
            os._exit(0)  # not killed: the test sees exit status 0 and fails
    return os.waitpid(pid, 0)[1]


@pytest.mark.parametrize(("where", "loads"), [
    ("replace", "old"),  # killed as the new manifest is renamed in: the old model loads
    ("unlink", "new"),   # killed while removing the old arrays: the new model loads
])
def test_a_killed_resave_leaves_a_loadable_model(tmp_path, where, loads):
    folder = tmp_path / "model"
    save(folder, 1.0)
    status = save_killed(folder, where, 2.0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    expected = 1.0 if loads == "old" else 2.0
    np.testing.assert_array_equal(load(folder).coef, [expected, -expected])
    save(folder, 3.0)  # the next save cleans up
    np.testing.assert_array_equal(load(folder).coef, [3.0, -3.0])
    arrays = [n for n in os.listdir(folder) if n.startswith("arrays")]
    assert len(arrays) == 1


def test_a_killed_first_save_leaves_nothing_named(tmp_path):
    folder = tmp_path / "model"
    status = save_killed(folder, "rename", 1.0)  # killed before the folder's rename
    assert os.WIFSIGNALED(status)
    assert not folder.exists()


def rewrite(folder, data: bytes | None = None, **fields):
    """Replace the arrays file (with a valid checksum) and/or manifest fields."""
    manifest = json.loads((folder / "manifest.json").read_text())
    if data is not None:
        role(folder).write_bytes(data)
        manifest["files"][role(folder).name] = {"sha256": persistence._sha256(data),
                                                "bytes": len(data)}
    manifest.update(fields)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def npz(compressed=False, **arrays) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


@pytest.mark.parametrize(("change", "message"), [
    ({"format_version": 0}, "format version 0"),
    ({"format_version": True}, "format version True"),
    ({"format_version": 2}, "format version 2"),
    ({"kind": "quantum"}, "kind 'quantum'"),
    ({"task": "ranking"}, "task 'ranking'"),
    ({"alpha": "0.5"}, "alpha '0.5'"),
    ({"roles": {"arrays.npz": "../outside.npz"}}, "does not list"),
])
def test_manifest_fields_are_validated(saved, change, message):
    folder = saved[0]
    rewrite(folder, **change)
    with pytest.raises(ModelFileError, match=message):
        load(folder)


@pytest.mark.parametrize(("arrays", "message"), [
    ({"coef": np.array([np.nan] + [0.0] * 5), "intercept": np.zeros(1)}, "NaN or infinity"),
    ({"coef": np.array(["1"] * 6), "intercept": np.zeros(1)}, "dtype <U1"),
    ({"coef": np.zeros(6), "intercept": np.array([1], dtype=np.int64)}, "dtype int64"),
    ({"coef": np.zeros(7), "intercept": np.zeros(1)}, r"shape \(7,\)"),
])
def test_array_contents_are_validated(saved, arrays, message):
    folder = saved[0]
    rewrite(folder, npz(**arrays))
    with pytest.raises(ModelFileError, match=message):
        load(folder)


def test_symlinks_and_names_outside_the_folder_are_refused(saved, tmp_path):
    folder = saved[0]
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"x" * 12345)
    original = role(folder)
    data = original.read_bytes()
    original.unlink()
    original.symlink_to(secret)
    with pytest.raises(ModelFileError, match="symbolic link") as info:
        load(folder)
    assert "12345" not in str(info.value) and "secret" not in str(info.value)
    original.unlink()
    original.write_bytes(data)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").unlink()
    (tmp_path / "elsewhere.json").write_text(json.dumps(manifest))
    (folder / "manifest.json").symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(ModelFileError, match="symbolic link"):
        load(folder)


def test_sizes_are_bounded_before_reading(saved, monkeypatch):
    folder = saved[0]
    big = role(folder)
    with open(big, "r+b") as handle:  # a sparse 1.5 GB file: nothing to read if refused
        handle.truncate(1_500_000_000)
    reads = []
    real = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: reads.append(n) or real(fd, n))
    with pytest.raises(ModelFileError, match="1500000000 bytes, more than"):
        load(folder)
    assert sum(reads) < 10_000_000


def test_compressed_members_are_refused(saved):
    folder = saved[0]
    bomb = npz(compressed=True, coef=np.zeros(6), intercept=np.zeros(1),
               padding=np.zeros(2_000_000))  # 16 MB that compress to a few kB
    rewrite(folder, bomb)
    assert len(bomb) < 100_000
    with pytest.raises(ModelFileError, match="compressed"):
        load(folder)


def test_only_the_named_members_are_read(saved):
    folder = saved[0]
    model = load(folder)
    extra = dict(model.arrays, smuggled=np.zeros(3))
    manifest = json.loads((folder / "manifest.json").read_text())
    members = manifest["files"][role(folder).name]["members"]
    assert sorted(members) == sorted(model.arrays)
    rewrite(folder, npz(**extra))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][role(folder).name]["members"] = members
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert "smuggled" not in load(folder).arrays  # present in the file, never read
    rewrite(folder, npz(coef=model.coef, intercept=np.zeros(1)))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][role(folder).name]["members"] = members
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="lacks the arrays"):
        load(folder)
