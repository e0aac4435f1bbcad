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
                    seed: int | None = None, device=None, report: bool = False,
                    compiled: bool = True) -> Iterator[PixelStep | ImageResult]:
    """Yield a PixelStep per pixel in subscale order (with its image row and column), then
    the ImageResult. One context pass per slice; each slice's pixels through the decoder's
    row cache (app/core/nets/subscale_cache.py), compiled on the CPU, or with
    `compiled=False` one plain decoder pass per pixel (the reference; same draws). With
    `report` each PixelStep carries the distribution it was drawn from (see sample_images)."""
    import torch

    from ..nets.subscale import from_slices

    cfg, s, gen, y, slices = _start(net, n, labels, seed, device)
    total, step = cfg.height * cfg.width, 0
    with torch.no_grad():
        for k in range(s * s):
            a, b = divmod(k, s)
            bias = net.decode_bias(net.context(slices, k, y), y)      # once per slice
            draw_at, record = _slice_stepper(net, slices, k, bias, gen, temperature, compiled)
            for r in range(slices.shape[2]):
                for c in range(slices.shape[3]):
                    values, logits = draw_at(r, c)
                    slices[:, k, r, c] = values
                    record(r, c, values)
                    event = PixelStep(step, total, a + s * r, b + s * c, 0,
                                      values.cpu().numpy())
                    yield reported_step(event, torch.as_tensor(logits), values,
                                        temperature) if report else event
                    step += 1
    levels = from_slices(slices, s)[:, None].cpu().numpy()              # (n, 1, H, W)
    yield ImageResult(levels, codec.decode(levels))


def _slice_stepper(net, slices, k: int, bias, gen, temperature: float, compiled: bool):
    """(draw_at(r, c) -> (values (N,), logits (N, levels)), record(r, c, values)) for slice
    k. Every path draws with the same uniforms from `gen`, so they make the same choices.
    The compiled path's logits are a buffer it reuses: read them before the next draw."""
    import torch

    from ..fast import pixelcnn_numba
    from ..nets import pixelcnn_cache
    from ..nets.subscale_cache import SliceDecoder, set_slice_biases

    n = slices.shape[0]
    if not compiled:
        def draw_plain(r, c):
            logits = pixel_logits(net, slices, k, bias, r, c)
            return draw(logits, gen, temperature)[0], logits

        return draw_plain, (lambda r, c, values: None)
    decoder = SliceDecoder(net)
    if slices.device.type == "cpu" and pixelcnn_numba.available():
        fast = pixelcnn_numba.CompiledPixelCNN(decoder, n, None)
        set_slice_biases(decoder, fast.cache, bias)

        def draw_compiled(r, c):
            uniforms = torch.rand(n, generator=gen).numpy()
            values, logits = fast.draw(c, 0, uniforms, temperature)
            return torch.from_numpy(values.copy()), logits

        return draw_compiled, (lambda r, c, values: fast.set_value(r, c, 0, values))
    cache = pixelcnn_cache.begin(decoder, n, None, slices.device)
    set_slice_biases(decoder, cache, bias)

    def draw_cached(r, c):
        logits = pixelcnn_cache.step_logits(cache, c, 0)
        return draw(logits, gen, temperature)[0], logits

    return draw_cached, (lambda r, c, values: pixelcnn_cache.set_value(decoder, cache, r, c,
                                                                        0, values))


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
                           report=report, compiled=compiled)
