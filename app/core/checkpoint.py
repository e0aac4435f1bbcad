"""Checkpoint bundles: the only place that reads or writes a weights file.

A chainrule checkpoint is one safetensors file. Its metadata holds, as JSON strings, the
model kind, the architecture config, the codec and the provenance, so the file alone is
enough to use the model. Nothing is ever unpickled: safetensors is a JSON header plus raw
tensor bytes, and every header field is checked before a tensor is touched.
"""
from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UserError, first_few
from .files import NotRegularFile, open_regular
from .formats import IMPORT_HINT, MAX_HEADER_BYTES, TORCH_SUFFIXES, sniff_foreign
from .limits import MAX_DEPTH

FORMAT = "chainrule/1"
# Trained weights here stay below 5 in magnitude; a weight past this bound comes from a damaged
# file (a flipped exponent bit) and would overflow the activations to inf or NaN.
MAX_ABS_WEIGHT = 1e4
FLOAT_DTYPES = ("F16", "BF16", "F32", "F64")
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
               "U8": 1, "BOOL": 1}


class CheckpointError(UserError):
    """A model file that cannot be used. str() is one line naming the file and the problem."""

    def __init__(self, path, problem: str):
        # A file name or a tensor name can hold a line break; the message stays one line.
        one_line = str.maketrans({"\n": "\\n", "\r": "\\r"})
        self.path, self.problem = str(path).translate(one_line), problem.translate(one_line)
        super().__init__(f"{self.path}: {self.problem}")


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
    foreign = sniff_foreign(path, head)
    if foreign == "pytorch-zip":
        raise CheckpointError(path, f"a PyTorch zip archive, not a chainrule checkpoint; "
                                    f"{IMPORT_HINT}")
    if foreign == "zip":
        raise CheckpointError(path, "a zip archive that is neither a PyTorch file (no "
                                    "*/data.pkl entry) nor a chainrule checkpoint")
    if foreign == "damaged-zip":
        raise CheckpointError(path, "a damaged or truncated zip archive (a PyTorch file?), not a "
                                    "chainrule checkpoint")
    if foreign == "pickle":
        raise CheckpointError(path, "a Python pickle (a legacy PyTorch file?), not a chainrule "
                                    f"checkpoint; {IMPORT_HINT}")
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


def _json(path: Path, raw, what: str):
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(path, f"{what} is not valid JSON") from None
    except RecursionError:      # a few kilobytes of '[' nest deeper than the parser goes
        raise CheckpointError(path, f"{what} is nested too deeply to be real JSON") from None


def read_header(path: Path) -> dict:
    """The checked safetensors header: a JSON object whose tensors lie inside the file."""
    with open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(16)
        _sniff(path, head, size)
        (header_len,) = struct.unpack("<Q", head[:8])
        f.seek(8)
        raw = f.read(header_len)
    header = _json(path, raw, "not a safetensors file: the header")
    if not isinstance(header, dict):
        raise CheckpointError(path, "not a safetensors file (header is not a JSON object)")
    _check_offsets(path, header, size - 8 - header_len)
    return header


def _check_offsets(path: Path, header: dict, data_bytes: int) -> None:
    """Every tensor must lie inside the file, fill its span exactly, and not overlap another."""
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(type(o) is int for o in offsets) and 0 <= offsets[0] <= offsets[1]):
            raise CheckpointError(path, f"tensor '{name}' has invalid data offsets")
        shape = info.get("shape")
        if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)
                and isinstance(info.get("dtype"), str)):
            raise CheckpointError(path, f"tensor '{name}' has an invalid shape or dtype")
        if offsets[1] > data_bytes:
            raise CheckpointError(path, f"truncated: tensor '{name}' ends past the end of the file")
        itemsize = DTYPE_BYTES.get(info["dtype"])
        if itemsize is not None and math.prod(shape) * itemsize != offsets[1] - offsets[0]:
            raise CheckpointError(path, f"tensor '{name}' holds {offsets[1] - offsets[0]} bytes, "
                                        f"its shape {tuple(shape)} needs "
                                        f"{math.prod(shape) * itemsize}")
        spans.append((offsets[0], offsets[1], name))
    spans.sort()
    for (_, e0, n0), (s1, _, n1) in zip(spans, spans[1:]):
        if s1 < e0:
            raise CheckpointError(path, f"tensors '{n0}' and '{n1}' overlap")


def _parse_json_field(path: Path, meta: dict, key: str) -> dict:
    if key not in meta:
        raise CheckpointError(path, f"not a chainrule checkpoint (no '{key}' in its metadata)")
    if not isinstance(meta[key], str):
        raise CheckpointError(path, f"metadata field '{key}' is not a JSON string")
    value = _json(path, meta[key], f"metadata field '{key}'")
    if not isinstance(value, dict):
        raise CheckpointError(path, f"metadata field '{key}' is not a JSON object")
    return value


