"""What the model computed for every sub-pixel of a batch of images: the distribution each
value was drawn from (or scored under) and its bits, in the order they were drawn.

Filled live from a reporting sampler's PixelSteps, or at once from an explain.Score (an
opened picture, a finished branch). The Image tab's bits map, pixel readout and branch menu
all read this one object.
"""
from __future__ import annotations

import math

import numpy as np

from ..sampling.events import PixelStep

LN2 = math.log(2.0)
# Full distributions are kept as float16 (their bars are drawn, not summed); a grid whose
# distributions would take more than this keeps only the bits of each value.
PROBS_BUDGET_BYTES = 96 * 2 ** 20
BRIGHT = 0.25        # luma above which a pixel counts as ink (stroke or edge)


class PixelTrace:
    """Per image and sub-pixel (n, C, H, W): bits (NaN until drawn), value, order of drawing,
    and, within PROBS_BUDGET_BYTES, the whole distribution over the levels."""

    def __init__(self, n: int, channels: int, height: int, width: int, levels: int):
        self.shape = (n, channels, height, width)
        self.levels = levels
        self.bits = np.full(self.shape, np.nan, np.float32)
        self.values = np.zeros(self.shape, np.int64)
        self.keeps_probs = n * channels * height * width * levels * 2 <= PROBS_BUDGET_BYTES
        self.probs = np.zeros((*self.shape, levels), np.float16) if self.keeps_probs else None
        self.steps: list[tuple[int, int, int]] = []      # (row, col, channel), drawing order

    @classmethod
    def for_codec(cls, codec, n: int) -> PixelTrace:
        return cls(n, codec.channels, codec.height, codec.width, codec.levels)

    # --- filling --------------------------------------------------------------------------
    def apply(self, events, image: int | None = None) -> None:
        """Fold reporting PixelSteps in (others, and steps without a report, are skipped).

        `image`: the steps are of a one-image run (a branch) into that image of the batch;
        its drawing order stays the batch's own (a branch goes on in that order).
        """
        steps = [e for e in events if isinstance(e, PixelStep) and e.logprob is not None]
        if not steps:
            return
        if image is None:
            self.steps.extend((e.row, e.col, e.channel) for e in steps)
        # A model drawing in passes (depth upscaling) reports a sub-pixel once per pass, the
        # later report covering the earlier: keep each sub-pixel's last (an indexed write
        # with repeated indices keeps no particular one).
        last = {(e.row, e.col, e.channel): e for e in steps}
        if len(last) < len(steps):
            steps = list(last.values())
        # One indexed write per batch, not one per step: a batch can hold hundreds of steps
        # and this runs in the GUI thread.
        rows = np.array([e.row for e in steps])
        cols = np.array([e.col for e in steps])
        chans = np.array([e.channel for e in steps])
        where = slice(None) if image is None else image
        first = slice(None) if image is None else slice(0, 1)
        logp = np.stack([np.asarray(e.logprob)[first] for e in steps], axis=-1)       # (B, k)
        values = np.stack([e.values[first] for e in steps], axis=-1)
        if image is not None:
            logp, values = logp[0], values[0]
        self.bits[where, chans, rows, cols] = -logp / LN2
        self.values[where, chans, rows, cols] = values
        if self.probs is not None and all(e.probs is not None for e in steps):
            probs = np.stack([np.asarray(e.probs)[first] for e in steps], axis=1)      # (B, k, L)
            self.probs[where, chans, rows, cols] = probs[0] if image is not None else probs

    def folded(self, events):
        """Pass `events` on, folding each into this trace on the way. The worker thread
        runs this (through=), so the copies of every distribution (a batch of 64 images
        brings 64 KB per step) are made there, not in the GUI thread, which only reads."""
        for event in events:
            self.apply((event,))
            yield event

    def forget(self, image: int, mask: np.ndarray) -> None:
        """Pixels (H, W) of one image about to be drawn again: not drawn any more."""
        self.bits[image][:, mask] = np.nan

    def set_value(self, image: int, row: int, col: int, channel: int, value: int) -> None:
        """A value chosen for a sub-pixel: same distribution (its past is unchanged), so its
        bits are read off it (NaN where distributions are not kept)."""
        self.values[image, channel, row, col] = value
        if self.probs is None:
            self.bits[image, channel, row, col] = np.nan
            return
        # float16 keeps nothing below 2**-24: a value that unlikely costs at least 24 bits
        p = max(float(self.probs[image, channel, row, col, value]), 2.0 ** -24)
        self.bits[image, channel, row, col] = -math.log2(p)

    def apply_score(self, score, item: int = 0, to: int | None = None) -> None:
        """Take the bits and distributions of explain.Score item `item` into image `to`
        (default: every image of a score of the same size)."""
        targets = [(item, to)] if to is not None else list(enumerate(range(self.shape[0])))
        for source, target in targets:
            self.bits[target] = score.bits[source]
            self.values[target] = score.value[source]
            if self.probs is not None and score.probs is not None:
                self.probs[target] = score.probs[source]
        if score.steps is not None:
            self.steps = [(int(r), int(c), int(ch)) for r, c, ch in score.steps]

    # --- reading ---------------------------------------------------------------------------
    def step_index(self, row: int, col: int, channel: int = 0) -> int | None:
        """Where (row, col, channel) came in the drawing order, or None if not drawn yet."""
        try:
            return self.steps.index((row, col, channel))
        except ValueError:
            return None

    def pixel_bits(self, image: int) -> np.ndarray:
        """(H, W) bits of each pixel (its channels summed); NaN where not drawn yet."""
        return self.bits[image].sum(axis=0)

    def total_bits(self, image: int) -> float:
        return float(np.nansum(self.bits[image]))

    def drawn_count(self, image: int) -> int:
        return int(np.isfinite(self.bits[image]).sum())

    def readout(self, image: int, row: int, col: int, channel: int = 0) -> PixelReadout | None:
        """What the model said about one sub-pixel, or None if not drawn (or scored) yet."""
        bits = float(self.bits[image, channel, row, col])
        if not math.isfinite(bits):
            return None
        probs = None
        entropy = None
        if self.probs is not None:
            probs = self.probs[image, channel, row, col].astype(np.float64)
            probs /= max(probs.sum(), 1e-12)           # float16 rounding: back to a sum of 1
            nonzero = probs[probs > 0]
            entropy = float(-(nonzero * np.log2(nonzero)).sum())
        return PixelReadout(row, col, channel, int(self.values[image, channel, row, col]),
                            bits, probs, entropy, self.step_index(row, col, channel))

    def breakdown(self, image: int, luma: np.ndarray) -> dict[str, float]:
        """Share of the image's bits spent on background, edges and strokes.

        luma (H, W) in [0, 1]. Ink is luma above BRIGHT; an edge pixel has both ink and
        no ink in its 3x3 neighbourhood; strokes are the other ink pixels, background the
        other dark ones. Pixels not drawn yet count for nothing.
        """
        regions = pixel_regions(luma)
        bits = np.nan_to_num(self.pixel_bits(image))
        total = float(bits.sum())
        return {name: float(bits[where].sum()) / total if total > 0 else 0.0
                for name, where in regions.items()}


