"""Budgeted parallel decoding for the any-order image model (Autoregressive Diffusion
Models, Hoogeboom et al. 2022): draw an image, or fill a hole, in a number of network calls
the user chooses rather than one call per sub-pixel.

Each call reveals the next k sub-pixels of the order at once, each drawn from its own
conditional given what is visible (they are treated as independent given the past, which is
the approximation that costs likelihood). Which k per call is the schedule (schedule.py),
planned from the model's loss per step, L_t, which `step_losses` measures here.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from .anyorder import start_walk
from .draw import draw
from .events import ImageResult, PixelStep
from .image import reported_step, resolve_labels


def step_losses(net, levels: np.ndarray, labels=None, points: int = 48, seed: int = 0,
                device=None) -> np.ndarray:
    """L_t for t = 0 .. D-1, in bits: the mean -log2 p of the hidden sub-pixels of real
    images `levels` (n, C, H, W) with t random ones visible, measured at `points` values
    of t (one pass each over the images), interpolated between them and made
    non-increasing."""
    import math

    import torch
    import torch.nn.functional as F

    device = device or next(net.parameters()).device
    x = torch.as_tensor(np.asarray(levels, np.int64), device=device)
    n = x.shape[0]
    dims = x[0].numel()
    y = resolve_labels(net, n, labels, device)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    ts = np.unique(np.linspace(0, dims - 1, min(points, dims)).round().astype(np.int64))
    measured = []
    with torch.no_grad():
        for t in ts:
            ranks = torch.rand(n, dims, generator=gen).argsort(1).argsort(1).to(device)
            visible = (ranks < int(t)).view_as(x)
            ce = F.cross_entropy(net(x, visible, y), x, reduction="none").flatten(1)
            hidden = (~visible).flatten(1).float()
            measured.append(float(((ce * hidden).sum() / hidden.sum()).item()) / math.log(2))
    # With more visible, an exact model can only do better on average (conditioning cannot
    # raise entropy); the measured points wobble by sampling noise, and a schedule planned
    # on a wobble would "save" bits it cannot. So the curve is made non-increasing.
    return np.minimum.accumulate(np.interp(np.arange(dims), ts, np.array(measured)))


def sample_budgeted(net, codec, n: int, labels, temperature: float, seed: int | None,
                    sizes: Sequence[int], order="random", image: np.ndarray | None = None,
                    mask: np.ndarray | None = None, device=None, report: bool = False,
                    guidance: float = 1.0) -> Iterator[PixelStep | ImageResult]:
    """Generate (no image) or fill the hidden pixels of `image` with len(sizes) network
    calls, call c revealing the next sizes[c] sub-pixels of `order` at once. Yields a
    PixelStep per sub-pixel, as sample_anyorder does, then the ImageResult (InpaintResult
    when filling). `guidance`: as sample_anyorder's."""
    import torch

    walk = start_walk(net, codec, n, labels, seed, order, image, mask, device, guidance)
    guide = walk.guide
    cfg, x, visible, y, gen = net.config, walk.x, walk.visible, walk.y, walk.gen
    device = x.device
    subs = np.array([(r, c, ch) for r, c in walk.cells.tolist() for ch in range(cfg.channels)],
                    np.int64).reshape(-1, 3)
    if sum(sizes) != len(subs) or min(sizes, default=1) < 1:
        raise ValueError(f"a schedule must reveal the {len(subs)} hidden sub-pixels, "
                         f"got {sum(sizes)} in {len(sizes)} calls")
    total, step = len(subs), 0
    with torch.no_grad():
        for k in sizes:
            group = subs[step:step + k]
            rows, cols, chans = (torch.as_tensor(group[:, i], device=device) for i in range(3))
            logits = net(x, visible, y)[:, :, chans, rows, cols]          # (batch, L, k)
            flat = logits.permute(0, 2, 1).reshape(-1, cfg.levels)        # (batch * k, L)
            # Guidance pairs image i with its unguided twin n + i: rows i*k.. and (n+i)*k..
            flat = guide.logits(flat)                                     # (n * k, L)
            logits = flat.view(n, k, -1).permute(0, 2, 1)                 # (n, L, k)
            values = draw(flat, gen, temperature)[0]
            x[:, chans, rows, cols] = guide.widen(values.view(n, k))
            visible[:, chans, rows, cols] = True
            per = values.view(n, k)
            for j, (r, c, ch) in enumerate(group.tolist()):
                event = PixelStep(step + j, total, r, c, ch, per[:, j].cpu().numpy())
                yield reported_step(event, logits[:, :, j], per[:, j], temperature) \
                    if report else event
            step += k
    yield walk.result(codec)
