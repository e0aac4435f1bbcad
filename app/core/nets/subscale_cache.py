"""The Subscale Pixel Network's decoder with the Gated PixelCNN's row cache, one slice at a
time.

The SPN's decoder is a small Gated PixelCNN over one slice (pixelcnn.GatedLayer layers)
whose gates take a per-position bias (the projected context plus the class) instead of the
PixelCNN's class and position biases. Running the whole decoder again for every pixel, as
sample_subscale's plain path does, costs ~10 ms a pixel in per-op overhead. Here the
PixelCNN's row cache (pixelcnn_cache.py) is built for the slice and its static biases are
replaced by the slice's: the vertical stack then runs once per finished row, the horizontal
stack once per pixel, and on the CPU the per-pixel part runs in the PixelCNN's compiled
kernel (fast/pixelcnn_numba.py). Same arithmetic as SubscaleNet.decode_with; the tests
compare both.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from . import pixelcnn_cache


@dataclass
class _DecoderShape:
    """What pixelcnn_cache reads from a PixelCNN's config, for one slice of an SPN."""

    height: int
    width: int
    hidden: int
    kernel: int              # of the layers after the first (their horizontal window)
    levels: int
    channels: int = 1


class SliceDecoder:
    """The SPN's decoder seen as a Gated PixelCNN over one slice: what pixelcnn_cache and
    the compiled kernel need (layers, head, config, scale_input)."""

    def __init__(self, net):
        cfg = net.config
        self.layers, self.out1, self.out2 = net.layers, net.out1, net.out2
        later = net.layers[1].pad if len(net.layers) > 1 else net.layers[0].pad
        self.config = _DecoderShape(cfg.height // cfg.scale, cfg.width // cfg.scale,
                                    cfg.decoder_hidden, 2 * later + 1, cfg.levels,
                                    cfg.channels)
        self.scale_input = net.scale_input


def set_slice_biases(decoder: SliceDecoder, cache: pixelcnn_cache.PixelCNNCache,
                     bias: torch.Tensor) -> None:
    """Put one slice's decoder biases (N, L*4dh, h, w), SubscaleNet.decode_bias, into a
    cache made by pixelcnn_cache.begin(decoder, ...) for that slice."""
    for i, (layer, lc, b) in enumerate(zip(decoder.layers, cache.layers,
                                           bias.chunk(len(decoder.layers), dim=1))):
        bv, bh = b.chunk(2, dim=1)                                       # (N, 2dh, h, w)
        lc.pos_v = bv.permute(2, 0, 1, 3)[:, :, :, None, :].contiguous()  # (h, N, 2dh, 1, w)
        lc.h_static = (bh.permute(2, 0, 3, 1)                            # (h, N, w, 2dh)
                       + layer.h_conv.bias.detach()).contiguous()
        # The row above the slice is zero padding: its link is v_to_h's bias alone.
        cache.row_bias[i] = lc.h_static[0] + lc.cond_h + layer.v_to_h.bias.detach()
