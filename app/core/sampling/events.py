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


@dataclass
class ImageResult:
    levels: np.ndarray      # (B, C, H, W) integer levels
    pixels: np.ndarray      # (B, H, W, C) uint8


@dataclass
class AudioChunk:
    start: int              # index of the first sample of this chunk in the stream
    samples: np.ndarray     # (B, n) float32 in [-1, 1]


@dataclass
class TextDelta:
    stream: int             # which of the batch's completions
    text: str
    logprob: float          # natural-log probability of this piece under the sampling distribution


@dataclass
class TextDone:
    texts: list[str]        # each completion, without the prompt
    reasons: list[str]      # "length" or "stop"


def final_event(events):
    """Run a sampler to the end and return its last event: the result, without the steps."""
    result = None
    for event in events:
        result = event
    return result
