"""Speckle: how rough are an image model's samples next to real images? Prints JSON.

Roughness is the mean absolute Laplacian: for every interior pixel and channel (values on
0..1), |4 x p - (up + down + left + right)|, averaged. Salt-and-pepper speckle raises it;
smooth blobs lower it. The same figure on the real held-out images of the model's preset
(the same number per class as samples drawn) is the reference; `ratio` is samples / real,
and the quality issue asks it to stay within 20% of 1.

    python benchmarks/image_roughness.py                      # every bundled image model
    python benchmarks/image_roughness.py --models mnist,fashion-subscale --per-class 8

Samples are drawn with each model's exact sampler (one network call per sub-pixel), class
by class, at temperature 1 and a fixed seed; an any-order model draws in random order.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np


def roughness(levels: np.ndarray, top: int) -> float:
    """Mean absolute Laplacian of images (N, C, H, W) in levels 0..top."""
    x = levels.astype(np.float64) / top
    centre = x[:, :, 1:-1, 1:-1]
    around = x[:, :, :-2, 1:-1] + x[:, :, 2:, 1:-1] + x[:, :, 1:-1, :-2] + x[:, :, 1:-1, 2:]
    return float(np.abs(4 * centre - around).mean())


def real_images(data, classes: int, per_class: int, seed: int) -> np.ndarray:
    """`per_class` held-out images of every class (all of a class when it has fewer)."""
    rng = np.random.default_rng(seed)
    images, labels = data.final.images, data.final.labels
    picked = [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in range(classes)]
    return images[np.concatenate(picked)]


def main() -> None:
    import torch

    from app.core.checkpoint import load_bundle
    from app.core.model_table import bundled_image_models
    from app.core.registry import kind_spec
    from app.core.sampling.image import generate_images
    from app.core.training.presets import PRESETS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", help="comma-separated bundled names (default: all)")
    parser.add_argument("--per-class", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    wanted = args.models.split(",") if args.models else None
    rows, prepared = [], {}
    for name, path in bundled_image_models():
        if wanted is not None and name not in wanted or name not in PRESETS:
            continue
        started = time.perf_counter()
        bundle = load_bundle(path)
        preset = PRESETS[name]
        if preset.prepare not in prepared:
            prepared[preset.prepare] = preset.prepare()
        data = prepared[preset.prepare]
        classes, top = bundle.config.num_classes, bundle.codec.levels - 1
        labels = list(np.repeat(np.arange(classes), args.per_class))
        order = kind_spec(bundle.kind).fixed_order or "random"
        samples = generate_images(bundle.net, bundle.codec, len(labels), labels, 1.0,
                                  seed=args.seed, order=order).levels
        real = roughness(real_images(data, classes, args.per_class, args.seed), top)
        fake = roughness(samples, top)
        rows.append({"model": name, "kind": bundle.kind, "samples": len(labels),
                     "roughness_samples": round(fake, 4), "roughness_real": round(real, 4),
                     "ratio": round(fake / real, 3), "within_20_percent": abs(fake / real - 1)
                     <= 0.2, "seconds": round(time.perf_counter() - started, 1)})
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"per_class": args.per_class, "seed": args.seed, "models": rows},
                     indent=1))


if __name__ == "__main__":
    main()
