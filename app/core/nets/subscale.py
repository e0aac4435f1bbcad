"""Subscale Pixel Network (Menick & Kalchbrenner 2018, "Generating High Fidelity Images with
Subscale Pixel Networks and Multidimensional Upscaling"), small, grey or colour.

The image is cut into S x S interleaved slices: pixel (i, j) belongs to slice (i mod S,
j mod S), and slice k = a*S + b holds the pixels (a + S*r, b + S*c). Slices are generated in
raster order of (a, b), and each slice pixel by pixel in raster order of (r, c). So the first
slice is a coarse, spread-out sketch of the whole image that later slices fill in: with
S = 2 it is the image at half size, and the other slices are the network's size upscaling
of it (the paper's multidimensional upscaling in size), which sampling can also start from
a given small image (sampling/subscale.py).

Two parts, as in the paper:
- a conditioning network sees every earlier slice (space-to-depth, later slices zeroed), a
  mask of which slices are known and an embedding of k, through unmasked gated residual
  convolutions -> a context map the size of one slice;
- a masked decoder (a small Gated PixelCNN, vertical + horizontal stacks, R -> G -> B
  channel masks in colour) generates slice k in raster order, with the context map
  (1x1-projected) and the class embedding added to every gate.

Training runs all S*S slices of a batch in one pass (B*S*S slice items), so the loss is the
exact negative log-likelihood of the whole image in the subscale order.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import SubscaleConfig
from .anyorder import GatedBlock
from .image_base import ImageNetMixin
from .pixelcnn import GatedLayer, MaskedConv2d, channel_groups, gate

CONTEXT_DILATIONS = (1, 2, 4)   # a slice is small (7 x 7 for 28 / 4): larger gaps see nothing
FIRST_KERNEL, KERNEL = 5, 3


def to_slices(x: torch.Tensor, scale: int) -> torch.Tensor:
    """(..., H, W) -> (..., S*S, H/S, W/S): out[..., a*S + b, r, c] = x[..., a + S*r, b + S*c]."""
    *lead, hh, ww = x.shape
    n = len(lead)
    y = x.reshape(*lead, hh // scale, scale, ww // scale, scale)      # (..., r, a, c, b)
    y = y.permute(*range(n), n + 1, n + 3, n, n + 2)                  # (..., a, b, r, c)
    return y.reshape(*lead, scale * scale, hh // scale, ww // scale)


def from_slices(x: torch.Tensor, scale: int) -> torch.Tensor:
    """The inverse of to_slices: (..., S*S, h, w) -> (..., h*S, w*S)."""
    *lead, _, h, w = x.shape
    n = len(lead)
    y = x.reshape(*lead, scale, scale, h, w)                          # (..., a, b, r, c)
    y = y.permute(*range(n), n + 2, n, n + 3, n + 1)                  # (..., r, a, c, b)
    return y.reshape(*lead, h * scale, w * scale)


def image_slices(x: torch.Tensor, scale: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, S*S, C, H/S, W/S): each slice's sub-pixels, slice-major."""
    return to_slices(x, scale).transpose(1, 2)


def slices_image(slices: torch.Tensor, scale: int) -> torch.Tensor:
    """The inverse of image_slices: (B, S*S, C, h, w) -> (B, C, h*S, w*S)."""
    return from_slices(slices.transpose(1, 2), scale)


