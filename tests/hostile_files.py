"""A corpus of hostile and damaged model files, built by the tests themselves.

Each case writes one file (or folder) next to a tiny image model and names the words the
one-line refusal must contain. The core, CLI and GUI tests all run over this one list.
"""
from __future__ import annotations

import json
import os
import pickle
import struct
import zipfile
from pathlib import Path

from tests.conftest import make_bundle


class WritesFile:
    """Unpickling this would create a file: the side effect a loader must never allow."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


class RunsCommand:
    """Unpickling this would run a shell command that creates a file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


def markers(folder: Path) -> list[Path]:
    """Files the exploits would create if they ever ran."""
    return [folder / "pwned-open", folder / "pwned-system"]


def tiny_model(folder: Path, name="good.safetensors", **overrides) -> Path:
    from app.core.checkpoint import save_bundle

    net, codec = make_bundle("pixelcnn", **overrides)
    return save_bundle(folder / name, net, codec, {"description": "tiny"})


def split(path: Path) -> tuple[dict, bytes]:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def join(path: Path, header: dict, data: bytes) -> Path:
    blob = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + data)
    return path


def _edited(folder: Path, name: str, edit) -> Path:
    header, data = split(tiny_model(folder))
    data = edit(header, data) or data
    return join(folder / name, header, data)


def _tensors(header: dict) -> list[str]:
    return [k for k in header if k != "__metadata__"]


def _meta_json(key: str, **changes):
    def edit(header, _data):
        value = json.loads(header["__metadata__"][key])
        value.update(changes)
        header["__metadata__"][key] = json.dumps(value)
    return edit


def _weights(folder: Path, name: str, value: float) -> Path:
    import torch

    from app.core.checkpoint import save_bundle

    net, codec = make_bundle("pixelcnn")
    with torch.no_grad():
        net.out2.weight[0, 0, 0, 0] = value
    return save_bundle(folder / name, net, codec, {})


def _integer_weights(folder: Path) -> Path:
    from safetensors.torch import save_file

    header, _ = split(tiny_model(folder))
    net, _codec = make_bundle("pixelcnn")
    tensors = {k: (v * 100).int().contiguous() for k, v in net.state_dict().items()}
    save_file(tensors, str(folder / "integers.safetensors"), metadata=header["__metadata__"])
    return folder / "integers.safetensors"


def _torch_exploit(folder: Path, name: str, legacy: bool) -> Path:
    import torch

    obj = {"weight": torch.zeros(2), "payload": RunsCommand(markers(folder)[1])}
    torch.save(obj, folder / name, _use_new_zipfile_serialization=not legacy)
    return folder / name


def _write(folder: Path, name: str, content: bytes) -> Path:
    (folder / name).write_bytes(content)
    return folder / name


def _zip(folder: Path, name: str) -> Path:
    with zipfile.ZipFile(folder / name, "w") as archive:
        archive.writestr("notes/readme.txt", "not a model")
    return folder / name


def _directory(folder: Path) -> Path:
    (folder / "a-folder.safetensors").mkdir()
    return folder / "a-folder.safetensors"


def _longer_header(folder: Path) -> Path:
    raw = tiny_model(folder).read_bytes()
    return _write(folder, "long-header.safetensors", struct.pack("<Q", len(raw)) + raw[8:])


def _nested(depth=100_000) -> bytes:
    blob = b'{"a": ' + b"[" * depth + b"]" * depth + b"}"
    return struct.pack("<Q", len(blob)) + blob


def _shape_without_bytes(header, _data):
    info = header[_tensors(header)[0]]
    info["shape"] = [d * 2 for d in info["shape"]]


def _newline_name(header, _data):
    header["evil\nname"] = {"dtype": "F32", "shape": [1], "data_offsets": [0]}


def _overlap(header, _data):
    first, second = _tensors(header)[:2]
    header[second]["data_offsets"] = header[first]["data_offsets"]


