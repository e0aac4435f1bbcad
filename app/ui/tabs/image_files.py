"""Image results as PNG bytes for the inpaint session (saved grids are read back by
app/core/saved_images.py)."""
from __future__ import annotations

import io

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice

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
