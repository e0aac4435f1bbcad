"""Sampling a Subscale Pixel Network (app/core/nets/subscale.py): slice after slice, each
slice pixel by pixel in raster order (R -> G -> B within a pixel in colour). The first slice
is the image at 1/S size (every S-th row and column): it is announced as its own stage and
each of its pixels shows as an S x S block; the later slices are the upscaling to full size,
filling in between. `small` starts from a given small image instead (size upscaling alone).
"""
from __future__ import annotations

from collections.abc import Iterator

from .draw import draw
from .events import ImageResult, PixelStep, Stage
from .image import reported_step, resolve_labels


def pixel_logits(net, slices, k: int, bias, row: int, col: int, channel: int = 0):
    """Logits (N, levels) of sub-pixel (row, col, channel) of slice k, running the decoder
    only on the rows it can see. slices: (N, S*S, C, h, w) levels; bias: the slice's decoder
    biases, net.decode_bias(net.context(slices, k, y), y)."""
    rows = net.decode_with(slices[:, k, :, :row + 1], bias[:, :, :row + 1])
    return rows[:, :, channel, row, col]


def stage_titles(config) -> tuple[str, str]:
    s = config.scale
    return (f"small: {config.height // s} \u00d7 {config.width // s} (every {s}th pixel)"
            if s > 2 else f"half size: {config.height // s} \u00d7 {config.width // s}",
            f"upscaling to {config.height} \u00d7 {config.width}")


