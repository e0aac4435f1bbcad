"""Inpainting with a raster-order PixelCNN: fill the hidden pixels, never touch the known ones.

`raster` walks the image in the model's order and draws each hidden sub-pixel conditioned on
everything before it (known pixels and pixels already filled). It cannot see known pixels
below or to the right of the hole, so it may leave seams there.

`resample` (sampling-importance-resampling) draws K raster fills per result and picks one
with probability proportional to the likelihood the model gives the known pixels once that
fill is in place. Raster filling proposes q(fill) = prod over hidden of p(x_h | x_<h); the
target is p(fill | all known pixels), proportional to the joint p(x); their ratio is the
product over known sub-pixels of p(x_k | x_<k), one full forward pass per candidate. Known
pixels before the hole contribute the same factor to every candidate, so in effect the
candidates are weighed by how well they agree with what lies after the hole.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .events import ImageResult, PixelStep
from .image import _stepper, reported_step, resolve_labels


@dataclass
class InpaintResult(ImageResult):
    mask: np.ndarray | None = None             # (H, W) bool, True = was hidden
    method: str = "raster"
    weights: np.ndarray | None = None          # (n, K) resampling weights, each row sums to 1


def check_inputs(codec, image: np.ndarray, mask: np.ndarray) -> None:
    """`image` is one (C, H, W) picture or an (n, C, H, W) batch sharing the mask."""
    shape = (codec.channels, codec.height, codec.width)
    if image.shape[-3:] != shape or image.ndim not in (3, 4):
        raise ValueError(f"image has shape {image.shape}, the model needs {shape}")
    if mask.shape != shape[1:]:
        raise ValueError(f"mask has shape {mask.shape}, the model needs {shape[1:]}")
    if not mask.any():
        raise ValueError("the mask hides no pixel: nothing to fill")
    if image.min() < 0 or image.max() >= codec.levels:
        raise ValueError(f"image levels must be in 0..{codec.levels - 1}")


def as_batch(image: np.ndarray, n: int) -> np.ndarray:
    """One (C, H, W) picture repeated n times, or an (n, C, H, W) batch of different ones
    (evaluation fills many test images under one mask at once): (n, C, H, W)."""
    image = np.asarray(image)
    if image.ndim == 4:
        if len(image) != n:
            raise ValueError(f"{len(image)} images given for {n} fills")
        return image
    return np.repeat(image[None], n, axis=0)


def inpaint_raster(net, codec, image: np.ndarray, mask: np.ndarray, n: int = 1, label=None,
                   temperature: float = 1.0, seed: int | None = None, device=None,
                   compiled: bool = True, naive: bool = False, report: bool = False,
                   guidance: float = 1.0) -> Iterator[PixelStep | InpaintResult]:
    """Fill the hidden pixels of `image` (C, H, W levels) `n` times, in raster order (or of
    each of n different images, given as an (n, C, H, W) batch).

    Yields a PixelStep per hidden sub-pixel (step / total count hidden sub-pixels only),
    then an InpaintResult. The fast, compiled and naive paths make identical choices. With
    `report` each PixelStep carries the distribution it was drawn from (see sample_images);
    `guidance` guides the hidden sub-pixels towards the class (sampling/guidance.py).
    """
    levels = None
    for event in _fill(net, codec, image, mask, n, label, temperature, seed, device,
                       compiled, naive, report, guidance):
        if isinstance(event, PixelStep):
            yield event
        else:
            levels = event
    assert levels is not None                      # _fill always ends with the filled levels
    yield _result(codec, levels, mask, "raster")


def inpaint_resample(net, codec, image: np.ndarray, mask: np.ndarray, n: int = 1,
                     candidates: int = 8, label=None, temperature: float = 1.0,
                     seed: int | None = None, device=None, compiled: bool = True
                     ) -> Iterator[PixelStep | InpaintResult]:
    """Draw `candidates` raster fills per result, keep one per result by importance weight.
    `image` is one picture (C, H, W) or n different ones (n, C, H, W).

    The PixelSteps carry the values of all n * candidates fills (result i owns candidates
    i * K .. i * K + K - 1), so a view can show the candidates being drawn.
    """
    import torch

    from ..devices import make_generator

    if candidates < 1:
        raise ValueError("resampling needs at least 1 candidate")
    filled = None
    proposals = np.repeat(as_batch(image, n), candidates, axis=0)
    for event in _fill(net, codec, proposals, mask, n * candidates, label, temperature, seed,
                       device, compiled, naive=False):
        if isinstance(event, PixelStep):
            yield event
        else:
            filled = event                                         # (n*K, C, H, W)
    assert filled is not None                      # _fill always ends with the filled levels
    device = torch.device(device or next(net.parameters()).device)
    log_w = known_log_likelihood(net, filled, mask, label, device)   # (n*K,)
    log_w = log_w.view(n, candidates)
    weights = torch.softmax(log_w, dim=1)
    # A generator of its own, so the choice does not shift the fills' random stream.
    gen = make_generator(None if seed is None else seed + 1, torch.device("cpu"))
    picks = torch.multinomial(weights.cpu(), 1, generator=gen)[:, 0]
    chosen = filled[np.arange(n) * candidates + picks.numpy()]
    yield _result(codec, chosen, mask, "resample", weights.cpu().numpy())


def known_log_likelihood(net, levels: np.ndarray, mask: np.ndarray, label, device):
    """Sum over known sub-pixels of log p(x_k | x_<k), per image: (B,) tensor, in nats."""
    return log_likelihood_at(net, levels, ~np.asarray(mask, bool), label, device)


def raster_hidden_nll(net, levels: np.ndarray, mask: np.ndarray, label=None, device=None
                      ) -> np.ndarray:
    """-sum over hidden sub-pixels of log p(x_h | x_<h) in nats per image: (B,). What a
    raster model knows about a hole: only the pixels before each one in its order, known or
    hidden. One forward pass for the lot."""
    import torch

    device = torch.device(device or next(net.parameters()).device)
    return -log_likelihood_at(net, levels, np.asarray(mask, bool), label, device).cpu().numpy()


def log_likelihood_at(net, levels: np.ndarray, where: np.ndarray, label, device):
    """Sum of log p(x_i | x_<i) over the sub-pixels at `where` (H, W), per image: (B,)."""
    import torch

    x = torch.as_tensor(levels, dtype=torch.long, device=device)
    y = resolve_labels(net, x.shape[0], label, device)
    at = torch.as_tensor(where, device=device)                     # (H, W)
    total = torch.zeros(x.shape[0], device=device)
    with torch.no_grad():
        for start in range(0, x.shape[0], 64):                     # bounded memory
            xb, yb = x[start:start + 64], y[start:start + 64]
            logp = torch.log_softmax(net(xb, yb), dim=1)          # (b, L, C, H, W)
            picked = logp.gather(1, xb[:, None])[:, 0]             # (b, C, H, W)
            total[start:start + 64] = (picked * at).flatten(1).sum(1)
    return total


def _fill(net, codec, image, mask, n, label, temperature, seed, device, compiled, naive,
          report: bool = False, guidance: float = 1.0):
    """Yield PixelSteps for hidden sub-pixels, then the (n, C, H, W) filled levels."""
    import torch

    from ..devices import make_generator
    from .guidance import Guidance

    mask = np.asarray(mask, bool)
    check_inputs(codec, np.asarray(image), mask)
    images = as_batch(image, n)
    device = torch.device(device or next(net.parameters()).device)
    cfg = net.config
    gen = make_generator(seed, device)
    guide = Guidance(net, n, resolve_labels(net, n, label, device), guidance)
    x = guide.widen(torch.as_tensor(np.where(mask, 0, images), dtype=torch.long,
                                    device=device))
    hidden_rows = np.flatnonzero(mask.any(axis=1))
    total, step = int(mask.sum()) * cfg.channels, 0
    with torch.no_grad():
        draw_at, record = _stepper(net, x, guide.labels, naive, compiled, device,
                                   guide.net_generator(gen), temperature)
        for row in range(int(hidden_rows[-1]) + 1):
            # Columns after a row's last hidden pixel need no computation: their values are
            # known, and the row's state is rebuilt from the values alone.
            last = int(np.flatnonzero(mask[row])[-1]) if mask[row].any() else -1
            for col in range(cfg.width):
                for ch in range(cfg.channels):
                    if col <= last:
                        drawn, logits = draw_at(row, col, ch)
                        if mask[row, col]:
                            drawn, shown, logits = guide.choose(drawn, logits, gen,
                                                                temperature)
                            x[:, ch, row, col] = drawn
                            event = PixelStep(step, total, row, col, ch, shown.cpu().numpy())
                            yield reported_step(event, logits, shown, temperature) if report \
                                else event
                            step += 1
                        else:
                            guide.pass_over(gen)
                    record(row, col, ch, x[:, ch, row, col])
    yield guide.shown(x).cpu().numpy()


RESAMPLE_UNGUIDED = ("resampling is not guided: it weighs fills by the model's own "
                     "likelihood (set guidance to 1, or use the raster or any-order method)")


def _result(codec, levels: np.ndarray, mask: np.ndarray, method: str, weights=None):
    return InpaintResult(levels, codec.decode(levels), mask, method, weights)


def fill_raster(net, codec, image: np.ndarray, mask: np.ndarray, n: int, labels,
                temperature: float, seed: int | None, *, candidates: int = 1,
                order: str = "raster", device=None, report: bool = False,
                guidance: float = 1.0) -> Iterator:
    """The registry's 'raster' inpainting method (a depth-upscaling net's in two stages)."""
    from ..nets.depth_upscale import DepthUpscaleNet

    if isinstance(net, DepthUpscaleNet):
        from .depth import fill_depth

        return fill_depth(net, codec, image, mask, n, labels, temperature, seed,
                          device=device, report=report, guidance=guidance)
    return inpaint_raster(net, codec, image, mask, n, labels, temperature, seed, device,
                          report=report, guidance=guidance)


def fill_resample(net, codec, image: np.ndarray, mask: np.ndarray, n: int, labels,
                  temperature: float, seed: int | None, *, candidates: int = 8,
                  order: str = "raster", device=None, guidance: float = 1.0) -> Iterator:
    """The registry's 'resample' inpainting method. Not guided: it keeps fills by the
    model's own likelihood of the known pixels, which guided proposals would not match."""
    if guidance != 1.0:
        raise ValueError(RESAMPLE_UNGUIDED)
    return inpaint_resample(net, codec, image, mask, n, candidates, labels, temperature, seed,
                            device)
