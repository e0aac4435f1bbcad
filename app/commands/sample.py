"""`chainrule sample image|audio|text`: generate with a bundled or local model.

Each command only turns its arguments into a request (app/core/requests): the request says
everything wrong with itself for the model at once (one line, exit 2) before any work, runs
the sampler for the model's kind, and gives the parameters saved in the result file.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time

import numpy as np
from tqdm import tqdm

from ..core.registry import ORDERS
from ..core.sampling.guidance import DEFAULT_SCALE

GRID_PAD = 2    # pixels around and between the images of a saved grid


def positive_int(text: str) -> int:
    """A count flag: a whole number from 1 to a billion (past that no count is real)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text[:40]!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    if value > 1_000_000_000:
        raise argparse.ArgumentTypeError(f"must be at most 1,000,000,000, got {value:,}")
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
    img.add_argument("--calls", type=positive_int, default=None,
                     help="any-order models: network calls for the whole grid, several "
                          "pixels drawn in each (default: one per sub-pixel, the exact "
                          "chain); e.g. 100 is about 8 times faster at a small cost in "
                          "likelihood")
    img.add_argument("--small", metavar="IMAGE",
                     help="Subscale Pixel Network: upscale this image (read at 1/S of the "
                          "model's size, its first slice) to full size; every image of the "
                          "grid is one upscaling of it")
    img.add_argument("--guidance", type=float, default=None,
                     help="class-conditional models: classifier-free guidance, 0 to 10; 1 "
                          "draws from the model itself, above 1 the class shows more clearly "
                          "(and the images vary less); twice the work per pixel. Default: "
                          f"{DEFAULT_SCALE:g} for a class-conditional model, else 1")
    img.add_argument("--naive", action="store_true",
                     help="recompute the full network for every pixel (slow; for comparison)")
    img.add_argument("--out", default="samples.png")

    aud = kinds.add_parser("audio", help="sample audio to a WAV file")
    aud.add_argument("--seconds", type=float, default=3.0)
    aud.add_argument("--label", default="any", help="class index or name, or 'any'")
    aud.add_argument("--prime", help="WAV file whose audio the sample continues")
    aud.add_argument("--keep-silence", action="store_true",
                     help="keep the silence a waveform often starts with (by default up to "
                          "3 s of it is dropped, so the audio starts with sound)")
    aud.add_argument("--voice-temperature", metavar="T or off", default=None,
                     help="the temperature while the sound is loud (the last 20 ms above -35 "
                          "dBFS), the plain --temperature elsewhere: lower makes a voice "
                          "clearer without falling silent in the pauses. Default: the "
                          "model's measured one, else off (--temperature throughout)")
    aud.add_argument("--n", type=positive_int, default=1,
                     help="independent takes generated side by side, on every core unless "
                          "--threads says otherwise (written as NAME-1.wav, NAME-2.wav, ...)")
    aud.add_argument("--out", default="sample.wav")

    txt = kinds.add_parser("text", help="complete a prompt, streaming to the terminal")
    txt.add_argument("--prompt", default="")
    txt.add_argument("--length", type=positive_int, default=400, help="characters to generate")
    txt.add_argument("--n", type=positive_int, default=1, help="independent completions")
    txt.add_argument("--top-k", type=int, default=0,
                     help="draw only from the k likeliest characters (0 = all)")
    txt.add_argument("--top-p", type=float, default=1.0,
                     help="draw only from the likeliest characters whose probabilities add "
                          "up to p, more than 0 and at most 1 (1 = all)")
    txt.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    txt.add_argument("--out", help="also write the completion(s) and their parameters to "
                                   "this file")

    for q, run, default_model in ((img, run_image, "mnist"), (aud, run_audio, "speech"),
                                  (txt, run_text, "shakespeare")):
        q.add_argument("--model", default=default_model, help="bundled name or checkpoint path")
        measured = q is not txt        # image and audio models may carry their best
        q.add_argument("--temperature", type=float, default=None if measured else 1.0,
                       help="0.01 to 10: below 1 safer, above 1 wilder" +
                            (" (default: the model's measured best, else 1)" if measured
                             else ""))
        q.add_argument("--seed", type=int, default=None, help="fixed seed for repeatable output")
        add_common(q)
        # Sampling is thousands of tiny sequential steps: one thread is as fast, and it
        # stays fast when other programs load the CPU (spinning worker threads do not).
        q.set_defaults(run=run, threads=1)
    aud.set_defaults(threads=None)      # run_audio picks one thread per take, up to the cores


def _voice_temperature(asked: str | None, provenance) -> tuple[float | None, list[str]]:
    """--voice-temperature: (the value, problems). Not given: the model's measured one, if
    its file has one; 'off': none."""
    from ..core.recommended import recommended

    if asked is None:
        return recommended(provenance).get("voice_temperature"), []
    if asked.strip().lower() in ("off", "none", "same"):
        return None, []
    try:
        return float(asked), []
    except ValueError:
        return None, [f"--voice-temperature must be a number or 'off' (got {asked!r})"]


