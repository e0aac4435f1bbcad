"""Requests to draw images: a grid from one model (Generate), or two models side by side
with the same seed, class, temperature and grid (Compare)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from ..registry import KINDS, ORDERS
from .base import (
    ModelFacts,
    Request,
    RequestError,
    common_problems,
    header,
    label_from_params,
    label_params,
    number_problem,
    pick,
)

MAX_IMAGES = 256


@dataclass(frozen=True)
class ImageRequest(Request):
    model: str = ""
    n: int = 16
    label: int | None = None
    temperature: float = 1.0
    seed: int = 1
    order: str = ""          # "" = the model's own order (any-order models: random)
    naive: bool = False      # full recompute per pixel, for comparison
    calls: int = 0           # network calls (any-order models); 0 = one per sub-pixel
    small: str = ""          # an image file to upscale: a Subscale Pixel Network takes it as
                             #   its first slice (1/S of each side) and draws the rest
    guidance: float = 1.0    # classifier-free guidance scale (sampling/guidance.py), 1 = none

    def order_for(self, facts: ModelFacts) -> str:
        return facts.spec.fixed_order or self.order or "random"

    def problems(self, facts: ModelFacts) -> list[str]:
        problems = common_problems(self, facts, "image")
        if problems and facts.spec.modality != "image":
            return problems
        if p := number_problem("number of images", self.n, 1, MAX_IMAGES, integer=True):
            problems.append(p)
        problems += order_problems(self.order, facts)
        problems += calls_problems(self.calls, facts)
        problems += guidance_problems(self.guidance, facts)
        if self.small and not facts.spec.upscales:
            problems.append(f"{facts.name} is {facts.spec.article}: only a Subscale Pixel "
                            "Network starts from a small image")
        return problems

    def small_levels(self, bundle):
        """The small image to upscale, read at the model's first-slice size, as levels
        (C, H/S, W/S); MediaError (one line) for a file that is not a usable image."""
        from dataclasses import replace as changed

        from ..media import MediaError, read_image

        codec, s = bundle.codec, bundle.config.scale
        small = changed(codec, height=codec.height // s, width=codec.width // s)
        try:
            pixels = read_image(self.small, small.height, small.width, codec.channels)
        except MediaError as err:
            raise MediaError(f"{self.small}: {err}") from None
        return small.encode(pixels)

    def events(self, bundle, device=None, report: bool = False) -> Iterator:
        """The sampler's events; `report`: each step carries its distribution."""
        from ..sampling.image import sample_images

        facts = self.check(bundle)
        if self.small:
            import numpy as np

            from ..sampling.subscale import sample_subscale

            one = self.small_levels(bundle)                              # (C, h, w)
            small = np.broadcast_to(one, (self.n, *one.shape))
            return sample_subscale(bundle.net, bundle.codec, self.n, self.label,
                                   self.temperature, self.seed, device=device, report=report,
                                   small=small, guidance=self.guidance)
        if self.calls:
            return budgeted_events(bundle, self.n, self.label, self.temperature, self.seed,
                                   self.calls, self.order_for(facts), device, report,
                                   guidance=self.guidance)
        return sample_images(bundle.net, bundle.codec, self.n, self.label, self.temperature,
                             self.seed, naive=self.naive, device=device,
                             order=self.order_for(facts), report=report,
                             guidance=self.guidance)

    def to_params(self, model) -> dict:
        facts = ModelFacts.of(model)
        return {**header("generate", facts), "seed": self.seed,
                **label_params(self.label, facts), "temperature": self.temperature,
                **guidance_params(self.guidance, facts),
                "order": self.order_for(facts), "n": self.n,
                **({"calls": self.calls} if self.calls else {}),
                **({"upscaled_from": self.small} if self.small else {})}

    @classmethod
    def from_params(cls, params: dict) -> ImageRequest:
        return cls(model=pick(params, "model", str, ""), n=pick(params, "n", int, 16),
                   label=label_from_params(params), temperature=pick(params, "temperature",
                                                                     float, 1.0),
                   seed=pick(params, "seed", int, 1), order=pick(params, "order", str, ""),
                   calls=max(0, pick(params, "calls", int, 0)),
                   small=pick(params, "upscaled_from", str, ""),
                   # Saved before guidance existed: drawn without it.
                   guidance=pick(params, "guidance", float, 1.0))


def guidance_problems(scale: float, facts: ModelFacts) -> list[str]:
    from ..sampling.guidance import guidance_problem

    if problem := guidance_problem(scale):
        return [problem]
    if scale != 1 and not facts.num_classes:
        return [f"{facts.name} was trained without classes: guidance leans on a class, so "
                "it needs a class-conditional model (set guidance to 1)"]
    return []


def guidance_params(scale: float, facts: ModelFacts) -> dict:
    """The scale a result was drawn with, for a model that can be guided."""
    return {"guidance": scale} if facts.num_classes else {}


def calls_problems(calls: int, facts: ModelFacts) -> list[str]:
    if not calls:
        return []
    if not isinstance(calls, int) or calls < 1:
        return [f"network calls must be a whole number of at least 1 (got {calls})"]
    if not facts.spec.parallel:
        return [f"{facts.name} is {facts.spec.article}: it draws one sub-pixel per network "
                "call; only an any-order model draws several at once"]
    return []


