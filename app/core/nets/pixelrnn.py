"""PixelRNN Row LSTM (van den Oord, Kalchbrenner, Kavukcuoglu 2016, "Pixel Recurrent Neural
Networks", section 3.1).

A first mask-A convolution (it cannot see the current pixel) feeds a stack of Row LSTM layers.
Each layer runs an LSTM down the image one row at a time, a whole row per step:

    gates(r) = K_is * x(r) + K_ss * h(r - 1)        (i, f, o, g for every column at once)
    c(r) = sigmoid(f) . c(r - 1) + sigmoid(i) . tanh(g)
    h(r) = sigmoid(o) . tanh(c(r))

K_is is the input-to-state convolution along the row with mask B: the paper's 1x3 kernel
whose right tap is masked, so only columns c-1 and c take part; it is stored as those two
live taps. K_ss is the state-to-state convolution (kernel 3, unmasked) over the previous
row's hidden state, which is complete before the current row starts. Each layer adds its
output to its input through a 1x1 convolution (residual connection). A class embedding
(with one extra "no label" row, as in the PixelCNN) and optional position biases enter every
gate. Two 1x1 layers with ReLU give a softmax over `levels` values per pixel.

Receptive field: the triangle above the pixel (one more column on each side per row up,
per layer), plus the pixels to its left on its own row. Grey images only.

The incremental sampler (`begin` / `step_logits` / `set_value`, in pixelrnn_cache.py) runs
each layer at one column as its pixels arrive and carries the row states down the image.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import PixelRNNConfig
from . import pixelrnn_cache
from .image_base import ImageNetMixin
from .pixelrnn_cache import lstm_cell


class MaskAConv2d(nn.Conv2d):
    """A k x k convolution that sees the rows above and the pixels strictly to the left."""

    mask: torch.Tensor          # a buffer (register_buffer below)

    def __init__(self, cin: int, cout: int, kernel: int):
        super().__init__(cin, cout, kernel, padding=kernel // 2)
        mask = torch.ones(cout, cin, kernel, kernel)
        mask[:, :, kernel // 2, kernel // 2:] = 0       # the current pixel and to its right
        mask[:, :, kernel // 2 + 1:] = 0                # the rows below
        self.register_buffer("mask", mask, persistent=False)

    def masked_weight(self) -> torch.Tensor:
        return self.weight * self.mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.masked_weight(), self.bias, padding=self.padding)


class RowLSTMLayer(nn.Module):
    def __init__(self, hidden: int, num_classes: int, size: tuple[int, int] | None):
        super().__init__()
        # Mask-B input-to-state: taps on columns c-1 and c (input padded by one on the left).
        self.in_to_state = nn.Conv2d(hidden, 4 * hidden, (1, 2))
        self.state_to_state = nn.Conv1d(hidden, 4 * hidden, 3, padding=1)
        self.out = nn.Conv2d(hidden, hidden, 1)
        # One extra embedding row: the "no label" class used for unconditional sampling.
        self.cond = nn.Embedding(num_classes + 1, 4 * hidden) if num_classes else None
        # A blank region looks the same everywhere; these let the gates know where they are.
        self.rows = nn.Parameter(torch.zeros(4 * hidden, size[0])) if size else None
        self.cols = nn.Parameter(torch.zeros(4 * hidden, size[1])) if size else None

    def static_bias(self, y: torch.Tensor | None) -> torch.Tensor:
        """Everything in the gates that ignores the pixels, less the conv biases:
        (B or 1, 4h, H or 1, W or 1)."""
        bias = torch.zeros(1, self.state_to_state.out_channels, 1, 1,
                           device=self.out.weight.device)
        if self.cond is not None:
            bias = bias + self.cond(y)[:, :, None, None]
        if self.rows is not None and self.cols is not None:      # (both or neither)
            bias = bias + (self.rows[:, :, None] + self.cols[:, None, :])[None]
        return bias

    def forward(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        # x: (B, h, H, W) -> (B, h, H, W)
        b, hidden, height, width = x.shape
        pre = self.in_to_state(F.pad(x, (1, 0))) + self.static_bias(y)    # (B, 4h, H, W)
        h = x.new_zeros(b, hidden, width)                                  # row -1: zeros
        c = x.new_zeros(b, hidden, width)
        rows = []
        for r in range(height):
            gates = pre[:, :, r] + self.state_to_state(h)                  # (B, 4h, W)
            h, c = lstm_cell(gates, c, dim=1)
            rows.append(h)
        return x + self.out(torch.stack(rows, dim=2))


class PixelRNN(ImageNetMixin, nn.Module):
    def __init__(self, config: PixelRNNConfig):
        super().__init__()
        config.validate()        # a grey-only net must not be built for colour by mistake
        self.config = config
        hid = config.hidden
        size = (config.height, config.width) if config.position_bias else None
        self.first = MaskAConv2d(config.channels, hid, config.first_kernel)
        self.layers = nn.ModuleList([RowLSTMLayer(hid, config.num_classes, size)
                                     for _ in range(config.layers)])
        self.out1 = nn.Conv2d(hid, config.output_hidden, 1)
        self.out2 = nn.Conv2d(config.output_hidden, config.channels * config.levels, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, C, H, W) integer levels -> logits (B, levels, C, H, W) for each pixel."""
        if y is None:
            y = self.null_label(x.shape[0], x.device)
        h = self.first(self.scale_input(x))                                # (B, h, H, W)
        for layer in self.layers:
            h = layer(h, y)
        return self.head(h)

    # ----- incremental sampling that carries the row states (pixelrnn_cache.py) -----------
    def begin(self, batch: int, labels: torch.Tensor | None = None, device=None):
        device = device or next(self.parameters()).device
        if labels is None:
            labels = self.null_label(batch, device)
        return pixelrnn_cache.begin(self, batch, labels, device)

    def step_logits(self, cache, row: int, col: int, channel: int) -> torch.Tensor:
        """Logits (B, levels) for pixel (row, col), given everything before it.

        Rows must be stepped in order: the cache holds the previous row's LSTM states.
        """
        return pixelrnn_cache.step_logits(self, cache, row, col)

    def set_value(self, cache, row: int, col: int, channel: int, values: torch.Tensor) -> None:
        """Record a drawn value; a finished row hands its LSTM states to the next row."""
        pixelrnn_cache.set_value(self, cache, row, col, values)
