"""Audio sampling with the Fast WaveNet step, emitted in chunks for a ring buffer."""
from __future__ import annotations

from typing import Iterator

import numpy as np

from .draw import draw
from .events import AudioChunk


def sample_audio(net, codec, num_samples: int, label: int | None = None,
                 temperature: float = 1.0, seed: int | None = None,
                 prime: np.ndarray | None = None, streams: int = 1, chunk: int = 400,
                 device=None) -> Iterator[AudioChunk]:
    """Yield AudioChunk events of up to `chunk` new samples per stream.

    The waveform starts from silence, or continues `prime` (float samples at the model's
    rate), which is fed through the net but not repeated in the output.
    """
    import torch

    from ..devices import make_generator

    device = device or next(net.parameters()).device
    gen = make_generator(seed, device)
    labels = None
    if label is not None:
        if not net.config.num_classes:
            raise ValueError("this model is not class-conditional; it takes no label")
        if not 0 <= int(label) < net.config.num_classes:
            raise ValueError(f"label {label} out of range 0..{net.config.num_classes - 1}")
        labels = torch.full((streams,), int(label), dtype=torch.long, device=device)
    history = [codec.silence] if prime is None or len(prime) == 0 else codec.encode(prime)
    with torch.no_grad():
        state = net.begin(streams, labels, device)
        for value in history[:-1]:
            net.step(state, torch.full((streams,), int(value), device=device))
        current = torch.full((streams,), int(history[-1]), dtype=torch.long, device=device)
        produced = 0
        while produced < num_samples:
            size = min(chunk, num_samples - produced)
            out = torch.empty(streams, size, dtype=torch.long, device=device)
            for i in range(size):
                current, _ = draw(net.step(state, current), gen, temperature)
                out[:, i] = current
            yield AudioChunk(produced, codec.decode(out.cpu().numpy()))
            produced += size


def generate_audio(*args, **kwargs) -> np.ndarray:
    """Run sample_audio to the end: (streams, num_samples) float32."""
    chunks = [event.samples for event in sample_audio(*args, **kwargs)]
    return np.concatenate(chunks, axis=1)