def _checked_header(path) -> tuple[dict, dict]:
    """(metadata, header) of a checkpoint file; refuses anything that is not one."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(path, "no such file")
    if path.is_dir():
        raise CheckpointError(path, "is a directory, not a checkpoint file")
    try:
        header = read_header(path)
    except NotRegularFile as err:
        raise CheckpointError(path, str(err)) from None
    except PermissionError:
        raise CheckpointError(path, "permission denied (the file is not readable)") from None
    except OSError as err:
        raise CheckpointError(path, f"cannot read: {err.strerror or err}") from None
    except CheckpointError as err:
        if path.suffix.lower() in TORCH_SUFFIXES and IMPORT_HINT not in err.problem:
            raise CheckpointError(path, f"{err.problem}; for a PyTorch file, {IMPORT_HINT}") \
                from None
        raise
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(path, "a safetensors file, but not a chainrule checkpoint "
                                    f"(expected format '{FORMAT}')")
    if not isinstance(meta.get("kind", ""), str) or not isinstance(meta.get("name", ""), str):
        raise CheckpointError(path, "metadata fields 'kind' and 'name' must be strings")
    return {"kind": meta.get("kind", ""),
            "name": meta.get("name", path.stem),
            "config": _parse_json_field(path, meta, "config"),
            "codec": _parse_json_field(path, meta, "codec"),
            "provenance": _parse_json_field(path, meta, "provenance"),
            "half": meta.get("dtype") == "float16"}, header


def read_metadata(path) -> dict:
    """Kind, config, codec and provenance of a checkpoint, without loading any tensor."""
    return _checked_header(path)[0]


def parse_model(path, kind: str, config: dict, codec: dict, what: str = "invalid metadata"):
    """(spec, config, codec) from their JSON forms; CheckpointError if they do not fit together.

    path names where they came from: the checkpoint, or the options of `chainrule import`."""
    from .codecs import codec_from_dict
    from .registry import KINDS

    if kind not in KINDS:
        raise CheckpointError(path, f"unknown model kind '{kind}'")
    spec = KINDS[kind]
    try:
        parsed = spec.config_class.from_dict(config)
        parsed_codec = codec_from_dict(codec)
    except (ValueError, TypeError) as err:     # ConfigError and CodecError are ValueErrors
        raise CheckpointError(path, f"{what}: {err}") from None
    _check_codec(path, spec, parsed, parsed_codec)
    return spec, parsed, parsed_codec


def _check_codec(path, spec, config, codec) -> None:
    """The codec must describe the data the net was built for, or sampling fails later."""
    if codec.modality != spec.modality:
        raise CheckpointError(path, f"a {spec.kind} model with a {codec.modality} codec")
    if codec.modality == "text":
        pairs = [("vocabulary size", len(codec.vocab), config.vocab_size)]
    elif codec.modality == "audio":
        pairs = [("levels", codec.levels, config.levels)]
    else:
        pairs = [(name, getattr(codec, name), getattr(config, name))
                 for name in ("height", "width", "channels", "levels")]
    if codec.modality != "text" and codec.class_names:      # names are optional, not extra
        pairs.append(("number of classes", len(codec.class_names), config.num_classes))
    for name, ours, theirs in pairs:
        if ours != theirs:
            raise CheckpointError(path, f"codec and config disagree: {name} {ours} vs {theirs}")


def load_bundle(path, device="cpu") -> Bundle:
    """Load and validate a checkpoint; any problem raises CheckpointError with one clear line."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    meta, header = _checked_header(path)
    spec, config, codec = parse_model(path, meta["kind"], meta["config"], meta["codec"])
    net = check_fits(path, spec, config, {name: (info["dtype"], info["shape"])
                                          for name, info in header.items()
                                          if name != "__metadata__"})
    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, ValueError, OSError) as err:
        raise CheckpointError(path, f"unreadable weights: {str(err).splitlines()[0]}") from None
    load_weights(path, net, tensors)
    net.to(device).eval()
    return Bundle(meta["name"], str(path), meta["kind"], config, codec, meta["provenance"], net,
                  meta["half"])


def build_net(path, spec, config, device=None):
    """The net of a config; a config that parses but builds nothing (dropout 2) is refused."""
    import contextlib

    import torch

    try:
        with torch.device(device) if device else contextlib.nullcontext():
            return spec.build(config)
    except (ValueError, TypeError, RuntimeError) as err:
        raise CheckpointError(path, f"cannot build a {spec.kind} net from this config: "
                                    f"{str(err).splitlines()[0] if str(err) else err}") from None


