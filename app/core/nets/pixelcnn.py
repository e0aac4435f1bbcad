"""Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN Decoders").

Two stacks remove the blind spot of the original PixelCNN: a vertical stack that sees every
row above, and a horizontal stack that sees the pixels to the left on the current row. Gated
units tanh(a) * sigmoid(b), residual connections in the horizontal stack, an optional class
embedding added inside every gate, and a per-sub-pixel softmax over `levels` values. For RGB
the feature maps are split into three groups and masked so R sees nothing of the current
pixel, G sees R and B sees R and G (the channel ordering of PixelRNN).

The row cache (`begin` / `step_logits` / `set_value`, in pixelcnn_cache.py) computes every
layer's output exactly once per position, as in Fast PixelCNN++ (Ramachandran et al. 2017).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import PixelCNNConfig
from . import pixelcnn_cache
from .image_base import ImageNetMixin
from .logistic_mixture import mixture_log_prob_at, mixture_outputs


def head_width(config: PixelCNNConfig) -> int:
    """Outputs of the last layer per sub-pixel: one logit per level, or a mixture's 3K."""
    return mixture_outputs(config.mixture) if config.mixture else config.levels


def channel_groups(n: int, groups: int, copies: int = 1) -> torch.Tensor:
    """Colour group of each of `copies * n` channels: n channels in `groups` contiguous blocks."""
    return (torch.arange(n * copies) % n) * groups // n


class MaskedConv2d(nn.Conv2d):
    """A convolution whose last (centre) horizontal tap only links allowed colour groups.

    Every other tap is unmasked: spatial causality comes from padding on the left/top.
    """

    mask: torch.Tensor          # a buffer (register_buffer below)

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
        if self.rows is None or self.cols is None:      # (both or neither)
            return None
        r = self.rows[:, rows] if isinstance(rows, slice) else self.rows[:, rows:rows + 1]
        c = self.cols[:, cols] if isinstance(cols, slice) else self.cols[:, cols:cols + 1]
        return (r[:, :, None] + c[:, None, :]).chunk(2, dim=0)

    def forward(self, v, h, y, extra: torch.Tensor | None = None):
        # v, h: (B, Cin, H, W); y: (B,) labels or None; extra: (B, 4h, H, W) gate biases
        # from something every pixel may see (a depth-upscaling net's coarse image) or None
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
        if extra is not None:
            ev, eh = extra.chunk(2, dim=1)
            v_pre, h_pre = v_pre + ev, h_pre + eh
        h_new = self.h_out(gate(h_pre))
        return gate(v_pre), h_new if self.first else h + h_new


class GatedPixelCNN(ImageNetMixin, nn.Module):
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
        per_channel = head_width(config)
        g_logits = channel_groups(c * per_channel, groups)
        self.out1 = MaskedConv2d(hid, config.output_hidden, 1, g_hidden, g_out_hidden, True)
        self.out2 = MaskedConv2d(config.output_hidden, c * per_channel, 1, g_out_hidden,
                                 g_logits, True)

    # ----- full forward -------------------------------------------------------------------
    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None,
                extra: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, C, H, W) integer levels -> logits (B, levels, C, H, W) for each sub-pixel.
        extra: (B, layers*4h, H, W) gate biases every position may see, or None."""
        return self.head(self.features(x, y, extra))

    def features(self, x: torch.Tensor, y: torch.Tensor | None = None,
                 extra: torch.Tensor | None = None) -> torch.Tensor:
        """The top of the horizontal stack, (B, hidden, H, W): what the head reads."""
        if y is None:
            y = self.null_label(x.shape[0], x.device)
        v = h = self.scale_input(x)
        biases = [None] * len(self.layers) if extra is None \
            else extra.chunk(len(self.layers), dim=1)
        for layer, bias in zip(self.layers, biases):
            v, h = layer(v, h, y, bias)
        return h

    def nll(self, batch: dict) -> torch.Tensor:
        """As ImageNetMixin.nll; a mixture head scores only each sub-pixel's own value
        instead of building all `levels` log-probabilities (a quarter of the training time)."""
        if not self.config.mixture:
            return super().nll(batch)
        x = batch["x"]
        params = self.mixture_params(self.features(x, batch.get("y")))     # (B, C, H, W, 3K)
        logp = mixture_log_prob_at(params, x, self.config.levels)
        return -logp.flatten(1).mean(1)

    # ----- row-cached incremental sampling (app/core/nets/pixelcnn_cache.py) ----------------
    def begin(self, batch: int, labels: torch.Tensor | None = None, device=None):
        device = device or next(self.parameters()).device
        if labels is None:
            labels = self.null_label(batch, device)
        return pixelcnn_cache.begin(self, batch, labels, device)

    def step_logits(self, cache, row: int, col: int, channel: int) -> torch.Tensor:
        """Logits (B, levels) for sub-pixel (row, col, channel), given everything before it.

        Rows must be stepped in order: the cache holds the current row's state.
        """
        return pixelcnn_cache.step_logits(cache, col, channel)

    def set_value(self, cache, row: int, col: int, channel: int, values: torch.Tensor) -> None:
        """Record the drawn value of a sub-pixel; a finished row advances the vertical stack."""
        pixelcnn_cache.set_value(self, cache, row, col, channel, values)
