"""Converting a foreign state dict (PyTorch .pt/.pth/.ckpt, or plain safetensors) into a
chainrule checkpoint: the one place a PyTorch file is ever read.

A PyTorch file is a pickle, and unpickling can run any code. So the file's magic bytes are
checked first (whatever its name says), and it is read only by torch.load(weights_only=True),
whose restricted unpickler refuses every global that is not a tensor or a plain container.
A state dict carries no architecture, so the caller names the kind, config and codec; the
tensors are then held to the same checks as any chainrule checkpoint before being saved.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from .checkpoint import (
    FLOAT_DTYPES,
    CheckpointError,
    check_fits,
    load_weights,
    parse_model,
    read_header,
    save_bundle,
    tensor_layout,
)
from .files import NotRegularFile, open_regular
from .formats import sniff_foreign

# Where training scripts commonly nest the weights inside a saved dictionary.
WRAPPERS = ("state_dict", "model_state_dict", "model", "net")
FORMAT_NAMES = {"pytorch-zip": "PyTorch zip archive", "pickle": "legacy PyTorch pickle",
                "safetensors": "safetensors"}


def _readable(path: Path) -> bytes:
    """The first bytes of a regular, readable, non-empty file."""
    if not path.exists():
        raise CheckpointError(path, "no such file")
    if path.is_dir():
        raise CheckpointError(path, "is a directory, not a model file")
    try:
        with open_regular(path) as f:
            head = f.read(16)
    except NotRegularFile as err:
        raise CheckpointError(path, str(err)) from None
    except PermissionError:
        raise CheckpointError(path, "permission denied (the file is not readable)") from None
    except OSError as err:
        raise CheckpointError(path, f"cannot read: {err.strerror or err}") from None
    if not head:
        raise CheckpointError(path, "file is empty (0 bytes)")
    return head


def _torch_load(path: Path):
    from .torch_reader import ReadFailure, load_isolated

    try:
        return load_isolated(path)
    except ReadFailure as err:
        raise CheckpointError(path, str(err)) from None


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def read_state_dict(path) -> tuple[dict, dict]:
    """(name -> tensor, what was found) from a foreign weights file. Never unpickles freely."""
    path = Path(path)
    obj, found = read_foreign(path)
    return _unwrap(path, obj, found), found


def read_foreign(path: Path) -> tuple[object, dict]:
    """(what the file holds, as torch.load(weights_only=True) or safetensors gives it,
    what was found)."""
    head = _readable(path)
    fmt = sniff_foreign(path, head)
    if fmt == "zip":
        raise CheckpointError(path, "a zip archive but not a PyTorch one (no */data.pkl entry)")
    if fmt == "damaged-zip":
        raise CheckpointError(path, "a damaged or truncated zip archive (its directory is "
                                    "unreadable)")
    found = {"format": fmt or "safetensors"}
    if fmt is None:
        try:
            header = read_header(path)    # length, JSON, offsets: the usual safetensors checks
        except CheckpointError as err:
            raise CheckpointError(path, "neither a PyTorch file (a zip archive or a pickle) nor "
                                        f"a usable safetensors file: {err.problem}") from None
        for name, info in header.items():
            if name != "__metadata__" and info["dtype"] not in FLOAT_DTYPES:
                raise CheckpointError(path, f"tensor '{name}' has dtype {info['dtype']}, "
                                            "expected floats")
        from safetensors.torch import load_file

        try:
            obj = load_file(str(path), device="cpu")
        except Exception as err:
            raise CheckpointError(path, f"unreadable weights: {_first_line(err)}") from None
    else:
        obj = _torch_load(path)
    return obj, found


def _unwrap(path: Path, obj, found: dict) -> dict:
    import torch

    if isinstance(obj, dict) and not all(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in WRAPPERS:
            if isinstance(obj.get(key), dict):
                obj, found["wrapper"] = obj[key], key
                break
    if not isinstance(obj, dict):
        raise CheckpointError(path, f"holds a {type(obj).__name__}, not a state dict "
                                    "(a dictionary of named tensors)")
    for name, value in obj.items():
        if not isinstance(name, str):
            raise CheckpointError(path, f"entry {name!r} is named by a {type(name).__name__}; "
                                        "a state dict names its tensors with strings")
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(path, f"entry {name!r} is of type {type(value).__name__}, not a "
                                        f"tensor; expected a state dict (or one inside "
                                        f"{', '.join(repr(w) for w in WRAPPERS)})")
    if obj and all(name.startswith("module.") for name in obj):   # saved from DataParallel
        obj, found["stripped_prefix"] = {n[len("module."):]: t for n, t in obj.items()}, "module."
    if not obj:
        raise CheckpointError(path, "holds no tensors")
    return obj


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


MAP_HINT = ("if the file names its tensors differently (another code base), rename them "
            "with --map FILE: a JSON object of regular expression -> replacement (see the "
            "README, 'Bring your own model')")


def apply_map(tensors: dict, rules: dict) -> dict:
    """Rename tensors by rules {pattern: replacement} (re.sub, in order, on every name);
    a replacement of null drops the tensors whose names the pattern matches."""
    out = {}
    for name, tensor in tensors.items():
        for pattern, replacement in rules.items():
            if replacement is None:
                if re.search(pattern, name):
                    break
            else:
                name = re.sub(pattern, replacement, name)
        else:
            out[name] = tensor
    return out


def import_state_dict(src, out, kind: str, config: dict, codec: dict, *, settings_from=None,
                      provenance: dict | None = None, name: str | None = None,
                      rules: dict | None = None) -> Path:
    """Check a foreign state dict against the net of (kind, config) and save it as a chainrule
    checkpoint at out, with provenance naming the source file. Returns out.

    settings_from names where kind, config and codec came from, for error messages; rules
    (apply_map) rename the file's tensors first."""
    src = Path(src)
    spec, parsed, parsed_codec = parse_model(settings_from or src, kind, config, codec,
                                             what="invalid settings")
    tensors, found = read_state_dict(src)
    if rules:
        tensors, found["renamed_by"] = apply_map(tensors, rules), "--map"
    return _checked_save(src, out, spec, parsed, parsed_codec, tensors, found,
                         {"description": f"imported from {src.name}", **(provenance or {})},
                         name)


