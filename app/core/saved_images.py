"""Pictures chainrule saved, read back exactly: the parameters in the PNG, and the grid
split into its images at the model's own resolution (the saved file is upscaled and padded
for viewing; scaling it back with a filter would invent pixel values no model drew)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .outputs import read_png_params


def saved_params(path) -> dict:
    """A saved result's parameters, or {} for any other picture (or an unreadable one: the
    loader that follows says why, readably)."""
    if Path(path).suffix.lower() != ".png":
        return {}
    try:
        params = read_png_params(path)
    except Exception:       # noqa: BLE001 - any damage means "no parameters", said later
        return {}
    return params if isinstance(params, dict) else {}


def saved_images(path, params: dict, size: tuple[int, int] | None = None) -> np.ndarray:
    """The images of a saved Generate result, (n, h, w, 3); one image if it is no grid
    (MediaError for a file that is no picture, or too large a one).

    Files without "grid_pad" (older ones, the command line's) could hold either padding
    chainrule writes: with the model's (h, w) as `size` the one giving that size is taken.
    """
    from .media import image_errors, open_image, to_8bit
    from .sampling.image import grid_cells

    # Any picture can claim to be a saved result: its size is checked before decoding, and
    # every failure is a MediaError (media.image_errors).
    with image_errors(), open_image(path) as im:
        pixels = np.asarray(to_8bit(im).convert("RGB"))
    scale = params.get("scale", 1)
    scale = scale if isinstance(scale, int) and 1 <= scale <= 64 else 1
    pixels = pixels[::scale, ::scale]
    n = params.get("n", 1)
    pad = params.get("grid_pad")
    if not (params and isinstance(n, int) and 1 <= n <= 1024):
        return pixels[None]
    for tried in ([pad] if isinstance(pad, int) else [None, 1, 2]):
        cells = grid_cells(pixels, n, tried)
        if cells is not None and (size is None or cells.shape[1:3] == size):
            return cells
    return pixels[None]