def pixel_regions(luma: np.ndarray) -> dict[str, np.ndarray]:
    """(H, W) luma in [0, 1] -> masks of background, edges and strokes (see breakdown)."""
    ink = luma > BRIGHT
    padded = np.pad(ink, 1, mode="edge")
    h, w = ink.shape
    windows = [padded[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)]
    edge = np.logical_or.reduce(windows) & ~np.logical_and.reduce(windows)
    return {"background": ~ink & ~edge, "edges": edge, "strokes": ink & ~edge}


class PixelReadout:
    """One sub-pixel: its value, bits, distribution (None beyond the budget) and entropy."""

    __slots__ = ("row", "col", "channel", "value", "bits", "probs", "entropy", "step")

    def __init__(self, row: int, col: int, channel: int, value: int, bits: float,
                 probs: np.ndarray | None, entropy: float | None, step: int | None):
        self.row, self.col, self.channel, self.value = row, col, channel, value
        self.bits, self.probs, self.entropy, self.step = bits, probs, entropy, step

    def top(self, k: int = 8) -> list[tuple[int, float]]:
        """The k likeliest values and their probabilities, likeliest first."""
        if self.probs is None:
            return []
        best = np.argsort(-self.probs, kind="stable")[:k]
        return [(int(v), float(self.probs[v])) for v in best if self.probs[v] > 0]


def heat_colours(bits: np.ndarray, top: float | None = None) -> np.ndarray:
    """(H, W) bits -> (H, W, 3) uint8 on the explain ramp; not-yet-drawn (NaN) is dark blue."""
    from ..explain_report import heat_map

    undrawn = ~np.isfinite(bits)
    rgb = heat_map(np.nan_to_num(bits), top)
    rgb[undrawn] = (34, 44, 68)
    return rgb
