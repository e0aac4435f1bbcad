"""The resumable training state as one safetensors file: weights, optimizer moments, RNGs.

Resuming from it continues exactly: the same next batch, the same learning rate, the same
optimizer moments, so a resumed run's weights equal an uninterrupted run's bit for bit.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

STATE_FORMAT = "chainrule-state/1"


class StateError(ValueError):
    """A resumable state file that does not match the run it is asked to resume."""


def save_state(path: Path, net, optimizer, step: int, rng: np.random.Generator,
               extra: dict | None = None) -> None:
    import torch
    from safetensors.torch import save

    from .runs import write_atomic

    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    opt = optimizer.state_dict()
    for index, slot in opt["state"].items():
        for key, value in slot.items():
            tensors[f"opt.{index}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
    tensors["torch_rng"] = torch.get_rng_state()
    groups = [{k: v for k, v in g.items() if k != "params"} for g in opt["param_groups"]]
    metadata = {"format": STATE_FORMAT, "step": str(step),
                "numpy_rng": json.dumps(rng.bit_generator.state),
                "param_groups": json.dumps(groups), "extra": json.dumps(extra or {})}
    write_atomic(Path(path), save(tensors, metadata=metadata))


def load_state(path: Path, net, optimizer) -> tuple[int, np.random.Generator, dict]:
    """Restore weights and optimizer in place; returns (step, data RNG, extra)."""
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
    model = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        net.load_state_dict(model)
    except RuntimeError as err:
        raise StateError(f"{path}: weights do not fit this model ({str(err).splitlines()[0]})") \
            from None
    slots: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, index, name = key.split(".", 2)
            slots.setdefault(int(index), {})[name] = value
    groups = json.loads(meta["param_groups"])
    current = optimizer.state_dict()
    for group, saved in zip(current["param_groups"], groups):
        group.update({k: v for k, v in saved.items() if k != "params"})
    optimizer.load_state_dict({"state": slots, "param_groups": current["param_groups"]})
    torch.set_rng_state(tensors["torch_rng"])
    rng = np.random.default_rng()
    rng.bit_generator.state = json.loads(meta["numpy_rng"])
    return int(meta["step"]), rng, json.loads(meta.get("extra", "{}"))
