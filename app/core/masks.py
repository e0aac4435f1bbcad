"""Inpainting masks: which pixels of an image are hidden (to be filled) and which are known.

A mask is a boolean array (H, W), True where the pixel is hidden. As a file it is a
greyscale PNG, white where hidden, so any paint program can make one.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import UserError


class MaskError(UserError, ValueError):
    """A mask that cannot be used: unreadable, or hiding nothing."""


def centre_square(height: int, width: int, size: int = 14) -> np.ndarray:
    mask = np.zeros((height, width), bool)
    top, left = (height - size) // 2, (width - size) // 2
    mask[max(top, 0):top + size, max(left, 0):left + size] = True
    return mask


def bottom_half(height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), bool)
    mask[height // 2:] = True
    return mask


def right_half(height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), bool)
    mask[:, width // 2:] = True
    return mask


def brush_strokes(height: int, width: int, coverage: float = 0.25,
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """Random thick strokes (random walks of a round brush) until `coverage` is hidden."""
    rng = rng or np.random.default_rng()
    mask = np.zeros((height, width), bool)
    rows, cols = np.mgrid[:height, :width]
    scale = min(height, width) / 28.0
    while mask.mean() < coverage:
        y, x = rng.uniform(0, height), rng.uniform(0, width)
        radius = rng.uniform(1.0, 2.5) * scale
        angle = rng.uniform(0, 2 * np.pi)
        for _ in range(int(rng.integers(4, 12))):
            mask |= (rows - y) ** 2 + (cols - x) ** 2 <= radius ** 2
            if mask.mean() >= coverage:
                break
            angle += rng.normal(0, 0.6)
            y = float(np.clip(y + np.sin(angle) * radius, 0, height - 1))
            x = float(np.clip(x + np.cos(angle) * radius, 0, width - 1))
    return mask


MASK_FAMILIES = {
    "centre": lambda h, w, rng: centre_square(h, w, size=h // 2),
    "bottom": lambda h, w, rng: bottom_half(h, w),
    "right": lambda h, w, rng: right_half(h, w),
    "strokes": lambda h, w, rng: brush_strokes(h, w, 0.25, rng),
}


def save_mask_png(path, mask: np.ndarray) -> Path:
    from PIL import Image

    path = Path(path)
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(path)
    return path


def read_mask_png(path, height: int, width: int) -> np.ndarray:
    """A mask image of any size and mode -> (height, width) bool, light = hidden.

    A mask of another size is scaled to the model's with nearest-neighbour, so a mask painted
    over a large picture still lines up with the picture once that is scaled down too. It is
    scaled before its colours are read, so a large mask is never copied whole into RGBA
    (nearest-neighbour only picks pixels: the order changes none). A mask too large to decode
    safely is refused from its header, as media.read_image refuses a picture.
    """
    from .media import MediaError, image_errors, open_image, to_8bit

    try:
        with image_errors(), open_image(path) as im:
            im.load()
            picture = to_8bit(im)
            if picture.mode in ("P", "PA"):     # a palette's transparency: read it whole
                picture = picture.convert("RGBA")
            if picture.size != (width, height):
                picture = _fit(picture, height, width)
            picture = picture.convert("RGBA")
            # Transparent pixels count as "not painted", whatever their colour.
            alpha = np.asarray(picture.getchannel("A"), np.uint8)
            luma = np.asarray(picture.convert("L"), np.uint8)
    except MediaError as err:
        raise MaskError(f"{path}: {err}") from None
    mask = (luma > 127) & (alpha > 127)
    if not mask.any():
        raise MaskError(f"{path}: the mask hides no pixel (paint the region to fill in white)")
    return mask


def _fit(image, height: int, width: int):
    """Scale so the shorter side fits and centre-crop: the same framing as media.read_image."""
    from PIL import Image

    from .media import fit_image

    return fit_image(image, height, width, Image.Resampling.NEAREST)
