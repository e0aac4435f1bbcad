"""Sampling a Subscale Pixel Network (app/core/nets/subscale.py): slice after slice, each
slice pixel by pixel in raster order. The first slice lands as a coarse grid spread over the
whole image (every S-th row and column); each later slice fills in between.
"""
from __future__ import annotations

from collections.abc import Iterator

from .draw import draw
from .events import ImageResult, PixelStep
from .image import reported_step, resolve_labels


def pixel_logits(net, slices, k: int, bias, row: int, col: int):
    """Logits (N, levels) of pixel (row, col) of slice k, running the decoder only on the
    rows it can see. slices: (N, S*S, h, w) levels; bias: the slice's decoder biases,
    net.decode_bias(net.context(slices, k, y), y)."""
    rows = net.decode_with(slices[:, k, :row + 1], bias[:, :, :row + 1])
    return rows[:, :, row, col]


def sample_subscale(net, codec, n: int = 1, labels=None, temperature: float = 1.0,
                    seed: int | None = None, device=None, report: bool = False
                    ) -> Iterator[PixelStep | ImageResult]:
    """Yield a PixelStep per pixel in subscale order (with its image row and column), then
    the ImageResult. One context pass per slice, one decoder pass per pixel. With `report`
    each PixelStep carries the distribution it was drawn from (see sample_images)."""
    import torch

    from ..nets.subscale import from_slices

    cfg, s, gen, y, slices = _start(net, n, labels, seed, device)
    total, step = cfg.height * cfg.width, 0
    with torch.no_grad():
        for k in range(s * s):
            a, b = divmod(k, s)
            bias = net.decode_bias(net.context(slices, k, y), y)      # once per slice
            for r in range(slices.shape[2]):
                for c in range(slices.shape[3]):
                    logits = pixel_logits(net, slices, k, bias, r, c)
                    values = draw(logits, gen, temperature)[0]
                    slices[:, k, r, c] = values
                    event = PixelStep(step, total, a + s * r, b + s * c, 0,
                                      values.cpu().numpy())
                    yield reported_step(event, logits, values, temperature) if report \
                        else event
                    step += 1
    levels = from_slices(slices, s)[:, None].cpu().numpy()              # (n, 1, H, W)
    yield ImageResult(levels, codec.decode(levels))


def quick_images(net, codec, n: int = 4, labels=None, seed: int = 0) -> ImageResult:
    """A rough look at what an SPN has learnt, for training previews: slices in order as
    usual, but each row of a slice is drawn in one decoder pass, its pixels independently
    given the rows above and the earlier slices. One pass per pixel would make a 28 x 28
    preview cost 784 decoder passes (seconds of training each time); this costs 28 (S*S
    slices x H/S rows). Not the model's exact sampling: for that, use sample_subscale."""
    import torch

    from ..nets.subscale import from_slices

    cfg, s, gen, y, slices = _start(net, n, labels, seed, None)
    width = slices.shape[3]
    with torch.no_grad():
        for k in range(s * s):
            context = net.context(slices, k, y)                        # (n, ctx, h, w)
            for r in range(slices.shape[2]):
                logits = net.decode_logits(slices[:, k, :r + 1], context[:, :, :r + 1], y)
                row = logits[:, :, r].permute(0, 2, 1).reshape(n * width, -1)  # (n*w, L)
                slices[:, k, r] = draw(row, gen)[0].view(n, width)
    levels = from_slices(slices, s)[:, None].cpu().numpy()              # (n, 1, H, W)
    return ImageResult(levels, codec.decode(levels))


def _start(net, n: int, labels, seed, device):
    """What both samplers begin with: config, scale, seeded generator, labels, and the empty
    slices (n, S*S, H/S, W/S) on the net's device (or `device`)."""
    import torch

    from ..devices import make_generator

    device = torch.device(device or next(net.parameters()).device)
    cfg = net.config
    s = cfg.scale
    slices = torch.zeros(n, s * s, cfg.height // s, cfg.width // s, dtype=torch.long,
                         device=device)
    return cfg, s, make_generator(seed, device), resolve_labels(net, n, labels, device), slices


def sample_in_order(net, codec, n: int, labels, temperature: float, seed: int | None, *,
                    order: str = "subscale", device=None, naive: bool = False,
                    compiled: bool = True, report: bool = False
                    ) -> Iterator[PixelStep | ImageResult]:
    """The registry's image sampler for an SPN: its own slice order, whatever is asked."""
    return sample_subscale(net, codec, n, labels, temperature, seed, device=device,
                           report=report)