def load_for(args, modality: str):
    from ..core.checkpoint import CheckpointError, load_bundle
    from ..core.devices import pick_device
    from ..core.paths import resolve_model
    from ..core.registry import kind_spec

    device = pick_device(args.device)
    path = resolve_model(args.model)
    bundle = load_bundle(path, device)
    if kind_spec(bundle.kind).modality != modality:
        raise CheckpointError(path, f"is a {bundle.kind} model; it cannot sample {modality}")
    return bundle, device


def label_of(text: str, facts) -> tuple[int | None, list[str]]:
    """--label as a class index (None = any), and what is wrong with it (so it is reported
    together with the request's other problems)."""
    from ..core.requests import RequestError, parse_label

    try:
        return parse_label(text, facts), []
    except RequestError as err:
        return None, err.problems


def check(request, facts, problems=()) -> None:
    """Every problem at once, as one RequestError, before the model does any work."""
    from ..core.requests import RequestError

    found = [*problems, *request.problems(facts)]
    if found:
        raise RequestError(found)


def _guidance(asked: float | None, facts, guides: bool = True, provenance=None) -> float:
    """--guidance, or its default where there is a class to guide by and the method guides:
    the model's measured scale, else DEFAULT_SCALE; 1 (none) otherwise."""
    from ..core.recommended import recommended

    if asked is not None:
        return asked
    if not (facts.num_classes and guides):
        return 1.0
    return recommended(provenance).get("guidance", DEFAULT_SCALE)


def _seed(args) -> int:
    # Always record a concrete seed, so any result can be reproduced from its file.
    import random

    return args.seed if args.seed is not None else random.randrange(2**31)


def run_image(args) -> int:
    from ..core.outputs import check_output, save_png
    from ..core.recommended import temperature_for
    from ..core.requests import ImageRequest, ModelFacts
    from ..core.sampling.events import ImageResult, PixelStep
    from ..core.sampling.image import image_grid

    check_output(args.out)
    bundle, device = load_for(args, "image")
    facts = ModelFacts.of(bundle)
    label, problems = label_of(args.label, facts)
    request = ImageRequest(model=bundle.name, n=args.n, label=label,
                           temperature=temperature_for(args.temperature, bundle.provenance),
                           seed=_seed(args),
                           order=args.order or "", naive=args.naive,
                           calls=args.calls or 0, small=args.small or "",
                           guidance=_guidance(args.guidance, facts,
                                              provenance=bundle.provenance))
    problems += _scale_problems(args.scale, args.n, bundle.codec)
    check(request, facts, problems)
    started = time.perf_counter()
    result = None
    steps = bundle.codec.dims * facts.spec.stages       # a depth-upscaling net draws twice
    with tqdm(total=steps, unit="px", file=sys.stderr, mininterval=0.5) as bar:
        for event in request.events(bundle, device):
            if isinstance(event, ImageResult):
                result = event
            elif isinstance(event, PixelStep):
                bar.update(1)
    elapsed = time.perf_counter() - started
    params = {**request.to_params(facts), "scale": args.scale, "grid_pad": GRID_PAD}
    save_png(args.out, image_grid(result.pixels, pad=GRID_PAD), params, scale=args.scale)
    print(f"wrote {args.out}: {args.n} images in {elapsed:.1f} s (seed {request.seed})")
    return 0


def _scale_problems(scale: int, n: int, codec) -> list[str]:
    """The saved grid's side, scaled, is bounded (its pixels are held in memory twice)."""
    from ..core.limits import MAX_PNG_SIDE
    from ..core.sampling.image import grid_size

    side = max(grid_size(n, codec.height, codec.width, GRID_PAD))
    if side * scale <= MAX_PNG_SIDE:
        return []
    return [f"--scale {scale} would make a PNG {side * scale:,} pixels a side; at most "
            f"{MAX_PNG_SIDE:,} (--scale {max(1, MAX_PNG_SIDE // side)} or less here)"]


