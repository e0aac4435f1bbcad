"""Every bound on what chainrule accepts, in one place, each with why it has that value.

A number from a file or a flag is checked against these before any work starts: finite,
whole where it counts something, and in range, or refused with one line. The values are
far above anything a model of this kind or a user's run needs, and low enough that the
work or memory they allow stays within a laptop.
"""
from __future__ import annotations

import math

# ----- what a checkpoint may describe -----
MAX_IMAGE_SIDE = 4096          # 4096 x 4096 pixels: 16 M sub-pixels per channel, far above
                               # what an autoregressive image model is sampled at on a CPU
MAX_LEVELS = 65536             # values per sub-pixel / audio sample (16-bit)
MIN_SAMPLE_RATE = 1000         # below this no sound an ear hears survives
MAX_SAMPLE_RATE = 384_000      # the highest rate audio hardware records at
MAX_CLASSES = 100_000          # class names in a codec (ImageNet has 21,841)
MAX_CLASS_NAME = 255           # characters in one class name (a folder name's limit)
MAX_VOCAB = 1_000_000          # characters in a text model's vocabulary
MAX_CONFIG_INT = 1 << 31       # any integer in a config (sizes are also bounded by the
                               # weights the file holds: checkpoint.check_fits)
MAX_DEPTH = 4096               # layers, blocks or dilations a config may stack
MAX_RECEPTIVE_FIELD = 1 << 20  # a WaveNet's dilations added up: 2 minutes at 8 kHz (the
                               # bundled one's is 2,047); its sampling queues hold that much
# ----- what a user may ask for -----
MAX_PNG_SIDE = 8192            # a saved grid, scaled: 8192^2 RGB is 200 MB, held twice
MAX_THREADS = 1024             # torch threads (--threads); more than any machine's cores


class LimitError(ValueError):
    """A value outside its documented range; str() is one line."""


def whole(name: str, value, low: int, high: int) -> int:
    """`value` as an int if it is a whole number (not a bool, not 6.9) in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LimitError(f"'{name}' must be a whole number, got {shown(value)}")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise LimitError(f"'{name}' must be a whole number, got {shown(value)}")
    if not low <= value <= high:
        raise LimitError(f"'{name}' must be from {low:,} to {high:,}, got {shown(value)}")
    return int(value)


def names(name: str, value, most: int, longest: int) -> list[str]:
    """A list of at most `most` distinct, non-empty strings of at most `longest` printable
    characters (a class name is shown in menus and file names)."""
    if not isinstance(value, list):
        raise LimitError(f"'{name}' must be a list of strings, got {type(value).__name__}")
    if len(value) > most:
        raise LimitError(f"'{name}' has {len(value):,} entries, at most {most:,}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise LimitError(f"'{name}' entry {i} must be a string, got {shown(item)}")
        if not item or len(item) > longest or not item.isprintable():
            raise LimitError(f"'{name}' entry {i} must be 1 to {longest} printable characters, "
                             f"got {shown(item)}")
    if len(set(value)) != len(value):
        raise LimitError(f"'{name}' lists a name twice")
    return list(value)


def shown(value) -> str:
    """A value as a one-line message quotes it: repr, cut at 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
