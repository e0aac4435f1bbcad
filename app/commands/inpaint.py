"""`chainrule inpaint`: fill the masked part of an image with an image model.

The arguments become an InpaintRequest (app/core/requests): it says what is wrong with
itself for the model (a method the model's kind cannot run, a bad temperature...) all at
once before any work, runs the method's sampler, and gives the parameters saved in the PNG.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from tqdm import tqdm

from ..core.registry import INPAINT_METHODS, METHOD_ALIASES, ORDERS
from .sample import _guidance, _seed, check, label_of, load_for, positive_int

# The registry's methods, plus the spellings older command lines use (METHOD_ALIASES).
METHODS = (*INPAINT_METHODS, *METHOD_ALIASES)


def _describe_methods() -> str:
    flags = {"resample": " (K = --candidates)", "any-order": " (--order)"}
    said = "; ".join(f"{key}: {m.how}{flags.get(key, '')}" for key, m in INPAINT_METHODS.items())
    old = ", ".join(f"{alias} means {key}" for alias, key in METHOD_ALIASES.items())
    return f"{said}. ({old}.)"


def add_parsers(sub, add_common) -> None:
    p = sub.add_parser(
        "inpaint", help="fill the masked part of an image",
        description="Fills the pixels a mask marks (white in the mask PNG) and keeps every "
                    "other pixel exactly. The image and the mask are scaled and centre-cropped "
                    f"to the model's size. Methods: {_describe_methods()}")
    p.add_argument("--model", default="mnist", help="bundled name or checkpoint path")
    p.add_argument("--image", required=True, help="the picture (any size; PNG, JPEG, ...)")
    p.add_argument("--mask", required=True, help="PNG, white where pixels are to be filled")
    p.add_argument("--method", choices=METHODS, default=None,
                   help="default: resample, or the model's own method where it has no "
                        "resampling (raster for a depth-upscaling model, any-order for an "
                        "any-order model)")
    p.add_argument("--candidates", type=positive_int, default=8,
                   help="raster fills drawn per result by --method resample")
    p.add_argument("--order", choices=ORDERS, default="nearest",
                   help="fill order of --method any-order")
    p.add_argument("--calls", type=positive_int, default=None,
                   help="--method any-order: network calls per fill, several pixels drawn "
                        "in each (default: one per sub-pixel)")
    p.add_argument("--n", type=positive_int, default=1, help="number of different fills")
    p.add_argument("--label", default="any",
                   help="class index or name (conditional models), or 'any'")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="more than 0: below 1 safer, above 1 wilder")
    p.add_argument("--guidance", type=float, default=None,
                   help="class-conditional models, raster and any-order methods: "
                        "classifier-free guidance, 0 to 10 (1 = the model itself; default 2, "
                        "1 for --method resample, which weighs fills by the model's own "
                        "likelihood)")
    p.add_argument("--seed", type=int, default=None, help="fixed seed for repeatable output")
    p.add_argument("--scale", type=positive_int, default=4,
                   help="nearest-neighbour upscaling of the PNG")
    p.add_argument("--out", default="inpainted.png")
    add_common(p)
    p.set_defaults(run=run, threads=1)


def _takes_guidance(method: str) -> bool:
    """Whether a method guides by default (an unknown one is the request's to report)."""
    key = METHOD_ALIASES.get(method, method)
    return key not in INPAINT_METHODS or INPAINT_METHODS[key].guided


def run(args) -> int:
    from ..core.masks import read_mask_png
    from ..core.media import MediaError, read_image
    from ..core.outputs import check_output, save_png
    from ..core.requests import InpaintRequest, ModelFacts
    from ..core.sampling.image import image_grid

    for path in (args.image, args.mask):
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: no such file")
    check_output(args.out)
    bundle, device = load_for(args, "image")
    facts = ModelFacts.of(bundle)
    codec = bundle.codec
    try:
        picture = read_image(args.image, codec.height, codec.width, codec.channels)
    except MediaError as err:
        raise MediaError(f"{args.image}: {err}") from None
    mask = read_mask_png(args.mask, codec.height, codec.width)
    label, problems = label_of(args.label, facts)
    if args.method is None:
        methods = facts.spec.inpaint_methods
        args.method = "resample" if "resample" in methods or not methods else methods[0]
    request = InpaintRequest(model=bundle.name, method=args.method, candidates=args.candidates,
                             order=args.order, n=args.n, label=label, calls=args.calls or 0,
                             temperature=args.temperature, seed=_seed(args),
                             image=codec.encode(picture), mask=mask,
                             guidance=_guidance(args.guidance, facts,
                                                _takes_guidance(args.method),
                                                bundle.provenance))
    check(request, facts, problems)
    started, result = time.perf_counter(), None
    with tqdm(total=request.hidden * codec.channels, unit="px", file=sys.stderr,
              mininterval=0.5) as bar:
        for event in request.events(bundle, device):
            if hasattr(event, "pixels"):
                result = event
            else:
                bar.update(1)
    elapsed = time.perf_counter() - started
    params = {**request.to_params(facts), "image": Path(args.image).name,
              "mask": Path(args.mask).name, "scale": args.scale}
    pixels = result.pixels if args.n > 1 else result.pixels[:1]
    save_png(args.out, image_grid(pixels) if args.n > 1 else pixels[0], params,
             scale=args.scale)
    print(f"wrote {args.out}: filled {request.hidden} pixels {args.n} time(s) by "
          f"{args.method} in {elapsed:.1f} s (seed {request.seed})")
    return 0
