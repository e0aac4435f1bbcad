"""What every request shares: the facts about a model it is checked against, the checks,
labels, and the versioned key set of the parameters saved in result files."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import UserError
from ..registry import KindSpec, kind_spec

# The parameters written into PNG/WAV/TXT files. 1 was the first release's (no "version"
# key, "anyorder" as a method name, a text's stop strings as one string); 2 is this key set.
PARAMS_VERSION = 2
MAX_SEED = 2**31 - 1
MAX_TEMPERATURE = 10.0
# Below this every draw is the likeliest value anyway, and 1/temperature would leave
# float32's range (1e-40 made every logit infinite).
MIN_TEMPERATURE = 0.01


class RequestError(UserError):
    """A request that cannot run on this model: one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class ModelFacts:
    """What a request is checked against: known from a checkpoint's header (the GUI, before
    loading) or from a loaded bundle (the CLI). Never the weights."""

    name: str
    path: str
    kind: str
    codec: Any               # ImageCodec | MuLawCodec | CharCodec
    num_classes: int = 0

    @property
    def spec(self) -> KindSpec:
        return kind_spec(self.kind)

    @property
    def class_names(self) -> list[str]:
        names = list(getattr(self.codec, "class_names", None) or [])
        return (names + [str(i) for i in range(len(names), self.num_classes)])[:self.num_classes]

    @classmethod
    def of(cls, model) -> ModelFacts:
        """From a loaded Bundle, a header-only ModelInfo, or ModelFacts itself."""
        if isinstance(model, ModelFacts):
            return model
        from ..codecs import codec_from_dict

        codec = model.codec
        codec = codec_from_dict(codec) if isinstance(codec, dict) else codec
        config = model.config
        classes = (config.get("num_classes", 0) if isinstance(config, dict)
                   else getattr(config, "num_classes", 0)) or 0
        return cls(str(model.name), str(model.path), str(model.kind), codec, int(classes))


def number_problem(name: str, value, low: float, high: float, *, low_open: bool = False,
                   integer: bool = False) -> str | None:
    """'--temperature must be more than 0 and at most 10 (got -1)', or None when it fits."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and integer:
        ok = float(value).is_integer()
    if ok:
        value_f = float(value)
        ok = math.isfinite(value_f) and (value_f > low if low_open else value_f >= low) \
            and value_f <= high
    if ok:
        return None
    lower = f"more than {_plain(low)}" if low_open else f"at least {_plain(low)}"
    kind = "a whole number " if integer else ""
    return f"{name} must be {kind}{lower} and at most {_plain(high)} (got {value!r})"


def _plain(x: float) -> str:
    """1000000 -> '1,000,000' (not '1e+06'), 0.5 -> '0.5'."""
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def common_problems(request, facts: ModelFacts, modality: str) -> list[str]:
    """Modality, temperature, seed and label: the checks every request shares."""
    if facts.spec.modality != modality:
        return [f"{facts.name} is {facts.spec.article}, not a model of {modality}"]
    problems = [p for p in (
        number_problem("temperature", request.temperature, MIN_TEMPERATURE, MAX_TEMPERATURE),
        number_problem("seed", request.seed, 0, MAX_SEED, integer=True),
        label_problem(getattr(request, "label", None), facts)) if p]
    return problems


def label_problem(label, facts: ModelFacts) -> str | None:
    if label is None:
        return None
    if not facts.num_classes:
        return f"{facts.name} is not class-conditional; its class must be 'any'"
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < facts.num_classes:
        names = ", ".join(facts.class_names)
        return f"unknown class {label!r} (this model's classes: {names})"
    return None


def parse_label(text: str | None, facts: ModelFacts) -> int | None:
    """'any' -> None; a class index or a class name (any case) -> its index."""
    if text is None or str(text).strip().lower() in ("", "any"):
        return None
    text = str(text).strip()
    if not facts.num_classes:
        raise RequestError([f"{facts.name} is not class-conditional; use class 'any'"])
    lowered = [name.lower() for name in facts.class_names]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    if text.isdigit() and int(text) < facts.num_classes:
        return int(text)
    raise RequestError([f"unknown label '{text}' (this model's classes: "
                        f"{', '.join(facts.class_names)})"])


def label_params(label: int | None, facts: ModelFacts) -> dict:
    names = facts.class_names
    name = "any" if label is None else (names[label] if label < len(names) else str(label))
    return {"label": "any" if label is None else label, "label_name": name}


def label_from_params(params: dict) -> int | None:
    value = params.get("label", "any")
    if value is None or value == "any":
        return None
    if isinstance(value, bool):
        raise RequestError([f"label {value!r} in the saved parameters is not a class"])
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    raise RequestError([f"label {value!r} in the saved parameters is not a class index"])


def header(mode: str, facts: ModelFacts) -> dict:
    return {"version": PARAMS_VERSION, "mode": mode, "model": facts.name, "kind": facts.kind}


def pick(params: dict, key: str, kind: type, default):
    """params[key] as `kind`, or default when absent; a saved value of the wrong type is a
    clear RequestError, never a crash."""
    if key not in params or params[key] is None:
        return default
    value = params[key]
    try:
        if kind is bool:
            return bool(value)
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError
        return kind(value)
    except (TypeError, ValueError, OverflowError):
        raise RequestError([f"'{key}' in the saved parameters is not a {kind.__name__}: "
                            f"{value!r}"]) from None


class Request:
    """Base: `problems(facts)` lists what is wrong; `check` raises them all at once."""

    def problems(self, facts: ModelFacts) -> list[str]:
        raise NotImplementedError

    def check(self, model) -> ModelFacts:
        facts = ModelFacts.of(model)
        problems = self.problems(facts)
        if problems:
            raise RequestError(problems)
        return facts
