"""Small typed events yielded by the samplers. Payloads are numpy or plain Python, never torch."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PixelStep:
    """One sub-pixel drawn for every image of the batch."""

    step: int               # 0-based position in the sampling order
    total: int              # sub-pixels per image
    row: int
    col: int
    channel: int
    values: np.ndarray      # (B,) drawn levels
    # Only from a sampler asked to report (report=True), else None: the distribution each
    # value was drawn from (temperature applied; at temperature 0 the point mass on the
    # argmax) and each value's natural log-probability under it.
    probs: np.ndarray | None = None     # (B, levels) float32, each row sums to 1
    logprob: np.ndarray | None = None   # (B,) float32


@dataclass
class Stage:
    """A multi-stage image model begins a stage: the viewer names it. The PixelSteps that
    follow belong to it; their `step` and `total` count over all stages."""

    index: int              # 0-based
    count: int              # stages in all
    title: str              # "coarse: 3-bit colour"
    total: int              # sub-pixels per image over all stages
    # A stage drawing a small image (an SPN's first slice) shows each of its pixels as a
    # block x block square until later stages fill the square in.
    block: int = 1


@dataclass
class ImageResult:
    levels: np.ndarray      # (B, C, H, W) integer levels
    pixels: np.ndarray      # (B, H, W, C) uint8


@dataclass
class AudioChunk:
    start: int              # index of the first sample of this chunk in the stream
    samples: np.ndarray     # (B, n) float32 in [-1, 1]
    # Only with report=True (see PixelStep): per new sample, the distribution over the mu-law
    # levels it was drawn from, and its natural log-probability under it.
    levels: np.ndarray | None = None    # (B, n) int64: the drawn levels
    probs: np.ndarray | None = None     # (B, n, levels) float32
    logprob: np.ndarray | None = None   # (B, n) float32
    skipped: int = 0        # samples of leading silence drawn but not emitted (sample_audio)


@dataclass
class TextDelta:
    stream: int             # which of the batch's completions
    text: str
    logprob: float          # natural-log probability of this piece under the sampling distribution
    # Only with report=True: the likeliest characters of the distribution this one was drawn
    # from (temperature, top-k and top-p applied), as (character, probability), likeliest
    # first; at most `top` of them (sample_text's argument), fewer where the rest have none.
    candidates: list[tuple[str, float]] | None = None


@dataclass
class TextDone:
    texts: list[str]        # each completion, without the prompt
    reasons: list[str]      # "length" or "stop"


@dataclass
class Notice:
    """A line for the user about what a run is doing before its steps begin."""

    text: str


def final_event(events):
    """Run a sampler to the end and return its last event: the result, without the steps."""
    result = None
    for event in events:
        result = event
    return result
