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
real held-out images. `--guidance W` draws with classifier-free guidance (1 = none, the
model's own distribution). The same samples' speckle (image_roughness.py) is reported too,
against the same number of real held-out images per class.
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
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--guidance", default="1",
                        help="guidance scale, or several separated by commas")
    parser.add_argument("--png", help="also write the samples, one row per class, to look at "
                                      "({model} and {guidance} in the name are filled in)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    data = get_preset(args.preset).prepare()
    started = time.perf_counter()
    top, classes = data.codec.levels - 1, len(data.codec.class_names)
    judge = train_classifier(data.train.images, data.train.labels, classes, top, args.epochs,
                             args.seed)
    real = accuracy(judge, data.final.images, data.final.labels, top)
    trained = round(time.perf_counter() - started, 1)
    for model in args.model.split(","):
        for guidance in (float(g) for g in args.guidance.split(",")):
            judge_samples(model, guidance, args, data, judge, real, trained, accuracy)


def judge_samples(model: str, guidance: float, args, data, judge, real: float,
                  classifier_seconds: float, accuracy) -> None:
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
                             args.temperature, seed=args.seed, guidance=guidance, order=order)
    fake = accuracy(judge, result.levels, labels, top)
    per_class = [accuracy(judge, result.levels[labels == c], labels[labels == c], top)
                 for c in range(classes)]
    rough = roughness(result.levels, top)
    rough_real = roughness(real_images(data, classes, args.per_class, args.seed), top)
    print(json.dumps({"model": bundle.name, "samples": len(labels),
                      "temperature": args.temperature, "guidance": guidance,
                      "seed": args.seed,
                      "classifier_accuracy_on_real_heldout": round(real, 4),
                      "classifier_agrees_with_sample_label": round(fake, 4),
                      "agreement_over_real": round(fake / real, 3) if real else None,
                      "classifier_epochs": args.epochs,
                      "worst_class": round(min(per_class), 2),
                      "roughness_over_real": round(rough / rough_real, 3),
                      "per_class": dict(zip(bundle.codec.class_names,
                                            [round(a, 2) for a in per_class])),
                      "classifier_seconds": classifier_seconds,
                      "sampling_seconds": round(time.perf_counter() - started, 1)}, indent=2),
          flush=True)
    if args.png:
        write_grid(args.png.format(model=bundle.name, guidance=f"{guidance:g}"),
                   result.levels, classes, args.per_class, top)


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
