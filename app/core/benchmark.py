"""`chainrule bench`: how fast the bundled models sample on this device.

Every figure is a median of several runs after a warm-up run (which also compiles the numba
kernels). The naive PixelCNN sampler is far too slow to run to the end, so it is timed on a
number of pixel steps and extrapolated to the whole image; the report says how many.

Each modality's main figure is also taken with the samplers' `report` flag on (what the
window's explain views ask for): the same workload and seed, runs alternating with the plain
ones, so `views_overhead` is what the views cost generation. Both must draw the same samples.
"""
from __future__ import annotations

import functools
import itertools
import statistics
import time
from collections.abc import Callable

import numpy as np

from .paths import bundled_models_dir


def _median_time(run: Callable[[], object], repeats: int) -> float:
    run()                                        # warm-up: caches, allocations, numba
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _views_timing(run: Callable[[bool], object], repeats: int) -> tuple[float, dict]:
    """Time `run(report)` (which returns its samples) with reporting off and on: a warm-up
    of each, then `repeats` pairs in alternating order (off-on, on-off, ...) so a drift in
    the machine's load falls on both alike. Returns (median seconds off, the report keys).

    Raises RuntimeError if any run draws other samples than the first: the samplers promise
    the same draws either way, so a difference is a bug, never a figure.
    """
    reference = run(False)
    outputs = [run(True)]
    times: dict[bool, list[float]] = {False: [], True: []}
    for i in range(repeats):
        for report in ((False, True) if i % 2 == 0 else (True, False)):
            start = time.perf_counter()
            outputs.append(run(report))
            times[report].append(time.perf_counter() - start)
    if not all(_same(reference, out) for out in outputs):
        raise RuntimeError("the samplers drew different samples with report=True: a bug")
    off, on = statistics.median(times[False]), statistics.median(times[True])
    # The fastest runs are what the code costs; a busy machine adds to the others unevenly.
    best = min(times[True]) / min(times[False]) - 1
    # Four significant digits, not decimals: a tiny model's runs take milliseconds, and
    # 0.0036 s rounded to 4 decimals is 1.4% off, enough to skew the ratio of the two.
    return off, {"views_off_s": float(f"{off:.4g}"), "views_on_s": float(f"{on:.4g}"),
                 "views_overhead": round(on / off - 1, 4),
                 "views_overhead_min": round(best, 4), "same_samples": True}


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and np.array_equal(a, b)
    return a == b


def drain(events, limit: int | None = None) -> None:
    """Pull up to `limit` events (all by default) and drop them."""
    for _ in itertools.islice(events, limit):
        pass


def bench_image(bundle, device, repeats: int = 3, naive_steps: int = 12) -> dict:
    from .sampling.events import final_event
    from .sampling.image import sample_images

    net, codec = bundle.net, bundle.codec

    def draw16(report: bool) -> np.ndarray:
        return final_event(sample_images(net, codec, 16, None, seed=0, device=device,
                                         report=report)).levels

    fast, views = _views_timing(draw16, repeats)
    fast1 = _median_time(lambda: drain(sample_images(net, codec, 1, None, seed=0,
                                                      device=device)), repeats)
    per_step = _median_time(lambda: drain(sample_images(net, codec, 16, None, seed=0,
                                                         naive=True, device=device),
                                           naive_steps), repeats) / naive_steps
    naive = per_step * codec.dims
    forward = _median_time(functools.partial(_forward16, bundle, device), repeats)
    guided = _guided_timing(bundle, device, repeats)
    return {"model": bundle.name, "batch": 16, "fast_s": round(fast, 3),
            "forward_pass_s": round(forward, 4),
            # The arithmetic floor: drawing 16 images in one full forward pass's time.
            "fast_over_forward": round(fast / forward, 2),
            "naive_s": round(naive, 1), "speedup": round(naive / fast, 1),
            "fast_s_batch1": round(fast1, 3), **guided,
            "naive_note": f"naive_s extrapolated from {naive_steps} of {codec.dims} pixel "
                          "steps (full forward pass per step)", **views}


def _guided_timing(bundle, device, repeats: int) -> dict:
    """16 images with a class each, at the Image tab's default guidance (two rows per image
    in every network call), for a class-conditional model."""
    from .sampling.guidance import DEFAULT_SCALE
    from .sampling.image import sample_images

    classes = bundle.config.num_classes
    if not classes:
        return {}
    labels = [i % classes for i in range(16)]
    seconds = _median_time(lambda: drain(sample_images(bundle.net, bundle.codec, 16, labels,
                                                       seed=0, device=device,
                                                       guidance=DEFAULT_SCALE)), repeats)
    return {"guided_s": round(seconds, 3), "guidance": DEFAULT_SCALE}


def _forward16(bundle, device) -> None:
    """One full forward pass over 16 images (training's pass, without the gradient)."""
    import torch

    codec = bundle.codec
    images = torch.randint(0, codec.levels, (16, codec.channels, codec.height, codec.width),
                           generator=torch.Generator().manual_seed(0)).to(device)
    with torch.no_grad():
        bundle.net(images)


