"""The discretized logistic mixture output of PixelCNN++ (Salimans et al. 2017), as an option
for the image nets' softmax over `levels` values.

A softmax learns every one of a sub-pixel's 256 values on its own, so with little data it
leaves stray mass on values it has rarely seen: a grain of wrong colours. A mixture of K
logistics spends 3K numbers per sub-pixel (weights, means, scales) and says that nearby
values are alike. Here each sub-pixel gets its own mixture; the colour groups of the net
already let G see R and B see R and G, so the mixture needs no channel coefficients.

The mixture is turned into log-probabilities of all `levels` values at once, so everything
downstream (sampling, temperature, guidance, inpainting, the views) sees an ordinary
distribution over levels. Values are the bins of [-1, 1] that `scale_input` maps levels to;
the two end bins take the tails.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

# exp(-7) is about a thousandth of [-1, 1]: sharper than any bin of 256 needs (PixelCNN++'s
# floor too). Without it a collapsing scale makes the loss's gradients blow up.
MIN_LOG_SCALE = -7.0


@functools.lru_cache(maxsize=8)
def _bins(levels: int, device: torch.device, dtype: torch.dtype
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """(the levels-1 boundaries between neighbouring bins, 1 for the inner bins and 0 for
    the two end bins): built once, as sampling asks for them at every sub-pixel."""
    edges = torch.linspace(-1.0 + 1.0 / (levels - 1), 1.0 - 1.0 / (levels - 1), levels - 1,
                           device=device, dtype=dtype)
    inner = torch.ones(levels, device=device, dtype=dtype)
    inner[0] = inner[-1] = 0.0
    return edges, inner


def mixture_log_probs(params: torch.Tensor, levels: int) -> torch.Tensor:
    """params (..., 3K): K mixture logits, K means, K log-scales -> log p of each level,
    (..., levels), normalised (the bins' probabilities telescope to exactly 1)."""
    logit_weights, means, log_scales = params.chunk(3, dim=-1)
    log_weights = logit_weights.log_softmax(-1)
    inv_scales = torch.exp(-log_scales.clamp(min=MIN_LOG_SCALE))
    edges, inner = _bins(levels, params.device, params.dtype)
    z = (edges - means.unsqueeze(-1)) * inv_scales.unsqueeze(-1)         # (..., K, levels-1)
    # log(sigmoid(a) - sigmoid(b)) = logsigmoid(a) + logsigmoid(-b) + log(1 - exp(b - a)),
    # with a, b the bin's upper and lower edges: stable for bins far out in the tails, where
    # the plain difference of two sigmoids rounds to zero. b - a is the same for every bin.
    upper = F.pad(F.logsigmoid(z), (0, 1))                 # the last bin has no upper edge
    lower = F.pad(F.logsigmoid(-z), (1, 0))                # the first has no lower edge
    width = torch.log(-torch.expm1(-(2.0 / (levels - 1)) * inv_scales))  # (..., K)
    per_component = upper + lower + width.unsqueeze(-1) * inner
    return torch.logsumexp(per_component + log_weights.unsqueeze(-1), dim=-2)


def mixture_log_prob_at(params: torch.Tensor, values: torch.Tensor, levels: int
                        ) -> torch.Tensor:
    """log p of one level per sub-pixel: params (..., 3K), values (...) integer levels ->
    (...). The same numbers as mixture_log_probs(params, levels) gathered at `values`, at a
    K/levels-th of the cost: what the training loss needs."""
    logit_weights, means, log_scales = params.chunk(3, dim=-1)
    inv_scales = torch.exp(-log_scales.clamp(min=MIN_LOG_SCALE))
    half = 1.0 / (levels - 1)
    v = values.unsqueeze(-1)
    centre = v.to(params.dtype) * (2.0 * half) - 1.0
    upper_z = (centre + half - means) * inv_scales
    lower_z = (centre - half - means) * inv_scales
    first, last = v == 0, v == levels - 1
    zero = torch.zeros((), dtype=params.dtype, device=params.device)
    per_component = (torch.where(last, zero, F.logsigmoid(upper_z))
                     + torch.where(first, zero, F.logsigmoid(-lower_z))
                     + torch.where(first | last, zero,
                                   torch.log(-torch.expm1(-(2.0 * half) * inv_scales))))
    return torch.logsumexp(per_component + logit_weights.log_softmax(-1), dim=-1)


def mixture_outputs(components: int) -> int:
    """Numbers per sub-pixel the net's last layer gives for a mixture of `components`."""
    return 3 * components
