"""Do a class-conditional image model's samples look like their class? Prints JSON.

Trains a small CNN classifier on the model's own training data (seeded, a few epochs on the
CPU), checks its accuracy on held-out real images, then generates `--per-class` samples for
every class with the fast sampler and reports how often the classifier agrees with the label
the sample was drawn for. A figure near the real-image accuracy means samples are as
recognisable as real ones.

    python benchmarks/image_quality.py --model mnist --preset mnist
    python benchmarks/image_quality.py --model fashion --preset fashion --png fashion.png
    python benchmarks/image_quality.py --model emoji --preset emoji --epochs 30 --per-class 16

`agreement_over_real` is the ratio of the two: 1.0 means samples are recognised as often as
real held-out images. With a few hundred held-out images and samples both figures move by
several points with the seed, so `--seed 1,2,3` repeats the whole check (a new classifier and
new samples each time) and ends with a line pooling them. `--guidance W` draws with
classifier-free guidance (1 = none, the model's own distribution). The same samples'
speckle (image_roughness.py) is reported too, against the same number of real held-out
images per class.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from image_roughness import real_images, roughness


def main() -> None:
    from app.core.judge import accuracy, train_classifier
    from app.core.training.presets import get_preset

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True,
                        help="a model, or several separated by commas (one classifier for all)")
    parser.add_argument("--preset", required=True, help="whose data trains the classifier")
    parser.add_argument("--per-class", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", default="0",
                        help="a seed, or several separated by commas (then a pooled line too)")
    parser.add_argument("--guidance", default="1",
                        help="guidance scale, or several separated by commas")
    parser.add_argument("--png", help="also write the samples, one row per class, to look at "
                                      "({model}, {guidance} and {seed} in the name are filled in)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    data = get_preset(args.preset).prepare()
    top, classes = data.codec.levels - 1, len(data.codec.class_names)
    seeds = [int(s) for s in args.seed.split(",")]
    runs: dict[tuple[str, float], list[dict]] = {}
    for seed in seeds:
        started = time.perf_counter()
        judge = train_classifier(data.train.images, data.train.labels, classes, top,
                                 args.epochs, seed)
        real = accuracy(judge, data.final.images, data.final.labels, top)
        trained = round(time.perf_counter() - started, 1)
        for model in args.model.split(","):
            for guidance in (float(g) for g in args.guidance.split(",")):
                row = judge_samples(model, guidance, seed, args, data, judge, real, trained,
                                    accuracy)
                runs.setdefault((model, guidance), []).append(row)
    if len(seeds) > 1:
        for rows in runs.values():
            print(json.dumps(pooled(rows), indent=2), flush=True)


def pooled(rows: list[dict]) -> dict:
    """The seeds' checks as one: every sample and every real judgement counted once."""
    # Every seed's classifier judges the same held-out images, so theirs is a plain mean.
    real = float(np.mean([r["classifier_accuracy_on_real_heldout"] for r in rows]))
    agree = (sum(r["classifier_agrees_with_sample_label"] * r["samples"] for r in rows)
             / sum(r["samples"] for r in rows))
    return {"model": rows[0]["model"], "pooled_seeds": [r["seed"] for r in rows],
            "samples": sum(r["samples"] for r in rows),
            "temperature": rows[0]["temperature"], "guidance": rows[0]["guidance"],
            "classifier_accuracy_on_real_heldout": round(real, 4),
            "classifier_agrees_with_sample_label": round(agree, 4),
            "agreement_over_real": round(agree / real, 3) if real else None,
            "each_seed_agreement_over_real": [r["agreement_over_real"] for r in rows],
            "roughness_over_real": round(float(np.mean([r["roughness_over_real"]
                                                        for r in rows])), 3)}


def judge_samples(model: str, guidance: float, seed: int, args, data, judge, real: float,
                  classifier_seconds: float, accuracy) -> dict:
    from app.core.checkpoint import load_bundle
    from app.core.paths import resolve_model
    from app.core.registry import kind_spec
    from app.core.sampling.image import generate_images

    started = time.perf_counter()
    bundle = load_bundle(resolve_model(model))
    classes, top = bundle.config.num_classes, bundle.config.levels - 1
    labels = np.repeat(np.arange(classes), args.per_class)
    # The order the Image tab draws in: an any-order model's default is random (raster is
    # a rare, out-of-training pattern of visible pixels for it and draws much worse digits).
    order = kind_spec(bundle.kind).fixed_order or "random"
    result = generate_images(bundle.net, bundle.codec, len(labels), list(labels),
                             args.temperature, seed=seed, guidance=guidance, order=order)
    fake = accuracy(judge, result.levels, labels, top)
    per_class = [accuracy(judge, result.levels[labels == c], labels[labels == c], top)
                 for c in range(classes)]
    rough = roughness(result.levels, top)
    rough_real = roughness(real_images(data, classes, args.per_class, seed), top)
    row = {"model": bundle.name, "samples": len(labels),
           "temperature": args.temperature, "guidance": guidance,
           "seed": seed,
           "classifier_accuracy_on_real_heldout": round(real, 4),
           "classifier_agrees_with_sample_label": round(fake, 4),
           "agreement_over_real": round(fake / real, 3) if real else None,
           "classifier_epochs": args.epochs,
           "worst_class": round(min(per_class), 2),
           "roughness_over_real": round(rough / rough_real, 3),
           "per_class": dict(zip(bundle.codec.class_names,
                                 [round(a, 2) for a in per_class])),
           "classifier_seconds": classifier_seconds,
           "sampling_seconds": round(time.perf_counter() - started, 1)}
    print(json.dumps(row, indent=2), flush=True)
    if args.png:
        write_grid(args.png.format(model=bundle.name, guidance=f"{guidance:g}", seed=seed),
                   result.levels, classes, args.per_class, top)
    return row


def write_grid(path: str, levels: np.ndarray, rows: int, cols: int, top: int) -> None:
    """Samples (N, C, H, W) as a rows x cols sheet, scaled up 3x, one class per row."""
    from PIL import Image

    n, c, h, w = levels.shape
    sheet = levels.reshape(rows, cols, c, h, w).transpose(0, 3, 1, 4, 2)
    sheet = (sheet.reshape(rows * h, cols * w, c) * (255 / top)).round().astype(np.uint8)
    image = Image.fromarray(sheet[:, :, 0] if c == 1 else sheet)
    image.resize((cols * w * 3, rows * h * 3), Image.NEAREST).save(path)


if __name__ == "__main__":
    main()
