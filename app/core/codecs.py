"""Codecs: how raw data (pixels, waveforms, text) becomes the integers a net predicts, and back.

A codec travels inside every checkpoint, so a model file alone is enough to use it.
All codecs work on numpy arrays; none imports torch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from . import limits
from .errors import UserError


class CodecError(UserError, ValueError):
    """A codec description or an input the codec cannot encode."""


def _strict_fields(name: str, data: dict, allowed: set[str], required: set[str]) -> None:
    if not isinstance(data, dict):
        raise CodecError(f"{name} codec must be a JSON object")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise CodecError(f"unknown key(s) in {name} codec: {', '.join(unknown)}")
    missing = sorted(required - set(data))
    if missing:
        raise CodecError(f"missing key(s) in {name} codec: {', '.join(missing)}")


@dataclass(frozen=True)
class ImageCodec:
    """Images of a fixed shape, each sub-pixel quantised to `levels` values."""

    modality: ClassVar[str] = "image"
    height: int
    width: int
    channels: int = 1
    levels: int = 256
    class_names: list[str] = field(default_factory=list)

    def encode(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 (..., H, W, C) in 0..255 -> int64 (..., C, H, W) in 0..levels-1."""
        pixels = np.asarray(pixels)
        if pixels.shape[-3:] != (self.height, self.width, self.channels):
            raise CodecError(
                f"expected images of shape {self.height}x{self.width}x{self.channels}, "
                f"got {'x'.join(map(str, pixels.shape[-3:]))}"
            )
        levels = (pixels.astype(np.int64) * self.levels) // 256  # even bins over 0..255
        return np.moveaxis(levels, -1, -3)

    def decode(self, levels: np.ndarray) -> np.ndarray:
        """int (..., C, H, W) in 0..levels-1 -> uint8 (..., H, W, C), bin centres on 0..255."""
        levels = np.clip(np.asarray(levels, dtype=np.int64), 0, self.levels - 1)
        if self.levels == 256:
            pixels = levels
        else:
            pixels = np.round(levels * 255.0 / (self.levels - 1)).astype(np.int64)
        return np.moveaxis(pixels.astype(np.uint8), -3, -1)

    @property
    def dims(self) -> int:
        return self.height * self.width * self.channels

    def to_dict(self) -> dict[str, Any]:
        return {"modality": self.modality, "height": self.height, "width": self.width,
                "channels": self.channels, "levels": self.levels,
                "class_names": list(self.class_names)}

    @classmethod
    def from_dict(cls, data: dict) -> ImageCodec:
        _strict_fields("image", data, {"modality", "height", "width", "channels", "levels",
                                       "class_names"}, {"height", "width"})
        with _as_codec_error():
            side = limits.MAX_IMAGE_SIDE
            return cls(limits.whole("height", data["height"], 1, side),
                       limits.whole("width", data["width"], 1, side),
                       limits.whole("channels", data.get("channels", 1), 1, 4),
                       limits.whole("levels", data.get("levels", 256), 2, limits.MAX_LEVELS),
                       _class_names(data))


@dataclass(frozen=True)
class MuLawCodec:
    """Mono audio at a fixed sample rate, mu-law companded to `levels` values (WaveNet)."""

    modality: ClassVar[str] = "audio"
    sample_rate: int
    levels: int = 256
    class_names: list[str] = field(default_factory=list)

    @property
    def mu(self) -> float:
        return float(self.levels - 1)

    def encode(self, samples: np.ndarray) -> np.ndarray:
        """float (...,) in [-1, 1] -> int64 (...,) in 0..levels-1."""
        x = np.clip(np.asarray(samples, dtype=np.float64), -1.0, 1.0)
        companded = np.sign(x) * np.log1p(self.mu * np.abs(x)) / np.log1p(self.mu)
        return np.clip(np.round((companded + 1.0) / 2.0 * self.mu), 0, self.mu).astype(np.int64)

    def decode(self, levels: np.ndarray) -> np.ndarray:
        """int (...,) in 0..levels-1 -> float32 (...,) in [-1, 1]."""
        y = np.asarray(levels, dtype=np.float64) / self.mu * 2.0 - 1.0
        x = np.sign(y) * ((1.0 + self.mu) ** np.abs(y) - 1.0) / self.mu
        return x.astype(np.float32)

    @property
    def silence(self) -> int:
        """The level that decodes to (almost exactly) zero: the natural start of a waveform."""
        return int(self.encode(np.zeros(1))[0])

    def to_dict(self) -> dict[str, Any]:
        return {"modality": self.modality, "sample_rate": self.sample_rate,
                "levels": self.levels, "class_names": list(self.class_names)}

    @classmethod
    def from_dict(cls, data: dict) -> MuLawCodec:
        _strict_fields("audio", data, {"modality", "sample_rate", "levels", "class_names"},
                       {"sample_rate"})
        with _as_codec_error():
            return cls(limits.whole("sample_rate", data["sample_rate"], limits.MIN_SAMPLE_RATE,
                                    limits.MAX_SAMPLE_RATE),
                       limits.whole("levels", data.get("levels", 256), 2, limits.MAX_LEVELS),
                       _class_names(data))


