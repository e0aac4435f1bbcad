"""Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN Decoders").

Two stacks remove the blind spot of the original PixelCNN: a vertical stack that sees every
row above, and a horizontal stack that sees the pixels to the left on the current row. Gated
units tanh(a) * sigmoid(b), residual connections in the horizontal stack, an optional class
embedding added inside every gate, and a per-sub-pixel softmax over `levels` values. For RGB
the feature maps are split into three groups and masked so R sees nothing of the current
pixel, G sees R and B sees R and G (the channel ordering of PixelRNN).

The row cache (`begin` / `step_logits` / `set_value`) computes every layer's output exactly
once per position, as in Fast PixelCNN++ (Ramachandran et al. 2017): the vertical stack once
per finished row, the horizontal stack once per pixel on a window of `kernel // 2 + 1` columns.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import PixelCNNConfig


def channel_groups(n: int, groups: int, copies: int = 1) -> torch.Tensor:
    """Colour group of each of `copies * n` channels: n channels in `groups` contiguous blocks."""
    return (torch.arange(n * copies) % n) * groups // n


class MaskedConv2d(nn.Conv2d):
    """A convolution whose last (centre) horizontal tap only links allowed colour groups.

    Every other tap is unmasked: spatial causality comes from padding on the left/top.
    """

    def __init__(self, cin: int, cout: int, width: int, group_in: torch.Tensor,
                 group_out: torch.Tensor, include_own_group: bool):
        super().__init__(cin, cout, (1, width))
        allowed = group_out[:, None] >= group_in[None, :] if include_own_group \
            else group_out[:, None] > group_in[None, :]
        mask = torch.ones(cout, cin, 1, width)
        mask[:, :, 0, -1] = allowed.float()
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias)


def gate(pre: torch.Tensor) -> torch.Tensor:
    a, b = pre.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    """One layer of both stacks. The first layer reads the image (type A, no residual)."""

    def __init__(self, cin: int, hidden: int, kernel: int, groups: int, first: bool,
                 num_classes: int, size: tuple[int, int] | None = None):
        super().__init__()
        self.pad = kernel // 2
        self.first = first
        g_in = channel_groups(cin, groups)
        g_pre = channel_groups(hidden, groups, copies=2)
        g_hidden = channel_groups(hidden, groups)
        # Vertical: rows r-pad..r, columns c-pad..c+pad (row r feeds row r+1 of the horizontal).
        self.v_conv = nn.Conv2d(cin, 2 * hidden, (self.pad + 1, kernel))
        # Horizontal: columns c-pad..c on the current row; the centre tap is channel-masked.
        self.h_conv = MaskedConv2d(cin, 2 * hidden, self.pad + 1, g_in, g_pre,
                                   include_own_group=not first)
        self.v_to_h = nn.Conv2d(2 * hidden, 2 * hidden, 1)
        self.h_out = MaskedConv2d(hidden, hidden, 1, g_hidden, g_hidden, include_own_group=True)
        # One extra embedding row: the "no label" class used for unconditional sampling.
        self.cond = nn.Embedding(num_classes + 1, 4 * hidden) if num_classes else None
        # Where am I? A blank region looks the same everywhere, so without these biases the
        # net cannot tell row 3 from row 20 and starts digits at random heights.
        self.rows = nn.Parameter(torch.zeros(4 * hidden, size[0])) if size else None
        self.cols = nn.Parameter(torch.zeros(4 * hidden, size[1])) if size else None

    def position(self, rows: slice | int, cols: slice | int):
        """(v, h) biases, each (2h, R, C), for the given rows and columns (or None)."""
        if self.rows is None:
            return None
        r = self.rows[:, rows] if isinstance(rows, slice) else self.rows[:, rows:rows + 1]
        c = self.cols[:, cols] if isinstance(cols, slice) else self.cols[:, cols:cols + 1]
        return (r[:, :, None] + c[:, None, :]).chunk(2, dim=0)

    def forward(self, v, h, y):
        # v, h: (B, Cin, H, W); y: (B,) labels or None
        p = self.pad
        v_pre = self.v_conv(F.pad(v, (p, p, p, 0)))                  # (B, 2h, H, W)
        h_pre = self.h_conv(F.pad(h, (p, 0, 0, 0)))                  # (B, 2h, H, W)
        h_pre = h_pre + self.v_to_h(F.pad(v_pre, (0, 0, 1, 0))[:, :, :-1])  # row above only
        if self.cond is not None:
            cv, ch = self.cond(y)[:, :, None, None].chunk(2, dim=1)
            v_pre, h_pre = v_pre + cv, h_pre + ch
        if self.rows is not None:
            pv, ph = self.position(slice(None), slice(None))
            v_pre, h_pre = v_pre + pv, h_pre + ph
        h_new = self.h_out(gate(h_pre))
        return gate(v_pre), h_new if self.first else h + h_new


@dataclass
class PixelCNNCache:
    """Explicit incremental state for one batch being sampled."""

    labels: torch.Tensor | None
    v_inputs: list[torch.Tensor]    # per layer (B, Cin, H+pad, W+2*pad), zero padded
    v_links: list[torch.Tensor]     # per layer (B, 2h, 1, W): v_to_h of the row above
    h_inputs: list[torch.Tensor]    # per layer + output (B, Cin, 1, W+pad) of the current row
    cond: list[tuple[torch.Tensor, torch.Tensor] | None]


class GatedPixelCNN(nn.Module):
    def __init__(self, config: PixelCNNConfig):
        super().__init__()
        self.config = config
        c, hid, groups = config.channels, config.hidden, config.channels
        size = (config.height, config.width) if config.position_bias else None
        self.layers = nn.ModuleList(
            [GatedLayer(c, hid, config.first_kernel, groups, True, config.num_classes, size)]
            + [GatedLayer(hid, hid, config.kernel, groups, False, config.num_classes, size)
               for _ in range(config.layers)])
        g_hidden = channel_groups(hid, groups)
        g_out_hidden = channel_groups(config.output_hidden, groups)
        g_logits = channel_groups(c * config.levels, groups)
        self.out1 = MaskedConv2d(hid, config.output_hidden, 1, g_hidden, g_out_hidden, True)
        self.out2 = MaskedConv2d(config.output_hidden, c * config.levels, 1, g_out_hidden,
                                 g_logits, True)

    # ----- full forward -------------------------------------------------------------------
    def scale_input(self, x: torch.Tensor) -> torch.Tensor:
        return x.float() * (2.0 / (self.config.levels - 1)) - 1.0

    def null_label(self, batch: int, device) -> torch.Tensor | None:
        if not self.config.num_classes:
            return None
        return torch.full((batch,), self.config.num_classes, dtype=torch.long, device=device)

    def head(self, h: torch.Tensor) -> torch.Tensor:
        # (B, hidden, H', W') -> (B, levels, C, H', W')
        logits = self.out2(F.relu(self.out1(F.relu(h))))
        b, _, hh, ww = logits.shape
        return logits.view(b, self.config.channels, self.config.levels, hh, ww).transpose(1, 2)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, C, H, W) integer levels -> logits (B, levels, C, H, W) for each sub-pixel."""
        if y is None:
            y = self.null_label(x.shape[0], x.device)
        v = h = self.scale_input(x)
        for layer in self.layers:
            v, h = layer(v, h, y)
        return self.head(h)

    def nll(self, batch: dict) -> torch.Tensor:
        """Mean negative log-likelihood in nats per sub-pixel, one value per image: (B,)."""
        x = batch["x"]
        logits = self(x, batch.get("y"))
        return F.cross_entropy(logits, x, reduction="none").flatten(1).mean(1)

    # ----- row-cached incremental sampling ------------------------------------------------
    def begin(self, batch: int, labels: torch.Tensor | None = None, device=None) -> PixelCNNCache:
        cfg = self.config
        device = device or next(self.parameters()).device
        if labels is None:
            labels = self.null_label(batch, device)
        v_inputs, h_inputs, links, cond = [], [], [], []
        for layer in self.layers:
            cin, p = layer.v_conv.in_channels, layer.pad
            v_inputs.append(torch.zeros(batch, cin, cfg.height + p, cfg.width + 2 * p,
                                        device=device))
            h_inputs.append(torch.zeros(batch, cin, 1, cfg.width + p, device=device))
            # The row above the image is zero padding: its link is v_to_h's bias alone.
            links.append(layer.v_to_h.bias.detach()[None, :, None, None]
                         .expand(batch, -1, 1, cfg.width).clone())
            cond.append(None if layer.cond is None else
                        tuple(layer.cond(labels)[:, :, None, None].chunk(2, dim=1)))
        h_inputs.append(torch.zeros(batch, cfg.hidden, 1, cfg.width, device=device))
        return PixelCNNCache(labels, v_inputs, links, h_inputs, cond)

    def step_logits(self, cache: PixelCNNCache, row: int, col: int, channel: int) -> torch.Tensor:
        """Logits (B, levels) for sub-pixel (row, col, channel), given everything before it."""
        for i, layer in enumerate(self.layers):
            p = layer.pad
            window = cache.h_inputs[i][:, :, :, col:col + p + 1]           # (B, Cin, 1, p+1)
            h_pre = layer.h_conv(window) + cache.v_links[i][:, :, :, col:col + 1]
            if cache.cond[i] is not None:
                h_pre = h_pre + cache.cond[i][1]
            if layer.rows is not None:
                h_pre = h_pre + layer.position(row, col)[1]
            h_new = layer.h_out(gate(h_pre))                               # (B, h, 1, 1)
            if not layer.first:
                h_new = h_new + cache.h_inputs[i][:, :, :, col + p:col + p + 1]
            nxt = cache.h_inputs[i + 1]
            offset = self.layers[i + 1].pad if i + 1 < len(self.layers) else 0
            nxt[:, :, :, col + offset:col + offset + 1] = h_new
        last = cache.h_inputs[-1][:, :, :, col:col + 1]
        return self.head(last)[:, :, channel, 0, 0]

    def set_value(self, cache: PixelCNNCache, row: int, col: int, channel: int,
                  values: torch.Tensor) -> None:
        """Record the drawn value of a sub-pixel; a finished row advances the vertical stack."""
        scaled = self.scale_input(values)
        first = self.layers[0]
        cache.h_inputs[0][:, channel, 0, col + first.pad] = scaled
        cache.v_inputs[0][:, channel, row + first.pad, col + first.pad] = scaled
        if col == self.config.width - 1 and channel == self.config.channels - 1:
            self._finish_row(cache, row)

    def _finish_row(self, cache: PixelCNNCache, row: int) -> None:
        for i, layer in enumerate(self.layers):
            p = layer.pad
            v_pre = layer.v_conv(cache.v_inputs[i][:, :, row:row + p + 1])  # (B, 2h, 1, W)
            cache.v_links[i] = layer.v_to_h(v_pre)       # used by the next row's pixels
            if cache.cond[i] is not None:
                v_pre = v_pre + cache.cond[i][0]
            if layer.rows is not None:
                v_pre = v_pre + layer.position(row, slice(None))[0]
            if i + 1 < len(self.layers):
                q = self.layers[i + 1].pad
                cache.v_inputs[i + 1][:, :, row + q, q:q + self.config.width] = gate(v_pre)[:, :, 0]
        for buf in cache.h_inputs[1:]:
            buf.zero_()
        cache.h_inputs[0][:, :, :, :] = 0.0
