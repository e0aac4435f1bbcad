"""Audio sampling with the Fast WaveNet step, emitted in chunks for a ring buffer."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..fast import wavenet_numba
from .draw import distribution, draw
from .events import AudioChunk
from .voice import VoiceGate

# A waveform started from silence often stays silent for a while (up to 1.5 s in eight
# draws from the bundled `speech`) before the model "speaks". Up to this much of it is
# dropped, so a first click gives sound; the events say how much (AudioChunk.skipped).
SKIP_SILENCE_S = 3.0
SILENCE_DB = -35.0        # a 10 ms frame quieter than this (RMS, dBFS) counts as silence:
                          # the model's "silence" is a faint hiss, not zeros
FRAME_S = 0.01
LEAD_IN_S = 0.02          # kept before the first sound, so its attack is not cut


def sample_audio(net, codec, num_samples: int, label: int | None = None,
                 temperature: float = 1.0, seed: int | None = None,
                 prime: np.ndarray | None = None, streams: int = 1, chunk: int = 400,
                 device=None, compiled: bool = True, report: bool = False,
                 skip_silence: float = 0.0, voice_temperature: float | None = None
                 ) -> Iterator[AudioChunk]:
    """Yield AudioChunk events of up to `chunk` new samples per stream.

    The waveform starts from silence, or continues `prime` (float samples at the model's
    rate), which is fed through the net but not repeated in the output. On the CPU the
    compiled Fast-WaveNet loop is used when numba is installed (`compiled=False` forces the
    PyTorch step); both give the same distribution. With `report` each chunk also carries
    its levels, the distribution each sample was drawn from and its log-probability
    (AudioChunk.levels, .probs, .logprob); the samples are the same either way. Without a
    prime, up to `skip_silence` seconds of leading silence (of every stream) are generated
    but not emitted: the output starts at the first sound. With `voice_temperature`, a
    stream draws at that temperature while it is loud and at `temperature` otherwise
    (sampling/voice.py); greedy sampling (temperature 0) ignores it.
    """
    import torch

    from ..devices import make_generator

    device = torch.device(device or next(net.parameters()).device)
    gen = make_generator(seed, device)
    labels = _labels(net, label, streams, device)
    history = [codec.silence] if prime is None or len(prime) == 0 else codec.encode(prime)
    gate = None if voice_temperature is None or temperature <= 0 else \
        VoiceGate(codec, streams, history, temperature, voice_temperature)
    with torch.no_grad():
        if compiled and device.type == "cpu" and wavenet_numba.available():
            steps = _compiled_steps(net, labels, streams, history, gen, temperature, chunk,
                                    report, gate)
        else:
            steps = _torch_steps(net, labels, streams, history, gen, temperature, chunk, device,
                                 report, gate)
        if skip_silence > 0 and (prime is None or len(prime) == 0):
            steps = LeadingSilence(steps, codec, int(skip_silence * codec.sample_rate))
        produced = 0
        while produced < num_samples:
            # (B, n) levels, (B, n, V) logits or None, (B, n) temperatures or None
            levels, logits, temps = steps(min(chunk, num_samples - produced))
            event = AudioChunk(produced, codec.decode(levels),
                               skipped=getattr(steps, "skipped", 0))
            yield event if logits is None else _reported(event, levels, logits, temperature,
                                                         temps)
            produced += levels.shape[1]


class LeadingSilence:
    """steps(n) -> (levels, logits, temperatures), with the waveforms' common leading
    silence dropped: while up to `allowance` samples may still go, chunks before the first
    frame louder than SILENCE_DB (in any stream) are drawn and discarded, and the chunk
    holding it starts LEAD_IN_S before it. `skipped` counts what was dropped. A chunk may
    come back shorter than n; after the first sound (or the allowance) it is `steps`
    unchanged."""

    def __init__(self, steps, codec, allowance: int):
        self.steps, self.codec, self.allowance = steps, codec, allowance
        self.lead = int(LEAD_IN_S * codec.sample_rate)
        self.frame = max(1, int(FRAME_S * codec.sample_rate))
        self.skipped = 0

    def _first_sound(self, levels: np.ndarray) -> int:
        """Index of the first frame louder than SILENCE_DB in any stream (or the length)."""
        audio = self.codec.decode(levels)
        n = audio.shape[1] // self.frame * self.frame
        frames = audio[:, :n].reshape(audio.shape[0], -1, self.frame)
        rms = np.sqrt((frames.astype(np.float64) ** 2).mean(-1))
        loud = np.flatnonzero((rms > 10 ** (SILENCE_DB / 20)).any(0))
        return int(loud[0]) * self.frame if len(loud) else levels.shape[1]

    def __call__(self, n: int):
        while self.allowance > 0:
            levels, logits, temps = self.steps(n)
            first = self._first_sound(levels)
            silent = first == levels.shape[1]
            drop = min(first if silent else max(first - self.lead, 0), self.allowance)
            self.skipped += drop
            self.allowance -= drop
            if drop < levels.shape[1]:          # sound (or the allowance's end) in this chunk
                self.allowance = 0
                return (levels[:, drop:], None if logits is None else logits[:, drop:],
                        None if temps is None else temps[:, drop:])
        return self.steps(n)


def _reported(event: AudioChunk, levels: np.ndarray, logits, temperature: float,
              temps: np.ndarray | None = None) -> AudioChunk:
    """`event` with the distributions its samples were drawn from (logits (B, n, V)), each
    at its own temperature where `temps` (B, n) gives them."""
    import torch

    b, n, v = logits.shape
    values = torch.as_tensor(levels).reshape(-1)
    logits = torch.as_tensor(logits)
    if temps is not None:        # a temperature T is logits / T at temperature 1
        logits, temperature = logits / torch.as_tensor(temps, dtype=logits.dtype)[..., None], 1.0
    probs, logp = distribution(logits.reshape(-1, v), values, temperature)
    event.levels = levels
    event.probs = probs.reshape(b, n, v).float().cpu().numpy()
    event.logprob = logp.reshape(b, n).float().cpu().numpy()
    return event


def _labels(net, label, streams, device):
    import torch

    if label is None:
        return None
    if not net.config.num_classes:
        raise ValueError("this model is not class-conditional; it takes no label")
    if not 0 <= int(label) < net.config.num_classes:
        raise ValueError(f"label {label} out of range 0..{net.config.num_classes - 1}")
    return torch.full((streams,), int(label), dtype=torch.long, device=device)


def _torch_steps(net, labels, streams, history, gen, temperature, chunk, device,
                 report: bool = False, gate: VoiceGate | None = None):
    """The PyTorch Fast-WaveNet step: returns a function that draws n samples per stream:
    levels (B, n), with `report` the logits they were drawn from (B, n, V) (else None), and
    with a voice gate the temperature of each draw (B, n) (else None)."""
    import torch

    state = net.begin(streams, labels, device)
    for value in history[:-1]:
        net.step(state, torch.full((streams,), int(value), device=device))
    current = torch.full((streams,), int(history[-1]), dtype=torch.long, device=device)

    def steps(n: int) -> tuple[np.ndarray, torch.Tensor | None, np.ndarray | None]:
        nonlocal current
        out = torch.empty(streams, n, dtype=torch.long, device=device)
        seen = torch.empty(streams, n, net.config.levels, device=device) if report else None
        temps = np.empty((streams, n), np.float32) if gate is not None else None
        for i in range(n):
            logits = net.step(state, current)
            if gate is None or temps is None:
                current, _ = draw(logits, gen, temperature)
            else:               # each stream at its own temperature: logits / T at 1
                temps[:, i] = gate.temperatures()
                scaled = logits / torch.as_tensor(temps[:, i], device=device)[:, None]
                current, _ = draw(scaled, gen, 1.0)
                gate.push(current.cpu().numpy())
            out[:, i] = current
            if seen is not None:
                seen[:, i] = logits
        return out.cpu().numpy(), seen, temps

    return steps


def _compiled_steps(net, labels, streams, history, gen, temperature, chunk,
                    report: bool = False, gate: VoiceGate | None = None):
    """The same algorithm as one numba loop per chunk (CPU only); with `report` the loop
    also records the logits of every draw (CompiledWaveNet.generate's `record`)."""
    import torch

    # Streams in groups on torch's threads (the user's --threads), each group its own core.
    compiled = wavenet_numba.CompiledWaveNet(net, labels, streams, torch.get_num_threads())
    if gate is not None:
        compiled.set_voice(gate)
    if len(history) > 1:
        compiled.feed(np.repeat(np.asarray(history[:-1])[:, None], streams, axis=1))
    current = np.full(streams, int(history[-1]), dtype=np.int64)

    def steps(n: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        nonlocal current
        uniforms = torch.rand((n, streams), generator=gen).numpy()
        tokens, logits, loud = compiled.generate(current, uniforms, temperature, record=report)
        current = tokens[-1]
        temps = None if loud is None or gate is None else gate.temperatures(loud.T)
        return tokens.T, None if logits is None else logits.transpose(1, 0, 2), temps

    return steps


def generate_audio(*args, **kwargs) -> np.ndarray:
    """Run sample_audio to the end: (streams, num_samples) float32."""
    chunks = [event.samples for event in sample_audio(*args, **kwargs)]
    return np.concatenate(chunks, axis=1)
