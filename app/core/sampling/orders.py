"""Orders in which an any-order image model can draw the hidden pixels (no torch here).

- raster: row by row, as a PixelCNN would;
- random: a seeded random permutation;
- spiral: inwards from the hole's border, layer by layer (distance to the nearest known
  pixel, or to the image's edge when nothing is known), each layer clockwise;
- nearest: greedily the hidden pixel with the most known neighbours so far, so every pixel
  is drawn where the evidence around it is strongest;
- subscale: as a Subscale Pixel Network draws (Menick & Kalchbrenner 2018): the pixels are
  cut into S x S interleaved slices, pixel (r, c) in slice (r mod S, c mod S); slices go in
  raster order and each slice in raster order, so a coarse spread-out grid appears first
  and is filled in. Sides not divisible by S just give slices of unequal size.
"""
from __future__ import annotations

import numpy as np

from ..registry import KINDS, ORDERS

SUBSCALE = 4     # S of the subscale order: a 28 x 28 image is 16 slices of 7 x 7


def fixed_order(kind: str | None) -> str | None:
    """The one order a model of `kind` draws in; None for an any-order model (any order).

    No model, or one that draws no images, gets "raster", the default of every order menu
    (callers index ORDERS with the answer)."""
    spec = KINDS.get(kind or "")
    return spec.fixed_order if spec is not None and spec.orders else "raster"


def fill_order(mask: np.ndarray, order, rng: np.random.Generator) -> np.ndarray:
    """Hidden pixels of `mask` (H, W) in the order they are drawn: (N, 2) rows and columns.

    `order` is a name of ORDERS or an explicit (M, 2) sequence of pixels: its hidden ones
    are taken in that sequence (a branch goes on in the order its image was drawn in).
    """
    if not isinstance(order, str):
        cells = np.asarray(order, np.int64).reshape(-1, 2)
        return cells[mask[cells[:, 0], cells[:, 1]]]
    cells = np.argwhere(mask)
    if order == "raster":
        return cells
    if order == "random":
        return cells[rng.permutation(len(cells))]
    if order == "spiral":
        return _spiral(mask, cells)
    if order == "nearest":
        return _most_known_neighbours_first(mask)
    if order == "subscale":
        return subscale_order(cells)
    raise ValueError(f"unknown order '{order}' (known: {', '.join(ORDERS)})")


def subscale_order(cells: np.ndarray, scale: int = SUBSCALE) -> np.ndarray:
    """`cells` (N, 2) sorted by slice (r mod S, c mod S), then by row and column."""
    r, c = cells[:, 0], cells[:, 1]
    return cells[np.lexsort((c, r, c % scale, r % scale))]


def _spiral(mask: np.ndarray, cells: np.ndarray) -> np.ndarray:
    depth = _distance_to_known(mask)
    centre = cells.mean(axis=0)
    # Clockwise on screen (rows grow downwards), starting at the top.
    angle = np.arctan2(cells[:, 1] - centre[1], -(cells[:, 0] - centre[0])) % (2 * np.pi)
    return cells[np.lexsort((angle, depth[cells[:, 0], cells[:, 1]]))]


def _distance_to_known(mask: np.ndarray) -> np.ndarray:
    """Chessboard steps from each pixel to the nearest known one (outside counts as known
    when the whole image is hidden)."""
    h, w = mask.shape
    known = ~mask if not mask.all() else np.pad(np.zeros_like(mask), 1, constant_values=True)
    offset = 0 if not mask.all() else 1
    depth = np.full(known.shape, -1)
    depth[known] = 0
    frontier, level = known.copy(), 0
    while (depth < 0).any():
        level += 1
        # One step of growth into all 8 neighbours (chessboard distance).
        padded = np.pad(frontier, 1)
        rows, cols = frontier.shape
        grown = np.zeros_like(frontier)
        for dr in (0, 1, 2):
            for dc in (0, 1, 2):
                grown |= padded[dr:dr + rows, dc:dc + cols]
        depth[grown & (depth < 0)] = level
        frontier = grown
    return depth[offset:offset + h, offset:offset + w]


def _most_known_neighbours_first(mask: np.ndarray) -> np.ndarray:
    h, w = mask.shape
    known = np.pad(~mask, 1).astype(np.int32)
    count = np.zeros((h, w), np.int32)                        # known neighbours, (H, W)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr or dc:
                count += known[1 + dr:1 + dr + h, 1 + dc:1 + dc + w]
    hidden = mask.copy()
    order = []
    for _ in range(int(mask.sum())):
        # Most known neighbours; ties go to raster order (argmax takes the first).
        r, c = divmod(int(np.argmax(np.where(hidden, count, -1))), w)
        order.append((r, c))
        hidden[r, c] = False
        count[max(r - 1, 0):r + 2, max(c - 1, 0):c + 2] += 1
    return np.array(order).reshape(-1, 2)
