"""Classifier-free guidance (Ho & Salimans 2022) for the class-conditional image models.

Every bundled image model was trained with its class dropped on 10% of examples, so one net
gives each sub-pixel's distribution both with the class, p(v | x_<i, c), and without it,
p(v | x_<i). Guidance at scale w draws from

    log p_w(v) = log p(v | x_<i) + w * (log p(v | x_<i, c) - log p(v | x_<i)) + const,

so w = 1 is the model itself, w = 0 ignores the class, and w > 1 leans every step towards
what makes the class more likely than it is on average. The samples are then more clearly
of their class and a little less varied; they are no longer draws from the model's own
likelihood, so reported log-probabilities are those of the guided distribution.

With w > 1 only values the class-conditional model itself finds plausible stay drawable:
its nucleus, the likeliest values holding all but TAIL of its probability (in the spirit of
contrastive decoding's plausibility constraint, Li et al. 2023). Without it, w multiplies
the two distributions' disagreement in their far tails too: where both say "white, surely"
(an emoji's empty border) but the class-conditional one thinks a stray magenta a little less
impossible than the other, w = 2 made 5% of the emoji border pixels coloured (none are, in
the data or unguided), and w = 2.5 20%. The cut is by mass, not by each value's probability
against the favourite's: a pixel "white (p 0.7) or some orange (0.3 spread over 30 levels)"
must keep its oranges, and a cut at a tenth of the favourite's probability drew the emoji
nearly blank. At w = 3 on `emoji` with TAIL 0.01 the classifier named the asked group 0.81
times as often as on real emoji (3 seeds, 864 samples), speckle 1.02 of real; with 0.001,
0.82 and 0.69 on two seeds, speckle 1.31 and 1.34: too little of the tail went (models/README.md).

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
# Above scale 1, the share of the class model's probability (its least likely values) that
# guidance may never draw from (the module's docstring says why and how it was chosen).
TAIL = 0.01
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

        from .draw import shape_logits

        logits = torch.as_tensor(logits)
        if not self.active:
            return logits
        half = logits.shape[0] // 2
        cond = logits[:half].float().log_softmax(-1)
        free = logits[half:].float().log_softmax(-1)
        guided = free + self.scale * (cond - free)
        if self.scale <= 1.0:       # 1 is the model, below it leans away from the class
            return guided
        implausible = torch.isinf(shape_logits(cond, top_p=1.0 - TAIL))
        return guided.masked_fill(implausible, float("-inf"))

    def choose(self, values, logits, gen, temperature: float):
        """(values for the batch, values shown (n,), the logits they were drawn from)."""
        import torch

        from .draw import draw

        if not self.active:
            return values, values, torch.as_tensor(logits)
        guided = self.logits(logits)
        chosen = draw(guided, gen, temperature)[0].to(values.device)
        return self.widen(chosen), chosen, guided
