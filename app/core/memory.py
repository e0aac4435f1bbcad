"""Running out of memory on a device: one clear message that says what to reduce, and the
memory given back so the next, smaller try can succeed.

A CUDA (or MPS) allocator that fails raises an error whose traceback still holds every frame,
and so every tensor, of the failed run; the CUDA caching allocator then keeps the freed
blocks for itself. `guard_out_of_memory` drops both before it reports, so a retry with a
smaller batch finds the memory free.
"""
from __future__ import annotations

import gc
from collections.abc import Callable, Iterator

from .errors import UserError

# Phrases the allocators use: CUDA ("CUDA out of memory"), MPS ("MPS backend out of
# memory"), the CPU allocator ("DefaultCPUAllocator: can't allocate memory").
_PHRASES = ("out of memory", "can't allocate memory")


class DeviceOutOfMemory(UserError, RuntimeError):
    """A run stopped because the device's memory was full; the text says what to reduce."""


def is_out_of_memory(err: BaseException) -> bool:
    if isinstance(err, MemoryError):
        return True
    try:
        import torch

        if isinstance(err, torch.OutOfMemoryError):
            return True
    except (ImportError, AttributeError):
        pass
    return isinstance(err, RuntimeError) and any(p in str(err).lower() for p in _PHRASES)


def release_memory() -> None:
    """Free what a failed run left: unreachable tensors, then the allocators' caches."""
    gc.collect()
    import torch

    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()
    mps = getattr(torch, "mps", None)
    if mps is not None and torch.backends.mps.is_available():
        mps.empty_cache()


def out_of_memory_text(err: BaseException, advice: str) -> str:
    """'the GPU ran out of memory (it asked for 20.00 GiB): <advice>'. The allocators'
    own sentences run to paragraphs; only the size asked for is kept, whole (a cut
    'tried to allocate 32000000' read as 32 MB for 32 GB)."""
    import re

    text = str(err)
    lowered = text.lower()
    device = "GPU" if "cuda" in lowered or "mps" in lowered else "computer"
    asked = re.search(r"allocate (\d+(?:\.\d+)?\s*[KMGT]i?B)", text, re.IGNORECASE)
    raw = re.search(r"allocate (\d+) bytes", text)
    if raw:
        size = f"{int(raw.group(1)) / 2**30:,.1f} GiB" if int(raw.group(1)) >= 2**30 else \
            f"{int(raw.group(1)) / 2**20:,.1f} MiB"
    else:
        size = asked.group(1) if asked else ""
    return f"the {device} ran out of memory" + (f" (it asked for {size})" if size else "") + \
        f": {advice}"


def guard_out_of_memory(events: Iterator | Callable[[], Iterator], advice: str) -> Iterator:
    """Pass `events` through; if memory runs out, free it and raise DeviceOutOfMemory.

    `events` may be a factory, called here so that running out while it loads a model onto
    the device is caught too. `advice` names what to reduce, e.g. "lower the batch size".
    """
    text = None
    try:
        yield from (events() if callable(events) else events)
    except Exception as err:
        if not is_out_of_memory(err):
            raise
        text = out_of_memory_text(err, advice)
    # Outside the except block: the failed run's traceback (and its tensors) is gone now.
    del events
    release_memory()
    if text is not None:
        raise DeviceOutOfMemory(text)
