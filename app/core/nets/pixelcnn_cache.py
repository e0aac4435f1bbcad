"""The Gated PixelCNN's row cache: every layer's output computed once per position.

As in Fast PixelCNN++ (Ramachandran et al. 2017): the vertical stack runs once per finished
row; the horizontal stack runs once per sub-pixel on a window of `kernel // 2 + 1` columns.
For speed the per-pixel work is laid out as a handful of matrix products per layer: masked
weights are flattened once per run, and everything that depends only on the row (the link
from the vertical stack, the class and position biases) is summed once per row into one
preallocated array. Eager PyTorch's cost here is per op, so fewer, larger ops is what makes
sampling fast; app/core/fast/pixelcnn_numba.py compiles the per-pixel part on top of this.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .logistic_mixture import mixture_log_probs


@dataclass
class LayerCache:
    pad: int
    first: bool
    w_h: torch.Tensor             # ((pad+1)*Cin, 2h): masked horizontal taps, flattened
    w_out: torch.Tensor           # (h, h): masked 1x1 after the gate
    b_out: torch.Tensor           # (h,)
    v_in: torch.Tensor            # (B, Cin, H+pad, W+2pad): vertical input, zero padded
    h_in: torch.Tensor            # (B, W+pad, Cin): current row's horizontal input
    cond_v: torch.Tensor          # (B, 2h, 1, 1): class bias of the vertical gates (or 0)
    pos_v: torch.Tensor           # (H, 2h, 1, W): position bias of the vertical gates (or 0)
    cond_h: torch.Tensor          # (B, 1, 2h): class bias of the horizontal gates (or 0)
    h_static: torch.Tensor        # (H, W, 2h): conv bias + position bias, horizontal


@dataclass
class PixelCNNCache:
    layers: list[LayerCache]
    rest: torch.Tensor            # (L-1, B, W+pad, h): h_in of every layer after the first
    row_bias: torch.Tensor        # (L, B, W, 2h): everything per-row the horizontal adds
    last: torch.Tensor            # (B, h): top of the horizontal stack at the current pixel
    head: list[tuple]             # per colour channel: (w1, b1, w2, b2)
    mixture_levels: int = 0       # a logistic-mixture head's levels; 0 for a softmax head


def _masked(conv) -> torch.Tensor:
    """A conv's weights as it applies them (a plain conv, e.g. the SPN's head, has no mask)."""
    mask = getattr(conv, "mask", None)
    return (conv.weight if mask is None else conv.weight * mask).detach()


def _static_biases(layer, labels, height: int, width: int, batch: int, device):
    """The parts of the gates that ignore the pixels: (cond_v, pos_v, cond_h, h_static)."""
    two_h = layer.v_conv.out_channels
    cond_v = torch.zeros(batch, two_h, 1, 1, device=device)
    cond_h = torch.zeros(batch, 1, two_h, device=device)
    pos_v = torch.zeros(height, two_h, 1, width, device=device)
    h_static = layer.h_conv.bias.detach()[None, None, :].expand(height, width, -1).clone()
    if layer.cond is not None:
        cv, ch = layer.cond(labels).detach().chunk(2, dim=1)               # (B, 2h) each
        cond_v += cv[:, :, None, None]
        cond_h += ch[:, None, :]
    if layer.rows is not None:
        pv, ph = (p.detach() for p in layer.position(slice(None), slice(None)))  # (2h, H, W)
        pos_v += pv.permute(1, 0, 2)[:, :, None, :]
        h_static += ph.permute(1, 2, 0)
    return cond_v, pos_v, cond_h, h_static


def begin(net, batch: int, labels, device) -> PixelCNNCache:
    cfg = net.config
    layers = []
    # One block for the horizontal inputs of all layers but the first (same shape each),
    # so a compiled kernel can take them as one array; each layer holds a view.
    rest = torch.zeros(len(net.layers) - 1, batch, cfg.width + cfg.kernel // 2, cfg.hidden,
                       device=device)
    for index, layer in enumerate(net.layers):
        p, cin = layer.pad, layer.v_conv.in_channels
        w_h = _masked(layer.h_conv)[:, :, 0, :].permute(2, 1, 0).reshape((p + 1) * cin, -1)
        biases = _static_biases(layer, labels, cfg.height, cfg.width, batch, device)
        layers.append(LayerCache(
            p, layer.first, w_h.contiguous(), _masked(layer.h_out)[:, :, 0, 0].T.contiguous(),
            layer.h_out.bias.detach(),
            torch.zeros(batch, cin, cfg.height + p, cfg.width + 2 * p, device=device),
            rest[index - 1] if index else torch.zeros(batch, cfg.width + p, cin, device=device),
            *biases))
    w1, b1 = _masked(net.out1)[:, :, 0, 0].T, net.out1.bias.detach()
    w2, b2 = _masked(net.out2)[:, :, 0, 0].T, net.out2.bias.detach()
    width = w2.shape[1] // cfg.channels        # per sub-pixel: levels, or a mixture's 3K
    head = [(w1.contiguous(), b1, w2[:, c * width:(c + 1) * width].contiguous(),
             b2[c * width:(c + 1) * width].contiguous()) for c in range(cfg.channels)]
    row_bias = torch.zeros(len(layers), batch, cfg.width, 2 * cfg.hidden, device=device)
    cache = PixelCNNCache(layers, rest, row_bias, torch.zeros(batch, cfg.hidden, device=device),
                          head, cfg.levels if getattr(cfg, "mixture", 0) else 0)
    # The row above the image is zero padding: its link is v_to_h's bias alone.
    for i, (layer, lc) in enumerate(zip(net.layers, layers)):
        cache.row_bias[i] = lc.h_static[0] + lc.cond_h + layer.v_to_h.bias.detach()
    return cache


def step_logits(cache: PixelCNNCache, col: int, channel: int) -> torch.Tensor:
    """Logits (B, levels) for sub-pixel (current row, col, channel)."""
    layers = cache.layers
    for i, lc in enumerate(layers):
        window = lc.h_in[:, col:col + lc.pad + 1].reshape(lc.h_in.shape[0], -1)
        a, b = torch.addmm(cache.row_bias[i, :, col], window, lc.w_h).chunk(2, dim=1)
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
    out = torch.addmm(b2, torch.addmm(b1, F.relu(cache.last), w1).relu_(), w2)
    return mixture_log_probs(out, cache.mixture_levels) if cache.mixture_levels else out


def set_value(net, cache: PixelCNNCache, row: int, col: int, channel: int, values,
              finish=None) -> None:
    """Record a drawn value; a finished row advances the vertical stack (with `finish`,
    a function like finish_row, when given)."""
    scaled = net.scale_input(values)
    first = cache.layers[0]
    first.h_in[:, col + first.pad, channel] = scaled
    first.v_in[:, channel, row + first.pad, col + first.pad] = scaled
    cfg = net.config
    if col == cfg.width - 1 and channel == cfg.channels - 1:
        (finish or finish_row)(net, cache, row)


def finish_row(net, cache: PixelCNNCache, row: int) -> None:
    """Run the vertical stack on `row` and prepare the next row's horizontal biases."""
    cfg = net.config
    last_row = row + 1 >= cfg.height
    if last_row:            # no row below reads the vertical stack: 1/H of its work saved
        for lc in cache.layers:
            lc.h_in.zero_()
        return
    for i, (layer, lc) in enumerate(zip(net.layers, cache.layers)):
        v_pre = layer.v_conv(lc.v_in[:, :, row:row + lc.pad + 1])         # (B, 2h, 1, W)
        link = layer.v_to_h(v_pre)[:, :, 0].transpose(1, 2)                # (B, W, 2h)
        torch.add(link, lc.h_static[row + 1], out=cache.row_bias[i]).add_(lc.cond_h)
        if i + 1 < len(cache.layers):
            a, b = (v_pre + lc.cond_v + lc.pos_v[row]).chunk(2, dim=1)
            q = cache.layers[i + 1].pad
            cache.layers[i + 1].v_in[:, :, row + q, q:q + cfg.width] = \
                (torch.tanh(a) * torch.sigmoid(b))[:, :, 0]
        lc.h_in.zero_()


def add_gate_biases(net, cache: PixelCNNCache, extra: torch.Tensor) -> None:
    """Add per-image gate biases every position may see (B, L*4h, H, W), the `extra` of
    GatedPixelCNN.forward, to a cache made by `begin`: the static biases become per image,
    (H, B, 2h, 1, W) vertical and (H, B, W, 2h) horizontal, as the compiled row step takes."""
    for i, (layer, lc, b) in enumerate(zip(net.layers, cache.layers,
                                           extra.detach().chunk(len(net.layers), dim=1))):
        bv, bh = b.chunk(2, dim=1)                                         # (B, 2h, H, W)
        lc.pos_v = (lc.pos_v[:, None] + bv.permute(2, 0, 1, 3)[:, :, :, None, :]).contiguous()
        lc.h_static = (lc.h_static[:, None] + bh.permute(2, 0, 3, 1)).contiguous()
        # Row 0's horizontal biases were summed by `begin`: again, with these.
        cache.row_bias[i] = lc.h_static[0] + lc.cond_h + layer.v_to_h.bias.detach()
