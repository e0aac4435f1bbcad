"""Audio sampling with the Fast WaveNet step, emitted in chunks for a ring buffer."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..fast import wavenet_numba
from .draw import draw
from .events import AudioChunk


def sample_audio(net, codec, num_samples: int, label: int | None = None,
                 temperature: float = 1.0, seed: int | None = None,
                 prime: np.ndarray | None = None, streams: int = 1, chunk: int = 400,
                 device=None, compiled: bool = True) -> Iterator[AudioChunk]:
    """Yield AudioChunk events of up to `chunk` new samples per stream.

    The waveform starts from silence, or continues `prime` (float samples at the model's
    rate), which is fed through the net but not repeated in the output. On the CPU the
    compiled Fast-WaveNet loop is used when numba is installed (`compiled=False` forces the
    PyTorch step); both give the same distribution.
    """
    import torch

    from ..devices import make_generator

    device = torch.device(device or next(net.parameters()).device)
    gen = make_generator(seed, device)
    labels = _labels(net, label, streams, device)
    history = [codec.silence] if prime is None or len(prime) == 0 else codec.encode(prime)
    with torch.no_grad():
        if compiled and device.type == "cpu" and wavenet_numba.available():
            steps = _compiled_steps(net, labels, streams, history, gen, temperature, chunk)
        else:
            steps = _torch_steps(net, labels, streams, history, gen, temperature, chunk, device)
        produced = 0
        while produced < num_samples:
            levels = steps(min(chunk, num_samples - produced))      # (B, n)
            yield AudioChunk(produced, codec.decode(levels))
            produced += levels.shape[1]


def _labels(net, label, streams, device):
    import torch

    if label is None:
        return None
    if not net.config.num_classes:
        raise ValueError("this model is not class-conditional; it takes no label")
    if not 0 <= int(label) < net.config.num_classes:
        raise ValueError(f"label {label} out of range 0..{net.config.num_classes - 1}")
    return torch.full((streams,), int(label), dtype=torch.long, device=device)


def _torch_steps(net, labels, streams, history, gen, temperature, chunk, device):
    """The PyTorch Fast-WaveNet step: returns a function that draws n samples per stream."""
    import torch

    state = net.begin(streams, labels, device)
    for value in history[:-1]:
        net.step(state, torch.full((streams,), int(value), device=device))
    current = torch.full((streams,), int(history[-1]), dtype=torch.long, device=device)

    def steps(n: int) -> np.ndarray:
        nonlocal current
        out = torch.empty(streams, n, dtype=torch.long, device=device)
        for i in range(n):
            current, _ = draw(net.step(state, current), gen, temperature)
            out[:, i] = current
        return out.cpu().numpy()

    return steps


def _compiled_steps(net, labels, streams, history, gen, temperature, chunk):
    """The same algorithm as one numba loop per chunk (CPU only)."""
    import torch

    compiled = wavenet_numba.CompiledWaveNet(net, labels, streams)
    if len(history) > 1:
        compiled.feed(np.repeat(np.asarray(history[:-1])[:, None], streams, axis=1))
    current = np.full(streams, int(history[-1]), dtype=np.int64)

    def steps(n: int) -> np.ndarray:
        nonlocal current
        uniforms = torch.rand((n, streams), generator=gen).numpy()
        tokens, _ = compiled.generate(current, uniforms, temperature)
        current = tokens[-1]
        return tokens.T

    return steps


def generate_audio(*args, **kwargs) -> np.ndarray:
    """Run sample_audio to the end: (streams, num_samples) float32."""
    chunks = [event.samples for event in sample_audio(*args, **kwargs)]
    return np.concatenate(chunks, axis=1)
