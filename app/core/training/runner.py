"""Runs a training job end to end: build (or load) a net, train, then score the best checkpoint.

Shared by `chainrule train` and (later) the Train tab, so both write identical checkpoints.
"""
from __future__ import annotations

import dataclasses
import platform
import time
from dataclasses import dataclass
from typing import Iterator

from ..checkpoint import load_bundle, save_bundle
from ..registry import kind_spec
from .presets import PreparedData
from .trainer import TrainMetrics, TrainSettings, evaluate, train


@dataclass
class TrainJob:
    data: PreparedData
    config: object                  # architecture of a fresh net (ignored when fine-tuning)
    settings: TrainSettings
    out_path: str
    device: object = "cpu"
    half: bool = False
    init_from: object = None        # a Bundle to fine-tune, or None for a fresh net
    provenance: dict = dataclasses.field(default_factory=dict)


@dataclass
class FinalReport:
    path: str
    heldout_bits: float
    final_name: str
    unit: str
    wall_time_s: float


def build_net(job: TrainJob):
    import torch

    if job.init_from is not None:
        return job.init_from.net
    torch.manual_seed(job.settings.seed)      # weights are part of the recipe
    return kind_spec(job.config.kind).build(job.config)


def run_job(job: TrainJob) -> Iterator[TrainMetrics | FinalReport]:
    """Yield TrainMetrics every step, then one FinalReport after scoring on the final set."""
    net = build_net(job)
    settings = job.settings
    if settings.eval_limit is None and job.data.eval_limit is not None:
        settings = dataclasses.replace(settings, eval_limit=job.data.eval_limit)
    provenance = dict(job.provenance, data=job.data.provenance,
                      settings=dataclasses.asdict(job.settings),
                      host=f"{platform.machine()} {platform.system()}")
    start = time.perf_counter()
    yield from train(net, job.data.train, job.data.heldout, settings, job.out_path,
                     job.data.codec, provenance, job.device, job.half)
    wall = time.perf_counter() - start
    # Score exactly what was saved (float16 weights included) on the full final set.
    bundle = load_bundle(job.out_path, job.device)
    bits = evaluate(bundle.net, job.data.final, job.settings.batch_size, job.device)
    unit = kind_spec(bundle.kind).unit
    bundle.provenance["metrics"] = {"heldout": round(bits, 4), "unit": unit,
                                    "heldout_set": job.data.final_name}
    bundle.provenance["train_wall_time_s"] = round(wall, 1)
    save_bundle(job.out_path, bundle.net, bundle.codec, bundle.provenance, half=job.half)
    yield FinalReport(job.out_path, bits, job.data.final_name, unit, wall)
