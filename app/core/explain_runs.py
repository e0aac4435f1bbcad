"""The explain views' runs, as the GUI's worker thread runs them: plain values in (the
models' cache, a checkpoint path, a device, levels), events out; never a widget.

Each loads (or reuses) the model like app/core/requests/run.py does, then yields what the
view folds in: a branch's PixelSteps and result, or Scores.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .explain import Score, score


@dataclass
class ScoredImages:
    """Every shown image scored, in the order given (None: the model's own)."""

    score: Score


@dataclass
class OrderScores:
    """One image scored in each of several orders: name -> Score."""

    image: int
    scores: dict[str, Score]


def _bundle(models, path: str, device: str):
    import torch

    torch.set_num_threads(1)      # as request_events: one core for the model, one for the GUI
    return models.get(path, device)


def score_images(models, path: str, device: str, levels: np.ndarray, labels,
                 order=None) -> Iterator[ScoredImages]:
    """Score images (n, C, H, W) under the model; an any-order model in `order` ((D, 3)
    steps, or a name; default random)."""
    bundle = _bundle(models, path, device)
    yield ScoredImages(score(bundle, levels, labels=labels, order=order, device=device))


def score_orders(models, path: str, device: str, levels: np.ndarray, label, image: int,
                 orders: tuple[str, ...]) -> Iterator[OrderScores]:
    """One image (C, H, W) scored in each order (an any-order model's figure depends on it)."""
    bundle = _bundle(models, path, device)
    scores = {}
    for name in orders:
        scores[name] = score(bundle, levels, labels=label, order=name, device=device,
                             keep_probs=False, top=1)
    yield OrderScores(image, scores)


def branch(models, path: str, device: str, levels: np.ndarray, steps, at: int,
           value: int | None, label, temperature: float, seed: int | None,
           guidance: float = 1.0) -> Iterator:
    """app/core/branch.py's branch_events for one image, in the worker."""
    from .branch import branch_events

    bundle = _bundle(models, path, device)
    yield from branch_events(bundle, levels, steps, at, value, label, temperature, seed,
                             device=device, guidance=guidance)


@dataclass
class DriftReport:
    """A generation's bits per step beside the held-out reference (app/core/drift.py)."""

    curve: np.ndarray
    band: object              # drift.Band: mean, lower, upper per step
    source: str               # where the held-out items came from
    summary: dict             # drift.compare's figures
    unit: str                 # bits/dim, bits/sample or bits/char
    note: str = ""            # what was left out, if anything


# Sequences are compared over their first values only: the reference scores 32 windows of
# the same length in one pass each (time, and memory for every step's distribution).
DRIFT_LIMIT = {"audio": 16_000, "text": 4_000}


def drift(models, path: str, device: str, data, label=None, order=None
          ) -> Iterator[DriftReport]:
    """Score one generated item step by step and fetch (or build and cache) the reference
    curve of real held-out items of the same length (sequences), class and order."""
    from .drift import compare, generation_curve, held_out_reference
    from .registry import kind_spec

    bundle = _bundle(models, path, device)
    spec = kind_spec(bundle.kind)
    if spec.modality == "audio" and np.asarray(data).dtype.kind == "f":
        data = bundle.codec.encode(np.asarray(data))        # a waveform: its mu-law levels
    note, limit = "", DRIFT_LIMIT.get(spec.modality)
    if limit is not None and len(data) > limit:
        note = f"the first {limit:,} of {len(data):,} {spec.unit.split('/')[1]}s compared"
        data = data[:limit]
    length = len(data) if spec.modality != "image" else None
    curve = generation_curve(bundle, data, label, order)
    band, source = held_out_reference(bundle, length, label=label, order=order)
    yield DriftReport(curve, band, source, compare(curve, band), spec.unit, note)


@dataclass
class DependenceMap:
    """How much one pixel's distribution depends on each pixel (app/core/dependence.py)."""

    image: int
    row: int
    col: int
    grad: np.ndarray          # (H, W)


def dependence_map(models, path: str, device: str, levels: np.ndarray, label, image: int,
                   row: int, col: int, steps=None) -> Iterator[DependenceMap]:
    from .dependence import dependence

    bundle = _bundle(models, path, device)
    yield DependenceMap(image, row, col, dependence(bundle, levels, label, row, col,
                                                    steps=steps, device=device))


SCORE_CHARS = 20_000      # one pass, not stoppable midway: about a second or two on a CPU


def score_text(models, path: str, device: str, text: str, top: int = 10,
               limit: int = SCORE_CHARS) -> Iterator:
    """One TextTrace of `text` scored by the model at `path` (explain.score's bits, as
    `chainrule eval` windows the text): its first `limit` characters, the rest kept in the
    trace unscored (a pasted book is neither lost nor scored for minutes). Characters the
    model never saw raise ExplainError, which the tab's message bar shows."""
    from .state.text_trace import CharRecord, TextTrace

    bundle = _bundle(models, path, device)
    result = score(bundle, text[:limit], device=device, top=top, keep_probs=False)
    trace = TextTrace.from_score(text[:limit], result, bundle.codec.vocab)
    trace.records.extend(CharRecord(c) for c in text[limit:])
    yield trace
