"""The chain rule of a sound, as the Audio tab shows it: the bits of every sample and the
distribution over the mu-law levels each one was drawn from (or scored under), through time.

A sound may be minutes long and each sample comes with a whole distribution (256 floats for
the speech model), so nothing here grows with the length of the sound: time is cut into
columns of `step` samples, at most `max_columns` of them; when they run out, `step` doubles
and every other column goes. A column keeps the exact distribution of its first sample (a
real distribution: the hover readout and the drawn level's bits agree with it), that
sample's level, bits and entropy, and the sum of the bits of all its samples (for the
smoothed curve and the totals, which are exact).

Also here: `score_audio`, what the worker runs to score a file or a sound with a model; it
yields the same AudioChunk events as generating with report=True, so one path fills the views.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..sampling.events import AudioChunk

LN2 = math.log(2.0)
MAX_COLUMNS = 2048
SMOOTH_S = 0.010         # the bits curve: a moving average over about 10 ms
SCORE_SECONDS = 10.0     # scoring keeps every distribution in memory at once: at most this
SCORE_CHUNK = 2000       # scored samples per event


@dataclass
class Moment:
    """One sample: its distribution, the level drawn (or heard), its bits, the entropy."""

    index: int               # sample index in the sound
    time: float              # seconds
    level: int
    bits: float              # -log2 p(level | everything before)
    entropy: float           # of the distribution, in bits
    probs: np.ndarray        # (levels,) float32

    def top(self, k: int = 5) -> list[tuple[int, float]]:
        order = np.argsort(-self.probs, kind="stable")[:k]
        return [(int(v), float(self.probs[v])) for v in order]


class AudioTrace:
    def __init__(self, rate: int = 8000, max_columns: int = MAX_COLUMNS,
                 smooth_s: float = SMOOTH_S):
        self.max_columns = max(2, int(max_columns))
        self.smooth_s = smooth_s
        self.reset(rate)

    def reset(self, rate: int) -> None:
        self.rate = int(rate)
        self.origin: int | None = None     # index of the first sample with a distribution
        self.count = 0                     # samples folded in, from origin on
        self.step = 1                      # samples per column
        self.levels = 0
        self.total_bits = 0.0
        self._cols = 0
        self._probs = np.zeros((0, 0), np.float32)     # (columns, levels)
        self._level = np.zeros(0, np.int64)            # per column: its first sample's ...
        self._bits = np.zeros(0, np.float64)           # ... bits
        self._entropy = np.zeros(0, np.float64)        # ... entropy
        self._sum = np.zeros(0, np.float64)            # bits of all the column's samples
        self._n = np.zeros(0, np.int64)                # how many samples that is

    # --- folding events in --------------------------------------------------------------
    def apply(self, events) -> int:
        """Fold in the AudioChunks that carry distributions (stream 0); the rest are
        ignored. Returns how many samples were added."""
        added = 0
        for event in events:
            if isinstance(event, AudioChunk) and event.probs is not None:
                assert event.levels is not None and event.logprob is not None
                bits = -np.asarray(event.logprob[0], np.float64) / LN2
                self.add(event.start, event.levels[0], event.probs[0], bits)
                added += len(bits)
        return added

    def add(self, start: int, levels: np.ndarray, probs: np.ndarray, bits: np.ndarray) -> None:
        """Samples start, start + 1, ...: their levels (n,), distributions (n, L), bits (n,).
        Chunks come in order and without gaps."""
        n = len(levels)
        if n == 0:
            return
        if self.origin is None:
            self.origin, self.levels = int(start), probs.shape[1]
            self._grow(0)
        if start != self.origin + self.count:
            raise ValueError(f"expected sample {self.origin + self.count}, got {start}")
        offsets = self.count + np.arange(n)                     # from origin
        self.count += n
        self.total_bits += float(np.sum(bits))
        while -(-self.count // self.step) > self.max_columns:
            self._halve()
        cols = -(-self.count // self.step)
        self._grow(cols)
        bins = offsets // self.step
        # The first bin may already hold samples of the previous chunk: add, don't set.
        self._sum[:cols] += np.bincount(bins, weights=bits, minlength=cols)[:cols]
        self._n[:cols] += np.bincount(bins, minlength=cols)[:cols]
        first = offsets % self.step == 0                        # each column's own sample
        at = bins[first]
        chosen = np.asarray(probs[first], np.float32)
        self._probs[at] = chosen
        self._level[at] = np.asarray(levels)[first]
        self._bits[at] = np.asarray(bits)[first]
        self._entropy[at] = entropy_bits(chosen)
        self._cols = cols

    def _halve(self) -> None:
        """Twice the samples per column: keep the even columns, merge the sums in pairs."""
        cols = self._cols
        pairs = (cols + 1) // 2
        sums, counts = np.zeros(pairs), np.zeros(pairs, np.int64)
        np.add.at(sums, np.arange(cols) // 2, self._sum[:cols])
        np.add.at(counts, np.arange(cols) // 2, self._n[:cols])
        for name in ("_probs", "_level", "_bits", "_entropy"):
            array = getattr(self, name)
            array[:pairs] = array[:cols:2].copy()
            array[pairs:cols] = 0
        self._sum[:cols], self._n[:cols] = 0, 0
        self._sum[:pairs], self._n[:pairs] = sums, counts
        self._cols, self.step = pairs, self.step * 2

    def _grow(self, cols: int) -> None:
        if cols <= len(self._n) and self._probs.shape[1] == self.levels:
            return
        size = min(max(cols, 2 * len(self._n), 64), self.max_columns)
        old = self._cols
        probs = np.zeros((size, self.levels), np.float32)
        if old:
            probs[:old] = self._probs[:old]
        self._probs = probs
        for name, dtype in (("_level", np.int64), ("_bits", np.float64),
                            ("_entropy", np.float64), ("_sum", np.float64), ("_n", np.int64)):
            grown = np.zeros(size, dtype)
            grown[:old] = getattr(self, name)[:old]
            setattr(self, name, grown)

    # --- what the views ask -------------------------------------------------------------
    @property
    def columns(self) -> np.ndarray:
        """(columns, levels): column j is the distribution of sample origin + j * step."""
        return self._probs[:self._cols]

    @property
    def column_levels(self) -> np.ndarray:
        return self._level[:self._cols]

    @property
    def column_times(self) -> np.ndarray:
        """Seconds of each column's own sample."""
        return (self._origin + np.arange(self._cols) * self.step) / self.rate

    @property
    def mean_bits(self) -> float:
        return self.total_bits / self.count if self.count else float("nan")

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self._probs, self._level, self._bits, self._entropy,
                                      self._sum, self._n))

    @property
    def _origin(self) -> int:
        return self.origin or 0

    def smoothed(self) -> tuple[np.ndarray, np.ndarray]:
        """(times, bits per sample): a moving average over `smooth_s` (or one column, when a
        column is longer), each point at the middle of the samples it averages."""
        cols = self._cols
        if cols == 0:
            return np.zeros(0), np.zeros(0)
        width = max(1, min(cols, round(self.smooth_s * self.rate / self.step)))
        sums = np.concatenate([[0.0], np.cumsum(self._sum[:cols])])
        counts = np.concatenate([[0], np.cumsum(self._n[:cols])])
        window_bits = sums[width:] - sums[:-width]
        window_n = counts[width:] - counts[:-width]
        middle = (counts[width:] + counts[:-width]) / 2
        return (self._origin + middle) / self.rate, window_bits / np.maximum(window_n, 1)

    def at(self, seconds: float) -> Moment | None:
        """The kept sample nearest `seconds` (None before anything was added)."""
        if self._cols == 0:
            return None
        j = int(np.clip(round((seconds * self.rate - self._origin) / self.step), 0,
                        self._cols - 1))
        return self._moment(j)

    def latest(self) -> Moment | None:
        return self._moment(self._cols - 1) if self._cols else None

    def _moment(self, j: int) -> Moment:
        index = self._origin + j * self.step
        return Moment(index, index / self.rate, int(self._level[j]), float(self._bits[j]),
                      float(self._entropy[j]), self._probs[j].copy())


