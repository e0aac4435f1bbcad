"""What reporting distributions costs the samplers, and what explaining costs. Prints JSON.

For each bundled model named, generation is timed with the samplers' `report` flag off and
on (runs alternate, after a warm-up each; medians and minima), one thread, seed 0, temperature 1:
images (16 at once, like `chainrule bench`), audio (one stream), text (one stream). The
samples must come out the same either way; the script says so for each model. It also times
`explain.score` on one item of what was generated.

    python benchmarks/explain_overhead.py
    python benchmarks/explain_overhead.py --models mnist,mnist-pixelrnn --repeats 5
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

DEFAULT_MODELS = "mnist,mnist-pixelrnn,speech,shakespeare,shakespeare-gpt"


def _generate(bundle, report: bool, sizes: dict):
    """(the samples as one array, the run's seconds) for one sampler run."""
    from app.core.registry import kind_spec
    from app.core.sampling.audio import sample_audio
    from app.core.sampling.events import ImageResult, TextDelta
    from app.core.sampling.image import sample_images
    from app.core.sampling.text import sample_text

    net, codec = bundle.net, bundle.codec
    modality = kind_spec(bundle.kind).modality
    start = time.perf_counter()
    if modality == "image":
        events = sample_images(net, codec, sizes["images"], seed=0, report=report)
        out = [e.levels for e in events if isinstance(e, ImageResult)][0]
    elif modality == "audio":
        chunks = [e.samples for e in sample_audio(net, codec, sizes["samples"], seed=0,
                                                    report=report)]
        out = np.concatenate(chunks, axis=1)
    else:
        prompt = "ROMEO:\n" if not codec.unknown_chars("ROMEO:\n") else ""
        out = np.array([e.text for e in sample_text(net, codec, prompt, sizes["chars"], seed=0,
                                                    report=report)
                        if isinstance(e, TextDelta)])
    return out, time.perf_counter() - start


def _score_time(bundle, sample) -> float:
    from app.core.explain import score
    from app.core.registry import kind_spec

    modality = kind_spec(bundle.kind).modality
    if modality == "image":
        data = sample[:1]
    elif modality == "audio":
        data = bundle.codec.encode(sample[0])
    else:
        data = "ROMEO:\n" + "".join(sample.tolist())
    score(bundle, data)                                  # warm-up
    start = time.perf_counter()
    score(bundle, data)
    return time.perf_counter() - start


def measure(bundle, repeats: int, sizes: dict) -> dict:
    from app.core.registry import kind_spec

    spec = kind_spec(bundle.kind)
    first_off, _ = _generate(bundle, False, sizes)       # warm-ups (numba, caches)
    first_on, _ = _generate(bundle, True, sizes)
    off, on = [], []
    for _ in range(repeats):                             # alternate: load drifts alike
        off.append(_generate(bundle, False, sizes)[1])
        on.append(_generate(bundle, True, sizes)[1])
    t_off, t_on = statistics.median(off), statistics.median(on)
    # The fastest run is what the code costs; the others add what else the machine did.
    best_off, best_on = min(off), min(on)
    what = {"image": f"{sizes['images']} images", "audio": f"{sizes['samples']} samples",
            "text": f"{sizes['chars']} characters"}[spec.modality]
    return {"model": bundle.name, "kind": bundle.kind, "modality": spec.modality,
            "generates": what, "off_s": round(t_off, 4), "on_s": round(t_on, 4),
            "overhead_pct": round(100 * (t_on / t_off - 1), 1),
            "off_min_s": round(best_off, 4), "on_min_s": round(best_on, 4),
            "overhead_pct_min": round(100 * (best_on / best_off - 1), 1),
            "off_runs_s": [round(t, 4) for t in off], "on_runs_s": [round(t, 4) for t in on],
            "same_samples": bool(np.array_equal(first_off, first_on)),
            "explain_one_s": round(_score_time(bundle, first_off), 4)}


def main() -> None:
    from app.core.checkpoint import load_bundle
    from app.core.fast import wavenet_numba
    from app.core.paths import resolve_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=DEFAULT_MODELS, help="comma-separated names")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--samples", type=int, default=8000)
    parser.add_argument("--chars", type=int, default=400)
    args = parser.parse_args()
    torch.set_num_threads(1)
    sizes = {"images": args.images, "samples": args.samples, "chars": args.chars}
    rows = []
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        bundle = load_bundle(resolve_model(name), torch.device("cpu"))
        rows.append(measure(bundle, args.repeats, sizes))
    print(json.dumps({"threads": torch.get_num_threads(), "torch": torch.__version__,
                      "numba": wavenet_numba.available(), "repeats": args.repeats,
                      "models": rows}, indent=1))


if __name__ == "__main__":
    main()
