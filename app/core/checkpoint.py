"""Checkpoint bundles: the only place that reads or writes a weights file.

A chainrule checkpoint is one safetensors file. Its metadata holds, as JSON strings, the
model kind, the architecture config, the codec and the provenance, so the file alone is
enough to use the model. Nothing is ever unpickled: safetensors is a JSON header plus raw
tensor bytes, and every header field is checked before a tensor is touched.
"""
from __future__ import annotations

import json
import os
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "chainrule/1"
MAX_HEADER_BYTES = 100 * 1024 * 1024   # a real header is kilobytes; refuse absurd lengths


class CheckpointError(Exception):
    """A model file that cannot be used. str() is one line naming the file and the problem."""

    def __init__(self, path, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"{path}: {problem}")


@dataclass
class Bundle:
    """A ready-to-use model: the net plus everything needed to interpret it."""

    name: str
    path: str
    kind: str
    config: Any
    codec: Any
    provenance: dict = field(default_factory=dict)
    net: Any = None
    half: bool = False          # stored as float16 (kept so a re-save stays the same size)

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters())


def _sniff(path: Path, head: bytes, size: int) -> None:
    """Refuse files that are clearly not safetensors, with a message that says what they are."""
    if size == 0:
        raise CheckpointError(path, "file is empty (0 bytes)")
    if head.startswith(b"PK\x03\x04"):
        raise CheckpointError(path, "this is a zip archive (a PyTorch .pt/.pth file?), "
                                    "not a chainrule .safetensors checkpoint")
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise CheckpointError(path, "this is a Python pickle; chainrule never unpickles files")
    if size < 8:
        raise CheckpointError(path, f"file is only {size} bytes: truncated or not a checkpoint")
    (header_len,) = struct.unpack("<Q", head[:8])
    if header_len > MAX_HEADER_BYTES:
        raise CheckpointError(path, "not a safetensors file (header length field is implausible)")
    if 8 + header_len > size:
        raise CheckpointError(path, f"truncated: header claims {header_len} bytes, "
                                    f"file has {size - 8} after the length field")
    if head[8:9] not in (b"{", b""):
        raise CheckpointError(path, "not a safetensors file (header is not JSON)")


def _read_header(path: Path) -> dict:
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(16)
        _sniff(path, head, size)
        (header_len,) = struct.unpack("<Q", head[:8])
        f.seek(8)
        raw = f.read(header_len)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(path, "not a safetensors file (header is not valid JSON)") from None
    if not isinstance(header, dict):
        raise CheckpointError(path, "not a safetensors file (header is not a JSON object)")
    _check_offsets(path, header, size - 8 - header_len)
    return header


def _check_offsets(path: Path, header: dict, data_bytes: int) -> None:
    """Every tensor must lie inside the file, and no two may overlap."""
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(isinstance(o, int) for o in offsets) and 0 <= offsets[0] <= offsets[1]):
            raise CheckpointError(path, f"tensor '{name}' has invalid data offsets")
        if offsets[1] > data_bytes:
            raise CheckpointError(path, f"truncated: tensor '{name}' ends past the end of the file")
        spans.append((offsets[0], offsets[1], name))
    spans.sort()
    for (_, e0, n0), (s1, _, n1) in zip(spans, spans[1:]):
        if s1 < e0:
            raise CheckpointError(path, f"tensors '{n0}' and '{n1}' overlap")


def _parse_json_field(path: Path, meta: dict, key: str):
    if key not in meta:
        raise CheckpointError(path, f"not a chainrule checkpoint (no '{key}' in its metadata)")
    try:
        return json.loads(meta[key])
    except json.JSONDecodeError:
        raise CheckpointError(path, f"metadata field '{key}' is not valid JSON") from None


def read_metadata(path) -> dict:
    """Kind, config, codec and provenance of a checkpoint, without loading any tensor."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(path, "no such file")
    if path.is_dir():
        raise CheckpointError(path, "is a directory, not a checkpoint file")
    try:
        header = _read_header(path)
    except PermissionError:
        raise CheckpointError(path, "permission denied (the file is not readable)") from None
    except OSError as err:
        raise CheckpointError(path, f"cannot read: {err.strerror or err}") from None
    meta = header.get("__metadata__") or {}
    if meta.get("format") != FORMAT:
        raise CheckpointError(path, "a safetensors file, but not a chainrule checkpoint "
                                    f"(expected format '{FORMAT}')")
    return {"kind": meta.get("kind", ""),
            "name": meta.get("name", path.stem),
            "config": _parse_json_field(path, meta, "config"),
            "codec": _parse_json_field(path, meta, "codec"),
            "provenance": _parse_json_field(path, meta, "provenance"),
            "half": meta.get("dtype") == "float16"}


def load_bundle(path, device="cpu") -> Bundle:
    """Load and validate a checkpoint; any problem raises CheckpointError with one clear line."""
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from .codecs import CodecError, codec_from_dict
    from .config import ConfigError
    from .registry import KINDS

    path = Path(path)
    meta = read_metadata(path)
    if meta["kind"] not in KINDS:
        raise CheckpointError(path, f"unknown model kind '{meta['kind']}'")
    spec = KINDS[meta["kind"]]
    try:
        config = spec.config_class.from_dict(meta["config"])
        codec = codec_from_dict(meta["codec"])
    except (ConfigError, CodecError) as err:
        raise CheckpointError(path, f"invalid metadata: {err}") from None
    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, ValueError, OSError) as err:
        raise CheckpointError(path, f"unreadable weights: {str(err).splitlines()[0]}") from None
    net = spec.build(config)
    _load_weights(path, net, tensors, torch)
    net.to(device).eval()
    return Bundle(meta["name"], str(path), meta["kind"], config, codec, meta["provenance"], net,
                  meta["half"])


def _load_weights(path: Path, net, tensors: dict, torch) -> None:
    expected = net.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        what = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise CheckpointError(path, f"weights do not match the config ({what})")
    for name, tensor in tensors.items():
        if not tensor.is_floating_point():
            raise CheckpointError(path, f"tensor '{name}' has dtype {tensor.dtype}, "
                                        "expected floats")
        if tuple(tensor.shape) != tuple(expected[name].shape):
            need = tuple(expected[name].shape)
            raise CheckpointError(path, f"weights do not match the config: '{name}' is "
                                        f"{tuple(tensor.shape)}, config needs {need}")
        if not torch.isfinite(tensor).all():
            raise CheckpointError(path, f"tensor '{name}' contains NaN or infinite values")
    net.load_state_dict({k: v.float() for k, v in tensors.items()})


def save_bundle(path, net, codec, provenance: dict, name: str | None = None,
                half: bool = False) -> Path:
    """Write a checkpoint atomically (temporary file in the same folder, then rename).

    A crash mid-write leaves the previous file intact. `half` stores float16 weights.
    """
    import torch
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dtype = torch.float16 if half else torch.float32
    tensors = {k: v.detach().to("cpu", dtype).contiguous() for k, v in net.state_dict().items()}
    metadata = {"format": FORMAT, "kind": net.config.kind, "name": name or path.stem,
                "dtype": "float16" if half else "float32",
                "config": json.dumps(net.config.to_dict()),
                "codec": json.dumps(codec.to_dict()),
                "provenance": json.dumps(provenance)}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o644)   # mkstemp makes files private; checkpoints are shareable
        save_file(tensors, tmp, metadata=metadata)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
