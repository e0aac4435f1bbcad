"""A batch of images as it is drawn: the one place pixel events are folded into pictures."""
from __future__ import annotations

import time

import numpy as np

from ..sampling.events import ImageResult, PixelStep, Stage


class CanvasState:
    """(n, C, H, W) levels and their decoded pixels, which pixels are drawn, and how far.

    `start` gives the levels to begin from (inpainting starts from the picture) and which
    pixels count as drawn already; `total` counts the sub-pixels still to draw, once per
    pass of a model that draws in `stages` passes (depth upscaling). `stage` names the
    stage a staged model is in; a pixel a later stage redraws, or a square an early stage
    showed as one block, changes after it was drawn, so `changed` marks every pixel
    changed since the view last took it (take_changed).
    """

    def __init__(self, codec, n: int, start: np.ndarray | None = None,
                 known: np.ndarray | None = None, stages: int = 1):
        c = self.codec = codec
        shape = (n, c.channels, c.height, c.width)
        self.levels = np.zeros(shape, np.int64) if start is None else \
            np.broadcast_to(start, shape).copy()
        self.pixels = c.decode(self.levels)                 # (n, H, W, C), kept in step
        self.drawn = np.zeros((c.height, c.width), bool) if known is None else known.copy()
        self.total = int((~self.drawn).sum()) * c.channels * stages
        self.stage = ""                   # the current pass's title ("" for one-pass models)
        self.stage_index, self.stages = 0, stages
        self.block = 1
        self.changed = np.zeros((c.height, c.width), bool)
        self.done = 0
        self.cursor: tuple[int, int] | None = None
        self.result: ImageResult | None = None
        self.busy_s = 0.0                 # compute time, where the sampler reports it
        self.started = time.perf_counter()
        self.ended_s: float | None = None

    def apply(self, events) -> None:
        last_channel = self.codec.channels - 1
        for event in events:
            if isinstance(event, PixelStep):
                self.levels[:, event.channel, event.row, event.col] = event.values
                shown = self.codec.decode(event.values.reshape(-1, 1, 1, 1))[:, 0, 0, 0]
                square = (slice(event.row, event.row + self.block),
                          slice(event.col, event.col + self.block))
                self.pixels[:, square[0], square[1], event.channel] = shown[:, None, None]
                self.changed[square] = True
                if event.channel == last_channel:
                    self.drawn[square] = True
                self.done = event.step + 1
                self.cursor = (event.row, event.col)
            elif isinstance(event, Stage):
                self.stage = f"stage {event.index + 1} of {event.count}: {event.title}"
                self.stage_index, self.stages, self.total = event.index, event.count, event.total
                self.block = event.block
            elif isinstance(event, ImageResult):
                self.result = event
                self.levels, self.pixels = event.levels, event.pixels
                self.drawn[:] = True
                self.changed[:] = True
                self.stage_index = self.stages - 1
                self.done, self.cursor = self.total, None

    def take_changed(self) -> np.ndarray:
        """(H, W) bool: the pixels changed since the last call (then none are)."""
        changed, self.changed = self.changed, np.zeros_like(self.changed)
        return changed

    @property
    def finished(self) -> bool:
        return bool(self.drawn.all()) and self.stage_index == self.stages - 1

    def end(self) -> None:
        """The run is over (finished, stopped or failed): the clock stops here."""
        if self.ended_s is None:
            self.ended_s = time.perf_counter() - self.started

    @property
    def elapsed_s(self) -> float:
        return self.ended_s if self.ended_s is not None else time.perf_counter() - self.started

    def rate(self) -> float:
        return self.done / max(self.elapsed_s, 1e-6)

    def eta_s(self) -> float:
        rate = self.rate()
        return (self.total - self.done) / rate if rate > 0 else 0.0
