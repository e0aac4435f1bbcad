"""`chainrule explain`: the chain rule of one image, sound or text, element by element.

For every element the model's distribution given everything before it and the bits of the
actual value (app/core/explain.py). An image gives a PNG heat map of each pixel's bits plus a
JSON file next to it; a sound or a text gives the JSON file. The bits add up to what
`chainrule eval` reports for the same input.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..core.registry import ORDERS
from .sample import positive_int


def add_parsers(sub, add_common) -> None:
    p = sub.add_parser(
        "explain", help="bits of every pixel, sample or character of a file under a model",
        description="Scores FILE element by element: for each pixel (sub-pixel), audio sample "
                    "or character, the model's distribution given everything before it and "
                    "-log2 p of the actual value. Images (scaled and centre-cropped to the "
                    "model's size) give --out as a PNG heat map of each pixel's bits, with "
                    "the JSON next to it (same name, .json); audio (WAV) and text give --out "
                    "as JSON. The bits add up to what `chainrule eval` reports for the same "
                    "input (an any-order model's figure depends on the order: --order).")
    p.add_argument("file", metavar="FILE", help="an image, a WAV file or a text file")
    p.add_argument("--model", default="mnist", help="bundled name or checkpoint path")
    p.add_argument("--out", required=True,
                   help="image models: the heat map PNG (.png); others: the JSON file")
    p.add_argument("--label", default=None,
                   help="class index or name (conditional image models), or 'any' "
                        "(default: the class a picture chainrule saved was drawn with)")
    p.add_argument("--cell", type=positive_int, default=1,
                   help="a saved grid: which of its images to score (from 1, row by row)")
    p.add_argument("--order", choices=ORDERS, default=None,
                   help="any-order models: the order pixels are revealed in (default random)")
    p.add_argument("--seed", type=int, default=0, help="seed of a random --order")
    p.add_argument("--top", type=positive_int, default=10,
                   help="likeliest candidates listed per element")
    p.add_argument("--scale", type=positive_int, default=8,
                   help="nearest-neighbour upscaling of the heat map")
    p.add_argument("--seconds", type=float, default=10.0,
                   help="audio: score at most this many seconds")
    p.add_argument("--chars", type=positive_int, default=20_000,
                   help="text: score at most this many characters")
    p.add_argument("--window", type=positive_int, default=None,
                   help="audio and text: targets per window, each starting afresh (default: "
                        "the windows of `chainrule eval --data FILE`)")
    add_common(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..core.checkpoint import load_bundle
    from ..core.devices import pick_device
    from ..core.explain import ExplainError, score
    from ..core.explain_report import read_input
    from ..core.outputs import OutputError, check_output
    from ..core.paths import resolve_model
    from ..core.registry import kind_spec
    from ..core.requests import ModelFacts, RequestError
    from .sample import label_of

    if not Path(args.file).exists():
        raise FileNotFoundError(2, "no such file", args.file)
    if not args.seconds > 0:
        raise ExplainError(f"--seconds must be more than 0 (got {args.seconds})")
    out = check_output(args.out)
    device = pick_device(args.device)
    bundle = load_bundle(resolve_model(args.model), device)
    spec = kind_spec(bundle.kind)
    image = spec.modality == "image"
    if image and out.suffix.lower() != ".png":
        raise OutputError(out, "for an image model --out is the heat map: give a .png name")
    if not image and out.suffix.lower() == ".png":
        raise OutputError(out, f"for {spec.article} --out is a JSON file, not a .png")
    if args.label is None:
        args.label = _saved_label(args.file) if image else "any"
    label, problems = label_of(args.label, ModelFacts.of(bundle)) if image else (None, [])
    if problems:
        raise RequestError(problems)
    if not image and (args.label not in ("any", "") or args.order is not None):
        raise ExplainError(f"{spec.article} takes no --label and no --order")
    data = out.with_suffix(".json") if image else out
    if image:
        check_output(data)
    read = read_input(bundle, args.file, args.seconds, args.chars, args.cell)
    result = score(bundle, read.data, labels=label, order=args.order, device=device,
                   top=args.top, window=args.window, seed=args.seed, keep_probs=False)
    _write(args, bundle, result, read, out, data)
    what = f"{out} and {data}" if image else str(out)
    print(f"wrote {what}: {result.total_bits:,.1f} bits in all, {result.mean_bits:.4f} "
          f"{result.unit} over {result.bits.size:,} elements ({result.order} order)")
    for note in read.notes:
        print(f"note: {note}")
    return 0


def _saved_label(path) -> str:
    """The class a saved picture was drawn with, or "any"."""
    from ..core.saved_images import saved_params

    label = saved_params(path).get("label")
    return str(label) if isinstance(label, (int, str)) and label != "" else "any"


def _write(args, bundle, result, read, out: Path, data: Path) -> None:
    from ..core.explain_report import heat_map, pixel_bits, summary, to_json
    from ..core.outputs import save_png
    from ..core.saving import write_atomic

    source = Path(args.file).name
    report = to_json(result, bundle.name, bundle.codec, source, read.notes)
    if read.text is not None:
        report["text"] = read.text
    write_atomic(data, (json.dumps(report) + "\n").encode("utf-8"))
    if result.modality == "image":
        bits = pixel_bits(result)
        params = {**summary(result, bundle.name, source), "max_pixel_bits": round(
            float(bits.max()), 4), "scale": args.scale, "label": args.label}
        save_png(out, heat_map(bits), params, scale=args.scale)
