"""One table of the bundled image models: size, held-out bits/dim, time to draw 16 images.

Each model is scored on the final set of the preset that made it (the 10,000 Fashion-MNIST
test images for the fashion models, the 500 held-out digits for the MNIST ones), so the
figures are the ones on the model cards, measured again.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator

SAMPLE_IMAGES = 16


def bundled_image_models() -> list[tuple[str, object]]:
    """(name, path) of every bundled model whose kind draws images."""
    from .checkpoint import read_metadata
    from .paths import list_models
    from .registry import KINDS

    found: list[tuple[str, object]] = []
    for name, path, origin in list_models():
        if origin == "bundled":
            kind = read_metadata(path).get("kind")
            if kind in KINDS and KINDS[kind].modality == "image":
                found.append((name, path))
    return found


def time_sampling(bundle, device, n: int = SAMPLE_IMAGES, seed: int = 0) -> float:
    """Seconds to draw `n` images in the model's own order, after a short warm-up (which
    also compiles the numba kernels the PixelCNN uses on the CPU)."""
    from .benchmark import drain
    from .sampling.image import sample_images
    from .sampling.orders import fixed_order

    order = fixed_order(bundle.kind) or "random"

    def run(limit=None):
        drain(sample_images(bundle.net, bundle.codec, n, None, seed=seed, device=device,
                            order=order), limit)

    import torch

    # One thread, as the app samples: thousands of tiny sequential steps gain nothing from
    # more, and the figure should not depend on how busy the other cores are.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run(limit=3)
        start = time.perf_counter()
        run()
        return time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)


def score_models(models: list[tuple[str, object]], device, batch_size: int = 64,
                 limit: int | None = None, sample: bool = True,
                 progress: Callable[[str], None] = lambda line: None) -> Iterator[dict]:
    """One row per model: name, kind, parameters, data, bits/dim (exact or bound), seconds."""
    from .checkpoint import load_bundle
    from .registry import kind_spec
    from .training.presets import PRESETS
    from .training.trainer import evaluate

    prepared: dict = {}      # presets share data sets: read each once
    for name, path in models:
        bundle = load_bundle(path, device)
        preset = PRESETS.get(name)
        row = {"model": name, "kind": bundle.kind, "parameters": bundle.parameters,
               "data": None, "bits_per_dim": None,
               "bound": not kind_spec(bundle.kind).exact_likelihood, "sample_16_s": None}
        if preset is not None:
            key = preset.prepare
            if key not in prepared:
                progress(f"{name}: reading its data")
                prepared[key] = preset.prepare()
            data = prepared[key]
            progress(f"{name}: scoring {data.final_name}")
            row["data"] = data.final_name if limit is None else \
                f"first {limit} of {data.final_name}"
            row["bits_per_dim"] = round(evaluate(bundle.net, data.final, batch_size, device,
                                                 limit), 4)
        if sample:
            progress(f"{name}: drawing {SAMPLE_IMAGES} images")
            # Three significant digits, not two decimals: a tiny model draws 16 images in
            # a few milliseconds, which two decimals would report as no time at all.
            row["sample_16_s"] = float(f"{time_sampling(bundle, device):.3g}")
        yield row


def format_table(rows: list[dict]) -> str:
    """A Markdown table, as it appears in models/README.md."""
    lines = ["| model | kind | parameters | held-out bits/dim | data | 16 images (s) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        bits = "-" if r["bits_per_dim"] is None else \
            f"{r['bits_per_dim']:.3f}" + (" (bound)" if r["bound"] else "")
        seconds = "-" if r["sample_16_s"] is None else f"{r['sample_16_s']:.2f}"
        lines.append(f"| {r['model']} | {r['kind']} | {r['parameters']:,} | {bits} | "
                     f"{r['data'] or 'no preset: not scored'} | {seconds} |")
    return "\n".join(lines)
