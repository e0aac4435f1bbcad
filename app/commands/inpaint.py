"""`chainrule inpaint`: fill the masked part of an image with an image model."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from tqdm import tqdm

from ..core.sampling.orders import ORDERS
from .sample import _seed, load_for, parse_label, positive_int

METHODS = ("raster", "resample", "anyorder")


def add_parsers(sub, add_common) -> None:
    p = sub.add_parser(
        "inpaint", help="fill the masked part of an image",
        description="Fills the pixels a mask marks (white in the mask PNG) and keeps every "
                    "other pixel exactly. The image and the mask are scaled and centre-cropped "
                    "to the model's size. raster: the model's own order, seeing only what lies "
                    "above and to the left of each pixel; resample: draws --candidates raster "
                    "fills and keeps the one that best agrees with the known pixels after "
                    "the hole (importance resampling); anyorder: an any-order model that sees "
                    "every known pixel, filling in --order.")
    p.add_argument("--model", default="mnist", help="bundled name or checkpoint path")
    p.add_argument("--image", required=True, help="the picture (any size; PNG, JPEG, ...)")
    p.add_argument("--mask", required=True, help="PNG, white where pixels are to be filled")
    p.add_argument("--method", choices=METHODS, default="resample")
    p.add_argument("--candidates", type=positive_int, default=8,
                   help="raster fills drawn per result by --method resample")
    p.add_argument("--order", choices=ORDERS, default="nearest",
                   help="fill order of --method anyorder")
    p.add_argument("--n", type=positive_int, default=1, help="number of different fills")
    p.add_argument("--label", default="any",
                   help="class index or name (conditional models), or 'any'")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=None, help="fixed seed for repeatable output")
    p.add_argument("--scale", type=positive_int, default=4,
                   help="nearest-neighbour upscaling of the PNG")
    p.add_argument("--out", default="inpainted.png")
    add_common(p)
    p.set_defaults(run=run, threads=1)


def run(args) -> int:
    from ..core.config import ConfigError
    from ..core.masks import read_mask_png
    from ..core.media import MediaError, read_image
    from ..core.outputs import save_png
    from ..core.sampling.anyorder import sample_anyorder
    from ..core.sampling.image import image_grid
    from ..core.sampling.inpaint import inpaint_raster, inpaint_resample

    for path in (args.image, args.mask):
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: no such file")
    bundle, device = load_for(args, "image")
    codec = bundle.codec
    # The raster methods run on any raster-order model: they only use its incremental step
    # and its forward pass.
    needs = ("anyorder",) if args.method == "anyorder" else ("pixelcnn", "pixelrnn")
    if bundle.kind not in needs:
        wanted = "an any-order model" if args.method == "anyorder" else \
            "a PixelCNN or a PixelRNN"
        raise ConfigError(f"--method {args.method} needs {wanted}; "
                          f"{bundle.name} is of kind '{bundle.kind}'")
    try:
        picture = read_image(args.image, codec.height, codec.width, codec.channels)
    except MediaError as err:
        raise MediaError(f"{args.image}: {err}") from None
    image = codec.encode(picture)
    mask = read_mask_png(args.mask, codec.height, codec.width)
    label = parse_label(args.label, codec.class_names, bundle.config.num_classes)
    seed = _seed(args)
    if args.method == "anyorder":
        events = sample_anyorder(bundle.net, codec, args.n, label, args.temperature, seed,
                                 args.order, image=image, mask=mask, device=device)
    elif args.method == "raster":
        events = inpaint_raster(bundle.net, codec, image, mask, args.n, label,
                                args.temperature, seed, device)
    else:
        events = inpaint_resample(bundle.net, codec, image, mask, args.n, args.candidates,
                                  label, args.temperature, seed, device)
    started, result = time.perf_counter(), None
    with tqdm(total=int(mask.sum()) * codec.channels, unit="px", file=sys.stderr,
              mininterval=0.5) as bar:
        for event in events:
            if hasattr(event, "pixels"):
                result = event
            else:
                bar.update(1)
    elapsed = time.perf_counter() - started
    params = {"model": bundle.name, "kind": bundle.kind, "seed": seed, "method": args.method,
              "label": "any" if label is None else label, "temperature": args.temperature,
              "hidden_pixels": int(mask.sum()), "image": Path(args.image).name,
              "mask": Path(args.mask).name, "n": args.n}
    if args.method == "resample":
        params["candidates"] = args.candidates
    if args.method == "anyorder":
        params["order"] = args.order
    pixels = result.pixels if args.n > 1 else result.pixels[:1]
    save_png(args.out, image_grid(pixels) if args.n > 1 else pixels[0], params,
             scale=args.scale)
    print(f"wrote {args.out}: filled {int(mask.sum())} pixels {args.n} time(s) by "
          f"{args.method} in {elapsed:.1f} s (seed {seed})")
    return 0
