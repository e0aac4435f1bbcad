"""What `chainrule explain` reads and writes around app/core/explain.py: a file turned into
the values a model scores, a Score as plain JSON, and a heat map of an image's bits.

No torch here: the heat map and the JSON are numpy and plain Python.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .explain import ExplainError, Score

# An "inferno"-like ramp: black (no surprise) through purple and orange to pale yellow.
RAMP = np.array([(0, 0, 4), (40, 11, 84), (101, 21, 110), (159, 42, 99), (212, 72, 66),
                 (245, 125, 21), (250, 193, 39), (252, 255, 164)], np.float64)
DECIMALS = 4


@dataclass
class Input:
    """A file read for scoring: the values, and what to say about how it was read."""

    data: np.ndarray | str
    notes: list[str] = field(default_factory=list)
    text: str | None = None


def read_input(bundle, path, seconds: float = 10.0, chars: int = 20_000,
               cell: int = 1) -> Input:
    """An image, WAV or text file -> the values `bundle`'s model scores. A picture chainrule
    saved at the model's size gives its exact pixels (image `cell` of a grid, from 1); any
    other image is scaled and centre-cropped to the model's size (as `chainrule inpaint`
    does); audio is read at the model's rate, at most `seconds` of it; text, at most
    `chars` characters."""
    from .media import MediaError, read_audio, read_image, read_text
    from .registry import kind_spec

    codec, modality = bundle.codec, kind_spec(bundle.kind).modality
    path = Path(path)
    if not path.is_file():
        raise ExplainError(f"{path}: no such file" if not path.exists()
                           else f"{path}: not a file")
    try:
        if modality == "image":
            saved = _saved_picture(path, codec, cell)
            if saved is not None:
                return saved
            picture = read_image(path, codec.height, codec.width, codec.channels)
            return Input(codec.encode(picture))
        if modality == "audio":
            samples = read_audio(path, codec.sample_rate, max_seconds=seconds)
            return Input(codec.encode(samples),
                         [f"read the first {seconds:g} s"] if _longer(path, seconds) else [])
        text, note = read_text(path)
    except MediaError as err:
        raise MediaError(f"{path}: {err}") from None
    notes = [note] if note else []
    if len(text) > chars:
        text, notes = text[:chars], notes + [f"read the first {chars:,} characters"]
    return Input(text, notes, text)


def _saved_picture(path: Path, codec, cell: int) -> Input | None:
    """Image `cell` of a picture chainrule saved, at the model's size; None for any other
    picture (or one saved at another size, which is read like any other)."""
    from .saved_images import saved_images, saved_params

    params = saved_params(path)
    if not params:
        return None
    images = saved_images(path, params, (codec.height, codec.width))
    if images.shape[1:3] != (codec.height, codec.width):
        return None
    if not 1 <= cell <= len(images):
        raise ExplainError(f"--cell {cell}: the picture holds {len(images)} image"
                           f"{'s' if len(images) > 1 else ''}")
    picture = images[cell - 1]
    if codec.channels == 1:
        picture = picture[..., :1]
    notes = [f"image {cell} of the {len(images)} in the saved grid"] if len(images) > 1 else []
    return Input(codec.encode(np.ascontiguousarray(picture)), notes)


def _longer(path: Path, seconds: float) -> bool:
    import soundfile

    try:
        return soundfile.info(str(path)).duration > seconds
    except RuntimeError:
        return False


def heat_map(bits: np.ndarray, top: float | None = None) -> np.ndarray:
    """Bits (H, W) -> an RGB heat map (H, W, 3) uint8; `top` bits (default the largest)
    is the brightest colour, 0 black."""
    top = float(bits.max()) if top is None else float(top)
    t = np.clip(bits / top, 0.0, 1.0) if top > 0 else np.zeros_like(bits, dtype=np.float64)
    where = t * (len(RAMP) - 1)
    low = np.minimum(where.astype(int), len(RAMP) - 2)
    frac = (where - low)[..., None]
    return np.round(RAMP[low] * (1 - frac) + RAMP[low + 1] * frac).astype(np.uint8)


def pixel_bits(result: Score, item: int = 0) -> np.ndarray:
    """An image's bits per pixel (H, W): its channels' bits added."""
    return result.bits[item].sum(0)


def summary(result: Score, model: str, source: str | None = None) -> dict:
    """What every explanation starts with: model, unit, totals, how elements were chosen."""
    head = {"model": model, "kind": result.kind, "modality": result.modality,
            "unit": result.unit, "total_bits": round(result.total_bits, DECIMALS),
            "mean_bits": round(result.mean_bits, 6), "elements": int(result.bits.size),
            "order": result.order}
    if source is not None:
        head["file"] = source
    if result.window is not None:
        head["window"] = result.window
        head["first"] = ("given, not scored; each window of this many targets starts afresh "
                         "from its first value, as `chainrule eval` scores a file")
    return head


def to_json(result: Score, model: str, codec, source: str | None = None,
            notes: list[str] | None = None) -> dict:
    """The first item of `result` as plain JSON: bits, values, entropies, top candidates."""
    out = summary(result, model, source)
    if notes:
        out["notes"] = list(notes)
    r = lambda a: np.round(np.asarray(a, np.float64), DECIMALS).tolist()   # noqa: E731
    if result.modality == "image":
        channels, height, width = result.bits.shape[1:]
        out.update(shape=[channels, height, width], levels=codec.levels,
                   steps=result.steps.tolist() if result.steps is not None else None,
                   values=result.value[0].tolist(), bits=r(result.bits[0]),
                   entropy_bits=r(result.entropy_bits[0]),
                   pixel_bits=r(pixel_bits(result)),
                   top_values=result.top_values[0].tolist(),
                   top_probs=r(result.top_probs[0]))
    elif result.modality == "audio":
        out.update(sample_rate=codec.sample_rate, levels=codec.levels, offset=result.offset,
                   values=result.value[0].tolist(), bits=r(result.bits[0]),
                   entropy_bits=r(result.entropy_bits[0]),
                   top_values=result.top_values[0].tolist(), top_probs=r(result.top_probs[0]))
    else:
        vocab = codec.vocab
        out["offset"] = result.offset
        out["chars"] = [
            {"char": vocab[int(v)], "bits": round(float(b), DECIMALS),
             "entropy_bits": round(float(h), DECIMALS),
             "top": [[vocab[int(i)], round(float(p), 6)] for i, p in zip(iv, pv)]}
            for v, b, h, iv, pv in zip(result.value[0], result.bits[0],
                                       result.entropy_bits[0], result.top_values[0],
                                       result.top_probs[0])]
    return out