def small_problem(config, small) -> str | None:
    """Why `small` (levels (n, C, H/S, W/S)) cannot start this SPN, or None."""
    shape = (config.channels, config.height // config.scale, config.width // config.scale)
    if small.ndim != 4 or tuple(small.shape[1:]) != shape:
        return (f"the small image must be {shape[1]} x {shape[2]} with {shape[0]} "
                f"channel(s) for this model, got {tuple(small.shape[1:])}")
    if small.min() < 0 or small.max() >= config.levels:
        return f"the small image's levels must lie in 0..{config.levels - 1}"
    return None


def sample_subscale(net, codec, n: int = 1, labels=None, temperature: float = 1.0,
                    seed: int | None = None, device=None, report: bool = False,
                    compiled: bool = True, small=None, guidance: float = 1.0
                    ) -> Iterator[PixelStep | Stage | ImageResult]:
    """Yield a Stage, a PixelStep per sub-pixel in subscale order (with its image row and
    column) and a Stage where the upscaling begins, then the ImageResult. One context pass
    per slice; each slice's pixels through the decoder's row cache
    (app/core/nets/subscale_cache.py), compiled on the CPU, or with `compiled=False` one
    plain decoder pass per pixel (the reference; same draws). With `report` each PixelStep
    carries the distribution it was drawn from (see sample_images).

    `small`: levels (n, C, H/S, W/S) to start from as the first slice: only the upscaling
    is drawn; the given slice comes first as PixelSteps without a distribution (logprob and
    probs None, even with `report`), under a Stage of its own. `guidance`: the
    classifier-free guidance scale (sampling/guidance.py; 1 = none)."""
    import numpy as np
    import torch

    from ..nets.subscale import slices_image
    from .guidance import Guidance

    cfg, s, gen, y, slices = _start(net, n, labels, seed, device)
    guide = Guidance(net, n, y, guidance)
    y, slices = guide.labels, guide.widen(slices)
    channels = cfg.channels
    total, step, first = channels * cfg.height * cfg.width, 0, 0
    if small is not None:
        small = np.array(small)           # a copy: the caller's may be read-only
        if (problem := small_problem(cfg, small)) is not None:
            raise ValueError(problem)
        slices[:, 0] = guide.widen(torch.as_tensor(small, dtype=torch.long,
                                                   device=slices.device))
        first = 1
    titles = stage_titles(cfg)
    if small is not None:
        # The given picture is shown as the first stage (steps without a distribution: the
        # model drew none of it), so a viewer shows it before the upscaling starts.
        yield Stage(0, 2, f"given {titles[0]}", total, block=s)
        for r in range(slices.shape[3]):
            for c in range(slices.shape[4]):
                for ch in range(channels):
                    yield PixelStep(step, total, s * r, s * c, ch, small[:, ch, r, c].copy())
                    step += 1
    with torch.no_grad():
        for k in range(first, s * s):
            if k <= 1:
                yield Stage(k, 2, titles[k], total, block=s if k == 0 else 1)
            a, b = divmod(k, s)
            bias = net.decode_bias(net.context(slices, k, y), y)      # once per slice
            draw_at, record = _slice_stepper(net, slices, k, bias, guide.net_generator(gen),
                                             temperature, compiled)
            for r in range(slices.shape[3]):
                for c in range(slices.shape[4]):
                    for ch in range(channels):
                        values, logits = draw_at(r, c, ch)
                        values, shown, logits = guide.choose(values, logits, gen, temperature)
                        slices[:, k, ch, r, c] = values
                        record(r, c, ch, values)
                        event = PixelStep(step, total, a + s * r, b + s * c, ch,
                                          shown.cpu().numpy())
                        yield reported_step(event, logits, shown, temperature) if report \
                            else event
                        step += 1
    levels = slices_image(guide.shown(slices), s).cpu().numpy()         # (n, C, H, W)
    yield ImageResult(levels, codec.decode(levels))


def _slice_stepper(net, slices, k: int, bias, gen, temperature: float, compiled: bool):
    """(draw_at(r, c, ch) -> (values (N,), logits (N, levels)), record(r, c, ch, values))
    for slice k. Every path draws with the same uniforms from `gen`, so they make the same
    choices.
    The compiled path's logits are a buffer it reuses: read them before the next draw."""
    import torch

    from ..fast import pixelcnn_numba
    from ..nets import pixelcnn_cache
    from ..nets.subscale_cache import SliceDecoder, set_slice_biases

    n = slices.shape[0]
    if not compiled:
        def draw_plain(r, c, ch):
            logits = pixel_logits(net, slices, k, bias, r, c, ch)
            return draw(logits, gen, temperature)[0], logits

        return draw_plain, (lambda r, c, ch, values: None)
    decoder = SliceDecoder(net)
    if slices.device.type == "cpu" and pixelcnn_numba.available():
        fast = pixelcnn_numba.CompiledPixelCNN(decoder, n, None)
        set_slice_biases(decoder, fast.cache, bias)

        def draw_compiled(r, c, ch):
            uniforms = torch.rand(n, generator=gen).numpy()
            values, logits = fast.draw(c, ch, uniforms, temperature)
            return torch.from_numpy(values.copy()), logits

        return draw_compiled, fast.set_value
    cache = pixelcnn_cache.begin(decoder, n, None, slices.device)
    set_slice_biases(decoder, cache, bias)

    def draw_cached(r, c, ch):
        logits = pixelcnn_cache.step_logits(cache, c, ch)
        return draw(logits, gen, temperature)[0], logits

    return draw_cached, (lambda r, c, ch, values: pixelcnn_cache.set_value(decoder, cache, r,
                                                                            c, ch, values))


def quick_images(net, codec, n: int = 4, labels=None, seed: int = 0) -> ImageResult:
    """A rough look at what an SPN has learnt, for training previews: slices in order as
    usual, but each row of a slice is drawn in one decoder pass, its pixels independently
    given the rows above and the earlier slices (in colour, one pass per channel of the
    row). One pass per pixel would make a 28 x 28 preview cost 784 decoder passes (seconds of
    training each time); this costs 28 (S*S slices x H/S rows). Not the model's exact
    sampling: for that, use sample_subscale."""
    import torch

    from ..nets.subscale import slices_image

    cfg, s, gen, y, slices = _start(net, n, labels, seed, None)
    width = slices.shape[4]
    with torch.no_grad():
        for k in range(s * s):
            context = net.context(slices, k, y)                        # (n, ctx, h, w)
            for r in range(slices.shape[3]):
                for ch in range(cfg.channels):
                    logits = net.decode_logits(slices[:, k, :, :r + 1], context[:, :, :r + 1],
                                               y)                       # (n, L, C, r+1, w)
                    row = logits[:, :, ch, r].permute(0, 2, 1).reshape(n * width, -1)
                    slices[:, k, ch, r] = draw(row, gen)[0].view(n, width)
    levels = slices_image(slices, s).cpu().numpy()                      # (n, C, H, W)
    return ImageResult(levels, codec.decode(levels))


def _start(net, n: int, labels, seed, device):
    """What both samplers begin with: config, scale, seeded generator, labels, and the empty
    slices (n, S*S, C, H/S, W/S) on the net's device (or `device`)."""
    import torch

    from ..devices import make_generator

    device = torch.device(device or next(net.parameters()).device)
    cfg = net.config
    s = cfg.scale
    slices = torch.zeros(n, s * s, cfg.channels, cfg.height // s, cfg.width // s,
                         dtype=torch.long, device=device)
    return cfg, s, make_generator(seed, device), resolve_labels(net, n, labels, device), slices


def sample_in_order(net, codec, n: int, labels, temperature: float, seed: int | None, *,
                    order: str = "subscale", device=None, naive: bool = False,
                    compiled: bool = True, report: bool = False, guidance: float = 1.0
                    ) -> Iterator[PixelStep | Stage | ImageResult]:
    """The registry's image sampler for an SPN: its own slice order, whatever is asked."""
    return sample_subscale(net, codec, n, labels, temperature, seed, device=device,
                           report=report, compiled=compiled, guidance=guidance)
