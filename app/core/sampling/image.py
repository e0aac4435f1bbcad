"""Image sampling in raster order (row, column, then R -> G -> B), one sub-pixel at a time."""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from ..registry import load_function
from .draw import distribution, draw
from .events import ImageResult, PixelStep, Stage, final_event


def resolve_labels(net, n: int, labels: int | Sequence[int | None] | None, device):
    """Per-image labels as a tensor (None = 'any class' -> the net's null label)."""
    import torch

    classes = getattr(net.config, "num_classes", 0)
    if labels is None or not classes:
        if labels is not None and not (isinstance(labels, Sequence) and
                                       all(label is None for label in labels)):
            raise ValueError("this model is not class-conditional; it takes no label")
        return net.null_label(n, device)
    if not isinstance(labels, Sequence):
        labels = [labels] * n
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} images")
    values = [classes if label is None else int(label) for label in labels]
    bad = [v for v in values if not 0 <= v <= classes]
    if bad:
        raise ValueError(f"label {bad[0]} out of range: this model has classes 0..{classes - 1}")
    return torch.tensor(values, dtype=torch.long, device=device)


def sample_images(net, codec, n: int = 1, labels=None, temperature: float = 1.0,
                  seed: int | None = None, naive: bool = False, device=None,
                  compiled: bool = True, order: str = "raster", report: bool = False,
                  guidance: float = 1.0) -> Iterator[PixelStep | Stage | ImageResult]:
    """Yield a PixelStep per sub-pixel, then the ImageResult (a model drawing in stages, a
    Subscale Pixel Network or a depth-upscaling net, announces each with a Stage).

    With `report` each PixelStep also carries the distribution its values were drawn from
    and their log-probabilities (PixelStep.probs, .logprob); the draws are the same either
    way, and without it nothing extra is computed.

    The fast path uses the net's row cache, with the per-pixel part compiled (numba) on the
    CPU unless `compiled=False`; `naive` recomputes the full forward pass for every
    sub-pixel (the textbook method, kept for comparison and tests). An any-order model
    draws in the `order` asked for; a PixelCNN or PixelRNN only in raster order; a Subscale
    Pixel Network only in its own slice order ("raster" and "subscale" both mean that).

    `guidance`: the classifier-free guidance scale (sampling/guidance.py; 1 = none).
    """
    from ..registry import kind_spec

    spec = kind_spec(net.config.kind)
    if order not in spec.orders and not (spec.fixed_order and order == "raster"):
        # "raster" is every fixed-order model's default, so it stands for the model's own.
        raise ValueError(f"{spec.article} draws in {' / '.join(spec.orders)} order only")
    sampler = load_function(spec.sampler)
    yield from sampler(net, codec, n, labels, temperature, seed, order=order, device=device,
                       naive=naive, compiled=compiled, report=report, guidance=guidance)


def sample_raster(net, codec, n: int, labels, temperature: float, seed: int | None, *,
                  order: str = "raster", device=None, naive: bool = False,
                  compiled: bool = True, report: bool = False, guidance: float = 1.0
                  ) -> Iterator[PixelStep | ImageResult]:
    """A PixelCNN or PixelRNN: raster order, through its row cache (or naively). With
    `report`, each step's distribution comes from the logits the path computed anyway."""
    import torch

    from ..devices import make_generator
    from .guidance import Guidance

    device = torch.device(device or next(net.parameters()).device)
    cfg = net.config
    gen = make_generator(seed, device)
    guide = Guidance(net, n, resolve_labels(net, n, labels, device), guidance)
    x = torch.zeros(guide.batch, cfg.channels, cfg.height, cfg.width, dtype=torch.long,
                    device=device)
    total = cfg.channels * cfg.height * cfg.width
    step = 0
    with torch.no_grad():
        draw_at, record = _stepper(net, x, guide.labels, naive, compiled, device,
                                   guide.net_generator(gen), temperature)
        for row in range(cfg.height):
            for col in range(cfg.width):
                for ch in range(cfg.channels):
                    values, logits = draw_at(row, col, ch)
                    values, shown, logits = guide.choose(values, logits, gen, temperature)
                    x[:, ch, row, col] = values
                    record(row, col, ch, values)
                    event = PixelStep(step, total, row, col, ch, shown.cpu().numpy())
                    yield reported_step(event, logits, shown, temperature) if report \
                        else event
                    step += 1
    levels = guide.shown(x).cpu().numpy()
    yield ImageResult(levels, codec.decode(levels))


