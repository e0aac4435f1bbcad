"""A request to fill the hidden pixels of an image, n ways, with one inpainting method."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ..errors import UnknownNameError
from ..registry import INPAINT_METHODS, ORDERS, inpaint_method, load_function, method_mismatch
from .base import (
    ModelFacts,
    Request,
    common_problems,
    header,
    label_from_params,
    label_params,
    number_problem,
    pick,
)
from .image import budgeted_events, calls_problems, guidance_params, guidance_problems

MAX_VARIATIONS = 64
MAX_CANDIDATES = 64


@dataclass(frozen=True)
class InpaintRequest(Request):
    model: str = ""
    method: str = "raster"
    candidates: int = 8          # raster fills drawn per variation by "resample"
    order: str = "nearest"       # fill order of "any-order"
    calls: int = 0               # "any-order": network calls per fill; 0 = one per sub-pixel
    n: int = 4                   # variations
    label: int | None = None
    temperature: float = 1.0
    seed: int = 1
    guidance: float = 1.0        # classifier-free guidance (raster and any-order methods)
    # The picture as levels (C, H, W) and the pixels to fill (H, W); not compared or saved
    # as parameters (the saved PNG is the picture).
    image: np.ndarray | None = field(default=None, compare=False, repr=False)
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def method_key(self) -> str:
        try:
            return inpaint_method(self.method).key
        except UnknownNameError:
            return self.method

    def problems(self, facts: ModelFacts) -> list[str]:
        problems = common_problems(self, facts, "image")
        if problems and facts.spec.modality != "image":
            return problems
        if self.method_key not in INPAINT_METHODS:
            problems.append(f"unknown inpainting method '{self.method}' "
                            f"(known: {', '.join(INPAINT_METHODS)})")
        elif (why := method_mismatch(self.method_key, facts.kind)):
            problems.append(f"{facts.name}: {why}")     # which model: a CLI names a file
        if p := number_problem("variations", self.n, 1, MAX_VARIATIONS, integer=True):
            problems.append(p)
        if self.method_key == "resample" and (p := number_problem(
                "candidates", self.candidates, 1, MAX_CANDIDATES, integer=True)):
            problems.append(p)
        if self.method_key == "any-order" and self.order not in ORDERS:
            problems.append(f"unknown order '{self.order}' (known: {', '.join(ORDERS)})")
        if self.calls and self.method_key != "any-order":
            problems.append("network calls are for the any-order method: the raster "
                            "methods draw one sub-pixel per call")
        else:
            problems += calls_problems(self.calls, facts)
        problems += guidance_problems(self.guidance, facts)
        method = INPAINT_METHODS.get(self.method_key)
        if self.guidance != 1 and method is not None and not method.guided:
            from ..sampling.inpaint import RESAMPLE_UNGUIDED

            problems.append(RESAMPLE_UNGUIDED)
        return problems + self._picture_problems(facts)

    def _picture_problems(self, facts: ModelFacts) -> list[str]:
        c = facts.codec
        if self.image is None:
            return ["load an image first: File > Open, drop a file, paste one, or use a "
                    "generated sample"]
        if self.image.shape != (c.channels, c.height, c.width):
            return [f"the image is {tuple(self.image.shape)} levels; this model needs "
                    f"{(c.channels, c.height, c.width)}"]
        if self.mask is None or self.mask.shape != (c.height, c.width):
            return [f"the mask must be {c.height} x {c.width}"]
        if not self.mask.any():
            return ["the mask hides no pixel: paint the region to fill first"]
        return []

    @property
    def hidden(self) -> int:
        return int(self.mask.sum()) if self.mask is not None else 0

    def events(self, bundle, device=None) -> Iterator:
        self.check(bundle)
        if self.calls:
            return budgeted_events(bundle, self.n, self.label, self.temperature, self.seed,
                                   self.calls, self.order, device, image=self.image,
                                   mask=self.mask, guidance=self.guidance)
        sampler = load_function(inpaint_method(self.method).sampler)
        return sampler(bundle.net, bundle.codec, self.image, self.mask, self.n, self.label,
                       self.temperature, self.seed, candidates=self.candidates,
                       order=self.order, device=device, guidance=self.guidance)

    def to_params(self, model) -> dict:
        facts = ModelFacts.of(model)
        key = self.method_key
        return {**header("inpaint", facts), "method": key,
                "candidates": self.candidates if key == "resample" else 1,
                "order": self.order if key == "any-order" else "raster", "n": self.n,
                "seed": self.seed, **label_params(self.label, facts),
                "temperature": self.temperature, "hidden": self.hidden,
                **guidance_params(self.guidance, facts),
                **({"calls": self.calls} if self.calls and key == "any-order" else {})}

    @classmethod
    def from_params(cls, params: dict, image=None, mask=None) -> InpaintRequest:
        method = pick(params, "method", str, "raster")
        try:
            method = inpaint_method(method).key      # a first-release file says "anyorder"
        except UnknownNameError:
            pass
        return cls(model=pick(params, "model", str, ""), method=method,
                   candidates=max(1, pick(params, "candidates", int, 8)),
                   order=pick(params, "order", str, "nearest"), n=pick(params, "n", int, 4),
                   calls=max(0, pick(params, "calls", int, 0)),
                   label=label_from_params(params),
                   temperature=pick(params, "temperature", float, 1.0),
                   seed=pick(params, "seed", int, 1), image=image, mask=mask,
                   guidance=pick(params, "guidance", float, 1.0))
