"""Editing an inpainting mask the way a paint program does: brush, eraser, rectangle,
invert, clear, with undo and redo. No Qt here: the canvas widget turns mouse events into
these calls, and tests drive them directly.

Every finished action (a whole brush stroke, not each mouse move) is one undo step. The
history keeps whole masks: at model resolution (28 x 28 bits) a snapshot costs less than a
description of the stroke would, and restoring one is exact by construction.

`picture` is whatever the owner keeps under the mask (the inpaint session keeps the image's
levels there): each history step holds it with the mask, so accepting a fill and painting
are undone in one history, in the order they happened.
"""
from __future__ import annotations

import numpy as np


class MaskEditor:
    def __init__(self, height: int, width: int, limit: int = 200):
        self.mask = np.zeros((height, width), bool)      # True = hidden, to be filled
        self.picture: object = None
        self._undo: list[tuple[np.ndarray, object]] = []
        self._redo: list[tuple[np.ndarray, object]] = []
        self._limit = limit
        self._stroke_start: np.ndarray | None = None
        self._last: tuple[float, float] | None = None

    # ----- strokes: begin, move..., end ---------------------------------------------------
    def begin_stroke(self, row: float, col: float, radius: float, erase: bool = False) -> None:
        self._stroke_start = self.mask.copy()
        self._last = (row, col)
        self._dab(row, col, radius, erase)

    def continue_stroke(self, row: float, col: float, radius: float,
                        erase: bool = False) -> None:
        if self._stroke_start is None or self._last is None:   # (both are set together)
            self.begin_stroke(row, col, radius, erase)
            return
        # Dabs along the segment, so a fast mouse still leaves a continuous line.
        r0, c0 = self._last
        steps = max(1, int(np.ceil(np.hypot(row - r0, col - c0) / max(radius * 0.5, 0.25))))
        for t in np.linspace(0, 1, steps + 1)[1:]:
            self._dab(r0 + (row - r0) * t, c0 + (col - c0) * t, radius, erase)
        self._last = (row, col)

    def end_stroke(self) -> None:
        if self._stroke_start is not None:
            self._commit(self._stroke_start)
        self._stroke_start = self._last = None

    # ----- one-shot actions ---------------------------------------------------------------
    def rectangle(self, row0: int, col0: int, row1: int, col1: int, erase: bool = False) -> None:
        """Fill (or erase) the rectangle between two corners, both included."""
        before = self.mask.copy()
        top, bottom = sorted((int(row0), int(row1)))
        left, right = sorted((int(col0), int(col1)))
        self.mask[max(top, 0):bottom + 1, max(left, 0):right + 1] = not erase
        self._commit(before)

    def invert(self) -> None:
        before = self.mask.copy()
        self.mask = ~self.mask
        self._commit(before)

    def clear(self) -> None:
        before = self.mask.copy()
        self.mask[:] = False
        self._commit(before)

    def replace(self, mask: np.ndarray) -> None:
        """Set the whole mask (a loaded mask file, a preset shape) as one undoable step."""
        if mask.shape != self.mask.shape:
            raise ValueError(f"mask of shape {mask.shape} for an image of {self.mask.shape}")
        before = self.mask.copy()
        self.mask = np.asarray(mask, bool).copy()
        self._commit(before)

    # ----- history ------------------------------------------------------------------------
    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append((self.mask, self.picture))
        self.mask, self.picture = self._undo.pop()
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append((self.mask, self.picture))
        self.mask, self.picture = self._redo.pop()
        return True

    def set_picture(self, picture: object) -> None:
        """Change the picture as one undoable step (the mask stays as it is)."""
        self._undo.append((self.mask.copy(), self.picture))
        del self._undo[:-self._limit]
        self._redo.clear()
        self.picture = picture

    def _commit(self, before: np.ndarray) -> None:
        if np.array_equal(before, self.mask):
            return                       # a click that changed nothing is no undo step
        self._undo.append((before, self.picture))
        del self._undo[:-self._limit]
        self._redo.clear()

    def _dab(self, row: float, col: float, radius: float, erase: bool) -> None:
        h, w = self.mask.shape
        rows, cols = np.ogrid[:h, :w]
        # Pixel centres within the radius; a radius under one pixel still marks the pixel hit.
        inside = (rows + 0.5 - row) ** 2 + (cols + 0.5 - col) ** 2 <= max(radius, 0.5) ** 2
        if 0 <= row < h and 0 <= col < w:
            inside[int(row), int(col)] = True
        self.mask[inside] = not erase
