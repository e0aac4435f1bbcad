"""A grid of images drawn crisply (nearest-neighbour, integer device-pixel scale)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import QMenu, QSizePolicy, QWidget

GAP = 1           # image pixels between tiles
FILL_AT_LEAST = 0.75    # of the canvas, before whole-pixel scaling gives way (see _layout)
UNDRAWN = np.array([34, 44, 68], np.uint8)   # pixels the model has not reached yet


class ImageCanvasWidget(QWidget):
    """Shows (B, H, W, C) uint8 images as a grid; marks the pixel being drawn in each.

    A click selects a sample (for 'Use this sample'); the context menu offers it directly.
    """

    use_requested = Signal(int)      # the index of a sample to inpaint
    save_requested = Signal(int)     # the index of a sample to save on its own
    pixel_hovered = Signal(int, int, int)    # tile, row, col under the mouse
    selection_changed = Signal(int)
    hover_left = Signal()

    def __init__(self, parent=None, selectable: bool = True):
        super().__init__(parent)
        # Previews (the Train tab's) show samples only: no selection frame, no menu.
        self.selectable = selectable
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 240)
        self._images: np.ndarray | None = None
        self._columns = 1
        self._cursor: tuple[int, int] | None = None
        self._qimage: QImage | None = None
        self._grid: np.ndarray | None = None          # the grid behind _qimage, RGB
        self._drawn: np.ndarray | None = None         # which pixels _grid already shows
        self._highlight = QColor("#ffb020")
        self._placeholder = "Press Generate to draw"
        self.selected = 0
        self.marked: tuple[int, int, int] | None = None     # (tile, row, col) to outline
        # Called as extend_menu(menu, tile, row, col) before the context menu shows.
        self.extend_menu = None
        self.setMouseTracking(True)

    # --- content ------------------------------------------------------------------------
    def set_images(self, images: np.ndarray, cursor: tuple[int, int] | None = None,
                   drawn: np.ndarray | None = None, changed: np.ndarray | None = None
                   ) -> None:
        """images (B, H, W, C) uint8; cursor = (row, col) being drawn, or None;
        drawn = (H, W) bool of pixels already drawn (the others show as 'not yet');
        changed = (H, W) bool of drawn pixels whose colour changed since the last call (a
        model drawing in stages redraws them), or None when drawn pixels never change."""
        previous, self._images = self._images, images
        self._columns = int(np.ceil(np.sqrt(len(images))))
        self._cursor = cursor
        self.selected = min(self.selected, len(images) - 1)
        same_shape = previous is not None and previous.shape == images.shape
        if not (same_shape and self._patch_grid(images, drawn, changed)):
            self._grid = self._grid_image(images, drawn)
        self._drawn = None if drawn is None else drawn.copy()
        g = self._grid
        self._qimage = QImage(g.data, g.shape[1], g.shape[0], g.strides[0],
                              QImage.Format.Format_RGB888).copy()   # owns its pixels
        self.update()

    def _patch_grid(self, images: np.ndarray, drawn: np.ndarray | None,
                    changed: np.ndarray | None = None) -> bool:
        """While pixels are being drawn, copy only the newly drawn (and the `changed`) ones
        into the grid.

        Other drawn pixels do not change during a run, so this is exact; anything else (a
        new grid size, a pixel un-drawn, a finished image) rebuilds the whole grid.
        """
        old = self._drawn
        if (drawn is None or old is None or self._grid is None or old.shape != drawn.shape
                or (old & ~drawn).any()):
            return False
        fresh = drawn & ~old
        rows, cols = np.nonzero(fresh if changed is None else fresh | (changed & drawn))
        if len(rows):
            b, h, w, c = images.shape
            top = (np.arange(b) // self._columns) * (h + GAP)
            left = (np.arange(b) % self._columns) * (w + GAP)
            self._grid[top[:, None] + rows, left[:, None] + cols] = \
                np.broadcast_to(images[:, rows, cols], (b, len(rows), 3))
        return True

    def redraw_all(self) -> None:
        """The next set_images rebuilds the whole grid (drawn pixels changed colour)."""
        self._drawn = None

    def clear(self, message: str = "Press Generate to draw") -> None:
        self._images, self._qimage, self._cursor = None, None, None
        self._grid = self._drawn = None
        self._placeholder = message
        self.update()

    @property
    def images(self) -> np.ndarray | None:
        return self._images

    def _grid_image(self, images: np.ndarray, drawn: np.ndarray | None) -> np.ndarray:
        # A few whole-array operations rather than a loop over tiles: this runs up to 60
        # times a second for up to 64 images, beside a sampler thread.
        b, h, w, c = images.shape
        cols = self._columns
        rows = int(np.ceil(b / cols))
        tiles = np.broadcast_to(images, (b, h, w, 3))
        if drawn is not None:
            tiles = np.where(drawn[None, :, :, None], tiles, UNDRAWN)
        padded = np.full((rows * cols, h + GAP, w + GAP, 3), 40, np.uint8)
        padded[:b, :h, :w] = tiles
        grid = padded.reshape(rows, cols, h + GAP, w + GAP, 3).transpose(0, 2, 1, 3, 4)
        return np.ascontiguousarray(
            grid.reshape(rows * (h + GAP), cols * (w + GAP), 3)[:-GAP, :-GAP])

    # --- painting -----------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(480, 480)

    def _layout(self) -> tuple[float, QPointF]:
        """Scale (logical px per image px) and top-left. A whole number of device pixels per
        image pixel keeps every pixel the same size; but where that would leave more than a
        quarter of the canvas empty (a 64-image grid at 1x in a canvas that fits 1.8x) the
        grid fills the canvas instead, a few pixels one device pixel wider than others."""
        dpr = self.devicePixelRatioF()
        iw, ih = self._qimage.width(), self._qimage.height()
        fit = min(self.width() * dpr / iw, self.height() * dpr / ih)
        device_scale = max(1, int(fit))
        if device_scale < FILL_AT_LEAST * fit:
            device_scale = fit
        scale = device_scale / dpr
        return scale, QPointF((self.width() - iw * scale) / 2, (self.height() - ih * scale) / 2)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Base))
        if self._qimage is None:
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        scale, origin = self._layout()
        target = QRectF(origin.x(), origin.y(), self._qimage.width() * scale,
                        self._qimage.height() * scale)
        painter.drawImage(target, self._qimage)
        if self._cursor is not None:
            self._draw_cursor(painter, scale, origin)
        else:
            self._draw_selection(painter, scale, origin)
        if self.marked is not None:
            self._draw_mark(painter, scale, origin)

    def tile_at(self, pos: QPointF) -> int | None:
        """Index of the sample under a widget position, or None."""
        if self._qimage is None:
            return None
        _, h, w, _ = self._images.shape
        scale, origin = self._layout()
        k, c = divmod((pos.x() - origin.x()) / scale, w + GAP)
        r, y = divmod((pos.y() - origin.y()) / scale, h + GAP)
        index = int(r) * self._columns + int(k)
        if k < 0 or r < 0 or k >= self._columns or c >= w or y >= h or index >= len(self._images):
            return None
        return index

    def pixel_at(self, pos: QPointF) -> tuple[int, int, int] | None:
        """(tile, row, col) of the image pixel under a widget position, or None."""
        tile = self.tile_at(pos)
        if tile is None:
            return None
        _, h, w, _ = self._images.shape
        scale, origin = self._layout()
        r, k = divmod(tile, self._columns)
        col = int((pos.x() - origin.x()) / scale - k * (w + GAP))
        row = int((pos.y() - origin.y()) / scale - r * (h + GAP))
        return (tile, row, col) if 0 <= row < h and 0 <= col < w else None

    def mouseMoveEvent(self, event) -> None:
        hit = self.pixel_at(event.position())
        if hit is None:
            self.hover_left.emit()
        else:
            self.pixel_hovered.emit(*hit)

    def leaveEvent(self, event) -> None:
        self.hover_left.emit()

    def mousePressEvent(self, event) -> None:
        if not self.selectable:
            return
        index = self.tile_at(event.position())
        if index is not None and event.button() == Qt.MouseButton.LeftButton:
            self.selected = index
            self.selection_changed.emit(index)
            self.update()

    def contextMenuEvent(self, event) -> None:
        if not self.selectable:
            return
        index = self.tile_at(QPointF(event.pos()))
        if index is None:
            return
        self.selected = index
        self.update()
        menu = QMenu(self)
        hit = self.pixel_at(QPointF(event.pos()))
        if self.extend_menu is not None and hit is not None:
            self.extend_menu(menu, *hit)
        menu.addAction("Use this sample for inpainting", lambda: self.use_requested.emit(index))
        menu.addAction("Save this image\u2026", lambda: self.save_requested.emit(index))
        menu.addAction("Copy this image", lambda: self.copy_image(index))
        menu.exec(event.globalPos())

    def copy_image(self, index: int, scale: int = 4) -> None:
        """One sample to the clipboard, enlarged without blurring (pixels stay pixels)."""
        from PySide6.QtWidgets import QApplication

        if self._images is None or not 0 <= index < len(self._images):
            return
        pixels = np.ascontiguousarray(self._images[index][..., :3].repeat(scale, 0)
                                      .repeat(scale, 1))
        if pixels.shape[-1] == 1:
            pixels = np.ascontiguousarray(pixels.repeat(3, -1))
        h, w, _ = pixels.shape
        QApplication.clipboard().setImage(
            QImage(pixels.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy())

    def _draw_selection(self, painter: QPainter, scale: float, origin: QPointF) -> None:
        b, h, w, _ = self._images.shape
        if b < 2 or not self.selectable:
            return
        r, k = divmod(self.selected, self._columns)
        pen = QPen(self.palette().color(QPalette.ColorRole.Highlight))
        pen.setWidthF(2)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(origin.x() + k * (w + GAP) * scale - 2,
                                origin.y() + r * (h + GAP) * scale - 2,
                                w * scale + 4, h * scale + 4))

    def _draw_cursor(self, painter: QPainter, scale: float, origin: QPointF) -> None:
        b, h, w, _ = self._images.shape
        row, col = self._cursor
        pen = QPen(self._highlight)
        pen.setWidthF(max(1.5, scale / 5))
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for i in range(b):
            r, k = divmod(i, self._columns)
            x = origin.x() + (k * (w + GAP) + col) * scale
            y = origin.y() + (r * (h + GAP) + row) * scale
            painter.drawRect(QRectF(x, y, scale, scale))

    def _draw_mark(self, painter: QPainter, scale: float, origin: QPointF) -> None:
        """Outline one pixel of one tile (the one the readout describes)."""
        _, h, w, _ = self._images.shape
        tile, row, col = self.marked
        if tile >= len(self._images):
            return
        r, k = divmod(tile, self._columns)
        pen = QPen(self._highlight)
        pen.setWidthF(max(1.5, scale / 5))
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(origin.x() + (k * (w + GAP) + col) * scale,
                                origin.y() + (r * (h + GAP) + row) * scale, scale, scale))
