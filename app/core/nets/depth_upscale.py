"""Depth upscaling (Menick & Kalchbrenner 2018, "Generating High Fidelity Images with Subscale
Pixel Networks and Multidimensional Upscaling", section 3.2).

Every sub-pixel's value v (0..levels-1, levels = 2^bits) is cut into its `coarse_bits` most
significant bits c = v >> f and the f = bits - coarse_bits remaining ones r = v & (2^f - 1).
Two Gated PixelCNNs (pixelcnn.py) share the work:

- stage one draws the coarse image c in raster order (R -> G -> B within a pixel), as a
  PixelCNN with 2^coarse_bits levels would;
- stage two draws the fine bits r in raster order again, but every gate of it also gets a
  bias computed from the *whole* coarse image by an unmasked encoder (dilated gated
  convolutions). The coarse image is known in full by then, so nothing leaks: what stage two
  must not see are its own later fine bits, and its masks see to that.

v <-> (c, r) is one-to-one, so log p(v) = log p(c) + log p(r | c) exactly, and the bits/dim
of the sum compare with a single-stage model's on the same data.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..config import DepthUpscaleConfig
from .anyorder import GatedBlock
from .image_base import ImageNetMixin
from .pixelcnn import GatedPixelCNN

ENCODER_DILATIONS = (1, 2, 4, 8)


class CoarseEncoder(nn.Module):
    """The coarse image (B, C, H, W) levels -> every stage-two layer's gate biases
    (B, L*4h, H, W). Unmasked: the whole coarse image is known when stage two runs."""

    def __init__(self, config: DepthUpscaleConfig, stage_layers: int):
        super().__init__()
        hid = config.condition_hidden
        self.levels = 2 ** config.coarse_bits
        self.inp = nn.Conv2d(config.channels, hid, 3, padding=1)
        self.blocks = nn.ModuleList(
            GatedBlock(hid, ENCODER_DILATIONS[i % len(ENCODER_DILATIONS)], config.num_classes)
            for i in range(config.condition_blocks))
        self.out = nn.Conv2d(hid, stage_layers * 4 * config.hidden, 1)

    def scale_input(self, coarse: torch.Tensor) -> torch.Tensor:
        return coarse.float() * (2.0 / (self.levels - 1)) - 1.0

    def forward(self, coarse: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        h = self.inp(self.scale_input(coarse))
        for block in self.blocks:
            h = block(h, y)
        return self.out(F.relu(h))


class DepthUpscaleNet(ImageNetMixin, nn.Module):
    def __init__(self, config: DepthUpscaleConfig):
        super().__init__()
        self.config = config
        self.coarse = GatedPixelCNN(config.stage_config(0))
        self.fine = GatedPixelCNN(config.stage_config(1))
        self.encoder = CoarseEncoder(config, len(self.fine.layers))

    # ----- the bits -----------------------------------------------------------------------
    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Levels -> (coarse bits, fine bits), same shape each."""
        f = self.config.fine_bits
        return x >> f, x & ((1 << f) - 1)

    def join(self, coarse: torch.Tensor, fine: torch.Tensor) -> torch.Tensor:
        return (coarse << self.config.fine_bits) | fine

    def coarse_levels(self, coarse: torch.Tensor) -> torch.Tensor:
        """A coarse value as a full level, at the middle of the fine values it stands for
        (what a viewer shows for a sub-pixel whose fine bits are not drawn yet)."""
        return self.join(coarse, torch.full_like(coarse, 1 << (self.config.fine_bits - 1)))

    # ----- the two stages -----------------------------------------------------------------
    def fine_biases(self, coarse: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Stage two's gate biases (B, L*4h, H, W) from the whole coarse image."""
        if y is None:
            y = self.null_label(coarse.shape[0], coarse.device)
        return self.encoder(coarse, y)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, C, H, W) levels -> (coarse logits (B, 2^coarse_bits, C, H, W), fine logits
        (B, 2^fine_bits, C, H, W)): each sub-pixel's coarse bits given the coarse image before
        it, and its fine bits given the whole coarse image and the fine bits before it."""
        if y is None:
            y = self.null_label(x.shape[0], x.device)
        coarse, fine = self.split(x)
        return self.coarse(coarse, y), self.fine(fine, y, self.fine_biases(coarse, y))

    def stage_nll(self, x: torch.Tensor, y: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """(stage one, stage two) negative log-likelihoods in nats, summed over each image's
        sub-pixels: (B,) each. Their sum is -log p(x)."""
        coarse, fine = self.split(x)
        coarse_logits, fine_logits = self(x, y)
        one = F.cross_entropy(coarse_logits, coarse, reduction="none").flatten(1).sum(1)
        two = F.cross_entropy(fine_logits, fine, reduction="none").flatten(1).sum(1)
        return one, two

    def level_log_probs(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """log p over each sub-pixel's full levels, (B, levels, C, H, W), what the views show
        (see full_level_log_probs): exact for the value x holds."""
        coarse_logits, fine_logits = self(x, y)
        return full_level_log_probs(coarse_logits.log_softmax(1).movedim(1, -1),
                                    fine_logits.log_softmax(1).movedim(1, -1),
                                    self.split(x)[0]).movedim(-1, 1)

    def nll(self, batch: dict) -> torch.Tensor:
        """Mean negative log-likelihood in nats per sub-pixel, one value per image: (B,);
        exact (the two stages' terms added, then divided by the sub-pixels)."""
        one, two = self.stage_nll(batch["x"], batch.get("y"))
        return (one + two) / batch["x"][0].numel()


def spread_over_bins(coarse_logp: torch.Tensor, width: int) -> torch.Tensor:
    """Coarse log-probabilities (..., 2^c) spread evenly over the `width` full levels of
    each bin: (..., 2^c * width). What stage one says of a sub-pixel's full value."""
    return coarse_logp.repeat_interleave(width, dim=-1) - math.log(width)


def full_level_log_probs(coarse_logp: torch.Tensor, fine_logp: torch.Tensor,
                         coarse: torch.Tensor) -> torch.Tensor:
    """One distribution over a sub-pixel's full levels from its two stages: (..., levels).

    coarse_logp (..., 2^c) and fine_logp (..., 2^f) are the stages' log-probabilities, coarse
    (...) the coarse value drawn. Inside the drawn bin: log p(coarse) + log p(fine); every
    other bin keeps its coarse probability spread evenly over its values (stage two was run
    for the drawn bin only, so that is all the model says of them). Sums to one, and the
    drawn value's entry is its exact log-probability.
    """
    width = fine_logp.shape[-1]
    spread = spread_over_bins(coarse_logp, width)                           # (..., L)
    inside = coarse_logp.gather(-1, coarse[..., None]) + fine_logp          # (..., 2^f)
    where = coarse[..., None] * width + torch.arange(width, device=coarse.device)
    return spread.scatter(-1, where, inside)