@dataclass(frozen=True)
class CharCodec:
    """A character vocabulary. Characters outside it map to `unknown` (if set) or are refused."""

    modality: ClassVar[str] = "text"
    vocab: str
    unknown: str = ""  # a character of vocab that stands in for unseen ones; "" = refuse

    def __post_init__(self) -> None:
        if len(set(self.vocab)) != len(self.vocab):
            raise CodecError("character vocabulary has duplicates")
        if self.unknown and self.unknown not in self.vocab:
            raise CodecError("the unknown-character stand-in must be in the vocabulary")

    @classmethod
    def from_text(cls, text: str, unknown: str = "") -> CharCodec:
        chars = sorted(set(text) | ({unknown} if unknown else set()))
        return cls("".join(chars), unknown)

    @property
    def size(self) -> int:
        return len(self.vocab)

    def _index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.vocab)}

    def encode(self, text: str) -> np.ndarray:
        index = self._index()
        fallback = index.get(self.unknown) if self.unknown else None
        out = np.empty(len(text), dtype=np.int64)
        for i, ch in enumerate(text):
            code = index.get(ch, fallback)
            if code is None:
                raise CodecError(f"character {ch!r} is not in the model's vocabulary")
            out[i] = code
        return out

    def unknown_chars(self, text: str) -> set[str]:
        return set(text) - set(self.vocab)

    def decode(self, ids) -> str:
        return "".join(self.vocab[int(i)] for i in ids)

    def to_dict(self) -> dict[str, Any]:
        return {"modality": self.modality, "vocab": self.vocab, "unknown": self.unknown}

    @classmethod
    def from_dict(cls, data: dict) -> CharCodec:
        _strict_fields("text", data, {"modality", "vocab", "unknown"}, {"vocab"})
        if not isinstance(data["vocab"], str) or not data["vocab"]:
            raise CodecError("text codec 'vocab' must be a non-empty string")
        if len(data["vocab"]) > limits.MAX_VOCAB:
            raise CodecError(f"text codec 'vocab' has {len(data['vocab']):,} characters, at "
                             f"most {limits.MAX_VOCAB:,}")
        unknown = data.get("unknown", "")
        if not isinstance(unknown, str) or len(unknown) > 1:
            raise CodecError("text codec 'unknown' must be one character or empty")
        return cls(data["vocab"], unknown)


class _as_codec_error:
    """Turns a LimitError inside the block into a CodecError (the error callers expect)."""

    def __enter__(self):
        return self

    def __exit__(self, kind, err, _tb):
        if isinstance(err, limits.LimitError):
            raise CodecError(str(err)) from None
        return False


def _class_names(data: dict) -> list[str]:
    return limits.names("class_names", data.get("class_names", []), limits.MAX_CLASSES,
                        limits.MAX_CLASS_NAME)


CODEC_CLASSES = {c.modality: c for c in (ImageCodec, MuLawCodec, CharCodec)}


def codec_from_dict(data: dict):
    """Parse any codec by its 'modality' field."""
    if not isinstance(data, dict) or data.get("modality") not in CODEC_CLASSES:
        raise CodecError("codec must name its modality: image, audio or text")
    return CODEC_CLASSES[data["modality"]].from_dict(data)
