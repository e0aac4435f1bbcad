"""`chainrule bench`: sampling speed of the bundled models on this device."""
from __future__ import annotations

import json
import sys

VIEWS_GOAL = 0.15       # the target: generation with the views on at most 15% slower


def add_parsers(sub, add_common) -> None:
    p = sub.add_parser("bench", help="measure sampling speed of the bundled models",
                       description="Times the fast samplers of the bundled models (medians "
                                   "after a warm-up) and the naive PixelCNN sampler for "
                                   "comparison, and each with the explain views' reporting on "
                                   "and off. Takes one to two minutes on a laptop CPU.")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--models", help="folder of checkpoints to bench (default: bundled)")
    add_common(p)
    p.set_defaults(run=run, threads=1)


def run(args) -> int:
    from pathlib import Path

    from ..core.benchmark import run_bench
    from ..core.devices import pick_device

    device = pick_device(args.device)
    report = run_bench(device, Path(args.models) if args.models else None,
                       log=lambda text: print(f"bench: {text}", file=sys.stderr))
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"device: {report['device']}, torch {report['torch']}, {report['threads']} thread(s), "
          f"numba {'yes' if report['numba'] else 'no'}")
    if "image" in report:
        r = report["image"]
        print(f"image  {r['model']}: 16 images in {r['fast_s']} s = {r['fast_over_forward']} "
              f"full forward passes ({r['forward_pass_s']} s each); naive {r['naive_s']} s, "
              f"{r['speedup']}x slower; 1 image in {r['fast_s_batch1']} s\n"
              f"       ({r['naive_note']})")
        if "guided_s" in r:
            print(f"       16 images with a class, guidance {r['guidance']:g}: "
                  f"{r['guided_s']} s")
    for r in report.get("images16", []):
        print(f"image  {r['model']} ({r['kind']}): 16 images in {r['images16_s']} s")
    if "budgeted" in report:
        r = report["budgeted"]
        for b in r["budgets"]:
            cost = "" if b["bits_per_dim_cost"] is None else \
                f", +{b['bits_per_dim_cost']:.4f} bits/dim"
            print(f"any-order {r['model']}, {b['calls']} calls: 16 images in "
                  f"{b['images16_s']} s, half a digit filled 4 ways in {b['fill_half_4_s']} s"
                  f"{cost}")
    if "audio" in report:
        r = report["audio"]
        print(f"audio  {r['model']}: {r['samples_per_s']:,} samples/s = {r['realtime_factor']}x "
              f"real time; {r['streams']} streams: {r['total_samples_per_s_streams']:,} "
              f"samples/s in total ({r['streams_speedup']}x one stream; "
              f"{r['streams_speedup_all_cores']}x on all {r['cores']} cores)")
    for r in report.get("text", {}).get("models", []):
        extra = f"; KV cache {r['kv_cache_speedup']}x faster than recomputing " \
                f"{r['context']} characters" if "kv_cache_speedup" in r else ""
        print(f"text   {r['model']}: {r['chars_per_s']:,} chars/s{extra}")
    for line in views_lines(report):
        print(line)
    return 0


def views_lines(report: dict) -> list[str]:
    """One line per modality: what the explain views (samplers' report=True) cost."""
    def pct(r: dict) -> str:
        return f"{100 * r['views_overhead']:+.1f}% ({r['views_on_s']} s on, " \
               f"{r['views_off_s']} s off; fastest runs {100 * r['views_overhead_min']:+.1f}%)"

    lines = []
    if "image" in report:
        lines.append(f"views  image {report['image']['model']}: {pct(report['image'])}")
    if "audio" in report:
        lines.append(f"views  audio {report['audio']['model']}: {pct(report['audio'])}")
    texts = report.get("text", {}).get("models", [])
    if texts:
        lines.append("views  text " + "; ".join(f"{r['model']}: {pct(r)}" for r in texts))
    if lines:
        lines.append(f"       (goal: at most +{VIEWS_GOAL:.0%}; samples the same on and off)")
    return lines
