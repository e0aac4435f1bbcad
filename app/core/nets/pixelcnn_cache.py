"""The Gated PixelCNN's row cache: every layer's output computed once per position.

As in Fast PixelCNN++ (Ramachandran et al. 2017): the vertical stack runs once per finished
row; the horizontal stack runs once per sub-pixel on a window of `kernel // 2 + 1` columns.
For speed the per-pixel work is laid out as a handful of matrix products per layer: masked
weights are flattened once per run, and everything that depends only on the row (the link
from the vertical stack, the class and position biases) is summed once per row. Eager
PyTorch's cost here is per op, so fewer, larger ops is what makes sampling fast.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class LayerCache:
    pad: int
    first: bool
    w_h: torch.Tensor             # ((pad+1)*Cin, 2h): masked horizontal taps, flattened
    w_out: torch.Tensor           # (h, h): masked 1x1 after the gate
    b_out: torch.Tensor           # (h,)
    v_in: torch.Tensor            # (B, Cin, H+pad, W+2pad): vertical input, zero padded
    h_in: torch.Tensor            # (B, W+pad, Cin): current row's horizontal input
    row_bias: torch.Tensor        # (B, W, 2h): link + conv bias + class + position, this row
    cond_v: torch.Tensor | None   # (B, 2h, 1, 1)
    cond_h: torch.Tensor | None   # (B, 2h)


@dataclass
class PixelCNNCache:
    layers: list[LayerCache]
    last: torch.Tensor            # (B, h): top of the horizontal stack at the current pixel
    head: list[tuple]             # per colour channel: (w1, b1, w2, b2)


def _masked(conv) -> torch.Tensor:
    return (conv.weight * conv.mask).detach()


def begin(net, batch: int, labels, device) -> PixelCNNCache:
    cfg = net.config
    layers = []
    for layer in net.layers:
        p, cin = layer.pad, layer.v_conv.in_channels
        w_h = _masked(layer.h_conv)[:, :, 0, :].permute(2, 1, 0).reshape((p + 1) * cin, -1)
        cond_v = cond_h = None
        if layer.cond is not None:
            cond_v, cond_h = layer.cond(labels).detach().chunk(2, dim=1)
            cond_v = cond_v[:, :, None, None]
        layers.append(LayerCache(
            p, layer.first, w_h.contiguous(), _masked(layer.h_out)[:, :, 0, 0].T.contiguous(),
            layer.h_out.bias.detach(),
            torch.zeros(batch, cin, cfg.height + p, cfg.width + 2 * p, device=device),
            torch.zeros(batch, cfg.width + p, cin, device=device),
            torch.zeros(batch, cfg.width, w_h.shape[1], device=device), cond_v, cond_h))
    w1, b1 = _masked(net.out1)[:, :, 0, 0].T, net.out1.bias.detach()
    w2, b2 = _masked(net.out2)[:, :, 0, 0].T, net.out2.bias.detach()
    levels = cfg.levels
    head = [(w1, b1, w2[:, c * levels:(c + 1) * levels].contiguous(),
             b2[c * levels:(c + 1) * levels]) for c in range(cfg.channels)]
    cache = PixelCNNCache(layers, torch.zeros(batch, cfg.hidden, device=device), head)
    # The row above the image is zero padding: its link is v_to_h's bias alone.
    links = [layer.v_to_h.bias.detach()[None, :, None].expand(batch, -1, cfg.width)
             for layer in net.layers]
    _set_row_biases(net, cache, 0, links)
    return cache


def _set_row_biases(net, cache: PixelCNNCache, row: int, links) -> None:
    """Everything the horizontal stack adds on `row` that does not depend on its pixels."""
    for layer, lc, link in zip(net.layers, cache.layers, links):
        bias = link + layer.h_conv.bias.detach()[None, :, None]           # (B, 2h, W)
        if lc.cond_h is not None:
            bias = bias + lc.cond_h[:, :, None]
        if layer.rows is not None:
            bias = bias + layer.position(row, slice(None))[1].detach()[:, 0][None]
        lc.row_bias = bias.transpose(1, 2).contiguous()                   # (B, W, 2h)


def step_logits(cache: PixelCNNCache, col: int, channel: int) -> torch.Tensor:
    """Logits (B, levels) for sub-pixel (current row, col, channel)."""
    layers = cache.layers
    for i, lc in enumerate(layers):
        window = lc.h_in[:, col:col + lc.pad + 1].reshape(lc.h_in.shape[0], -1)
        a, b = torch.addmm(lc.row_bias[:, col], window, lc.w_h).chunk(2, dim=1)
        z = torch.tanh(a).mul_(torch.sigmoid(b))                           # (B, h)
        h = torch.addmm(lc.b_out, z, lc.w_out)
        if not lc.first:
            h += lc.h_in[:, col + lc.pad]
        if i + 1 < len(layers):
            nxt = layers[i + 1]
            nxt.h_in[:, col + nxt.pad] = h
        else:
            cache.last = h
    w1, b1, w2, b2 = cache.head[channel]
    return torch.addmm(b2, torch.addmm(b1, F.relu(cache.last), w1).relu_(), w2)


def set_value(net, cache: PixelCNNCache, row: int, col: int, channel: int, values) -> None:
    """Record a drawn value; a finished row advances the vertical stack."""
    scaled = net.scale_input(values)
    first = cache.layers[0]
    first.h_in[:, col + first.pad, channel] = scaled
    first.v_in[:, channel, row + first.pad, col + first.pad] = scaled
    cfg = net.config
    if col == cfg.width - 1 and channel == cfg.channels - 1:
        _finish_row(net, cache, row)


def _finish_row(net, cache: PixelCNNCache, row: int) -> None:
    cfg = net.config
    links = []
    for i, (layer, lc) in enumerate(zip(net.layers, cache.layers)):
        v_pre = layer.v_conv(lc.v_in[:, :, row:row + lc.pad + 1])         # (B, 2h, 1, W)
        links.append(layer.v_to_h(v_pre)[:, :, 0])                         # for the next row
        if lc.cond_v is not None:
            v_pre = v_pre + lc.cond_v
        if layer.rows is not None:
            v_pre = v_pre + layer.position(row, slice(None))[0]
        if i + 1 < len(cache.layers):
            q = cache.layers[i + 1].pad
            v_out = torch.tanh(v_pre[:, :v_pre.shape[1] // 2]) * \
                torch.sigmoid(v_pre[:, v_pre.shape[1] // 2:])
            cache.layers[i + 1].v_in[:, :, row + q, q:q + cfg.width] = v_out[:, :, 0]
    for lc in cache.layers:
        lc.h_in.zero_()
    if row + 1 < cfg.height:
        _set_row_biases(net, cache, row + 1, links)