def check_fits(path, spec, config, layout: dict, build: bool = True):
    """Whether tensors of this layout (name -> (dtype, shape)) fit the net of config, found
    before that net takes any memory or time: a config claiming a huge net is refused.
    Returns the net, built on the CPU and checked (None with build=False)."""
    from math import prod

    from .registry import load_function

    # Every layer, block or dilation owns at least one tensor, so a deeper config cannot fit;
    # checked first because even an empty net with a million layers takes minutes to build.
    depth = max(getattr(config, "layers", 0), getattr(config, "blocks", 0),
                len(getattr(config, "dilations", ())))
    real = sum(1 for _dtype, shape in layout.values() if prod(shape) > 0)   # not size zero
    if depth > min(real, MAX_DEPTH):
        raise CheckpointError(path, f"weights do not match the config: it has {depth} layers, "
                                    f"the file {real} non-empty tensors (at most {MAX_DEPTH})")
    # The parameters it needs, by arithmetic, cannot exceed the values the file holds: so the
    # net built next is no bigger than the file. (Building on the meta device instead would
    # initialise meta tensors, which imports torch._dynamo: 1.5 s of the first load.)
    needed = load_function(spec.parameter_count)(config)
    held = sum(prod(shape) for _dtype, shape in layout.values())
    if needed > held:
        raise CheckpointError(path, f"weights do not match the config: it needs {needed:,} "
                                    f"parameters, the file holds {held:,} values")
    if not build:
        return None
    net = build_net(path, spec, config)
    check_layout(path, layout, net)
    return net


def check_layout(path, found: dict, net) -> None:
    """found: name -> (dtype name, shape). Names, shapes and float dtypes must match net."""
    expected = {name: tuple(t.shape) for name, t in net.state_dict().items()}
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        what = [f"{len(names)} {label} ({first_few(names)})"
                for label, names in (("missing", missing), ("unexpected", unexpected)) if names]
        raise CheckpointError(path, f"weights do not match the config: {'; '.join(what)}")
    for name, (dtype, shape) in found.items():
        if dtype not in FLOAT_DTYPES:
            raise CheckpointError(path, f"tensor '{name}' has dtype {dtype}, expected floats")
        if tuple(shape) != expected[name]:
            raise CheckpointError(path, f"weights do not match the config: '{name}' is "
                                        f"{tuple(shape)}, config needs {expected[name]}")


def tensor_layout(tensors: dict) -> dict:
    """name -> (safetensors dtype name, shape) of loaded tensors, for check_layout."""
    import torch

    names = {torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32",
             torch.float64: "F64"}
    return {name: (names.get(t.dtype, str(t.dtype).removeprefix("torch."))
                   if t.layout == torch.strided else str(t.layout).removeprefix("torch."),
                   tuple(t.shape)) for name, t in tensors.items()}


def load_weights(path, net, tensors: dict) -> None:
    """Check names, shapes, dtypes and values of tensors against net, then load them."""
    import torch

    check_layout(path, tensor_layout(tensors), net)
    for name, tensor in tensors.items():
        if not torch.isfinite(tensor).all():
            raise CheckpointError(path, f"tensor '{name}' contains NaN or infinite values")
        largest = tensor.abs().max().item() if tensor.numel() else 0.0
        if largest > MAX_ABS_WEIGHT:
            raise CheckpointError(path, f"tensor '{name}' holds a weight of {largest:.3g}; "
                                        f"beyond {MAX_ABS_WEIGHT:g} no trained net goes (damaged?)")
    net.load_state_dict({k: v.float() for k, v in tensors.items()})


def save_bundle(path, net, codec, provenance: dict, name: str | None = None,
                half: bool = False) -> Path:
    """Write a checkpoint atomically (see saving.write_atomic).

    A crash or a full disk mid-write leaves the previous file intact; a failed save raises
    saving.SaveError (one line). `half` stores float16 weights.
    """
    import torch
    from safetensors.torch import save

    from .saving import make_folder, write_atomic

    path = Path(path)
    make_folder(path.parent)
    dtype = torch.float16 if half else torch.float32
    tensors = {k: v.detach().to("cpu", dtype).contiguous() for k, v in net.state_dict().items()}
    metadata = {"format": FORMAT, "kind": net.config.kind, "name": name or path.stem,
                "dtype": "float16" if half else "float32",
                "config": json.dumps(net.config.to_dict()),
                "codec": json.dumps(codec.to_dict()),
                "provenance": json.dumps(provenance)}
    # Serialised in memory, then written by Python: safetensors' own file writer reports a
    # full disk as a SafetensorError without an errno.
    return write_atomic(path, save(tensors, metadata=metadata))
