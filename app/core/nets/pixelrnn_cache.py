"""The Row LSTM's incremental state: each layer computed once per pixel, row states carried.

Within a row, column c of every layer depends only on this row's inputs at columns <= c (the
mask-A first convolution and the mask-B input-to-state taps on c-1, c) and on the previous
row's finished (h, c) states. So each pixel costs a few small matrix products per layer,
and the state-to-state convolution runs once per row, when the row above is complete.

Columns are advanced in runs: `step_logits` advances to its own column, and the end of a row
advances whatever is left in one batched step. Inpainting relies on the latter: it records
known pixels without asking for their logits, and the row states still come out right.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def lstm_cell(gates: torch.Tensor, c: torch.Tensor, dim: int):
    """(h, c) from pre-activations laid out (i, f, o, g) along `dim`, and the previous c.

    Shared by the full forward (pixelrnn.py) and the incremental step, so both agree.
    """
    hidden = c.shape[dim]
    sig = torch.sigmoid(gates.narrow(dim, 0, 3 * hidden))
    i, f, o = sig.chunk(3, dim=dim)
    g = torch.tanh(gates.narrow(dim, 3 * hidden, hidden))
    c = f * c + i * g
    return o * torch.tanh(c), c


@dataclass
class LayerWeights:
    w_in: torch.Tensor            # (2h, 4h): input-to-state taps on columns c-1, c
    w_out: torch.Tensor           # (h, h): 1x1 residual projection
    b_out: torch.Tensor           # (h,)
    cond: torch.Tensor            # (B, 1, 4h): both conv biases + the class bias
    position: torch.Tensor        # (H, W, 4h): position biases (or zeros)


@dataclass
class RowLSTMCache:
    row: int                      # the row being drawn
    done: int                     # columns of this row already computed in every layer
    image: torch.Tensor           # (B, C, H + 2p, W + 2p): scaled inputs, zero padded
    w_first: torch.Tensor         # (h, C, k, k): masked first convolution
    b_first: torch.Tensor         # (h,)
    layers: list[LayerWeights]
    x: torch.Tensor               # (L + 1, B, W + 1, h): each layer's input on this row;
    #                               column 0 is the left padding, x[L] is the top of the stack
    h_prev: torch.Tensor          # (L, B, W, h): hidden states of the row above
    c_prev: torch.Tensor          # (L, B, W, h): cell states of the row above
    h_cur: torch.Tensor           # (L, B, W, h): this row, filled as columns advance
    c_cur: torch.Tensor           # (L, B, W, h)
    row_pre: torch.Tensor         # (L, B, W, 4h): state-to-state + biases for this row
    head: tuple                   # (w1, b1, w2, b2) of the output layers, as matrices


def begin(net, batch: int, labels, device) -> RowLSTMCache:
    cfg = net.config
    p, hid, n = cfg.first_kernel // 2, cfg.hidden, len(net.layers)
    layers = []
    for layer in net.layers:
        w = layer.in_to_state.weight.detach()[:, :, 0, :]                  # (4h, h, 2)
        cond = (layer.in_to_state.bias + layer.state_to_state.bias).detach()
        cond = cond.expand(batch, 1, -1).clone()
        if layer.cond is not None:
            cond += layer.cond(labels).detach()[:, None]
        position = torch.zeros(cfg.height, cfg.width, 4 * hid, device=device)
        if layer.rows is not None:
            position += (layer.rows[:, :, None] + layer.cols[:, None, :]).detach().permute(1, 2, 0)
        layers.append(LayerWeights(
            torch.cat([w[:, :, 0].T, w[:, :, 1].T]).contiguous(),
            layer.out.weight.detach()[:, :, 0, 0].T.contiguous(), layer.out.bias.detach(),
            cond, position))
    state = lambda: torch.zeros(n, batch, cfg.width, hid, device=device)   # noqa: E731
    head = (net.out1.weight.detach()[:, :, 0, 0].T.contiguous(), net.out1.bias.detach(),
            net.out2.weight.detach()[:, :, 0, 0].T.contiguous(), net.out2.bias.detach())
    cache = RowLSTMCache(
        0, 0, torch.zeros(batch, cfg.channels, cfg.height + 2 * p, cfg.width + 2 * p,
                          device=device),
        net.first.masked_weight().detach(), net.first.bias.detach(), layers,
        torch.zeros(n + 1, batch, cfg.width + 1, hid, device=device),
        state(), state(), state(), state(),
        torch.zeros(n, batch, cfg.width, 4 * hid, device=device), head)
    _start_row(net, cache)
    return cache


def _start_row(net, cache: RowLSTMCache) -> None:
    """The state-to-state half of every gate on the new row, from the row above's h."""
    for i, (layer, lw) in enumerate(zip(net.layers, cache.layers)):
        h = cache.h_prev[i].transpose(1, 2)                                # (B, h, W)
        s2s = F.conv1d(h, layer.state_to_state.weight.detach(), padding=1)  # (B, 4h, W)
        torch.add(s2s.transpose(1, 2), lw.position[cache.row], out=cache.row_pre[i])
        cache.row_pre[i] += lw.cond