def budgeted_events(bundle, n: int, labels, temperature: float, seed: int, calls: int,
                    order, device=None, report: bool = False, image=None, mask=None,
                    guidance: float = 1.0) -> Iterator:
    """Draw (or fill) in `calls` network calls, planned from the model's measured per-step
    losses when its held-out data is at hand (see app/core/step_losses.py). The first time
    for a model, a Notice says the losses are being measured (seconds, then cached)."""
    import numpy as np

    from ..sampling.budget import sample_budgeted
    from ..sampling.events import Notice
    from ..sampling.schedule import plan
    from ..step_losses import cached, measured

    codec = bundle.codec
    hidden = codec.height * codec.width if mask is None else int(np.asarray(mask).sum())
    total = hidden * codec.channels
    start = codec.channels * codec.height * codec.width - total
    if cached(bundle.path) is None:
        yield Notice(f"Planning {calls} network calls: measuring the model's loss per step "
                     "on held-out images (once for this model)\u2026")
    sizes = plan(total, calls, measured(bundle, device), start)
    yield from sample_budgeted(bundle.net, codec, n, labels, temperature, seed, sizes, order,
                               image=image, mask=mask, device=device, report=report,
                               guidance=guidance)


def order_problems(order: str, facts: ModelFacts) -> list[str]:
    if not order:
        return []
    if order not in ORDERS:
        return [f"unknown order '{order}' (known: {', '.join(ORDERS)})"]
    fixed = facts.spec.fixed_order
    if fixed and order != fixed:
        return [f"{facts.name} is {facts.spec.article}: it draws in {fixed} order only"]
    return []


@dataclass(frozen=True)
class CompareRequest(Request):
    """`left` says everything but the second model; the right side gets the same seed,
    temperature and grid, and the same class where its classes are the same."""

    left: ImageRequest = ImageRequest()
    other_model: str = ""

    def other_label(self, facts: ModelFacts, other: ModelFacts) -> int | None:
        return self.left.label if other.num_classes and \
            other.class_names == facts.class_names else None

    def problems(self, facts: ModelFacts, other: ModelFacts | None = None) -> list[str]:
        # The order and the network calls are for whichever side can take them.
        left = replace(self.left, order="") if facts.spec.fixed_order else self.left
        problems = replace(left, calls=0).problems(facts)
        if other is None:
            return problems + ["choose a model to compare with"]
        if other.spec.modality != "image":
            return problems + [f"{other.name} is {other.spec.article}, not an image model"]
        if other.path == facts.path:
            problems.append("choose two different models: the same one would draw the same "
                            "images twice")
        if self.left.label is not None and other.num_classes and \
                other.class_names != facts.class_names:
            problems.append(f"{other.name} was trained on other classes than {facts.name}: "
                            "choose class 'any', or two models trained on the same data")
        if self.left.calls and not (facts.spec.parallel or other.spec.parallel):
            problems += calls_problems(self.left.calls, facts)
        if not facts.spec.fixed_order or not other.spec.fixed_order:
            return problems
        if self.left.order and self.left.order not in (facts.spec.fixed_order,
                                                       other.spec.fixed_order):
            problems.append("both models draw in their own order only")
        return problems

    def check_pair(self, model, other) -> tuple[ModelFacts, ModelFacts]:
        facts, other_facts = ModelFacts.of(model), ModelFacts.of(other)
        problems = self.problems(facts, other_facts)
        if problems:
            raise RequestError(problems)
        return facts, other_facts

    def orders(self, facts: ModelFacts, other: ModelFacts) -> list[str]:
        return [f.spec.fixed_order or self.left.order or "random" for f in (facts, other)]

    def events(self, bundles, device=None) -> Iterator:
        from ..sampling.compare import sample_side_by_side
        from ..sampling.image import sample_images

        facts, other = self.check_pair(*bundles)
        labels = (self.left.label, self.other_label(facts, other))
        r = self.left
        # Guidance is for both sides; it leaves alone a side drawing "any class".
        return sample_side_by_side([
            budgeted_events(b, r.n, label, r.temperature, r.seed, r.calls, order, device,
                            guidance=r.guidance)
            if r.calls and f.spec.parallel else
            sample_images(b.net, b.codec, r.n, label, r.temperature, r.seed, order=order,
                          device=device, guidance=r.guidance)
            for b, f, label, order in zip(bundles, (facts, other), labels,
                                          self.orders(facts, other))])

    def to_params(self, model, other) -> dict:
        facts, other_facts = ModelFacts.of(model), ModelFacts.of(other)
        r = self.left
        return {**header("compare", facts), "models": [facts.name, other_facts.name],
                "other_model": other_facts.name, "seed": r.seed,
                **label_params(r.label, facts), "temperature": r.temperature,
                "guidance": r.guidance,
                "orders": self.orders(facts, other_facts), "order": r.order, "n": r.n,
                **({"calls": r.calls} if r.calls else {})}

    @classmethod
    def from_params(cls, params: dict) -> CompareRequest:
        order = params.get("order")
        if not isinstance(order, str):
            # Saved without the order asked for: it is the one a side that can choose used,
            # when that is not a fixed one.
            fixed = {spec.fixed_order for spec in KINDS.values()}
            free = [o for o in params.get("orders") or [] if isinstance(o, str) and
                    o not in fixed]
            order = free[0] if free else ""
        left = ImageRequest.from_params({**params, "order": order})
        return cls(left=left, other_model=pick(params, "other_model", str, ""))
