"""Classifier-free guidance (Ho & Salimans 2022) for the class-conditional image models.

Every bundled image model was trained with its class dropped on 10% of examples, so one net
gives each sub-pixel's distribution both with the class, p(v | x_<i, c), and without it,
p(v | x_<i). Guidance at scale w draws from

    log p_w(v) = log p(v | x_<i) + w * (log p(v | x_<i, c) - log p(v | x_<i)) + const,

so w = 1 is the model itself, w = 0 ignores the class, and w > 1 leans every step towards
what makes the class more likely than it is on average. The samples are then more clearly
of their class and a little less varied; they are no longer draws from the model's own
likelihood, so reported log-probabilities are those of the guided distribution.

It costs one batch of 2n images instead of n (the second half carries the "any class"
label and the same drawn values). The samplers draw through the same paths as without
guidance (naive, cached, compiled); the net's own draw on the wide batch uses a throwaway
generator, and each value is drawn from the guided logits with the caller's generator, so
every path makes the same choices. (torch is imported where used: the command line and the
window read the scales without loading it.)
"""
from __future__ import annotations


def guidance_problem(scale: float) -> str | None:
    """Why `scale` is not a usable guidance scale, or None."""
    if not isinstance(scale, (int, float)) or not 0 <= scale <= MAX_SCALE:
        return f"guidance must be between 0 and {MAX_SCALE:g} (1 = none), got {scale}"
    return None


MAX_SCALE = 10.0
# What the Image tab and `chainrule sample image` start with for a class-conditional model:
# the scale that made the bundled models' samples most recognisable (models/README.md).
DEFAULT_SCALE = 2.0


class Guidance:
    """One sampler's guidance: which labels the net sees and how a value is chosen.

    Inactive (scale 1, an unconditional net, or every image asking for "any class") it
    changes nothing: the batch stays n wide and values come from the net's own draw."""

    def __init__(self, net, n: int, y, scale: float):
        """`y`: the n images' labels (resolve_labels), None for an unconditional net."""
        import torch

        null = net.null_label(n, y.device) if y is not None else None
        self.n, self.scale = n, float(scale)
        self.active = null is not None and scale != 1.0 and bool((y != null).any())
        self.labels = torch.cat([y, null]) if null is not None and self.active else y

    @property
    def batch(self) -> int:
        return 2 * self.n if self.active else self.n

    def widen(self, t):
        """A per-image tensor (n, ...) for the net's batch: both halves the same."""
        import torch

        return torch.cat([t, t]) if self.active else t

    def shown(self, t):
        """The guided images' part of a batch tensor."""
        return t[:self.n] if self.active else t

    def net_generator(self, gen):
        """The generator the net's own draws use: the caller's, or a throwaway one."""
        if not self.active:
            return gen
        from ..devices import make_generator

        return make_generator(0, gen.device)

    def pass_over(self, gen) -> None:
        """A step whose value is known (inpainting): the net's own draw used n uniforms of
        the caller's generator without guidance, so as many are used here, and the draws
        stay in step with an unguided run (guidance 0 draws what "any class" draws)."""
        if self.active:
            import torch

            torch.rand(self.n, generator=gen, device=gen.device)

    def logits(self, logits):
        """Guided logits (m, L) from the batch's (2m, L), whose first half has the classes
        and second half the same rows without (m = n, or n * k for k sub-pixels per image);
        unchanged when inactive."""
        import torch

        logits = torch.as_tensor(logits)
        if not self.active:
            return logits
        half = logits.shape[0] // 2
        cond = logits[:half].float().log_softmax(-1)
        free = logits[half:].float().log_softmax(-1)
        return free + self.scale * (cond - free)

    def choose(self, values, logits, gen, temperature: float):
        """(values for the batch, values shown (n,), the logits they were drawn from)."""
        import torch

        from .draw import draw

        if not self.active:
            return values, values, torch.as_tensor(logits)
        guided = self.logits(logits)
        chosen = draw(guided, gen, temperature)[0].to(values.device)
        return self.widen(chosen), chosen, guided
