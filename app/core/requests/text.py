"""A request to complete a prompt with a character language model."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .base import ModelFacts, Request, common_problems, header, number_problem, pick


def parse_stops(text: str) -> list[str]:
    r"""Comma-separated stop strings as typed; '\n' means a newline, '\,' a comma."""
    parts = text.replace("\\,", "\0").split(",")
    return [p.replace("\0", ",").replace("\\n", "\n") for p in parts if p.strip()]


def format_stops(stops) -> str:
    """The inverse of parse_stops: stop strings as a user types them."""
    return ",".join(s.replace(",", "\\,").replace("\n", "\\n") for s in stops)


MAX_LENGTH = 100_000
MAX_COMPLETIONS = 64


@dataclass(frozen=True)
class TextRequest(Request):
    model: str = ""
    prompt: str = ""
    length: int = 400
    temperature: float = 1.0
    top_k: int = 0               # 0 = every character
    top_p: float = 1.0           # 1 = no nucleus cut
    seed: int = 1
    n: int = 1
    stop: tuple[str, ...] = ()

    def problems(self, facts: ModelFacts) -> list[str]:
        problems = common_problems(self, facts, "text")
        if problems and facts.spec.modality != "text":
            return problems
        for p in (number_problem("length", self.length, 1, MAX_LENGTH, integer=True),
                  number_problem("top-k", self.top_k, 0, 1_000_000, integer=True),
                  number_problem("top-p", self.top_p, 0, 1, low_open=True),
                  number_problem("completions", self.n, 1, MAX_COMPLETIONS, integer=True)):
            if p:
                problems.append(p)
        unknown = facts.codec.unknown_chars(self.prompt)
        if unknown and not facts.codec.unknown:
            problems.append(f"the prompt has characters this model never saw: "
                            f"{''.join(sorted(unknown))!r}")
        if any(not s for s in self.stop):
            problems.append("a stop string cannot be empty")
        return problems

    def events(self, bundle, device=None, report: bool = False) -> Iterator:
        """The sampler's events; `report`: each character names its likeliest rivals."""
        from ..sampling.text import sample_text

        self.check(bundle)
        return sample_text(bundle.net, bundle.codec, self.prompt, self.length, self.temperature,
                           self.top_k, self.top_p, self.seed, self.n, list(self.stop),
                           device=device, report=report)

    def to_params(self, model) -> dict:
        facts = ModelFacts.of(model)
        return {**header("text", facts), "prompt": self.prompt, "length": self.length,
                "temperature": self.temperature, "top_k": self.top_k, "top_p": self.top_p,
                "seed": self.seed, "n": self.n, "stop": list(self.stop)}

    @classmethod
    def from_params(cls, params: dict) -> TextRequest:
        stop = params.get("stop") or []
        if isinstance(stop, str):        # first-release files: the stop strings as typed
            stop = parse_stops(stop)
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            stop = []
        return cls(model=pick(params, "model", str, ""), prompt=pick(params, "prompt", str, ""),
                   length=pick(params, "length", int, 400),
                   temperature=pick(params, "temperature", float, 1.0),
                   top_k=pick(params, "top_k", int, 0), top_p=pick(params, "top_p", float, 1.0),
                   seed=pick(params, "seed", int, 1), n=pick(params, "n", int, 1),
                   stop=tuple(stop))