def _checked_save(src: Path, out, spec, config, codec, tensors: dict, found: dict,
                  provenance: dict, name: str | None) -> Path:
    try:
        net = check_fits(src, spec, config, tensor_layout(tensors))  # a huge config: no cost
    except CheckpointError as err:
        if "missing" in err.problem or "unexpected" in err.problem:
            raise CheckpointError(src, f"{err.problem}. {MAP_HINT}") from None
        raise
    load_weights(src, net, tensors)
    record = {"file": str(src.resolve()), "sha256": sha256(src), "bytes": src.stat().st_size,
              "format": FORMAT_NAMES[found["format"]],
              **{k: v for k, v in found.items() if k != "format"}}
    return save_bundle(out, net.eval(), codec, {**provenance, "imported_from": record},
                       name=name)


def import_nanogpt(src, obj: dict, found: dict, out, *, vocab: str | None = None,
                   provenance: dict | None = None, name: str | None = None) -> Path:
    """Save a nanoGPT checkpoint (torch.load's dict, see nanogpt.is_nanogpt) as a chainrule
    Transformer: config from its model_args, names translated, vocabulary from its
    meta.pkl (or `vocab`)."""
    import torch

    from .config import GPTConfig
    from .nanogpt import config_of, rename, vocab_of
    from .registry import kind_spec

    src = Path(src)
    config = config_of(src, obj["model_args"])
    tensors, config = rename(_unwrap(src, obj["model"], found), config)
    chars, vocab_path = vocab_of(src, obj, vocab, config["vocab_size"])
    spec = kind_spec(GPTConfig.kind)
    _, parsed, parsed_codec = parse_model(src, spec.kind, config,
                                          {"modality": "text", "vocab": chars, "unknown": ""})
    found = {**found, "layout": "nanoGPT", "vocabulary": vocab_path}
    for key in ("iter_num", "best_val_loss"):
        value = obj.get(key)
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            found[key] = value
    dataset = obj.get("config", {}).get("dataset") if isinstance(obj.get("config"), dict) \
        else None
    description = f"nanoGPT model imported from {src.name}" + \
        (f" (trained on {dataset})" if isinstance(dataset, str) and dataset.isprintable() else "")
    return _checked_save(src, out, spec, parsed, parsed_codec, tensors, found,
                         {"description": description, **(provenance or {})}, name)
