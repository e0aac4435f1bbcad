"""Image results as files: pictures to PNG bytes for the inpaint session, and a saved grid
read back as its images, so one of them can be picked."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice

from ...core.outputs import read_png_params

SAVE_SCALE = 4      # saved PNGs are upscaled (nearest-neighbour) so they are easy to view
GRID_PAD = 1        # pixels between the images of a saved grid (dark, like the canvas)


def png_bytes_of_qimage(image) -> bytes:
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data())


def png_bytes_of_pixels(pixels: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(out, "PNG")
    return out.getvalue()


def read_params(path) -> dict:
    """A saved result's parameters, or {} for any other picture (or an unreadable one: the
    loader that follows says why, readably)."""
    if Path(path).suffix.lower() != ".png":
        return {}
    try:
        params = read_png_params(path)
    except Exception:       # noqa: BLE001 - any damage means "no parameters", said later
        return {}
    return params if isinstance(params, dict) else {}


def read_grid(path, params: dict) -> np.ndarray:
    """The images of a saved Generate result, (n, h, w, 3); one image if it is no grid."""
    from PIL import Image

    from ...core.sampling.image import grid_cells

    with Image.open(path) as im:
        pixels = np.asarray(im.convert("RGB"))
    scale = params.get("scale", 1)
    scale = scale if isinstance(scale, int) and 1 <= scale <= 64 else 1
    pixels = pixels[::scale, ::scale]
    n = params.get("n", 1)
    pad = params.get("grid_pad")
    cells = grid_cells(pixels, n, pad if isinstance(pad, int) else None) \
        if isinstance(n, int) and 1 < n <= 1024 else None
    return cells if cells is not None else pixels[None]