class ContextNet(nn.Module):
    """Earlier slices -> context map (N, ctx, h, w). Unmasked: everything it sees is known."""

    def __init__(self, config: SubscaleConfig):
        super().__init__()
        slices, hid = config.scale ** 2, config.context_hidden
        # Each slice's sub-pixels, and whether the slice is known yet.
        self.inp = nn.Conv2d((config.channels + 1) * slices, hid, 3, padding=1)
        self.slice_embed = nn.Embedding(slices, hid)
        # Where in the slice? Blank regions look alike everywhere (see anyorder.py).
        self.position = nn.Parameter(
            torch.zeros(1, hid, config.height // config.scale, config.width // config.scale))
        # GatedBlock's "class" embedding is keyed by the slice index here: each block knows
        # which slice it is preparing for (S*S rows: num_classes + 1).
        self.blocks = nn.ModuleList(
            GatedBlock(hid, CONTEXT_DILATIONS[i % len(CONTEXT_DILATIONS)], slices - 1)
            for i in range(config.context_blocks))

    def forward(self, scaled: torch.Tensor, known: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        # scaled: (N, K, C, h, w) in [-1, 1], zero where unknown; known: (N, K) 0/1; k: (N,)
        n, kk, _, hh, ww = scaled.shape
        mask = (known * 2.0 - 1.0)[:, :, None, None].expand(n, kk, hh, ww)  # (N, K, h, w)
        h = self.inp(torch.cat([scaled.reshape(n, -1, hh, ww), mask], dim=1))  # (N, ctx, h, w)
        h = h + self.slice_embed(k)[:, :, None, None] + self.position
        for block in self.blocks:
            h = block(h, k)
        return h


class DecoderLayer(GatedLayer):
    """A Gated PixelCNN layer (pixelcnn.py; `groups` colour groups) whose gates also take a
    per-position bias: the projected context plus the class embedding."""

    def __init__(self, cin: int, hidden: int, kernel: int, first: bool, groups: int = 1):
        super().__init__(cin, hidden, kernel, groups=groups, first=first, num_classes=0)

    def forward(self, v, h, bias, extra=None):
        # v, h: (N, Cin, h', w); bias: (N, 4 * hidden, h', w)
        p = self.pad
        v_pre = self.v_conv(F.pad(v, (p, p, p, 0)))                    # (N, 2h, h', w)
        h_pre = self.h_conv(F.pad(h, (p, 0, 0, 0)))                    # (N, 2h, h', w)
        h_pre = h_pre + self.v_to_h(F.pad(v_pre, (0, 0, 1, 0))[:, :, :-1])  # row above only
        bv, bh = bias.chunk(2, dim=1)
        h_new = self.h_out(gate(h_pre + bh))
        return gate(v_pre + bv), h_new if self.first else h + h_new


class SubscaleNet(ImageNetMixin, nn.Module):
    def __init__(self, config: SubscaleConfig):
        super().__init__()
        self.config = config
        dh, layers, c = config.decoder_hidden, config.decoder_layers + 1, config.channels
        self.context_net = ContextNet(config)
        # One 1x1 projection and one embedding for all decoder layers, split per layer.
        self.ctx_proj = nn.Conv2d(config.context_hidden, layers * 4 * dh, 1)
        self.cond = nn.Embedding(config.num_classes + 1, layers * 4 * dh) \
            if config.num_classes else None
        self.layers = nn.ModuleList(
            [DecoderLayer(c, dh, FIRST_KERNEL, True, c)]
            + [DecoderLayer(dh, dh, KERNEL, False, c) for _ in range(config.decoder_layers)])
        # 1x1 output layers, masked by colour group (R's logits read only R's features ...);
        # in grey the masks allow everything and these are plain 1x1 convolutions.
        groups = [channel_groups(n, c) for n in (dh, config.output_hidden, c * config.levels)]
        self.out1 = MaskedConv2d(dh, config.output_hidden, 1, groups[0], groups[1], True)
        self.out2 = MaskedConv2d(config.output_hidden, c * config.levels, 1, groups[1],
                                 groups[2], True)

    @property
    def slices(self) -> int:
        return self.config.scale ** 2

    # ----- the two parts, as sampling uses them ---------------------------------------------
    def context(self, slices: torch.Tensor, k: int | torch.Tensor,
                y: torch.Tensor | None = None) -> torch.Tensor:
        """Context map (N, ctx, h, w) for generating slice k of each item.

        slices: (N, S*S, C, h, w) levels; only slices < k are read (the rest are zeroed
        here, so whatever they hold cannot leak). `y` is accepted for symmetry and unused.
        """
        n = slices.shape[0]
        k = torch.as_tensor(k, dtype=torch.long, device=slices.device).expand(n)  # (N,)
        order = torch.arange(self.slices, device=slices.device)
        known = (order[None, :] < k[:, None]).float()                    # (N, K)
        scaled = self.scale_input(slices) * known[:, :, None, None, None]  # (N, K, C, h, w)
        return self.context_net(scaled, known, k)

    def decode_logits(self, current: torch.Tensor, context: torch.Tensor,
                      y: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (N, levels, C, h', w) for every sub-pixel of one slice, each from the
        sub-pixels before it in raster order (R -> G -> B within a pixel). current:
        (N, C, h', w) levels; context: (N, ctx, h', w).

        Rows below h' never influence rows above, so a caller may pass only the rows it needs.
        """
        return self.decode_with(current, self.decode_bias(context, y))

    def decode_bias(self, context: torch.Tensor, y: torch.Tensor | None = None
                    ) -> torch.Tensor:
        """The decoder layers' per-position gate biases (N, L*4dh, h', w) from the context
        and class: fixed for a whole slice, so a sampler computes them once per slice."""
        if y is None:
            y = self.null_label(context.shape[0], context.device)
        bias = self.ctx_proj(context)                                     # (N, L*4dh, h', w)
        if self.cond is not None:
            bias = bias + self.cond(y)[:, :, None, None]
        return bias

    def decode_with(self, current: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """decode_logits with the biases given (rows as many as `current` has)."""
        v = h = self.scale_input(current)                                 # (N, C, h', w)
        for layer, b in zip(self.layers, bias.chunk(len(self.layers), dim=1)):
            v, h = layer(v, h, b)
        return self.head(h)                                               # (N, L, C, h', w)

    def chain_order(self, height: int, width: int) -> torch.Tensor:
        """(row, col) of each pixel, (H*W, 2), in the order `forward` conditions them: slice
        after slice, each slice in raster order."""
        rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
        s = self.config.scale
        return torch.stack([to_slices(rows, s).reshape(-1), to_slices(cols, s).reshape(-1)], 1)

    # ----- training: every slice at once --------------------------------------------------
    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, C, H, W) integer levels -> logits (B, levels, C, H, W), each sub-pixel
        given the earlier slices and the earlier sub-pixels of its own slice."""
        b, c, kk = x.shape[0], x.shape[1], self.slices
        slices = image_slices(x, self.config.scale)                       # (B, K, C, h, w)
        h, w = slices.shape[-2:]
        k = torch.arange(kk, device=x.device).repeat(b)                   # (B*K,)
        context = self.context(slices.repeat_interleave(kk, dim=0), k)    # (B*K, ctx, h, w)
        if y is None:
            y = self.null_label(b, x.device)
        yk = None if y is None else y.repeat_interleave(kk)               # (B*K,)
        logits = self.decode_logits(slices.reshape(b * kk, c, h, w), context, yk)
        logits = logits.view(b, kk, -1, c, h, w).permute(0, 2, 3, 1, 4, 5)  # (B, L, C, K, h, w)
        return from_slices(logits, self.config.scale)                     # (B, L, C, H, W)