def bench_images16(bundle, device, repeats: int = 3) -> dict:
    """16 images drawn the way the Image tab draws them, for one model of each image kind."""
    from .sampling.image import sample_images

    seconds = _median_time(lambda: drain(sample_images(bundle.net, bundle.codec, 16, None,
                                                       seed=0, device=device)), repeats)
    return {"model": bundle.name, "kind": bundle.kind, "images16_s": round(seconds, 3)}


def bench_audio(bundle, device, repeats: int = 3, seconds: float = 1.0,
                streams: int = 4) -> dict:
    import os

    import torch

    from .sampling.audio import sample_audio

    rate = bundle.codec.sample_rate
    n = int(seconds * rate)

    def stream(report: bool) -> np.ndarray:
        return np.concatenate([chunk.samples for chunk in sample_audio(
            bundle.net, bundle.codec, n, seed=0, device=device, report=report)], axis=1)

    one, views = _views_timing(stream, repeats)
    many = _median_time(lambda: drain(sample_audio(bundle.net, bundle.codec, n, seed=0,
                                                    streams=streams, device=device)), repeats)
    # The streams split over the user's threads (CompiledWaveNet); also timed on every core.
    threads, cores = torch.get_num_threads(), os.cpu_count() or 1
    torch.set_num_threads(cores)
    try:
        spread = _median_time(lambda: drain(sample_audio(
            bundle.net, bundle.codec, n, seed=0, streams=streams, device=device)), repeats)
    finally:
        torch.set_num_threads(threads)
    return {"model": bundle.name, "sample_rate": rate, "samples_per_s": round(n / one),
            "realtime_factor": round(n / one / rate, 2), "streams": streams,
            "total_samples_per_s_streams": round(n * streams / many),
            "per_stream_realtime_factor_streams": round(n / many / rate, 2),
            "streams_speedup": round(one * streams / many, 2),
            "cores": cores, "streams_speedup_all_cores": round(one * streams / spread, 2),
            "views_off_samples_per_s": round(n / views["views_off_s"]),
            "views_on_samples_per_s": round(n / views["views_on_s"]), **views}


def bench_text(bundle, device, repeats: int = 3, length: int = 400) -> dict:
    from .nets.charlm import CharGPT
    from .sampling.events import final_event
    from .sampling.text import sample_text

    prompt = "ROMEO:\n" if not bundle.codec.unknown_chars("ROMEO:\n") else ""

    def complete(report: bool) -> list[str]:
        return final_event(sample_text(bundle.net, bundle.codec, prompt, length, seed=0,
                                       device=device, report=report, kernels=True)).texts

    t, views = _views_timing(complete, repeats)
    report = {"model": bundle.name, "kind": bundle.kind, "chars_per_s": round(length / t),
              "views_off_chars_per_s": round(length / views["views_off_s"]),
              "views_on_chars_per_s": round(length / views["views_on_s"]), **views}
    if isinstance(bundle.net, CharGPT):            # only a Transformer keeps a KV cache
        report.update(_kv_cache_speedup(bundle, device, repeats))
    return report


def _kv_cache_speedup(bundle, device, repeats: int, chars: int = 16) -> dict:
    """Per character: a KV-cache step vs a full forward over a full context window."""
    import torch

    from .sampling.text import stepper

    net, context = bundle.net, bundle.config.context
    window = torch.randint(0, bundle.config.vocab_size, (1, context), device=device,
                           generator=torch.Generator(device=device).manual_seed(0))

    def cached():                                        # the sampler's own step
        with torch.no_grad():
            step = stepper(net, 1, device)
            for t in range(context - chars):                 # fill the cache
                step(window[:, t])
            start = time.perf_counter()
            for t in range(context - chars, context):
                step(window[:, t])
            return (time.perf_counter() - start) / chars

    def recompute():
        with torch.no_grad():
            start = time.perf_counter()
            for _ in range(chars):
                net(window)[:, -1]
            return (time.perf_counter() - start) / chars

    cached()
    recompute()
    step = statistics.median(cached() for _ in range(repeats))
    full = statistics.median(recompute() for _ in range(repeats))
    return {"context": context, "kv_cache_ms_per_char": round(step * 1e3, 3),
            "recompute_ms_per_char": round(full * 1e3, 3),
            "kv_cache_speedup": round(full / step, 1)}


