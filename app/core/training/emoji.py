"""Colour emoji as 32 x 32 RGB images, labelled by their Unicode group (see shared DATA.md).

Debian's Noto Color Emoji font holds bitmaps drawn at one size (Pillow renders it only at
109 px); each fully-qualified emoji of emoji-test.txt is drawn once at that size, centred on
a white square and shrunk to 32 x 32. Rendering all of them takes a few seconds, so nothing
is cached on disk.

What is left out, and why:
- skin-tone variants (U+1F3FB..U+1F3FF in the sequence): the same drawing five more times
  in other colours, which would make the People group 6x larger than any other and put
  near-copies on both sides of the held-out split;
- the Component group (bare skin tones and hair styles: not emoji on their own);
- sequences the font draws as more than one glyph side by side (its version predates them).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
EMOJI_TEST = Path("/usr/share/unicode/emoji/emoji-test.txt")
FONT_SIZE = 109             # the one size the font's bitmaps come in
GLYPH_WIDTH = 136           # one emoji's advance at that size; wider = several glyphs
SIZE = 32

# The Unicode groups, in the file's order, under the names a menu shows.
GROUPS = {
    "Smileys & Emotion": "smileys & emotion",
    "People & Body": "people & body",
    "Animals & Nature": "animals & nature",
    "Food & Drink": "food & drink",
    "Travel & Places": "travel & places",
    "Activities": "activities",
    "Objects": "objects",
    "Symbols": "symbols",
    "Flags": "flags",
}
GROUP_NAMES = list(GROUPS.values())
SKIN_TONES = range(0x1F3FB, 0x1F400)
HELDOUT_EVERY = 10          # every 10th emoji of each group is held out


def read_emoji_list(path: Path = EMOJI_TEST) -> list[tuple[str, int, str]]:
    """(emoji, group index, name) for every fully-qualified emoji kept (see the docstring)."""
    rows: list[tuple[str, int, str]] = []
    group = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# group:"):
            group = GROUPS.get(line.split(":", 1)[1].strip())
            continue
        if group is None or not line or line.startswith("#"):
            continue
        codes, _, rest = line.partition(";")
        if not rest.strip().startswith("fully-qualified"):
            continue
        points = [int(c, 16) for c in codes.split()]
        if any(p in SKIN_TONES for p in points):
            continue
        name = rest.split("#", 1)[1].strip().split(" ", 2)[-1] if "#" in rest else ""
        rows.append(("".join(map(chr, points)), GROUP_NAMES.index(group), name))
    return rows


def render_emoji(font, emoji: str, size: int = SIZE) -> np.ndarray | None:
    """One emoji as uint8 (size, size, 3) on white, or None when the font draws it as more
    than one glyph or not at all."""
    from PIL import Image, ImageDraw

    if font.getlength(emoji) > GLYPH_WIDTH:
        return None
    canvas = Image.new("RGBA", (GLYPH_WIDTH, GLYPH_WIDTH), (255, 255, 255, 0))
    # Colour glyphs bring their own colours; black is for a font without them.
    ImageDraw.Draw(canvas).text((0, (GLYPH_WIDTH - 128) // 2), emoji, font=font,
                                fill=(0, 0, 0, 255), embedded_color=True)
    if canvas.getbbox() is None:
        return None
    white = Image.new("RGBA", canvas.size, (255, 255, 255, 255))
    picture = Image.alpha_composite(white, canvas).convert("RGB")
    # Box filtering averages every source pixel into the small image: edges stay smooth.
    return np.asarray(picture.resize((size, size), Image.Resampling.BOX), dtype=np.uint8)


def load_emoji():
    """All kept emoji: uint8 images (N, 32, 32, 3), group labels (N,), names, held-out
    mask (N,) and the provenance record."""
    from PIL import ImageFont

    from .sources import _need_file

    font_path = _need_file(EMOJI_FONT, "apt-get install fonts-noto-color-emoji")
    test_path = _need_file(EMOJI_TEST, "apt-get install unicode-data")
    font = ImageFont.truetype(str(font_path), FONT_SIZE)
    images, labels, names = [], [], []
    for emoji, group, name in read_emoji_list(test_path):
        picture = render_emoji(font, emoji)
        if picture is not None:
            images.append(picture)
            labels.append(group)
            names.append(name)
    labels_arr = np.array(labels, dtype=np.int64)
    heldout = np.zeros(len(labels), dtype=bool)
    for group in range(len(GROUP_NAMES)):
        where = np.flatnonzero(labels_arr == group)
        heldout[where[::HELDOUT_EVERY]] = True
    provenance = {"source": "Noto Color Emoji, drawn at 109 px and shrunk to 32 x 32 on white; "
                            "groups from Unicode emoji-test.txt (skin-tone variants and "
                            "components left out)",
                  "package": "fonts-noto-color-emoji, unicode-data (Debian)",
                  "file": f"{font_path}; {test_path}",
                  "license": "OFL-1.1 / Apache-2.0 (font); Unicode licence (groups)"}
    return np.stack(images), labels_arr, names, heldout, provenance
