"""Sampling a depth-upscaling model (nets/depth_upscale.py): the coarse bits of every
sub-pixel in raster order, then the fine bits in raster order over them.

Each stage is a Gated PixelCNN and runs on the same paths as one (sampling/image.py: the
row cache, compiled on the CPU, or the naive full pass); stage two's cache carries the gate
biases the encoder computed once from the finished coarse image. PixelSteps carry full
levels, so a viewer needs nothing special: during stage one a sub-pixel shows the middle of
its coarse bin, and stage two replaces it with the exact value.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .draw import distribution
from .events import ImageResult, PixelStep, Stage
from .image import _stepper, resolve_labels


def stage_titles(config) -> tuple[str, str]:
    colour = "colour" if config.channels == 3 else "grey"
    bits = config.levels.bit_length() - 1
    return (f"coarse: {config.coarse_bits}-bit {colour}",
            f"refine: the other {config.fine_bits} bits ({bits}-bit {colour})")


def sample_depth(net, codec, n: int, labels, temperature: float, seed: int | None, *,
                 order: str = "raster", device=None, naive: bool = False,
                 compiled: bool = True, report: bool = False, guidance: float = 1.0
                 ) -> Iterator[PixelStep | Stage | ImageResult]:
    """Yield Stage, PixelSteps (coarse), Stage, PixelSteps (fine), then the ImageResult.

    With `report`, each step's distribution is over the sub-pixel's full levels, as the
    views expect: stage one's spreads each coarse value's probability evenly over its bin
    (the fine bits are not drawn yet); stage two's puts the fine distribution inside the
    drawn bin (nets.depth_upscale.full_level_log_probs). The log-probability is of everything
    drawn at the sub-pixel so far: the coarse bits in stage one, coarse and fine bits in
    stage two, so stage two's steps add up to log p(image). `guidance` guides both stages
    (sampling/guidance.py)."""
    levels = None
    for event in depth_steps(net, n, labels, temperature, seed, device, naive, compiled,
                             report, guidance):
        if isinstance(event, (PixelStep, Stage)):
            yield event
        else:
            levels = event
    assert levels is not None
    yield ImageResult(levels, codec.decode(levels))


def fill_depth(net, codec, image, mask, n: int, labels, temperature: float, seed: int | None,
               *, device=None, naive: bool = False, compiled: bool = True,
               report: bool = False, guidance: float = 1.0) -> Iterator:
    """Inpaint with a depth-upscaling net, raster method: stage one fills the hidden
    sub-pixels' coarse bits in raster order, keeping the known pixels' own; stage two
    fills their fine bits over the whole coarse image, so it sees the coarse picture on
    every side of the hole, not only above and left. Yields Stages and PixelSteps (hidden
    sub-pixels only, counted over both stages), then the InpaintResult."""
    from .inpaint import _result, as_batch, check_inputs

    mask = np.asarray(mask, bool)
    check_inputs(codec, np.asarray(image), mask)
    known = as_batch(image, n)
    levels = None
    for event in depth_steps(net, n, labels, temperature, seed, device, naive, compiled,
                             report, guidance, known=known, mask=mask):
        if isinstance(event, (PixelStep, Stage)):
            yield event
        else:
            levels = event
    assert levels is not None
    yield _result(codec, levels, mask, "raster")


def depth_steps(net, n: int, labels, temperature: float, seed: int | None, device, naive: bool,
                compiled: bool, report: bool, guidance: float, known=None, mask=None):
    """The two stages' events, then the drawn levels (n, C, H, W). With `known` (n, C, H, W)
    levels and `mask` (H, W, True = hidden), only hidden sub-pixels are drawn (and stepped
    and counted); the others keep their known bits."""
    import torch

    from ..devices import make_generator
    from ..nets.depth_upscale import full_level_log_probs, spread_over_bins
    from .guidance import Guidance

    device = torch.device(device or next(net.parameters()).device)
    cfg = net.config
    gen = make_generator(seed, device)
    guide = Guidance(net, n, resolve_labels(net, n, labels, device), guidance)
    y = guide.labels
    shape = (guide.batch, cfg.channels, cfg.height, cfg.width)
    hidden = np.ones((cfg.height, cfg.width), bool) if mask is None else mask
    per_stage = cfg.channels * int(hidden.sum())
    coarse = torch.zeros(shape, dtype=torch.long, device=device)
    fine = torch.zeros(shape, dtype=torch.long, device=device)
    if known is not None:
        coarse, fine = net.split(guide.widen(torch.as_tensor(known, dtype=torch.long,
                                                             device=device)))
    # Stage one's log-probabilities, which stage two's full-level distributions build on.
    coarse_logp = torch.zeros(n, *shape[1:], 1 << cfg.coarse_bits, device=device) if report \
        else torch.empty(0)
    step = 0
    with torch.no_grad():
        for index, (stage_net, bits, title) in enumerate(zip(
                (net.coarse, net.fine), (coarse, fine), stage_titles(cfg))):
            yield Stage(index, 2, title, 2 * per_stage)
            extra = net.fine_biases(coarse, y) if index else None
            draw_at, record = _stepper(stage_net, bits, y, naive, compiled, device,
                                       guide.net_generator(gen), temperature, extra)
            for row in range(cfg.height):
                for col in range(cfg.width):
                    for ch in range(cfg.channels):
                        values, logits = draw_at(row, col, ch)
                        if not hidden[row, col]:        # a known pixel keeps its bits
                            guide.pass_over(gen)
                            record(row, col, ch, bits[:, ch, row, col])
                            continue
                        values, drawn, logits = guide.choose(values, logits, gen, temperature)
                        bits[:, ch, row, col] = values
                        record(row, col, ch, values)
                        mine = guide.shown(coarse)[:, ch, row, col]
                        shown = net.join(mine, drawn) if index else net.coarse_levels(drawn)
                        event = PixelStep(step, 2 * per_stage, row, col, ch,
                                          shown.cpu().numpy())
                        if report:
                            probs, logp = distribution(logits, drawn.to(device), temperature)
                            if index:
                                full = full_level_log_probs(
                                    coarse_logp[:, ch, row, col], probs.log(), mine)
                                logp = full.gather(1, shown[:, None])[:, 0]
                            else:
                                coarse_logp[:, ch, row, col] = probs.log()
                                full = spread_over_bins(probs.log(), 1 << cfg.fine_bits)
                            event.probs = full.exp().float().cpu().numpy()
                            event.logprob = logp.float().cpu().numpy()
                        yield event
                        step += 1
    yield net.join(guide.shown(coarse), guide.shown(fine)).cpu().numpy()


def quick_images(net, codec, n: int, labels, seed: int | None):
    """A finished batch for training previews (the fast path, no events kept)."""
    from .events import final_event

    return final_event(sample_depth(net, codec, n, labels, 1.0, seed))
