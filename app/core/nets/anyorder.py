"""An order-agnostic autoregressive image model (Uria et al. 2014, order-agnostic NADE;
Hoogeboom et al. 2022, Autoregressive Diffusion Models).

The net sees the image with its hidden sub-pixels blanked plus one visibility channel per
colour channel, and predicts a distribution over `levels` values for every sub-pixel. It
is trained on random orderings: for each image a number t of visible sub-pixels is drawn
uniformly from 0..D-1 and a random set of that size is shown; the loss is the mean
cross-entropy over the hidden ones. That is an unbiased estimate (per dimension) of the
negative log-likelihood bound averaged over all orderings, so it is reported in bits/dim
like the PixelCNN's exact figure, but it is an upper bound, not an exact likelihood.

Because every visible pixel is an input, a hole is filled knowing all of its surroundings,
in whatever order the sampler chooses. The price: no cache, one full pass per pixel.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import AnyOrderConfig
from .image_base import ImageNetMixin

DILATIONS = (1, 2, 4, 8)


class GatedBlock(nn.Module):
    """Dilated 3x3 convolution, class bias, tanh x sigmoid gate, 1x1 projection, residual."""

    def __init__(self, hidden: int, dilation: int, num_classes: int):
        super().__init__()
        self.conv = nn.Conv2d(hidden, 2 * hidden, 3, padding=dilation, dilation=dilation)
        self.proj = nn.Conv2d(hidden, hidden, 1)
        self.cond = nn.Embedding(num_classes + 1, 2 * hidden) if num_classes else None

    def forward(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        pre = self.conv(h)                                           # (B, 2h, H, W)
        if self.cond is not None:
            pre = pre + self.cond(y)[:, :, None, None]
        a, b = pre.chunk(2, dim=1)
        return h + self.proj(torch.tanh(a) * torch.sigmoid(b))


class AnyOrderNet(ImageNetMixin, nn.Module):
    def __init__(self, config: AnyOrderConfig):
        super().__init__()
        self.config = config
        c, hid = config.channels, config.hidden
        self.inp = nn.Conv2d(2 * c, hid, 3, padding=1)
        # Where am I? Blank regions look alike everywhere; the position says what usually
        # goes there (a digit's strokes sit in the middle).
        self.position = nn.Parameter(torch.zeros(1, hid, config.height, config.width))
        self.blocks = nn.ModuleList(
            GatedBlock(hid, DILATIONS[i % len(DILATIONS)], config.num_classes)
            for i in range(config.blocks))
        self.out1 = nn.Conv2d(hid, config.output_hidden, 1)
        self.out2 = nn.Conv2d(config.output_hidden, c * config.levels, 1)

    def trunk(self, x: torch.Tensor, visible: torch.Tensor,
              y: torch.Tensor | None = None) -> torch.Tensor:
        """Features (B, hidden, H, W) of every position. Hidden values are blanked here, so
        whatever x holds there cannot leak through."""
        if y is None:
            y = self.null_label(x.shape[0], x.device)
        shown = visible.to(torch.float32)
        scaled = (x.float() * (2.0 / (self.config.levels - 1)) - 1.0) * shown
        h = self.inp(torch.cat([scaled, shown * 2.0 - 1.0], dim=1)) + self.position
        for block in self.blocks:
            h = block(h, y)
        return h

    def forward(self, x: torch.Tensor, visible: torch.Tensor,
                y: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, C, H, W) levels, visible: (B, C, H, W) bool -> logits (B, levels, C, H, W)."""
        logits = self.out2(F.relu(self.out1(F.relu(self.trunk(x, visible, y)))))
        b, _, hh, ww = logits.shape
        return logits.view(b, self.config.channels, self.config.levels, hh, ww).transpose(1, 2)

    def logits_at(self, x: torch.Tensor, visible: torch.Tensor, y, row: int, col: int,
                  channel: int) -> torch.Tensor:
        """Logits (B, levels) of one sub-pixel: the 1x1 head runs at that position only."""
        h = F.relu(self.trunk(x, visible, y)[:, :, row, col])             # (B, hidden)
        levels = self.config.levels
        w1, b1 = self.out1.weight[:, :, 0, 0], self.out1.bias
        rows = slice(channel * levels, (channel + 1) * levels)
        bias2 = self.out2.bias
        assert bias2 is not None                                          # built with one
        w2, b2 = self.out2.weight[rows, :, 0, 0], bias2[rows]
        return F.linear(F.relu(F.linear(h, w1, b1)), w2, b2)

    def random_visible(self, x: torch.Tensor) -> torch.Tensor:
        """A uniformly random visible set per image, its size uniform in 0..D-1: (B, C, H, W)."""
        b = x.shape[0]
        dims = x[0].numel()
        ranks = torch.rand(b, dims, device=x.device).argsort(1).argsort(1)
        shown = torch.randint(0, dims, (b, 1), device=x.device)
        return (ranks < shown).view_as(x)

    def nll(self, batch: dict) -> torch.Tensor:
        """Per image, the mean cross-entropy over hidden sub-pixels (nats/dim estimate): (B,)."""
        x = batch["x"]
        visible = self.random_visible(x)
        logits = self(x, visible, batch.get("y"))
        ce = F.cross_entropy(logits, x, reduction="none").flatten(1)  # (B, D)
        hidden = (~visible).flatten(1).float()
        return (ce * hidden).sum(1) / hidden.sum(1)
