"""Which inpainting method is better? Measured on test images with fixed mask families.

For every mask family and a fixed subset of test images this computes
- the exact negative log-likelihood of the true hidden pixels, in bits/dim: for the raster
  PixelCNN the sum over hidden sub-pixels of -log p(x_h | x_<h) (it sees only what comes
  before each pixel in raster order), for the any-order model the same sum revealing the true
  hidden values one at a time in a fill order, each conditioned on every visible pixel;
- class consistency: how often a classifier trained on the training split gives the
  completed image its true label, for raster, raster + resampling, any-order and a trivial
  fill with the data's mean grey (the floor);
and, on one image, the time to fill a 10 x 10 hole with each method.

No fill is told the image's class (the models' null label), so a completion can only be
recognisable through what the known pixels show. The brush-stroke family draws one random
mask per batch of images, seeded, so runs are repeatable.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .judge import predict
from .masks import MASK_FAMILIES, centre_square
from .registry import inpaint_method, kind_spec, load_function
from .sampling.anyorder import hidden_nll
from .sampling.events import final_event
from .sampling.inpaint import raster_hidden_nll

# The methods under the names the report uses (published reports in benchmarks/results/ keep
# comparing): the registry's methods in their short spellings (METHOD_ALIASES), and the floor.
ANY_ORDER = "anyorder"
FILLS = ("raster", "resample", ANY_ORDER)
METHODS = ("grey",) + FILLS


@dataclass
class InpaintEvalSetup:
    raster: Any                    # Bundle of a raster model (PixelCNN or PixelRNN)
    anyorder: Any                  # Bundle of an any-order model
    judge: Any                     # classifier (torch module)
    grey_level: int                # the trivial fill
    candidates: int = 8            # K of raster + resampling
    order: str = "nearest"         # the any-order model's fill and likelihood order
    batch: int = 25                # images filled at once (one stroke mask per batch)
    seed: int = 0


def fixed_subset(total: int, count: int, seed: int = 0) -> np.ndarray:
    """Indices of `count` of `total` test images, the same for every run with this seed,
    spread over the whole set (a seeded permutation, then sorted)."""
    count = min(count, total)
    return np.sort(np.random.default_rng(seed).permutation(total)[:count])


def batch_masks(family: str, height: int, width: int, count: int, batch: int, seed: int
                ) -> list[tuple[slice, np.ndarray]]:
    """(images slice, mask) per batch; only the stroke family differs between batches."""
    rng = np.random.default_rng([seed, len(family)])
    make = MASK_FAMILIES[family]
    return [(slice(start, min(start + batch, count)), make(height, width, rng))
            for start in range(0, count, batch)]


def fill(setup: InpaintEvalSetup, method: str, images: np.ndarray, mask: np.ndarray,
         seed: int) -> np.ndarray:
    """Completed images (B, C, H, W) by one method; known pixels are copied, never drawn."""
    if method == "grey":
        return np.where(mask, setup.grey_level, images)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r} (known: {', '.join(METHODS)})")
    way = inpaint_method(method)
    # Of the two models, the one whose kind runs this method fills.
    bundle = next(b for b in (setup.raster, setup.anyorder)
                  if kind_spec(b.kind).can_inpaint(way.key))
    events = load_function(way.sampler)(bundle.net, bundle.codec, images, mask, len(images),
                                        None, 1.0, seed,        # no label, temperature 1
                                        candidates=setup.candidates, order=setup.order)
    return final_event(events).levels


def evaluate_family(setup: InpaintEvalSetup, family: str, images: np.ndarray,
                    labels: np.ndarray, progress: Callable[[str], None] = print) -> dict:
    """NLL of the hidden pixels and class consistency for one mask family."""
    _, channels, height, width = images.shape
    top = setup.raster.codec.levels - 1
    nats = {"raster": 0.0, ANY_ORDER: 0.0}
    correct = dict.fromkeys(METHODS, 0)
    seconds = dict.fromkeys(METHODS, 0.0)
    seconds.update(nll_raster=0.0, nll_anyorder=0.0)
    hidden_dims = 0
    for index, (part, mask) in enumerate(batch_masks(family, height, width, len(images),
                                                     setup.batch, setup.seed)):
        x, y = images[part], labels[part]
        hidden_dims += int(mask.sum()) * channels * len(x)
        started = time.perf_counter()
        nats["raster"] += float(raster_hidden_nll(setup.raster.net, x, mask).sum())
        seconds["nll_raster"] += time.perf_counter() - started
        started = time.perf_counter()
        nats[ANY_ORDER] += float(hidden_nll(setup.anyorder.net, x, mask, setup.order,
                                             seed=setup.seed + index).sum())
        seconds["nll_anyorder"] += time.perf_counter() - started
        for method in METHODS:
            started = time.perf_counter()
            done = fill(setup, method, x, mask, setup.seed + index)
            seconds[method] += time.perf_counter() - started
            if not (done[:, :, ~mask] == x[:, :, ~mask]).all():
                raise RuntimeError(f"{method} changed a known pixel")   # a bug, never data
            correct[method] += int((predict(setup.judge, done, top) == y).sum())
        progress(f"{family}: {part.stop}/{len(images)} images")
    per_dim = hidden_dims * math.log(2)
    return {"hidden_fraction": round(hidden_dims / (len(images) * channels * height * width), 3),
            "nll_bits_per_dim": {k: round(v / per_dim, 4) for k, v in nats.items()},
            "class_accuracy": {k: round(v / len(images), 4) for k, v in correct.items()},
            "seconds": {k: round(v, 1) for k, v in seconds.items()}}


def time_small_hole(setup: InpaintEvalSetup, image: np.ndarray, repeats: int = 3) -> dict:
    """Seconds to fill a centred 10 x 10 hole in one image, per method (median of `repeats`,
    after one untimed run that compiles what needs compiling)."""
    _, height, width = image.shape
    mask = centre_square(height, width, size=10)
    timings = {}
    for method in FILLS:
        fill(setup, method, image[None], mask, 0)
        runs = []
        for repeat in range(repeats):
            started = time.perf_counter()
            fill(setup, method, image[None], mask, repeat + 1)
            runs.append(time.perf_counter() - started)
        timings[method] = round(float(np.median(runs)), 3)
    return timings


def evaluate(setup: InpaintEvalSetup, images: np.ndarray, labels: np.ndarray,
             families=tuple(MASK_FAMILIES), progress: Callable[[str], None] = print) -> dict:
    started = time.perf_counter()
    report: dict[str, Any] = {"families": {}}
    for family in families:
        report["families"][family] = evaluate_family(setup, family, images, labels, progress)
    report["fill_10x10_seconds"] = time_small_hole(setup, images[0])
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report
