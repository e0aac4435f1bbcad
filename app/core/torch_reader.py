"""Reading a PyTorch file (a pickle) in a process of its own, with a time and memory limit.

torch.load(weights_only=True) runs no code from the file, but its unpickler can still be
made to crash, hang or fill the memory by a file built for it (deeply nested or
self-referencing structures, a tensor whose strides claim a terabyte of values from four
bytes of storage). So the file is read by a child process under RLIMIT_AS and a timeout;
the child hands back the tensors as a safetensors file (a format with no code in it) and
the rest as JSON, and any crash, hang or exhaustion costs only the child.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

TIME_LIMIT_S = 120            # a multi-GB checkpoint loads in well under a minute
MEMORY_BASE = 3 << 30         # the child's address space: torch itself, plus ...
MEMORY_PER_FILE_BYTE = 4      # ... the file's tensors loaded, then copied once to be saved
MAX_DEPTH = 8                 # nesting kept from the loaded object (state dicts need 2-3)
MAX_NODES = 2_000_000         # values walked in it (a DAG of shared lists can be exponential)
SKIPPED_KEYS = frozenset({"optimizer", "optimizer_state_dict", "scaler", "lr_scheduler",
                          "scheduler"})    # training state: large, never imported


class ReadFailure(Exception):
    """The child could not read the file; str() is one line saying why."""


def load_isolated(path) -> object:
    """What torch.load(path, weights_only=True) gives, rebuilt from the child's output:
    dicts, lists, plain values and tensors (training state under SKIPPED_KEYS left out)."""
    from safetensors.torch import load_file

    path = Path(path)
    limit = MEMORY_BASE + MEMORY_PER_FILE_BYTE * path.stat().st_size
    with tempfile.TemporaryDirectory(prefix="chainrule-import-") as tmp:
        code = "import sys; from app.core.torch_reader import _child; _child(*sys.argv[1:])"
        try:
            done = subprocess.run([sys.executable, "-c", code, str(path), tmp],
                                  capture_output=True, timeout=TIME_LIMIT_S,
                                  preexec_fn=lambda: _limit_memory(limit),
                                  env=dict(os.environ, OMP_NUM_THREADS="1"))
        except subprocess.TimeoutExpired:
            raise ReadFailure(f"reading it took more than {TIME_LIMIT_S} s (a file built to "
                              "stall pickle readers, or damaged); stopped") from None
        if done.returncode < 0:
            name = signal.Signals(-done.returncode).name
            raise ReadFailure(f"reading it crashed the reader ({name}): a file built to "
                              "attack pickle readers, or damaged; nothing of it was used")
        if done.returncode != 0:
            lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
            why = lines[-1] if lines else f"the reader failed (exit {done.returncode})"
            if "MemoryError" in why or "memory" in why.lower():
                why = f"reading it needs more than {limit / 2**30:.1f} GiB of memory"
            raise ReadFailure(why.removeprefix("chainrule-reader: "))
        tensors = load_file(os.path.join(tmp, "tensors.safetensors"), device="cpu")
        with open(os.path.join(tmp, "tree.json"), encoding="utf-8") as f:
            tree = json.load(f)
    return _rebuild(tree, tensors)


def _limit_memory(limit: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _rebuild(node, tensors: dict):
    """The child's JSON tree -> Python values (iterative: the tree may be deep)."""
    if not isinstance(node, dict):
        return node
    if "t" in node:
        return tensors[node["t"]]
    if "list" in node:
        return [_rebuild(x, tensors) for x in node["list"]]
    if "dict" in node:
        return {key: _rebuild(value, tensors) for key, value in node["dict"]}
    return None                           # left out: too deep, or not a plain value


# ----- the child ------------------------------------------------------------------------
def _child(src: str, out: str) -> None:
    """Runs in the child process: load, check, write tensors.safetensors and tree.json."""
    import pickle
    import warnings

    import torch
    from safetensors.torch import save_file

    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(src, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        _fail("refused by torch.load(weights_only=True), which never runs code from a "
              f"file: {_refusal(err)}")
    except MemoryError:
        _fail("MemoryError")
    except Exception as err:          # torch raises many types for damaged archives
        _fail(f"not a readable PyTorch file: {_first_line(err)}")
    tensors: dict[str, torch.Tensor] = {}
    nodes = [0]

    def walk(x, depth: int, where: str):
        nodes[0] += 1
        if nodes[0] > MAX_NODES:
            _fail(f"holds more than {MAX_NODES:,} values (or shares them in a loop)")
        if isinstance(x, torch.Tensor):
            return {"t": _keep(x, where, tensors)}
        if isinstance(x, (str, int, float, bool)) or x is None:
            return x
        if depth >= MAX_DEPTH:
            return {"deep": True}
        if isinstance(x, dict):
            items = [(k, v) for k, v in x.items() if not (depth == 0 and k in SKIPPED_KEYS)]
            return {"dict": [[k if isinstance(k, (str, int, float, bool)) else repr(k)[:80],
                              walk(v, depth + 1, f"{where}{k}.")] for k, v in items]}
        if isinstance(x, (list, tuple)):
            return {"list": [walk(v, depth + 1, f"{where}{i}.") for i, v in enumerate(x)]}
        return {"other": type(x).__name__}

    tree = walk(obj, 0, "")
    save_file(tensors, os.path.join(out, "tensors.safetensors"))
    with open(os.path.join(out, "tree.json"), "w", encoding="utf-8") as f:
        json.dump(tree, f)


def _keep(x, where: str, tensors: dict) -> str:
    """A tensor's own values, checked to be really in the file: a view's strides can claim
    far more values than its storage holds (2**40 zeros from 4 bytes), which would walk
    around every size check after it."""
    import torch

    name = (where.rstrip(".") or "tensor")[:80]
    name = name if name.isprintable() else repr(name)
    if x.layout != torch.strided:
        _fail(f"tensor '{name}' is {str(x.layout).removeprefix('torch.')}, not a plain "
              "(dense) tensor")
    held = x.untyped_storage().nbytes()
    if x.numel() * x.element_size() > held:
        _fail(f"tensor '{name}' claims {x.numel():,} values but its file holds "
              f"{held // max(x.element_size(), 1):,}: damaged or built to mislead")
    key = f"t{len(tensors)}"
    tensors[key] = x.detach().contiguous().clone()
    return key


def _fail(message: str):
    print(f"chainrule-reader: {message}", file=sys.stderr)
    sys.exit(3)


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _refusal(err: Exception) -> str:
    """The one informative line of torch's multi-paragraph weights_only error."""
    import re

    for line in str(err).splitlines():
        if re.search(r"unsupported|not an allowed", line, re.IGNORECASE):
            return line.split(". Please")[0].strip().rstrip(".")   # drop torch's advice
    return "it holds objects other than tensors and plain containers"
