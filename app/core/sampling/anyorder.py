"""Sampling an any-order image model (app/core/nets/anyorder.py) in an order of your choice.

The same walk generates a whole image (every pixel hidden) or fills a hole (known pixels
visible from the start and never changed), in any of the orders of orders.py. Within a
pixel, colour channels go R -> G -> B.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .draw import draw
from .events import ImageResult, PixelStep
from .image import reported_step, resolve_labels
from .inpaint import InpaintResult, as_batch, check_inputs
from .orders import fill_order


@dataclass
class Walk:
    """The state of one any-order walk: the images (n, C, H, W) and which sub-pixels are
    visible, the hidden pixels in the order they will be drawn, the labels, the generator.
    With guidance (sampling/guidance.py) the images, visibility and labels are the net's
    batch of 2n, and `guide` picks the values."""

    x: Any
    visible: Any
    cells: np.ndarray          # (N, 2) hidden pixels, in drawing order
    mask: np.ndarray           # (H, W) hidden
    y: Any
    gen: Any
    filling: bool
    order: Any
    guide: Any

    def result(self, codec) -> ImageResult:
        levels = self.guide.shown(self.x).cpu().numpy()
        if self.filling:
            name = self.order if isinstance(self.order, str) else "given"
            return InpaintResult(levels, codec.decode(levels), self.mask, f"anyorder-{name}")
        return ImageResult(levels, codec.decode(levels))


def start_walk(net, codec, n: int, labels, seed: int | None, order, image, mask, device,
               guidance: float = 1.0) -> Walk:
    """Checked inputs and a fresh walk: generating (no image: every pixel hidden) or filling
    the hidden pixels of `image` (C, H, W), or of n images (n, C, H, W)."""
    import torch

    from ..devices import make_generator
    from .guidance import Guidance

    device = torch.device(device or next(net.parameters()).device)
    cfg = net.config
    filling = image is not None
    if image is None:
        image = np.zeros((cfg.channels, cfg.height, cfg.width), np.int64)
        mask = np.ones((cfg.height, cfg.width), bool) if mask is None else mask
    mask = np.asarray(mask, bool)
    check_inputs(codec, np.asarray(image), mask)
    cells = fill_order(mask, order, np.random.default_rng(seed))
    x = torch.as_tensor(np.where(mask, 0, as_batch(image, n)), dtype=torch.long,
                        device=device)
    visible = torch.as_tensor(~mask, device=device)[None, None].repeat(n, cfg.channels, 1, 1)
    guide = Guidance(net, n, resolve_labels(net, n, labels, device), guidance)
    return Walk(guide.widen(x), guide.widen(visible), cells, mask, guide.labels,
                make_generator(seed, device), filling, order, guide)


def sample_anyorder(net, codec, n: int = 1, labels=None, temperature: float = 1.0,
                    seed: int | None = None, order: str = "random",
                    image: np.ndarray | None = None, mask: np.ndarray | None = None,
                    device=None, report: bool = False, guidance: float = 1.0
                    ) -> Iterator[PixelStep | ImageResult]:
    """Generate `n` images (no image given) or fill the hidden pixels of `image` (C, H, W),
    n times, or of n different images given as an (n, C, H, W) batch.

    Yields a PixelStep per drawn sub-pixel in `order`, then an ImageResult (InpaintResult
    when filling). One full forward pass per sub-pixel. With `report` each PixelStep carries
    the distribution it was drawn from (see sample_images); `guidance`: the classifier-free
    guidance scale (sampling/guidance.py; 1 = none).
    """
    import torch

    walk = start_walk(net, codec, n, labels, seed, order, image, mask, device, guidance)
    guide = walk.guide
    cfg, x, visible, y, gen = net.config, walk.x, walk.visible, walk.y, walk.gen
    cells = walk.cells
    total, step = len(cells) * cfg.channels, 0
    with torch.no_grad():
        for row, col in cells:
            for ch in range(cfg.channels):
                logits = guide.logits(net.logits_at(x, visible, y, int(row), int(col), ch))
                shown = draw(logits, gen, temperature)[0]
                x[:, ch, row, col] = guide.widen(shown)
                visible[:, ch, row, col] = True
                event = PixelStep(step, total, int(row), int(col), ch, shown.cpu().numpy())
                yield reported_step(event, logits, shown, temperature) if report else event
                step += 1
    yield walk.result(codec)


def hidden_nll(net, levels: np.ndarray, mask: np.ndarray, order: str = "raster", labels=None,
               seed: int = 0, device=None) -> np.ndarray:
    """Exact -log p(hidden sub-pixels | known ones) in nats per image, revealing the true
    values one at a time in `order` (one forward pass per hidden sub-pixel): (B,)."""
    import torch

    device = torch.device(device or next(net.parameters()).device)
    x = torch.as_tensor(levels, dtype=torch.long, device=device)     # (B, C, H, W)
    b, channels = x.shape[:2]
    y = resolve_labels(net, b, labels, device)
    cells = fill_order(np.asarray(mask, bool), order, np.random.default_rng(seed))
    visible = torch.as_tensor(~np.asarray(mask, bool), device=device)[None, None]
    visible = visible.repeat(b, channels, 1, 1)
    total = torch.zeros(b, device=device)
    with torch.no_grad():
        for row, col in cells:
            for ch in range(channels):
                logp = torch.log_softmax(net.logits_at(x, visible, y, int(row), int(col), ch), 1)
                total -= logp.gather(1, x[:, ch, row, col][:, None])[:, 0]
                visible[:, ch, row, col] = True
    return total.cpu().numpy()


def quick_images(net, codec, n: int = 4, labels=None, seed: int = 0, passes: int = 49
                 ) -> ImageResult:
    """A rough look at what an any-order model has learnt, for training previews: the pixels
    are split into `passes` groups of a random order, and each group is drawn in one forward
    pass, independently given what is visible (as in Autoregressive Diffusion Models'
    parallel generation). One pass per pixel would make every preview cost as much as a few
    minutes of training; this costs `passes`. Not the model's exact sampling: for that, use
    sample_anyorder."""
    import torch

    from ..devices import make_generator

    device = next(net.parameters()).device
    cfg = net.config
    gen = make_generator(seed, device)
    y = resolve_labels(net, n, labels, device)
    shape = (n, cfg.channels, cfg.height, cfg.width)
    x = torch.zeros(shape, dtype=torch.long, device=device)
    visible = torch.zeros(shape, dtype=torch.bool, device=device)
    order = np.random.default_rng(seed).permutation(cfg.channels * cfg.height * cfg.width)
    with torch.no_grad():
        for group in np.array_split(order, min(passes, len(order))):
            logits = net(x, visible, y)                               # (n, L, C, H, W)
            flat = logits.flatten(2)[:, :, group]                     # (n, L, g)
            rows = flat.permute(0, 2, 1).reshape(-1, cfg.levels)      # (n * g, L)
            values = draw(rows, gen)[0].view(n, len(group))
            x.view(n, -1)[:, group] = values
            visible.view(n, -1)[:, group] = True
    levels = x.cpu().numpy()
    return ImageResult(levels, codec.decode(levels))


def sample_in_order(net, codec, n: int, labels, temperature: float, seed: int | None, *,
                    order: str = "random", device=None, naive: bool = False,
                    compiled: bool = True, report: bool = False, guidance: float = 1.0
                    ) -> Iterator[PixelStep | ImageResult]:
    """The registry's image sampler for an any-order model (one full pass per pixel, so
    `naive` and `compiled` change nothing)."""
    return sample_anyorder(net, codec, n, labels, temperature, seed, order, device=device,
                           report=report, guidance=guidance)


def fill_anyorder(net, codec, image: np.ndarray, mask: np.ndarray, n: int, labels,
                  temperature: float, seed: int | None, *, candidates: int = 1,
                  order: str = "nearest", device=None, report: bool = False,
                  guidance: float = 1.0) -> Iterator:
    """The registry's 'any-order' inpainting method."""
    return sample_anyorder(net, codec, n, labels, temperature, seed, order, image=image,
                           mask=mask, device=device, report=report, guidance=guidance)
