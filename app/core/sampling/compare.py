"""Two (or more) image samplers side by side, one step of each in turn.

Both pictures grow at the same pace in one worker thread, whatever each model costs per
step; what each model costs is measured separately (`busy_s`), so the view can still say
which one is faster. Each sampler keeps its own seeded generator, so a side draws exactly
what it would draw alone with the same seed.
"""
from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .events import ImageResult, PixelStep


@dataclass
class SideEvent:
    side: int                           # index of the sampler that made the event
    event: PixelStep | ImageResult
    busy_s: float                       # time that side has computed so far


def sample_side_by_side(samplers: Sequence[Iterator]) -> Iterator[SideEvent]:
    """Round-robin over `samplers` until all are done; a finished side simply drops out."""
    import torch

    live = dict(enumerate(samplers))
    busy = [0.0] * len(samplers)
    try:
        while live:
            for side in list(live):
                start = time.perf_counter()
                # A sampler turns gradients off while it runs and back on when it ends;
                # interleaved, the second to end would restore the first one's "off". Each
                # step runs inside its own no_grad, so the caller's mode always comes back.
                with torch.no_grad():
                    event = next(live[side], None)
                busy[side] += time.perf_counter() - start
                if event is None:
                    del live[side]
                else:
                    yield SideEvent(side, event, busy[side])
    finally:
        with torch.no_grad():
            for sampler in live.values():  # stopped early: let each sampler clean up
                if hasattr(sampler, "close"):
                    sampler.close()
