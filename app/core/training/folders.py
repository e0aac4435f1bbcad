"""A user's own files -> training data: images (optionally one sub-folder per class), audio, text.

Unusable files are skipped and reported with their reason; training proceeds on the rest.
Files read with a guess (text that is not UTF-8) are used and reported with a note.
Symbolic links to folders are not followed (and are reported), so a link loop cannot trap
the walk; a link that loops or leads nowhere is skipped with its reason.
"""
from __future__ import annotations

import errno
import os
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..codecs import CharCodec, ImageCodec, MuLawCodec
from ..config import ConfigError
from ..errors import UserError, visible
from ..limits import MAX_CLASS_NAME
from ..media import (
    AUDIO_SUFFIXES,
    IMAGE_SUFFIXES,
    MediaError,
    read_audio,
    read_image,
    read_text,
)
from ..registry import KINDS, kind_spec
from .datasets import ImageData, SequenceData
from .presets import PreparedData
from .sizes import fresh_config
from .trainer import TrainSettings

TEXT_SUFFIXES = {".txt", ".md", ".text", ".csv", ".py", ".json", ".html", ".xml", ".tex", ""}
HELDOUT_SHARE = 0.1


class DataFolderError(UserError, ValueError):
    """A data folder or file that cannot be used for training at all."""


@dataclass
class Scan:
    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (path, reason)
    notes: list[tuple[str, str]] = field(default_factory=list)     # (path, what was guessed)

    def skipped_text(self) -> str:
        """'3 skipped: a.png: corrupt image (...); b.png: empty file; ...' for a one-line
        refusal: how many, and why the first ones."""
        first = "; ".join(f"{Path(p).name}: {why}" for p, why in self.skipped[:2])
        more = "; ..." if len(self.skipped) > 2 else ""
        return f"{len(self.skipped)} skipped" + (f": {first}{more}" if first else "")

    def summary(self, root: Path, used: int, extra: str = "") -> dict:
        summary = {"source": str(root), "files_used": used, "files_skipped": len(self.skipped),
                   "skipped": [f"{p}: {why}" for p, why in self.skipped[:50]], "split": extra}
        if self.notes:
            summary["notes"] = [f"{p}: {what}" for p, what in self.notes[:50]]
        return summary


def scan(root: Path, suffixes: set[str]) -> Scan:
    if not root.exists():
        raise DataFolderError(f"{root}: no such file or folder")
    result = Scan()
    if root.is_file():
        candidates = [root]
    else:
        candidates = []

        def unreadable(err: OSError) -> None:
            result.skipped.append((str(err.filename), f"folder not readable ({err.strerror})"))

        for folder, dirs, names in os.walk(root, followlinks=False, onerror=unreadable):
            dirs.sort()
            result.skipped += [(str(Path(folder) / d), "link to a folder, not followed")
                               for d in dirs if (Path(folder) / d).is_symlink()]
            candidates += [Path(folder) / n for n in sorted(names)]
    for path in candidates:
        if path.name.startswith("."):
            continue
        if path.suffix.lower() not in suffixes:
            result.skipped.append((str(path), f"wrong type ({path.suffix or 'no extension'})"))
            continue
        try:
            info = path.stat()
        except OSError as err:
            result.skipped.append((str(path), _stat_problem(path, err)))
            continue
        if not stat.S_ISREG(info.st_mode):
            result.skipped.append((str(path), "not a regular file"))
        elif info.st_size == 0:
            result.skipped.append((str(path), "empty file"))
        else:
            result.files.append(path)
    return result


def _stat_problem(path: Path, err: OSError) -> str:
    if err.errno == errno.ELOOP:
        return "symbolic link loop"
    if path.is_symlink():
        return "broken symbolic link (its target does not exist)"
    return f"unreadable ({err.strerror})"


