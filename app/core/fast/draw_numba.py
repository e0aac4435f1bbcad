"""Drawing one value per row of logits in one compiled call (the plain case: a temperature,
no top-k or top-p), for the text samplers' per-character loop.

The PyTorch draw (sampling/draw.py) is about ten small ops, ~50 us a character: a sixth of
an LSTM character's whole budget at 2,500 characters a second. This is the same inverse-CDF
draw from the same uniforms (the compiled loops' `_pick`, tested against draw.pick) plus the
drawn value's log-probability under the tempered distribution.
"""
from __future__ import annotations

import math

import numpy as np

from .vecmath import _jit, _pick, available  # noqa: F401  (available: re-exported)


@_jit
def _draw_rows(logits, inv_temperature, uniforms, values, logprob, probs):
    """Draw values (B,) and their log-probabilities; with probs (B, V) non-empty, also the
    distributions drawn from (for the explain views)."""
    for b in range(logits.shape[0]):
        row = logits[b]
        v = _pick(row, inv_temperature, uniforms[b])
        top = -np.inf
        for i in range(row.shape[0]):
            top = max(top, row[i] * inv_temperature)
        total = 0.0
        for i in range(row.shape[0]):
            total += math.exp(row[i] * inv_temperature - top)
        values[b] = v
        logprob[b] = row[v] * inv_temperature - top - math.log(total)
        if probs.shape[0]:
            for i in range(row.shape[0]):
                probs[b, i] = math.exp(row[i] * inv_temperature - top) / total


def draw(logits, generator, temperature: float, top_k: int = 0, top_p: float = 1.0,
         report: bool = False):
    """sampling.draw.draw for the plain case only, on the CPU (top_k and top_p are taken so
    the two are called alike, and must be off) -> (values (B,), natural log-probabilities
    (B,)) tensors, and with `report` the probabilities (B, V) drawn from as a third."""
    import torch

    if temperature <= 0 or top_k or top_p < 1.0:
        raise ValueError("the compiled draw is for a temperature above 0 without top-k/top-p")
    uniforms = torch.rand(logits.shape[0], generator=generator).numpy()
    rows = np.ascontiguousarray(logits.detach().numpy(), dtype=np.float32)
    values = np.empty(rows.shape[0], np.int64)
    logprob = np.empty(rows.shape[0], np.float32)
    probs = np.empty(rows.shape if report else (0, 0), np.float32)
    _draw_rows(rows, np.float32(1.0 / temperature), uniforms, values, logprob, probs)
    drawn = torch.from_numpy(values), torch.from_numpy(logprob)
    return (*drawn, torch.from_numpy(probs)) if report else drawn