# name -> (build(folder) -> path, words the refusal must contain)
CASES = {
    "pickle-that-writes-a-file": (lambda f: _write(f, "writes.safetensors", pickle.dumps(
        WritesFile(markers(f)[0]))), "pickle"),
    "pickle-that-runs-a-command": (lambda f: _write(f, "runs.safetensors", pickle.dumps(
        RunsCommand(markers(f)[1]))), "pickle"),
    "pytorch-zip-that-runs-a-command": (lambda f: _torch_exploit(f, "evil.pt", False),
                                        "chainrule import"),
    "legacy-pytorch-pickle": (lambda f: _torch_exploit(f, "evil-legacy.pth", True),
                              "chainrule import"),
    "zip-that-is-not-pytorch": (lambda f: _zip(f, "archive.safetensors"), "no */data.pkl"),
    "random-bytes-named-pt": (lambda f: _write(f, "noise.pt", bytes(range(256)) * 8),
                              "chainrule import"),
    "header-longer-than-file": (_longer_header, "truncated: header claims"),
    "huge-length-field": (lambda f: _write(f, "huge.safetensors",
                                           struct.pack("<Q", 2**60) + b"{}"), "implausible"),
    "deeply-nested-header": (lambda f: _write(f, "nested.safetensors", _nested()),
                             "nested too deeply"),
    "overlapping-offsets": (lambda f: _edited(f, "overlap.safetensors", _overlap), "overlap"),
    "line-break-in-a-tensor-name": (lambda f: _edited(f, "newline.safetensors", _newline_name),
                                    "tensor 'evil\\nname' has invalid data offsets"),
    "tensor-past-the-end": (lambda f: _write(f, "cut.safetensors",
                                             tiny_model(f).read_bytes()[:-64]), "past the end"),
    "shape-larger-than-its-bytes": (lambda f: _edited(f, "shape.safetensors",
                                                      _shape_without_bytes), "its shape"),
    "integer-weights": (_integer_weights, "dtype I32, expected floats"),
    "nan-weights": (lambda f: _weights(f, "nan.safetensors", float("nan")), "NaN"),
    "inf-weights": (lambda f: _weights(f, "inf.safetensors", float("inf")), "infinite"),
    "huge-weights": (lambda f: _weights(f, "big.safetensors", 3e30), "holds a weight of 3e+30"),
    "config-not-matching-weights": (lambda f: _edited(f, "hidden.safetensors", _meta_json(
        "config", hidden=16)), "do not match the config"),
    "config-with-a-million-layers": (lambda f: _edited(f, "deep.safetensors", _meta_json(
        "config", layers=1_000_000)), "it has 1000000 layers, the file 37 non-empty tensors"),
    "config-with-unknown-keys": (lambda f: _edited(f, "colour.safetensors", _meta_json(
        "config", colour="blue")), "unknown key(s) in pixelcnn config: colour"),
    "codec-not-matching-config": (lambda f: _edited(f, "codec.safetensors", _meta_json(
        "codec", height=7)), "codec and config disagree: height 7 vs 6"),
    "codec-value-of-a-wrong-type": (lambda f: _edited(f, "codec-type.safetensors", _meta_json(
        "codec", height="six")), "invalid metadata: 'height' must be a whole number, got 'six'"),
    "kind-not-a-string": (lambda f: _edited(f, "kind.safetensors", lambda h, d: h[
        "__metadata__"].update(kind=["pixelcnn"])), "'kind' and 'name' must be strings"),
    "config-not-an-object": (lambda f: _edited(f, "config-list.safetensors", lambda h, d: h[
        "__metadata__"].update(config="[6, 5]")), "'config' is not a JSON object"),
    "metadata-not-an-object": (lambda f: _edited(f, "meta.safetensors", lambda h, d: h.update(
        __metadata__=["chainrule/1"])), "not a chainrule checkpoint"),
    "empty-file": (lambda f: _write(f, "empty.safetensors", b""), "empty (0 bytes)"),
    "directory": (_directory, "is a directory"),
}