def bench_imported_nanogpt(like, device) -> dict:
    """A nanoGPT checkpoint of `like`'s size (no biases, head tied to the embedding, as
    nanoGPT's configs train it), imported by `chainrule import` and timed as bench_text."""
    import json
    import tempfile
    from pathlib import Path

    from .checkpoint import load_bundle
    from .importing import import_nanogpt, read_foreign
    from .nanogpt import example_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        ckpt = example_checkpoint(Path(tmp) / "ckpt.pt", like.config, bias=False)
        vocab = Path(tmp) / "vocab.json"
        vocab.write_text(json.dumps(list(like.codec.vocab)), encoding="utf-8")
        raw, found = read_foreign(ckpt)
        assert isinstance(raw, dict)
        out = import_nanogpt(ckpt, raw, found, Path(tmp) / "nanogpt.safetensors",
                             vocab=str(vocab), name="nanogpt-layout")
        report = bench_text(load_bundle(out, device), device)
    report["model"] = f"nanoGPT layout, imported (bias=False, tied head; {like.name}'s size)"
    return report


ANYORDER_BUDGETS = (100, 50, 20)


def bench_budgeted(bundle, device, repeats: int = 1) -> dict:
    """Budgeted parallel decoding of an any-order model: 16 images, and the bottom half of
    a digit filled 4 ways, in each budget of network calls, with the bits/dim each budget
    gives up (from the model's per-step losses on held-out images; None without them)."""
    import numpy as np

    from .step_losses import budget_cost, measured

    codec = bundle.codec
    dims = codec.channels * codec.height * codec.width
    curve = measured(bundle, device)             # measured once, cached, before timing
    image = np.zeros((codec.channels, codec.height, codec.width), np.int64)
    mask = np.zeros((codec.height, codec.width), bool)
    mask[codec.height // 2:] = True
    hidden = int(mask.sum()) * codec.channels
    budgets = []
    for calls in ANYORDER_BUDGETS:
        sixteen = _median_time(functools.partial(_drain_budgeted, bundle, 16, calls, "random",
                                                 device), repeats)
        fill = _median_time(functools.partial(_drain_budgeted, bundle, 4, calls, "nearest",
                                              device, image, mask), repeats)
        cost = budget_cost(curve, dims, calls)
        fill_cost = budget_cost(curve, hidden, calls, dims - hidden)
        budgets.append({"calls": calls, "images16_s": round(sixteen, 3),
                        "fill_half_4_s": round(fill, 3),
                        "bits_per_dim_cost": None if cost is None else round(cost, 4),
                        "fill_bits_per_dim_cost": None if fill_cost is None else
                        round(fill_cost * dims / hidden, 4)})
    return {"model": bundle.name, "sub_pixels": dims, "budgets": budgets,
            "losses_measured": curve is not None}


def _drain_budgeted(bundle, n: int, calls: int, order: str, device, image=None, mask=None
                    ) -> None:
    from .requests.image import budgeted_events

    drain(budgeted_events(bundle, n, None, 1.0, 0, calls, order, device, image=image,
                          mask=mask))


def run_bench(device, models_dir=None, log=lambda text: None) -> dict:
    """Bench every bundled model by modality; returns one JSON-ready dict."""
    import platform

    import torch

    from .checkpoint import CheckpointError, load_bundle
    from .devices import describe_device
    from .fast import wavenet_numba
    from .registry import KINDS

    folder = models_dir or bundled_models_dir()
    # The models the targets are set for come first; others of a modality are skipped.
    preferred = ["mnist", "mnist-anyorder", "speech", "shakespeare", "shakespeare-gpt"]
    paths = sorted(folder.glob("*.safetensors"),
                   key=lambda p: (preferred.index(p.stem) if p.stem in preferred else 99, p.stem))
    report: dict = {"device": describe_device(device), "torch": torch.__version__,
              "threads": torch.get_num_threads(), "numba": wavenet_numba.available(),
              "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}"}
    texts, images16 = [], []
    kinds_done: set[str] = set()
    for path in paths:
        try:
            bundle = load_bundle(path, device)
        except CheckpointError as err:
            log(f"skipping {err}")
            continue
        modality = KINDS[bundle.kind].modality
        if modality == "image" and bundle.kind in kinds_done:
            continue                     # one model of each image kind
        log(f"{modality}: {bundle.name}")
        if KINDS[bundle.kind].parallel:
            report["budgeted"] = bench_budgeted(bundle, device)
        elif modality == "image" and "image" not in report:
            report["image"] = bench_image(bundle, device)
        elif modality == "image":
            images16.append(bench_images16(bundle, device))
        elif modality == "audio" and "audio" not in report:
            report["audio"] = bench_audio(bundle, device)
        elif modality == "text":
            texts.append(bench_text(bundle, device))
        kinds_done.add(bundle.kind)
    if images16:
        report["images16"] = images16
    gpt = next((t for t in texts if "kv_cache_speedup" in t), None)
    if gpt is not None:
        log("text: an imported nanoGPT-layout model")
        texts.append(bench_imported_nanogpt(load_bundle(folder / f"{gpt['model']}.safetensors",
                                                        device), device))
    if texts:
        # The headline is the recurrent model's (the targets are set for it): the first
        # report without a Transformer's KV-cache figures.
        main = next((t for t in texts if "kv_cache_speedup" not in t), texts[0])
        report["text"] = dict(main, models=texts)
    return report
