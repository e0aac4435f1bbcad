"""The resumable training state as one safetensors file: weights, optimizer moments, RNGs.

Resuming from it continues exactly: the same next batch, the same learning rate, the same
optimizer moments, so a resumed run's weights equal an uninterrupted run's bit for bit.
"""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from ..errors import UserError

STATE_FORMAT = "chainrule-state/1"


class StateError(UserError, ValueError):
    """A resumable state file that does not match the run it is asked to resume."""


def save_state(path: Path, net, optimizer, step: int, rng: np.random.Generator,
               extra: dict | None = None, more: dict | None = None) -> None:
    """`more`: further named tensors to keep (a weight average's, 'ema.*')."""
    import torch
    from safetensors.torch import save

    from ..saving import write_atomic

    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    opt = optimizer.state_dict()
    for index, slot in opt["state"].items():
        for key, value in slot.items():
            tensors[f"opt.{index}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
    tensors["torch_rng"] = torch.get_rng_state()
    tensors.update(more or {})
    groups = [{k: v for k, v in g.items() if k != "params"} for g in opt["param_groups"]]
    metadata = {"format": STATE_FORMAT, "step": str(step),
                "numpy_rng": json.dumps(rng.bit_generator.state),
                "param_groups": json.dumps(groups), "extra": json.dumps(extra or {})}
    write_atomic(Path(path), save(tensors, metadata=metadata))


def nonfinite_weights(net) -> str | None:
    """The name of the first weight (or buffer) holding NaN or infinity, or None."""
    import torch

    for name, tensor in net.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return name
    return None


def saved_step(path) -> int:
    """The step a state file was saved at, from its header alone; 0 if there is none."""
    try:
        with open(path, "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(min(length, 10_000_000)))
        return int(header["__metadata__"]["step"])
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        return 0


def load_state(path: Path, net, optimizer, restore_more=None
               ) -> tuple[int, np.random.Generator, dict]:
    """Restore weights and optimizer in place; returns (step, data RNG, extra).
    `restore_more`, if given, is called with all the state's tensors (a weight average
    takes its own from them)."""
    import torch
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise StateError(f"{path}: unreadable training state ({str(err).splitlines()[0]})") \
            from None
    if meta.get("format") != STATE_FORMAT:
        raise StateError(f"{path}: not a chainrule training state")
    try:
        step, groups = int(meta["step"]), json.loads(meta["param_groups"])
        numpy_rng, extra = json.loads(meta["numpy_rng"]), json.loads(meta.get("extra", "{}"))
        torch_rng = tensors["torch_rng"]
        if not (isinstance(groups, list) and all(isinstance(g, dict) for g in groups)
                and isinstance(extra, dict) and isinstance(numpy_rng, dict) and step >= 0
                and all(isinstance(extra.get(k, 0.0), (int, float))
                        for k in ("best", "elapsed_s"))):
            raise ValueError("a field has the wrong type")
    except (KeyError, ValueError) as err:
        raise StateError(f"{path}: damaged training state ({type(err).__name__}: {err})") \
            from None
    model = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        net.load_state_dict(model)
    except RuntimeError as err:
        raise StateError(f"{path}: weights do not fit this model ({str(err).splitlines()[0]})") \
            from None
    if bad := nonfinite_weights(net):
        # Written by a version that saved a diverged run: resuming would only go on with NaN.
        raise StateError(f"{path}: weight '{bad}' is not a finite number (the run diverged "
                         f"before this state was saved); start the run again")
    slots: dict[int, dict] = {}
    current = optimizer.state_dict()
    rng = np.random.default_rng()
    try:
        for key, value in tensors.items():
            if key.startswith("opt."):
                _, index, name = key.split(".", 2)
                slots.setdefault(int(index), {})[name] = value
        for group, saved in zip(current["param_groups"], groups):
            group.update({k: v for k, v in saved.items() if k != "params"})
        optimizer.load_state_dict({"state": slots, "param_groups": current["param_groups"]})
        torch.set_rng_state(torch_rng)
        rng.bit_generator.state = numpy_rng
        if restore_more is not None:
            restore_more(tensors)
    except (KeyError, ValueError, TypeError, RuntimeError) as err:
        raise StateError(f"{path}: damaged training state ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''})") from None
    return step, rng, extra