def _split_sequence(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cut = int(len(values) * (1 - HELDOUT_SHARE))
    return values[:cut], values[cut:]


# What a fresh image model draws unless asked otherwise: MNIST's format.
DEFAULT_IMAGE = (28, 28, 1)
IMAGE_SIDES = (4, 256)      # a side outside these is too small to hold a picture, or a
                            # model that would not train on a CPU (65,536 pixels x 3)


def image_shape_problem(height: int, width: int) -> str | None:
    low, high = IMAGE_SIDES
    if not (low <= height <= high and low <= width <= high):
        return (f"an image side must be {low} to {high} pixels; got {height} x {width}")
    return None


def prepare_images(root: Path, codec: ImageCodec | None,
                   shape: tuple[int, int, int] | None = None) -> PreparedData:
    """Every image under `root`, converted to the codec's format (a fresh model's: `shape`,
    (height, width, channels), or 28 x 28 grey)."""
    found = scan(root, IMAGE_SUFFIXES)
    top = root if root.is_dir() else root.parent
    folders = sorted({p.relative_to(top).parts[0] for p in found.files if p.parent != top})
    labelled = bool(folders) and all(p.parent != top for p in found.files)
    # A class name is shown in menus and stored as metadata: written out where a folder
    # name holds control characters or bytes that are not UTF-8 (limits.names).
    class_names = [visible(name)[:MAX_CLASS_NAME] for name in folders] if labelled else []
    if codec is None:
        height, width, channels = shape or DEFAULT_IMAGE
        codec = ImageCodec(height, width, channels, 256, class_names)
    images, labels = [], []
    for path in found.files:
        notes: list[str] = []
        try:
            images.append(read_image(path, codec.height, codec.width, codec.channels, notes))
        except MediaError as err:
            found.skipped.append((str(path), str(err)))
            continue
        found.notes += [(str(path), note) for note in notes]      # 16-bit scaled to 8
        if labelled:
            labels.append(visible(path.relative_to(top).parts[0])[:MAX_CLASS_NAME])
    if len(images) < 2:
        raise DataFolderError(f"{root}: fewer than 2 usable images ({found.skipped_text()})")
    names = codec.class_names
    use_labels = labelled and set(labels) <= set(names)
    data = ImageData(codec.encode(np.stack(images)).astype(np.uint8),
                     np.array([names.index(x) for x in labels]) if use_labels else None)
    heldout = max(1, int(len(data) * HELDOUT_SHARE))
    train, held = data.split(heldout, seed=0)
    summary = found.summary(root, len(images), f"{len(train)} train / {len(held)} held out")
    summary["classes"] = names if use_labels else []
    summary["converted"] = (f"{codec.height} x {codec.width} "
                            f"{'colour (RGB)' if codec.channels == 3 else 'grey'}, "
                            f"{codec.levels} levels: each image scaled so its shorter side "
                            "fits, centre-cropped, transparency onto white")
    return PreparedData(codec, train, held, held, "held-out images", summary)


def prepare_audio(root: Path, codec: MuLawCodec | None, window: int) -> PreparedData:
    found = scan(root, AUDIO_SUFFIXES)
    codec = codec or MuLawCodec(8000, 256)
    train_parts, held_parts, seconds = [], [], 0.0
    for path in found.files:
        try:
            samples = read_audio(path, codec.sample_rate)
        except MediaError as err:
            found.skipped.append((str(path), str(err)))
            continue
        seconds += len(samples) / codec.sample_rate
        a, b = _split_sequence(codec.encode(samples))
        train_parts.append(a)
        held_parts.append(b)
    if not train_parts:
        raise DataFolderError(f"{root}: no usable audio files ({found.skipped_text()})")
    train, held = np.concatenate(train_parts), np.concatenate(held_parts)
    if len(train) < window + 1 or len(held) < 2:
        raise DataFolderError(f"{root}: only {seconds:.1f} s of audio; need at least "
                              f"{(window + 1) / codec.sample_rate / (1 - HELDOUT_SHARE):.1f} s")
    summary = found.summary(root, len(train_parts),
                            f"{seconds:.1f} s; last 10% of each file held out")
    return PreparedData(codec, SequenceData(train, window),
                        SequenceData(held, min(window, len(held) - 1)), None,
                        "held-out audio (last 10% of each file)", summary)


def prepare_text(root: Path, codec: CharCodec | None, window: int,
                 unknown: str = "extend") -> PreparedData:
    """Text files -> characters. Characters outside a given codec's vocabulary extend it
    (unknown="extend": fine-tuning), are refused with a count of each ("refuse": scoring)
    or are left out ("skip": scoring the rest)."""
    found = scan(root, TEXT_SUFFIXES)
    texts = []
    for path in found.files:
        try:
            text, note = read_text(path)
        except MediaError as err:
            found.skipped.append((str(path), str(err)))
            continue
        except OSError as err:
            found.skipped.append((str(path), f"unreadable ({err.strerror})"))
            continue
        texts.append(text)
        if note:
            found.notes.append((str(path), note))
    if not texts:
        raise DataFolderError(f"{root}: no usable text files ({found.skipped_text()})")
    joined = "\n".join(texts)
    added: list[str] = []
    skipped = 0
    if codec is None:
        codec = CharCodec.from_text(joined)
    elif not codec.unknown and (outside := codec.unknown_chars(joined)):
        if unknown == "refuse":
            counts = Counter(ch for ch in joined if ch in outside)
            listed = ", ".join(f"{ch!r} x{n:,}" for ch, n in counts.most_common(8))
            more = f" and {len(counts) - 8} more" if len(counts) > 8 else ""
            raise DataFolderError(f"{root}: {len(counts)} character(s) the model has no "
                                  f"token for: {listed}{more}; add --skip-unknown to score "
                                  "the rest")
        if unknown == "skip":
            kept = "".join(ch for ch in joined if ch not in outside)
            skipped = len(joined) - len(kept)
            joined = kept
        else:
            # Rule: characters a fine-tuned model has never seen extend its vocabulary; the
            # net gets new embedding and output rows for them (see jobs.extend_vocabulary).
            added = sorted(outside)
            codec = CharCodec(codec.vocab + "".join(added))
    train, held = _split_sequence(codec.encode(joined))
    if len(train) < window + 1 or len(held) < 2:
        raise DataFolderError(f"{root}: only {len(joined):,} characters; need at least "
                              f"{int((window + 1) / (1 - HELDOUT_SHARE)):,}")
    summary = found.summary(root, len(texts), f"{len(joined):,} characters; last 10% held out")
    if added:
        summary["added_characters"] = "".join(added)
    if skipped:
        summary["skipped_characters"] = skipped
    return PreparedData(codec, SequenceData(train, window),
                        SequenceData(held, min(window, len(held) - 1)), None,
                        "held-out text (last 10%)", summary)


def _defaults(training) -> TrainSettings:
    return TrainSettings(steps=500, batch_size=training.batch_size, lr=training.lr, warmup=50,
                         eval_every=100, label_dropout=training.label_dropout)


DEFAULT_SETTINGS = {kind: _defaults(spec.training) for kind, spec in KINDS.items()}

# How a data path becomes training data, by what the model reads; a window is the length of
# one training item (audio samples, characters).
TEXT_WINDOW = 256
_PREPARE = {
    "image": lambda root, codec, context, unknown, image: prepare_images(root, codec, image),
    "audio": lambda root, codec, context, unknown, image: prepare_audio(root, codec,
                                                                        window=4000),
    "text": lambda root, codec, context, unknown, image: prepare_text(
        root, codec, window=min(TEXT_WINDOW, context or TEXT_WINDOW), unknown=unknown),
}


def prepare_folder(kind: str, root: Path, size: str = "small", codec=None,
                   context: int | None = None, unknown: str = "extend",
                   image: tuple[int, int, int] | None = None):
    """(PreparedData, fresh config, default TrainSettings) for a kind and a data path.

    context: the longest sequence the model reads (a Transformer's), so no window exceeds
    it; unknown: what text characters outside `codec` do (prepare_text); image: (height,
    width, channels) a fresh image model draws (its own codec's when fine-tuning)."""
    spec = kind_spec(kind)
    root = Path(root).expanduser()
    if image is not None:
        _check_image_choice(spec, codec, image)
    if codec is not None:
        _check_codec_fits(kind, size, codec)
    elif image is not None:     # fresh: the folder's subfolders will give the classes
        _check_codec_fits(kind, size, ImageCodec(*image, 256, []))
    data = _PREPARE[spec.modality](root, codec, context, unknown, image)
    data.final = data.final or data.heldout
    return data, fresh_config(kind, size, data.codec), DEFAULT_SETTINGS[kind]


def _check_image_choice(spec, codec, image: tuple[int, int, int]) -> None:
    """An image format asked for: only image kinds take one, and a model being fine-tuned
    keeps its own."""
    if spec.modality != "image":
        raise DataFolderError(f"{spec.article} reads {spec.modality}, not images: an image "
                              "size or colour does not apply")
    if (problem := image_shape_problem(image[0], image[1])) is not None:
        raise DataFolderError(problem)
    if codec is not None and (codec.height, codec.width, codec.channels) != tuple(image):
        raise DataFolderError(
            f"the model draws {codec.height} x {codec.width} "
            f"{'colour' if codec.channels == 3 else 'grey'} images; fine-tuning keeps that "
            "(leave out the image size and colour)")


def _check_codec_fits(kind: str, size: str, codec) -> None:
    """Refuse a model's codec that no architecture of its kind takes before any file is read
    (a Subscale Pixel Network cuts images into S x S slices, so both sides must divide by S);
    the kind's own fresh-architecture function is what knows."""
    try:
        fresh_config(kind, size, codec)
    except ConfigError as err:
        raise DataFolderError(str(err)) from None
