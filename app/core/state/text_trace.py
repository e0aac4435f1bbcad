"""The text a view shows, character by character, with what the model thought of each one.

A trace is a prompt (given, never scored) and one record per later character: its probability
and the likeliest candidates of the distribution it came from. Generation fills it from the
sampler's TextDelta events (probabilities under the sampling distribution: temperature, top-k
and top-p applied); scoring fills it from an explain.Score (the model's own distribution).
Branching and redrawing are planned here so they can be tested without a window.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

from ..requests.base import MAX_SEED

# Probability bands, most certain first: a view gives each its own tint. The same bands in
# bits are 0.15, 1, 3.3 and 6.6.
BANDS = (0.9, 0.5, 0.1, 0.01)
BAND_LABELS = (">90%", "50\u201390%", "10\u201350%", "1\u201310%", "<1%")


def band(prob: float) -> int:
    """0 (near-certain, > 90%) to 4 (improbable, < 1%)."""
    return next((i for i, low in enumerate(BANDS) if prob > low), len(BANDS))


def bits_of(prob: float) -> float:
    return -math.log2(prob) if prob > 0 else math.inf


@dataclass(frozen=True)
class CharRecord:
    char: str
    prob: float | None = None       # None: text with no model behind it (an opened file)
    candidates: tuple[tuple[str, float], ...] = ()   # likeliest first

    @property
    def bits(self) -> float | None:
        return None if self.prob is None else bits_of(self.prob)

    @property
    def band(self) -> int | None:
        return None if self.prob is None else band(self.prob)


@dataclass
class TextTrace:
    prompt: str = ""
    records: list[CharRecord] = field(default_factory=list)
    budget: int = 0          # characters asked for so far (a branch keeps within it)
    scored: bool = False     # from explain.score (model probabilities), not from sampling

    @property
    def completion(self) -> str:
        return "".join(r.char for r in self.records)

    @property
    def text(self) -> str:
        return self.prompt + self.completion

    def __len__(self) -> int:
        return len(self.records)

    def record_at(self, position: int) -> CharRecord | None:
        """The record of the character at `position` of `text`; None inside the prompt."""
        i = position - len(self.prompt)
        return self.records[i] if 0 <= i < len(self.records) else None

    def apply(self, events, stream: int = 0) -> list[CharRecord]:
        """Fold a batch of sampler events in; returns the new records (for the view)."""
        from ..sampling.events import TextDelta

        new = [CharRecord(e.text, math.exp(e.logprob), tuple(e.candidates or ()))
               for e in events if isinstance(e, TextDelta) and e.stream == stream]
        self.records.extend(new)
        return new

    @classmethod
    def of_text(cls, text: str, prompt: str = "") -> TextTrace:
        """Text with no model behind it (an opened file): no colours, nothing to branch."""
        prompt = prompt if text.startswith(prompt) else ""
        return cls(prompt, [CharRecord(c) for c in text[len(prompt):]],
                   len(text) - len(prompt))

    # --- branching --------------------------------------------------------------------
    def branch(self, i: int, char: str | None = None) -> tuple[str, int]:
        """Plan a branch at completion index `i`: (the text to continue from, characters
        left to draw). The text before `i` is kept as it is; `char` takes position `i`
        (None: position i is drawn again). The budget stays the original one."""
        if not 0 <= i < len(self.records):
            raise IndexError(f"no generated character at {i}")
        keep = self.prompt + self.completion[:i]
        if char is None:
            return keep, max(self.budget - i, 0)
        return keep + char, max(self.budget - i - 1, 0)

    def cut(self, i: int, char: str | None = None) -> None:
        """Make the trace what `branch(i, char)` continues from: the first `i` records, then
        `char` with the probability the model gave it at `i` (same distribution)."""
        old = self.records[i]
        del self.records[i:]
        if char is not None:
            self.records.append(CharRecord(char, dict(old.candidates).get(char, old.prob
                                           if char == old.char else None), old.candidates))

    # --- scoring ----------------------------------------------------------------------
    @classmethod
    def from_score(cls, text: str, result, vocab) -> TextTrace:
        """A scored text: `result` is explain.score's Score for one text (offset 1: the first
        character is given, not scored)."""
        bits = result.bits[0].tolist()
        tops = [[(vocab[v], float(p)) for v, p in zip(values, probs)]
                for values, probs in zip(result.top_values[0].tolist(),
                                         result.top_probs[0].tolist())]
        records = [CharRecord(c, 2.0 ** -b, tuple(top))
                   for c, b, top in zip(text[result.offset:], bits, tops)]
        return cls(text[:result.offset], records, len(records), scored=True)

    @property
    def total_bits(self) -> float:
        return sum(r.bits or 0.0 for r in self.records if r.prob is not None)


def branch_seed(seed: int, i: int, char: str | None) -> int:
    """The seed of a branch: the same branch of the same run always draws the same text,
    another position or character another one."""
    key = f"{seed}:{i}:{'redraw' if char is None else ord(char)}".encode()
    return zlib.crc32(key) % (MAX_SEED + 1)
