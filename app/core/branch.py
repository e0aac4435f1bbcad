"""Branch a drawn image: keep every sub-pixel drawn before a chosen one exactly, change that
one (or draw it again) and draw everything after it again, in the order the image was drawn.

The model's own conditionals make this exact for the kinds that can fill a hole in their
drawing order: a raster model fills the rest of the raster (it never saw those pixels when
it drew the prefix), an any-order model fills the rest of its sequence. A Subscale Pixel
Network cannot fill a hole, so it cannot branch; nor can a model that draws in stages (depth
upscaling), whose order visits every pixel once per stage.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .errors import UserError
from .registry import INPAINT_METHODS, kind_spec, load_function


class BranchError(UserError, ValueError):
    """A branch this model or this pixel cannot take."""


def branch_method(kind: str) -> str | None:
    """The inpainting method that continues this kind's own drawing order, or None."""
    spec = kind_spec(kind)
    if spec.stages > 1:
        # Its drawing order visits every pixel once per stage: a raster fill of the pixels
        # after one step is not that order (its inpainting redraws both stages).
        return None
    if spec.fixed_order is None and "any-order" in spec.inpaint_methods:
        return "any-order"
    if spec.fixed_order == "raster" and "raster" in spec.inpaint_methods:
        return "raster"
    return None


def branch_mask(steps, at: int, height: int, width: int, keep_chosen: bool) -> np.ndarray:
    """(H, W) bool: the pixels drawn again. `steps` (D, 3) is the drawing order of (row,
    col, channel); every pixel whose first sub-pixel comes after step `at` is drawn again,
    and the chosen pixel itself unless `keep_chosen` (its new value is given)."""
    steps = np.asarray(steps, np.int64).reshape(-1, 3)
    mask = np.zeros((height, width), bool)
    later = steps[at + 1:]
    mask[later[:, 0], later[:, 1]] = True
    row, col = int(steps[at, 0]), int(steps[at, 1])
    mask[row, col] = not keep_chosen
    return mask


def branch_events(bundle, levels: np.ndarray, steps, at: int, value: int | None, label,
                  temperature: float, seed: int | None, device=None, guidance: float = 1.0
                  ) -> Iterator:
    """Events of drawing image `levels` (C, H, W) again from step `at` of `steps`: value
    None draws that sub-pixel again too; otherwise it becomes `value` and what follows is
    drawn anew, with the `guidance` the image was drawn with. Yields reporting PixelSteps,
    then the InpaintResult (one image)."""
    kind, codec = bundle.kind, bundle.codec
    method = branch_method(kind)
    if method is None:
        raise BranchError(f"{kind_spec(kind).article} cannot draw part of an image again, "
                          "so it cannot branch")
    steps = np.asarray(steps, np.int64).reshape(-1, 3)
    if not 0 <= at < len(steps):
        raise BranchError(f"step {at} is outside the {len(steps)} drawn")
    row, col, channel = (int(v) for v in steps[at])
    image = np.array(levels, np.int64, copy=True)
    if value is not None:
        if codec.channels > 1:
            raise BranchError("a value can be chosen for one-channel images only; "
                              "use 'Draw again from here' on a colour image")
        if not 0 <= value < codec.levels:
            raise BranchError(f"value {value} is outside the model's {codec.levels} levels")
        image[channel, row, col] = value
    mask = branch_mask(steps, at, codec.height, codec.width, keep_chosen=value is not None)
    if not mask.any():
        return iter(())                   # the last pixel, chosen: nothing follows it
    fill = load_function(INPAINT_METHODS[method].sampler)
    pixels = _pixel_order(steps)
    return fill(bundle.net, codec, image, mask, 1, label, temperature, seed,
                order="raster" if method == "raster" else pixels, device=device, report=True,
                guidance=guidance)


def _pixel_order(steps: np.ndarray) -> np.ndarray:
    """(row, col) of each pixel in the order its first sub-pixel was drawn."""
    first = steps[steps[:, 2] == 0] if (steps[:, 2] == 0).any() else steps
    return first[:, :2]