def reported_step(step: PixelStep, logits, values, temperature: float) -> PixelStep:
    """`step` with the distribution its values were drawn from (logits (B, levels))."""
    probs, logp = distribution(logits, values.to(logits.device), temperature)
    step.probs = probs.float().cpu().numpy()
    step.logprob = logp.float().cpu().numpy()
    return step


def _stepper(net, x, y, naive: bool, compiled: bool, device, gen, temperature: float,
             extra=None):
    """(draw_at(row, col, ch) -> (values (B,), logits (B, levels)), record(row, col, ch,
    values)) for one path. The logits are what the path computed to draw (the compiled
    path's are a numpy buffer it reuses: read them before the next draw). `extra`: a Gated
    PixelCNN's per-image gate biases (GatedPixelCNN.forward), or None.

    Every path draws with the same uniforms from `gen`, so they make the same choices.
    """
    import torch

    from ..fast import pixelcnn_numba
    from ..nets.pixelcnn_cache import add_gate_biases

    if naive:
        def draw_naive(row, col, ch):
            logits = (net(x, y) if extra is None else net(x, y, extra))[:, :, ch, row, col]
            return draw(logits, gen, temperature)[0], logits

        return draw_naive, (lambda *a: None)
    # The compiled kernels implement the Gated PixelCNN's layers only; other raster nets
    # (the PixelRNN) take their own incremental step below.
    if compiled and device.type == "cpu" and pixelcnn_numba.compiles(net) \
            and pixelcnn_numba.available():
        fast = pixelcnn_numba.CompiledPixelCNN(net, x.shape[0], y)
        if extra is not None:
            add_gate_biases(net, fast.cache, extra)

        def draw_compiled(row, col, ch):
            uniforms = torch.rand(x.shape[0], generator=gen).numpy()
            values, logits = fast.draw(col, ch, uniforms, temperature)
            return torch.from_numpy(values.copy()), logits

        return draw_compiled, fast.set_value
    cache = net.begin(x.shape[0], y, device)
    if extra is not None:
        add_gate_biases(net, cache, extra)

    def draw_cached(row, col, ch):
        logits = net.step_logits(cache, row, col, ch)
        return draw(logits, gen, temperature)[0], logits

    return draw_cached, (lambda row, col, ch, values: net.set_value(cache, row, col, ch, values))


def generate_images(*args, **kwargs) -> ImageResult:
    """Run sample_images to the end and return only the result."""
    return final_event(sample_images(*args, **kwargs))


def grid_size(n: int, h: int, w: int, pad: int = 2, columns: int | None = None
              ) -> tuple[int, int]:
    """(height, width) of the image_grid picture of n images of h x w."""
    columns = columns or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    return rows * (h + pad) + pad, columns * (w + pad) + pad


def image_grid(pixels: np.ndarray, columns: int | None = None, pad: int = 2,
               background: int = 255) -> np.ndarray:
    """(B, H, W, C) uint8 -> one (rows*(H+pad)+pad, cols*(W+pad)+pad, C) grid image."""
    b, h, w, c = pixels.shape
    columns = columns or int(np.ceil(np.sqrt(b)))
    grid = np.full((*grid_size(b, h, w, pad, columns), c), background, np.uint8)
    for i in range(b):
        r, k = divmod(i, columns)
        grid[pad + r * (h + pad):pad + r * (h + pad) + h,
             pad + k * (w + pad):pad + k * (w + pad) + w] = pixels[i]
    return grid


def grid_cells(grid: np.ndarray, n: int, pad: int | None = None) -> np.ndarray | None:
    """The n images of an image_grid picture (H, W, C), as (n, h, w, C); None when the
    picture is not a grid of n. `pad` None tries the paddings chainrule has written (1 in
    the window, 2 on the command line) and takes the one that fits exactly."""
    columns = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    for p in ([pad] if pad is not None else [1, 2]):
        h, rest_h = divmod(grid.shape[0] - p, rows)
        w, rest_w = divmod(grid.shape[1] - p, columns)
        if rest_h or rest_w or h <= p or w <= p:
            continue
        h, w = h - p, w - p
        return np.stack([grid[p + r * (h + p):p + r * (h + p) + h,
                              p + k * (w + p):p + k * (w + p) + w]
                         for r, k in (divmod(i, columns) for i in range(n))])
    return None
