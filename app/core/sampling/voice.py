"""A second temperature for audio, used only while the sound is loud.

A small sample-level model draws speech as breathy babble: every sample carries the noise of
a broad distribution, and noise is what hides a voice's pitch. A lower temperature removes
that noise, but used everywhere it also makes the model fall silent: in a pause the likeliest
next sample is silence, and at a low temperature it keeps choosing it. So the voice
temperature applies while the last VOICE_WINDOW_S of a stream are louder than VOICE_DB, and
the plain temperature everywhere else, which lets the model leave a pause as it would.

Loudness is kept as integer sums of each level's power (a fixed table), so the compiled
loop and the PyTorch step make exactly the same choice at every sample.
"""
from __future__ import annotations

import numpy as np

VOICE_WINDOW_S = 0.02     # the loudness looked at: the last 20 ms (two pitch periods or more)
VOICE_DB = -35.0          # RMS in dBFS above which a stream counts as sounding (the level
                          # the leading-silence skip uses: the model's pauses hiss below it)
_POWER_SCALE = 2.0 ** 24  # power on [0, 1] -> integers, fine enough for a -35 dB threshold


class VoiceGate:
    """Which temperature each stream's next sample is drawn at, from its last samples."""

    def __init__(self, codec, streams: int, history, plain: float, voice: float):
        self.plain, self.voice = float(plain), float(voice)
        self.window = max(1, int(round(VOICE_WINDOW_S * codec.sample_rate)))
        decoded = codec.decode(np.arange(codec.levels)).astype(np.float64)
        self.power = np.round(decoded ** 2 * _POWER_SCALE).astype(np.int64)       # (V,)
        self.threshold = int(self.window * 10 ** (VOICE_DB / 10) * _POWER_SCALE)
        # What came before the first draw (a prime, or silence) fills the window.
        start = np.full(self.window, int(codec.silence), np.int64)
        recent = np.asarray(history, np.int64)[-self.window:]
        start[self.window - len(recent):] = recent
        self.ring = np.repeat(self.power[start][None, :], streams, axis=0)       # (B, W)
        self.sums = self.ring.sum(1)                                             # (B,)
        self.position = 0       # the ring's oldest slot

    def loud(self) -> np.ndarray:
        """(B,) bool: which streams are sounding now."""
        return self.sums > self.threshold

    def temperatures(self, loud: np.ndarray | None = None) -> np.ndarray:
        """The temperature of each stream's next draw, (B,); or, given which draws were
        loud (any shape, e.g. the compiled loop's record), the temperature of each."""
        loud = self.loud() if loud is None else loud
        return np.where(loud, self.voice, self.plain).astype(np.float32)

    def push(self, levels: np.ndarray) -> None:
        """Record each stream's newly drawn level (B,)."""
        entering = self.power[np.asarray(levels, np.int64)]
        self.sums += entering - self.ring[:, self.position]
        self.ring[:, self.position] = entering
        self.position = (self.position + 1) % self.window
