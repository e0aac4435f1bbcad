"""Corrupt, foreign and hostile model files give CheckpointError with one clear line."""
import json
import os
import pickle
import struct
import zipfile
from pathlib import Path

import pytest
import torch

from app.core.checkpoint import CheckpointError, load_bundle, read_metadata, save_bundle
from tests.conftest import make_bundle


class _Exploit:
    """Unpickling this would create a file: the side effect a loader must never allow."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _error(path) -> str:
    with pytest.raises(CheckpointError) as info:
        load_bundle(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_missing_empty_directory_and_random_bytes(tmp_path):
    assert "no such file" in _error(tmp_path / "nope.safetensors")
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    assert "empty" in _error(empty)
    assert "directory" in _error(tmp_path)
    noise = tmp_path / "noise.safetensors"
    noise.write_bytes(os.urandom(4096))
    assert "not a safetensors file" in _error(noise) or "truncated" in _error(noise)


def test_pickle_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps(_Exploit(str(marker))))
    assert "pickle" in _error(evil)
    assert not marker.exists()


def test_zip_archive_is_named_as_such(tmp_path):
    pt = tmp_path / "model.pt"
    with zipfile.ZipFile(pt, "w") as z:
        z.writestr("archive/data.pkl", b"x")
    assert "zip archive" in _error(pt)


def test_truncated_and_bad_headers(tmp_path, save_tiny):
    good = save_tiny("pixelcnn").read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(good[: len(good) // 2])
    assert "truncated" in _error(cut)
    huge = tmp_path / "huge.safetensors"
    huge.write_bytes(struct.pack("<Q", 2**60) + b"{}")
    assert "implausible" in _error(huge)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(struct.pack("<Q", 4) + b"{{{{" + b"\0" * 16)
    assert "not valid JSON" in _error(garbage)


def _rewrite_header(src, dst, edit):
    raw = src.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    edit(header)
    blob = json.dumps(header).encode()
    dst.write_bytes(struct.pack("<Q", len(blob)) + blob + raw[8 + n:])
    return dst


def test_overlapping_offsets_and_foreign_safetensors(tmp_path, save_tiny):
    src = save_tiny("wavenet")

    def overlap(h):
        names = [k for k in h if k != "__metadata__"]
        h[names[1]]["data_offsets"] = h[names[0]]["data_offsets"]

    assert "overlap" in _error(_rewrite_header(src, tmp_path / "o.safetensors", overlap))
    foreign = _rewrite_header(src, tmp_path / "f.safetensors", lambda h: h.pop("__metadata__"))
    assert "not a chainrule checkpoint" in _error(foreign)


def test_config_problems(tmp_path, save_tiny):
    src = save_tiny("charlm-lstm")

    def set_config(**changes):
        def edit(h):
            cfg = json.loads(h["__metadata__"]["config"])
            cfg.update(changes)
            h["__metadata__"]["config"] = json.dumps(cfg)
        return edit

    unknown = _rewrite_header(src, tmp_path / "u.safetensors", set_config(colour=1))
    assert "unknown key" in _error(unknown)
    mismatch = _rewrite_header(src, tmp_path / "m.safetensors", set_config(hidden=32))
    assert "do not match the config" in _error(mismatch)


def test_nan_weights_and_integer_weights(tmp_path):
    net, codec = make_bundle("charlm-gpt")
    with torch.no_grad():
        net.head.weight[0, 0] = float("nan")
    path = save_bundle(tmp_path / "nan.safetensors", net, codec, {})
    assert "NaN" in _error(path)


def test_unreadable_file(tmp_path, save_tiny):
    if os.geteuid() == 0:
        pytest.skip("root can read any file")
    path = save_tiny("wavenet")
    path.chmod(0)
    assert "permission denied" in _error(path)


def test_atomic_save_keeps_previous_file_when_writing_fails(tmp_path, disk_full):
    from app.core.saving import SaveError

    net, codec = make_bundle("wavenet")
    path = save_bundle(tmp_path / "m.safetensors", net, codec, {"v": 1})
    disk_full("m.safetensors")
    with pytest.raises(SaveError, match=r"could not save .*m.safetensors: the disk is full$"):
        save_bundle(path, net, codec, {"v": 2})
    assert read_metadata(path)["provenance"] == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_saved_checkpoints_are_readable_by_others(tmp_path):
    import stat

    net, codec = make_bundle("pixelcnn")
    path = save_bundle(tmp_path / "shared.safetensors", net, codec, {})
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


@pytest.mark.parametrize("header_len", [0x10280, 0x10380, 0x10480, 0x10580])
def test_a_header_length_that_starts_like_a_pickle_still_loads(tmp_path, save_tiny, header_len):
    """Bytes 80 04 open both a protocol-4 pickle and a 0x480-byte safetensors header. A tiny
    LSTM's file happened to have exactly that length and was refused as a pickle."""
    path = save_tiny("pixelcnn")
    data = path.read_bytes()
    (old_len,) = struct.unpack("<Q", data[:8])
    header = data[8:8 + old_len].rstrip(b" ")
    assert len(header) <= header_len
    padded = tmp_path / "padded.safetensors"
    padded.write_bytes(struct.pack("<Q", header_len) + header.ljust(header_len, b" ")
                       + data[8 + old_len:])
    assert padded.read_bytes()[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
    bundle = load_bundle(padded)
    reference = load_bundle(path)
    x = torch.zeros(1, 1, 6, 5, dtype=torch.long)
    assert torch.equal(bundle.net(x), reference.net(x))


def test_loading_a_model_does_not_import_torch_dynamo(tmp_path):
    """Checking a checkpoint's shapes on the meta device initialised meta tensors, which
    imports torch._dynamo: 1.5-2 s of the first model's load. The check is by arithmetic now
    (the net is built once, on the CPU)."""
    import subprocess
    import sys

    from tests.conftest import make_bundle

    for kind in ("pixelcnn", "wavenet", "charlm-gpt"):
        net, codec = make_bundle(kind)
        save_bundle(tmp_path / f"{kind}.safetensors", net, codec, {})
    code = ("import sys; import torch; from app.core.checkpoint import load_bundle; "
            f"[load_bundle(p) for p in sorted(__import__('glob').glob({str(tmp_path)!r} + "
            "'/*.safetensors'))]; print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=str(Path(__file__).parents[2])).stdout
    assert out.strip() == "False"


def test_a_config_needing_more_parameters_than_the_file_holds_is_refused(tmp_path):
    from tests.conftest import make_bundle

    net, codec = make_bundle("pixelcnn")
    src = save_bundle(tmp_path / "small.safetensors", net, codec, {})

    def widen(h):
        cfg = json.loads(h["__metadata__"]["config"])
        cfg["hidden"] = 4096
        h["__metadata__"]["config"] = json.dumps(cfg)

    wide = _rewrite_header(src, tmp_path / "wide.safetensors", widen)
    assert "needs" in _error(wide) and "the file holds" in _error(wide)