def entropy_bits(probs: np.ndarray) -> np.ndarray:
    """Entropy of each distribution (..., L), in bits; 0 * log 0 counts as 0."""
    p = np.asarray(probs, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return -terms.sum(-1)


def sound_seconds(path) -> float:
    """How long the sound file at `path` is; SCORE_SECONDS when it cannot be read (the
    scoring run will then say why)."""
    import soundfile

    try:
        return float(soundfile.info(str(path)).duration)
    except (RuntimeError, OSError):
        return SCORE_SECONDS


def score_audio(models, model_path: str, device: str, source, seconds: float = SCORE_SECONDS,
                chunk: int = SCORE_CHUNK) -> Iterator[AudioChunk]:
    """Runs in the worker thread, from plain values: score `source` (a sound file's path, or
    float samples at the model's rate) with the model at `model_path`, at most `seconds` of
    it. Yields the first sample (given, not scored: no distribution), then the scored ones
    with their distributions and log-probabilities, as sampling with report=True does."""
    from ..explain import score
    from ..explain_report import read_input

    bundle = models.get(model_path, device)
    codec = bundle.codec
    if isinstance(source, np.ndarray):
        values = codec.encode(np.asarray(source, np.float32)[:int(seconds * codec.sample_rate)])
    else:
        values = np.asarray(read_input(bundle, source, seconds).data)
    values = np.asarray(values, np.int64).reshape(-1)                       # (T,)
    samples = codec.decode(values[None])                                    # (1, T)
    yield AudioChunk(0, samples[:, :1])
    if len(values) < 2:
        return
    result = score(bundle, values, device=device, top=1, keep_probs=True)
    assert result.probs is not None
    logprob = -result.bits * LN2                                            # (1, T - 1)
    for lo in range(0, len(values) - 1, chunk):
        hi = min(lo + chunk, len(values) - 1)
        yield AudioChunk(lo + 1, samples[:, lo + 1:hi + 1], result.value[:, lo:hi],
                         result.probs[:, lo:hi], logprob[:, lo:hi])
