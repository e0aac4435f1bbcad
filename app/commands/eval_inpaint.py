"""`chainrule eval-inpaint`: raster vs raster + resampling vs any-order inpainting, measured."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ..core.masks import MASK_FAMILIES
from ..core.registry import ORDERS, kinds_with_method
from .sample import positive_int


def add_parsers(sub, add_common) -> None:
    p = sub.add_parser(
        "eval-inpaint", help="compare the inpainting methods on test images (JSON)",
        description="On a fixed subset of a data set's test images and four mask families, "
                    "reports the exact NLL of the true hidden pixels (raster PixelCNN vs "
                    "any-order model), how often a classifier trained on the training split "
                    "recognises the completed image (grey fill, raster, raster + resampling, "
                    "any-order) and the time to fill a 10x10 hole. Expensive: the any-order "
                    "model needs one forward pass per hidden pixel, so --images sets the cost.")
    p.add_argument("--raster-model", default="fashion",
                   help=f"{_needs('raster', 'resample')} (name or path)")
    p.add_argument("--anyorder-model", default="fashion-anyorder",
                   help=f"{_needs('any-order')} (name or path)")
    p.add_argument("--data", default="fashion", choices=["fashion", "mnist"],
                   help="whose test images to fill and whose training split the judge learns")
    p.add_argument("--images", type=positive_int, default=1000,
                   help="size of the fixed test subset")
    p.add_argument("--families", default=",".join(MASK_FAMILIES),
                   help=f"comma-separated mask families ({', '.join(MASK_FAMILIES)})")
    p.add_argument("--candidates", type=positive_int, default=8, help="K of resampling")
    p.add_argument("--order", choices=ORDERS, default="nearest",
                   help="the any-order model's fill and likelihood order")
    p.add_argument("--batch", type=positive_int, default=25,
                   help="images filled at once (one random stroke mask per batch)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="also write the JSON report to this file")
    add_common(p)
    p.set_defaults(run=run, threads=1)


def _kinds(*methods: str) -> list:
    """The kinds that run every one of these inpainting methods."""
    return [spec for spec in kinds_with_method(methods[0])
            if all(spec.can_inpaint(m) for m in methods)]


def _needs(*methods: str) -> str:
    return " or ".join(spec.article for spec in _kinds(*methods))


def _load(name: str, methods: tuple[str, ...], device):
    """The model `name`, refused unless its kind runs every inpainting method in `methods`."""
    from ..core.checkpoint import load_bundle
    from ..core.config import ConfigError
    from ..core.paths import resolve_model

    bundle = load_bundle(resolve_model(name), device)
    kinds = [spec.kind for spec in _kinds(*methods)]
    if bundle.kind not in kinds:
        raise ConfigError(f"{name} is of kind '{bundle.kind}'; this slot needs one of kind "
                          f"{' or '.join(repr(k) for k in kinds)}")
    return bundle


def run(args) -> int:
    import numpy as np

    from ..core.config import ConfigError
    from ..core.devices import pick_device
    from ..core.inpaint_eval import InpaintEvalSetup, evaluate, fixed_subset
    from ..core.judge import accuracy, judge_path, load_or_train_judge
    from ..core.training.presets import get_preset

    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = [f for f in families if f not in MASK_FAMILIES]
    if unknown or not families:
        raise ConfigError(f"unknown mask family {', '.join(unknown) or '(none)'} "
                          f"(known: {', '.join(MASK_FAMILIES)})")
    device = pick_device(args.device)
    raster = _load(args.raster_model, ("raster", "resample"), device)
    anyorder = _load(args.anyorder_model, ("any-order",), device)
    data = get_preset(args.data).prepare()
    shape = (data.codec.channels, data.codec.height, data.codec.width)
    for bundle in (raster, anyorder):
        codec = bundle.codec
        if (codec.channels, codec.height, codec.width) != shape or \
                codec.levels != data.codec.levels:
            raise ConfigError(f"{bundle.name} works on {codec.height}x{codec.width}x"
                              f"{codec.channels} images with {codec.levels} levels; "
                              f"the {args.data} data are {shape[1]}x{shape[2]}x{shape[0]}, "
                              f"{data.codec.levels} levels")
    started = time.perf_counter()
    top = data.codec.levels - 1
    log = lambda text: print(f"[{time.perf_counter() - started:6.0f} s] {text}",  # noqa: E731
                             file=sys.stderr, flush=True)
    log(f"classifier: {judge_path(args.data)}")
    judge = load_or_train_judge(args.data, data.train.images, data.train.labels,
                                len(data.codec.class_names), top)
    test = data.final
    pick = fixed_subset(len(test.images), args.images, args.seed)
    images, labels = test.images[pick].astype(np.int64), test.labels[pick]
    setup = InpaintEvalSetup(raster, anyorder, judge, int(round(data.train.images.mean())),
                             args.candidates, args.order, args.batch, args.seed)
    report = {
        "data": f"{data.final_name}: {len(pick)} images, a fixed subset (seed {args.seed})"
                if len(pick) < len(test.images) else data.final_name,
        "images": len(pick), "raster_model": raster.name, "anyorder_model": anyorder.name,
        "candidates": args.candidates, "order": args.order, "label": "none (null label)",
        "grey_level": setup.grey_level, "threads": args.threads, "device": str(device),
        "classifier_accuracy_on_full_images": round(accuracy(judge, images, labels, top), 4),
    }
    report.update(evaluate(setup, images, labels, families, log))
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0