def _advance(cache: RowLSTMCache, stop: int) -> None:
    """Compute columns done..stop-1 of the current row in every layer."""
    start, r = cache.done, cache.row
    if stop <= start:
        return
    k = cache.w_first.shape[-1]
    window = cache.image[:, :, r:r + k, start:stop + k - 1]                # (B, C, k, n+k-1)
    first = F.conv2d(window, cache.w_first, cache.b_first)                 # (B, h, 1, n)
    cache.x[0, :, start + 1:stop + 1] = first[:, :, 0].transpose(1, 2)
    for i, lw in enumerate(cache.layers):
        x = cache.x[i]                                                     # (B, W+1, h)
        taps = torch.cat([x[:, start:stop], x[:, start + 1:stop + 1]], dim=-1)  # (B, n, 2h)
        gates = torch.matmul(taps, lw.w_in).add_(cache.row_pre[i, :, start:stop])
        h, c = lstm_cell(gates, cache.c_prev[i, :, start:stop], dim=-1)    # (B, n, h) each
        cache.h_cur[i, :, start:stop] = h
        cache.c_cur[i, :, start:stop] = c
        cache.x[i + 1, :, start + 1:stop + 1] = \
            torch.matmul(h, lw.w_out).add_(lw.b_out).add_(x[:, start + 1:stop + 1])
    cache.done = stop


def step_logits(net, cache: RowLSTMCache, row: int, col: int) -> torch.Tensor:
    """Logits (B, levels) for pixel (row, col)."""
    if row != cache.row or col < 0 or col >= net.config.width:
        raise ValueError(f"pixel ({row}, {col}) asked for while the cache is on row "
                         f"{cache.row}: rows must be stepped in order")
    _advance(cache, col + 1)
    w1, b1, w2, b2 = cache.head
    top = F.relu(cache.x[-1, :, col + 1])                                  # (B, h)
    return torch.addmm(b2, torch.addmm(b1, top, w1).relu_(), w2)


def set_value(net, cache: RowLSTMCache, row: int, col: int, values) -> None:
    """Record a pixel; the last pixel of a row finishes it and starts the next."""
    cfg = net.config
    if row != cache.row:
        raise ValueError(f"pixel ({row}, {col}) recorded while the cache is on row {cache.row}")
    p = cfg.first_kernel // 2
    cache.image[:, 0, row + p, col + p] = net.scale_input(values)
    if col == cfg.width - 1:
        _advance(cache, cfg.width)
        cache.h_prev, cache.h_cur = cache.h_cur, cache.h_prev
        cache.c_prev, cache.c_cur = cache.c_cur, cache.c_prev
        cache.row, cache.done = row + 1, 0
        if cache.row < cfg.height:
            _start_row(net, cache)
