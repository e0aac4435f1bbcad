"""`chainrule sample image|audio|text`: generate with a bundled or local model."""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from tqdm import tqdm

from ..core.sampling.orders import ORDERS, fixed_order


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value}")
    return value


def add_parsers(sub, add_common) -> None:
    p = sub.add_parser("sample", help="generate images, audio or text")
    kinds = p.add_subparsers(dest="modality", metavar="image|audio|text", required=True)

    img = kinds.add_parser("image", help="sample a grid of images to a PNG")
    img.add_argument("--label", default="any",
                     help="class index or name (conditional models), or 'any'")
    img.add_argument("--n", type=positive_int, default=16, help="number of images (grid of them)")
    img.add_argument("--scale", type=positive_int, default=4,
                     help="nearest-neighbour upscaling of the PNG")
    img.add_argument("--order", choices=ORDERS, default=None,
                     help="drawing order of an any-order model (default random; subscale = "
                          "4 x 4 interleaved slices, coarse grid first); a PixelCNN or "
                          "PixelRNN draws in raster order, a Subscale Pixel Network in "
                          "subscale order")
    img.add_argument("--naive", action="store_true",
                     help="recompute the full network for every pixel (slow; for comparison)")
    img.add_argument("--out", default="samples.png")

    aud = kinds.add_parser("audio", help="sample audio to a WAV file")
    aud.add_argument("--seconds", type=positive_float, default=3.0)
    aud.add_argument("--label", default="any", help="class index or name, or 'any'")
    aud.add_argument("--prime", help="WAV file whose audio the sample continues")
    aud.add_argument("--out", default="sample.wav")

    txt = kinds.add_parser("text", help="complete a prompt, streaming to the terminal")
    txt.add_argument("--prompt", default="")
    txt.add_argument("--length", type=positive_int, default=400, help="characters to generate")
    txt.add_argument("--n", type=positive_int, default=1, help="independent completions")
    txt.add_argument("--top-k", type=int, default=0)
    txt.add_argument("--top-p", type=float, default=1.0)
    txt.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    txt.add_argument("--out", help="also write the completion(s) to this file")

    for q, run, default_model in ((img, run_image, "mnist"), (aud, run_audio, "speech"),
                                  (txt, run_text, "shakespeare")):
        q.add_argument("--model", default=default_model, help="bundled name or checkpoint path")
        q.add_argument("--temperature", type=float, default=1.0)
        q.add_argument("--seed", type=int, default=None, help="fixed seed for repeatable output")
        add_common(q)
        # Sampling is thousands of tiny sequential steps: one thread is as fast, and it
        # stays fast when other programs load the CPU (spinning worker threads do not).
        q.set_defaults(run=run, threads=1)


def load_for(args, modality: str):
    from ..core.checkpoint import CheckpointError, load_bundle
    from ..core.devices import pick_device
    from ..core.paths import resolve_model
    from ..core.registry import KINDS

    device = pick_device(args.device)
    path = resolve_model(args.model)
    bundle = load_bundle(path, device)
    if KINDS[bundle.kind].modality != modality:
        raise CheckpointError(path, f"is a {bundle.kind} model; it cannot sample {modality}")
    return bundle, device


def parse_label(value: str, class_names: list[str], num_classes: int):
    """'any' -> None; a class index or a class name (case-insensitive) -> int."""
    from ..core.config import ConfigError

    if value is None or value.lower() == "any":
        return None
    if not num_classes:
        raise ConfigError("this model is not class-conditional; use --label any")
    lowered = [name.lower() for name in class_names]
    if value.lower() in lowered:
        return lowered.index(value.lower())
    if value.isdigit() and int(value) < num_classes:
        return int(value)
    names = ", ".join(class_names) or f"0..{num_classes - 1}"
    raise ConfigError(f"unknown label '{value}' (this model's classes: {names})")


def _seed(args) -> int:
    # Always record a concrete seed, so any result can be reproduced from its file.
    import random

    return args.seed if args.seed is not None else random.randrange(2**31)