def run_audio(args) -> int:
    from ..core.outputs import check_output, open_wav
    from ..core.recommended import temperature_for
    from ..core.requests import AudioRequest, ModelFacts

    check_output(args.out)
    bundle, device = load_for(args, "audio")
    if device.type == "cpu":
        # Loading the compiled loop (0.3-0.5 s, once per process) is start-up, like the
        # model: done here, the rate printed below is the sampler's own from the first sample.
        from ..core.fast import wavenet_numba

        wavenet_numba.load_kernels()
    facts = ModelFacts.of(bundle)
    rate = bundle.codec.sample_rate
    label, problems = label_of(args.label, facts)
    prime = None
    if args.prime:
        prime, why = _read_prime(args.prime, rate)
        problems += why
    voice, why = _voice_temperature(args.voice_temperature, bundle.provenance)
    problems += why
    request = AudioRequest(model=bundle.name, seconds=args.seconds, label=label,
                           temperature=temperature_for(args.temperature, bundle.provenance),
                           seed=_seed(args), prime=prime,
                           prime_name=args.prime or "", takes=args.n,
                           skip_silence=not args.keep_silence, voice_temperature=voice)
    check(request, facts, problems)
    outs = _take_paths(args.out, request.takes)
    for out in outs[1:]:
        check_output(out)
    if args.threads is None:
        # Takes run in groups, one per thread (CompiledWaveNet): with no window to keep
        # responsive, every core works (4 takes: 2.2x one take's total on 2 cores).
        import torch

        torch.set_num_threads(min(request.takes, os.cpu_count() or 1))
    n = request.samples(facts)
    made, skipped, started, stopped = 0, 0, time.perf_counter(), False
    with contextlib.ExitStack() as files, tqdm(total=n * request.takes, unit="sample",
                                               unit_scale=True, file=sys.stderr,
                                               mininterval=0.5) as bar:
        wavs = [files.enter_context(open_wav(out, rate, request.to_params(facts)))
                for out in outs]
        try:
            for event in request.events(bundle, device):
                for wav, samples in zip(wavs, event.samples):     # written as they come
                    wav.write(np.clip(samples, -1.0, 1.0))
                made += event.samples.shape[1]
                skipped = event.skipped
                bar.update(event.samples.size)
        except KeyboardInterrupt:
            stopped = True           # the files close below with everything made so far
    elapsed = time.perf_counter() - started
    wrote = outs[0] if len(outs) == 1 else f"{len(outs)} takes ({outs[0]} .. {outs[-1]})"
    print(f"{'stopped: kept' if stopped else 'wrote'} {wrote}: {made / rate:.2f} s at "
          f"{rate} Hz in {elapsed:.1f} s ({made * request.takes / max(elapsed, 1e-9):,.0f} "
          f"samples/s, seed {request.seed})")
    if skipped:
        print(f"  the first {skipped / rate:.2f} s drawn were silence and are left out "
              "(--keep-silence keeps them)")
    if request.voice_temperature is not None and args.voice_temperature is None:
        print(f"  temperature {request.temperature:g}, and {request.voice_temperature:g} "
              "while loud: the model's measured voice temperature (--voice-temperature off: "
              "none)")
    return 130 if stopped else 0


def _take_paths(out: str, takes: int) -> list[str]:
    """sample.wav for one take; sample-1.wav, sample-2.wav, ... for several."""
    if takes == 1:
        return [out]
    stem, dot, ext = out.rpartition(".")
    if not dot or "/" in ext or os.sep in ext:
        stem, ext = out, "wav"
    return [f"{stem}-{i}.{ext}" for i in range(1, takes + 1)]


def _read_prime(path: str, rate: int):
    """(the prime's samples or None, what is wrong with the file)."""
    from ..core.media import MediaError, read_audio

    try:
        return read_audio(path, rate), []
    except MediaError as err:
        return None, [f"--prime {path}: {err}"]


def run_text(args) -> int:
    from ..core.outputs import check_output
    from ..core.requests import ModelFacts, TextRequest
    from ..core.sampling.events import TextDelta, TextDone

    if args.out:
        check_output(args.out)
    bundle, device = load_for(args, "text")
    facts = ModelFacts.of(bundle)
    request = TextRequest(model=bundle.name, prompt=args.prompt, length=args.length,
                          temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                          seed=_seed(args), n=args.n, stop=tuple(args.stop))
    check(request, facts)
    started, count = time.perf_counter(), 0
    live = args.n == 1     # one completion streams live; several are printed at the end
    if live:
        sys.stdout.write(args.prompt)
    texts, ended = [""] * args.n, "length"
    try:
        for event in request.events(bundle, device):
            if isinstance(event, TextDelta):
                count += 1
                texts[event.stream] += event.text
                if live:
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
            elif isinstance(event, TextDone) and all(r == "stop" for r in event.reasons):
                ended = "stop string"
    except KeyboardInterrupt:
        # Ctrl-C stops the run; what was generated is still saved, saying so.
        if live:
            print()
        if args.out:
            _save_text(args, request, facts, texts, count, "stopped")
            print(f"stopped: wrote {args.out} ({count} characters)", file=sys.stderr)
        raise
    elapsed = time.perf_counter() - started
    if not live:
        for i, text in enumerate(texts):
            print(f"--- completion {i + 1} ---\n{args.prompt}{text}")
    else:
        print()
    if args.out:
        _save_text(args, request, facts, texts, count, ended)
    print(f"[{count} characters in {elapsed:.1f} s, {count / max(elapsed, 1e-9):,.0f} chars/s, "
          f"seed {request.seed}]", file=sys.stderr)
    return 0


def _save_text(args, request, facts, texts: list[str], count: int, ended: str) -> None:
    """The completion(s) and their parameters, with how the run ended (the same keys as the
    Text tab's files): the characters generated (all completions together), whether it was
    stopped before its end (Ctrl-C), and what ended it ("length", "stop string": every
    completion reached one, or "stopped")."""
    from ..core.outputs import save_text

    params = {**request.to_params(facts), "characters": count,
              "stopped": ended == "stopped", "ended": ended}
    body = "".join(args.prompt + text + ("\n" if args.n > 1 else "") for text in texts)
    save_text(args.out, body, params)
