"""Drift: does a generation wander off what the model learned, and where?

A finished generation is scored by the model that drew it (explain.score), step by step in
the order it was drawn; the same curve averaged over real held-out items of the model's own
training data is the reference. Where the generation's bits rise above the band of the real
data, the sampler has drifted into territory the model finds unlikely (a wrong stroke it
then has to continue, a run of noise, a word it cannot finish); where they fall far below,
it is repeating itself.

- images: step k is the k-th sub-pixel drawn (the net's chain order, or the any-order
  model's `order`); the reference is N held-out images in the same order and with the same
  label (the label conditions every step, so a 7 is compared with real 7s).
- audio and text: step j is position j + 1 (the first value is given); the reference is N
  windows of the same length cut from the held-out sequence. Each item is scored as one
  window, context from its start, as the sampler saw it (a Transformer's context ends at
  its size: beyond it the score restarts, while the sampler slides).

held_out_reference caches the reference per model file, length, N, label and order as a
small .npz under the user data folder, since preparing a data set takes seconds.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .errors import UserError
from .registry import kind_spec

REFERENCE_ITEMS = 32          # held-out items the reference averages over
BAND = (10.0, 90.0)           # percentiles of the reference band
SCORE_BATCH = 16              # items scored in one pass (bounds memory for long audio)
CACHE_VERSION = 1             # bump when what is cached changes meaning


class DriftError(UserError, ValueError):
    """A drift request that cannot be answered (no held-out data, data too short, ...)."""


class Band(NamedTuple):
    """The reference curve: mean bits per step over real items, and a percentile band."""

    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


@dataclass
class HeldOut:
    """Real items the model was not trained on: images (n, C, H, W) levels or sequences
    (n, length) values; labels (n,) for labelled images, else None."""

    items: np.ndarray
    labels: np.ndarray | None
    source: str


# ----- curves ---------------------------------------------------------------------------
def generation_curve(bundle: Any, data: Any, labels: Any = None, order: Any = None
                     ) -> np.ndarray:
    """Bits (-log2 p) of each step of one generated item, in the order it was drawn.

    data: one image as levels (C, H, W) or (1, C, H, W), one sound as mu-law levels (T,),
    or one text (str, or ids (T,)). labels/order as explain.score takes them.
    """
    curves = _step_bits(bundle, data, labels, order)
    if curves.shape[0] != 1:
        raise DriftError(f"a generation curve is of one item, got {curves.shape[0]}")
    return curves[0]


def reference_curve(bundle: Any, data_items: Any, labels: Any = None, order: Any = None,
                    band: tuple[float, float] = BAND) -> Band:
    """The mean curve over `data_items` (all of one shape, scored like generation_curve's
    item, in the same order) and its `band` percentiles, step by step."""
    n = len(data_items)
    if n == 0:
        raise DriftError("a reference curve needs at least one item")
    if labels is not None and not isinstance(labels, (int, np.integer)):
        labels = [None if v is None else int(v) for v in labels]
    parts = []
    for start in range(0, n, SCORE_BATCH):
        part = labels[start:start + SCORE_BATCH] if isinstance(labels, list) else labels
        parts.append(_step_bits(bundle, data_items[start:start + SCORE_BATCH], part, order))
    bits = np.concatenate(parts)
    lower, upper = np.percentile(bits, band, axis=0)
    return Band(bits.mean(0), lower, upper)


def _step_bits(bundle: Any, data: Any, labels: Any, order: Any) -> np.ndarray:
    """(n, steps) bits in chain order."""
    from .explain import score

    modality = kind_spec(bundle.kind).modality
    if modality == "image":
        s = score(bundle, data, labels, order, top=1, keep_probs=False)
        steps = s.steps if s.steps is not None else np.zeros((0, 3), np.int64)
        return s.bits[:, steps[:, 2], steps[:, 0], steps[:, 1]]
    if isinstance(data, str):
        length = len(data)
    elif isinstance(data, (list, tuple)) and data and isinstance(data[0], str):
        length = len(data[0])
    else:
        length = np.shape(data)[-1]
    # One window over the whole item: its context runs from its start, as when it was drawn.
    s = score(bundle, data, labels, order, top=1, keep_probs=False, window=max(1, length - 1))
    return s.bits


def smooth(values: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average over `width` steps, the same length as `values`; near the ends
    it averages the steps there are (no zero padding pulling the ends down)."""
    values = np.asarray(values, dtype=np.float64)
    width = int(width)
    if width <= 1 or len(values) == 0:
        return values.copy()
    sums = np.concatenate([[0.0], np.cumsum(values)])
    index = np.arange(len(values))
    lo = np.clip(index - width // 2, 0, len(values))
    hi = np.clip(index - width // 2 + width, 0, len(values))
    return (sums[hi] - sums[lo]) / (hi - lo)


def compare(curve: np.ndarray, reference: Band, width: int | None = None) -> dict:
    """A summary for a caption or a report: mean bits of each, where the smoothed curves
    differ most (step and bits, generation minus reference), the share of steps above the
    band's upper edge."""
    curve = np.asarray(curve, dtype=np.float64)
    if curve.shape != reference.mean.shape:
        raise DriftError(f"the generation has {len(curve)} steps, the reference "
                         f"{len(reference.mean)}")
    width = width or max(1, len(curve) // 50)
    gap = smooth(curve, width) - smooth(reference.mean, width)
    where = int(np.abs(gap).argmax())
    return {"steps": len(curve), "smoothing": width,
            "generation_mean_bits": round(float(curve.mean()), 4),
            "reference_mean_bits": round(float(reference.mean.mean()), 4),
            "largest_gap_step": where, "largest_gap_bits": round(float(gap[where]), 4),
            "above_band_share": round(float((curve > reference.upper).mean()), 4)}


# ----- held-out data --------------------------------------------------------------------
def held_out_items(bundle: Any, n: int, length: int | None = None, label: int | None = None
                   ) -> HeldOut:
    """Up to `n` real held-out items of the data `bundle` was trained on: images (of class
    `label` if given), or windows of `length` values for audio and text, spread evenly
    over the held-out set (MNIST's is sorted by class: the first n would all be zeros).

    The data is the held-out split of the model's preset (what `chainrule eval --data
    mnist-heldout` scores), or of the data folder a user's model was trained on. Raises
    DriftError when the model records neither, or its data is not there any more.
    """
    data, source = _held_out_data(bundle)
    if kind_spec(bundle.kind).modality == "image":
        images, labels = data.images, data.labels
        if label is not None and labels is not None:
            keep = labels == int(label)
            images, labels, source = images[keep], labels[keep], f"{source}, class {label}"
        if len(images) == 0:
            raise DriftError(f"{bundle.name}: no held-out images of class {label}")
        pick = np.unique(np.linspace(0, len(images) - 1, min(n, len(images))).round()
                         .astype(np.int64))
        return HeldOut(images[pick], None if labels is None else labels[pick], source)
    if length is None or length < 2:
        raise DriftError(f"a sequence reference needs a length of 2 or more, got {length}")
    values = data.values
    if len(values) < length:
        raise DriftError(f"{bundle.name}: its held-out data ({len(values):,} values) is "
                         f"shorter than the generation ({length:,})")
    starts = np.unique(np.linspace(0, len(values) - length, n).round().astype(np.int64))
    return HeldOut(np.stack([values[s:s + length] for s in starts]).astype(np.int64), None,
                   source)


def _held_out_data(bundle: Any) -> tuple[Any, str]:
    """(ImageData or SequenceData, its description) of the model's held-out split."""
    from .training.presets import PRESETS

    provenance = bundle.provenance or {}
    preset = PRESETS.get(provenance.get("preset", ""))
    if preset is not None:
        data = preset.prepare()
        name = f"{data.final_name} ({preset.name})"
    else:
        folder = (provenance.get("data") or {}).get("source")
        if not folder:
            raise DriftError(f"{bundle.name} records no held-out data (no preset and no "
                             "data folder it was trained on): nothing to compare with")
        if not Path(folder).expanduser().exists():
            raise DriftError(f"{bundle.name} was trained on {folder}, which is not there "
                             "any more: nothing to compare with")
        from .training.folders import prepare_folder

        data, _, _ = prepare_folder(bundle.kind, Path(folder), codec=bundle.codec,
                                    context=getattr(bundle.net.config, "context", None),
                                    unknown="skip")
        name = f"{data.final_name} of {folder}"
    if data.codec.to_dict() != bundle.codec.to_dict():
        raise DriftError(f"{bundle.name}: its held-out data is encoded differently from "
                         "its codec")
    return data.final, name


# ----- the cached reference -------------------------------------------------------------
def held_out_reference(bundle: Any, length: int | None = None, n: int = REFERENCE_ITEMS,
                       label: int | None = None, order: Any = None) -> tuple[Band, str]:
    """(reference band, where its items came from) for a generation of `length` values
    (sequences) of class `label` (images), from the model's held-out data; cached."""
    path = _cache_path(bundle, length, n, label, order)
    cached = _read_cache(path)
    if cached is not None:
        return cached
    held = held_out_items(bundle, n, length, label)
    # Each item is scored under the conditioning the generation had: `label` or none.
    band = reference_curve(bundle, held.items, None if label is None else
                           [int(label)] * len(held.items), order)
    _write_cache(path, band, held.source)
    return band, held.source


def _cache_path(bundle: Any, length: int | None, n: int, label: int | None,
                order: Any) -> Path | None:
    """Where the reference of this model file and request is kept; None for a model with
    no file (nothing to tell a changed model by)."""
    from .paths import derived_cache_path

    if order is not None and not isinstance(order, str):
        order = hashlib.sha1(np.ascontiguousarray(order, dtype=np.int64).tobytes()).hexdigest()
    return derived_cache_path(bundle.path, "drift",
                              [CACHE_VERSION, length, n, label, order, BAND], ".npz",
                              bundle.name)


def _read_cache(path: Path | None) -> tuple[Band, str] | None:
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            return Band(f["mean"], f["lower"], f["upper"]), str(f["source"])
    except (OSError, ValueError, KeyError):
        return None                     # damaged or foreign: computed again, then replaced


def _write_cache(path: Path | None, band: Band, source: str) -> None:
    from .saving import write_atomic

    if path is None:
        return
    buffer = io.BytesIO()
    np.savez(buffer, mean=band.mean, lower=band.lower, upper=band.upper,
             source=np.array(source))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, buffer.getvalue())
    except OSError:
        pass                            # a cache that cannot be written only costs time