def run_image(args) -> int:
    from ..core.config import ConfigError
    from ..core.outputs import save_png
    from ..core.registry import KINDS
    from ..core.sampling.image import image_grid, sample_images

    bundle, device = load_for(args, "image")
    label = parse_label(args.label, bundle.codec.class_names, bundle.config.num_classes)
    seed = _seed(args)
    fixed = fixed_order(bundle.kind)
    order = args.order or fixed or "random"
    if fixed and order != fixed:
        what = KINDS[bundle.kind].title
        raise ConfigError(f"{bundle.name} is a {what}: it draws in {fixed} order only")
    started = time.perf_counter()
    result = None
    total = bundle.codec.dims
    with tqdm(total=total, unit="px", file=sys.stderr, mininterval=0.5) as bar:
        for event in sample_images(bundle.net, bundle.codec, args.n, label, args.temperature,
                                   seed, naive=args.naive, device=device, order=order):
            if hasattr(event, "pixels"):
                result = event
            else:
                bar.update(1)
    elapsed = time.perf_counter() - started
    params = {"model": bundle.name, "kind": bundle.kind, "seed": seed,
              "label": "any" if label is None else label,
              "label_name": "any" if label is None else
              (bundle.codec.class_names[label] if bundle.codec.class_names else str(label)),
              "temperature": args.temperature, "order": order, "n": args.n}
    save_png(args.out, image_grid(result.pixels), params, scale=args.scale)
    print(f"wrote {args.out}: {args.n} images in {elapsed:.1f} s (seed {seed})")
    return 0


def run_audio(args) -> int:
    from ..core.outputs import save_wav
    from ..core.sampling.audio import sample_audio

    bundle, device = load_for(args, "audio")
    label = parse_label(args.label, bundle.codec.class_names, bundle.config.num_classes)
    prime = _read_prime(args.prime, bundle.codec.sample_rate) if args.prime else None
    seed = _seed(args)
    rate = bundle.codec.sample_rate
    n = max(1, int(round(args.seconds * rate)))
    chunks, started = [], time.perf_counter()
    with tqdm(total=n, unit="sample", unit_scale=True, file=sys.stderr, mininterval=0.5) as bar:
        for event in sample_audio(bundle.net, bundle.codec, n, label, args.temperature, seed,
                                  prime=prime, device=device):
            chunks.append(event.samples[0])
            bar.update(event.samples.shape[1])
    elapsed = time.perf_counter() - started
    params = {"model": bundle.name, "kind": bundle.kind, "seed": seed,
              "label": "any" if label is None else label, "temperature": args.temperature,
              "seconds": args.seconds, "primed_with": args.prime or ""}
    save_wav(args.out, np.concatenate(chunks), rate, params)
    print(f"wrote {args.out}: {n / rate:.2f} s at {rate} Hz in {elapsed:.1f} s "
          f"({n / elapsed:,.0f} samples/s, seed {seed})")
    return 0


def _read_prime(path: str, rate: int):
    from ..core.media import read_audio

    return read_audio(path, rate)


def run_text(args) -> int:
    from ..core.sampling.events import TextDelta, TextDone
    from ..core.sampling.text import sample_text

    bundle, device = load_for(args, "text")
    unknown = bundle.codec.unknown_chars(args.prompt)
    if unknown and not bundle.codec.unknown:
        from ..core.codecs import CodecError

        raise CodecError(f"the prompt has characters this model never saw: "
                         f"{''.join(sorted(unknown))!r}")
    seed = _seed(args)
    started, count = time.perf_counter(), 0
    live = args.n == 1     # one completion streams live; several are printed at the end
    if live:
        sys.stdout.write(args.prompt)
    done = None
    for event in sample_text(bundle.net, bundle.codec, args.prompt, args.length,
                             args.temperature, args.top_k, args.top_p, seed, args.n,
                             args.stop, device=device):
        if isinstance(event, TextDelta):
            count += 1
            if live:
                sys.stdout.write(event.text)
                sys.stdout.flush()
        elif isinstance(event, TextDone):
            done = event
    elapsed = time.perf_counter() - started
    if not live:
        for i, text in enumerate(done.texts):
            print(f"--- completion {i + 1} ---\n{args.prompt}{text}")
    else:
        print()
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            for text in done.texts:
                f.write(args.prompt + text + ("\n" if args.n > 1 else ""))
    print(f"[{count} characters in {elapsed:.1f} s, {count / max(elapsed, 1e-9):,.0f} chars/s, "
          f"seed {seed}]", file=sys.stderr)
    return 0
