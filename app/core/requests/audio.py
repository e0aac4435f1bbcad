"""A request to generate sound with an audio model, optionally continuing given audio."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .base import (
    MAX_TEMPERATURE,
    MIN_TEMPERATURE,
    ModelFacts,
    Request,
    common_problems,
    header,
    label_from_params,
    label_params,
    number_problem,
    pick,
)

MAX_SECONDS = 600.0
MAX_TAKES = 64


@dataclass(frozen=True)
class AudioRequest(Request):
    model: str = ""
    seconds: float = 3.0
    label: int | None = None
    temperature: float = 1.0
    seed: int = 1
    prime: np.ndarray | None = field(default=None, compare=False, repr=False)  # (n,) [-1, 1]
    prime_name: str = ""          # the file the prime came from, for the saved parameters
    takes: int = 1                # independent waveforms generated side by side
    # Drop up to sampling.audio.SKIP_SILENCE_S of leading silence (unprimed audio only).
    skip_silence: bool = True
    # The temperature while the sound is loud (sampling/voice.py); None: `temperature`
    # throughout.
    voice_temperature: float | None = None

    def samples(self, facts: ModelFacts) -> int:
        return max(1, int(round(self.seconds * facts.codec.sample_rate)))

    def problems(self, facts: ModelFacts) -> list[str]:
        problems = common_problems(self, facts, "audio")
        if problems and facts.spec.modality != "audio":
            return problems
        if p := number_problem("seconds", self.seconds, 0, MAX_SECONDS, low_open=True):
            problems.append(p)
        if p := number_problem("number of takes", self.takes, 1, MAX_TAKES, integer=True):
            problems.append(p)
        if self.voice_temperature is not None and (p := number_problem(
                "voice temperature", self.voice_temperature, MIN_TEMPERATURE, MAX_TEMPERATURE)):
            problems.append(p)
        return problems

    def events(self, bundle, device=None, chunk: int = 400, report: bool = False) -> Iterator:
        """The sampler's events; `report`: each chunk carries its samples' distributions."""
        from ..sampling.audio import SKIP_SILENCE_S, sample_audio

        facts = self.check(bundle)
        return sample_audio(bundle.net, bundle.codec, self.samples(facts), self.label,
                            self.temperature, self.seed, prime=self.prime, device=device,
                            streams=self.takes, chunk=chunk, report=report,
                            skip_silence=SKIP_SILENCE_S if self.skip_silence else 0.0,
                            voice_temperature=self.voice_temperature)

    def to_params(self, model) -> dict:
        facts = ModelFacts.of(model)
        return {**header("audio", facts), "seed": self.seed, **label_params(self.label, facts),
                "temperature": self.temperature, "voice_temperature": self.voice_temperature,
                "seconds": self.seconds,
                "primed_with": self.prime_name, "takes": self.takes,
                "skip_leading_silence": self.skip_silence and self.prime is None}

    @classmethod
    def from_params(cls, params: dict) -> AudioRequest:
        return cls(model=pick(params, "model", str, ""),
                   seconds=pick(params, "seconds", float, 3.0), label=label_from_params(params),
                   temperature=pick(params, "temperature", float, 1.0),
                   voice_temperature=pick(params, "voice_temperature", float, None),
                   seed=pick(params, "seed", int, 1), takes=pick(params, "takes", int, 1),
                   skip_silence=pick(params, "skip_leading_silence", bool, True))
