"""One image with a paintable inpainting mask: brush, eraser, rectangle, zoom and pan.

The widget turns mouse events into MaskEditor calls (app/core/mask_editing.py) and draws
the image crisply (nearest-neighbour, whole device pixels per image pixel) with the mask as
a translucent overlay. It owns no history: one stroke or rectangle is one editor action,
announced by `mask_edited` once the mouse is released.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

TOOLS = ("brush", "eraser", "rectangle")
MAX_BRUSH = 64              # brush diameter in image pixels
MAX_DEVICE_SCALE = 64       # device pixels per image pixel at the closest zoom


def rgb_image(pixels: np.ndarray) -> QImage:
    """(H, W, C) uint8 with C = 1 or 3 -> an RGB QImage that owns its pixels."""
    rgb = np.ascontiguousarray(pixels if pixels.shape[2] == 3 else np.repeat(pixels, 3, 2))
    image = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0],
                   QImage.Format.Format_RGB888)
    return image.copy()


class MaskCanvasWidget(QWidget):
    mask_edited = Signal()               # a stroke, rectangle (any finished edit) changed it
    brush_size_changed = Signal(int)     # the wheel changed the brush diameter
    zoom_changed = Signal(float)         # device pixels per image pixel

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 240)
        self.setMouseTracking(True)                 # the brush outline follows the mouse
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.editor = None                          # MaskEditor, set with set_editor
        self.tool = "brush"
        self.brush_size = 4                         # diameter, image pixels
        self.painting_enabled = True
        self.mask_colour = QColor(255, 64, 96)
        self._qimage: QImage | None = None
        self._overlay: np.ndarray | None = None     # None: the editor's mask
        self._mask_visible = True
        self._device_scale: int | None = None       # None: fit the widget
        self._pan = QPointF(0, 0)
        self._mouse: QPointF | None = None
        self._stroke_erase: bool | None = None      # set while a stroke is under way
        self._rect_start: tuple[float, float] | None = None
        self._rect_erase = False
        self._pan_from: QPointF | None = None
        self._space = False
        self.placeholder = "Open, drop or paste (Ctrl+V) an image to inpaint"

    # --- content ------------------------------------------------------------------------
    def set_editor(self, editor) -> None:
        self.editor = editor
        self.update()

    def set_pixels(self, pixels: np.ndarray | None) -> None:
        """The pixels shown under the mask: (H, W, C) uint8, or None for the placeholder."""
        self._qimage = None if pixels is None else rgb_image(pixels)
        self.update()

    def set_overlay(self, overlay: np.ndarray | None) -> None:
        """Tint these pixels instead of the mask (pixels a fill has not reached yet)."""
        self._overlay = overlay
        self.update()

    def set_mask_visible(self, visible: bool) -> None:
        """Hidden: the mask shows only as an outline, so a fill can be seen clean."""
        self._mask_visible = visible
        self.update()

    @property
    def mask_visible(self) -> bool:
        return self._mask_visible

    def set_mask_colour(self, colour: QColor) -> None:
        self.mask_colour = QColor(colour)
        self.update()

    def set_brush_size(self, size: int) -> None:
        self.brush_size = int(max(1, min(MAX_BRUSH, size)))
        self.update()

    # --- geometry -----------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(520, 520)

    def fit_device_scale(self) -> int:
        dpr = self.devicePixelRatioF()
        iw, ih = self._qimage.width(), self._qimage.height()
        return max(1, int(min(self.width() * dpr / iw, self.height() * dpr / ih)))

    def device_scale(self) -> int:
        if self._qimage is None:
            return 1
        return self._device_scale or self.fit_device_scale()

    def _layout(self) -> tuple[float, QPointF]:
        """Logical px per image px, and the image's top-left corner in the widget."""
        scale = self.device_scale() / self.devicePixelRatioF()
        iw, ih = self._qimage.width() * scale, self._qimage.height() * scale
        return scale, QPointF((self.width() - iw) / 2 + self._pan.x(),
                              (self.height() - ih) / 2 + self._pan.y())

    def to_image(self, pos: QPointF) -> tuple[float, float]:
        """Widget position -> (row, col) in image pixels, as floats."""
        scale, origin = self._layout()
        return (pos.y() - origin.y()) / scale, (pos.x() - origin.x()) / scale

    def zoom(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom by about `factor`, keeping the image point under `anchor` in place."""
        if self._qimage is None:
            return
        old = self.device_scale()
        new = round(old * factor)
        new = old + (1 if factor > 1 else -1) if new == old else new
        new = max(1, min(MAX_DEVICE_SCALE, new))
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        row, col = self.to_image(anchor)
        self._device_scale = new
        scale, origin = self._layout()
        # Move the pan so (row, col) lands back under the anchor.
        self._pan += anchor - QPointF(origin.x() + col * scale, origin.y() + row * scale)
        self.update()
        self.zoom_changed.emit(float(new))

    def zoom_to_fit(self) -> None:
        self._device_scale, self._pan = None, QPointF(0, 0)
        self.update()
        self.zoom_changed.emit(float(self.device_scale()))

    # --- mouse and keys -----------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        pos = event.position()
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
                button == Qt.MouseButton.LeftButton and self._space):
            self._pan_from = pos
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if not self._can_paint() or button not in (Qt.MouseButton.LeftButton,
                                                   Qt.MouseButton.RightButton):
            return
        # The right button, or Shift, paints with the opposite tool: a quick eraser.
        opposite = (button == Qt.MouseButton.RightButton
                    or bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
        row, col = self.to_image(pos)
        if self.tool == "rectangle":
            self._rect_start, self._rect_erase = (row, col), opposite
        else:
            self._stroke_erase = (self.tool == "eraser") != opposite
            self.editor.begin_stroke(row, col, self.brush_size / 2, self._stroke_erase)
        self._mouse = pos
        self.update()

    def mouseMoveEvent(self, event) -> None:
        pos = event.position()
        if self._pan_from is not None:
            self._pan += pos - self._pan_from
            self._pan_from = pos
        elif self._stroke_erase is not None:
            row, col = self.to_image(pos)
            self.editor.continue_stroke(row, col, self.brush_size / 2, self._stroke_erase)
        self._mouse = pos
        self.update()

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self._update_cursor()
            return
        if self._stroke_erase is not None:
            self.editor.end_stroke()
            self._stroke_erase = None
            self.mask_edited.emit()
        elif self._rect_start is not None:
            row, col = self.to_image(event.position())
            (r0, c0), self._rect_start = self._rect_start, None
            self._rect_corners_edit(r0, c0, row, col)
        self.update()

    def _rect_corners_edit(self, r0: float, c0: float, r1: float, c1: float) -> None:
        h, w = self.editor.mask.shape
        rows = sorted(int(np.clip(np.floor(v), 0, h - 1)) for v in (r0, r1))
        cols = sorted(int(np.clip(np.floor(v), 0, w - 1)) for v in (c0, c1))
        self.editor.rectangle(rows[0], cols[0], rows[1], cols[1], self._rect_erase)
        self.mask_edited.emit()

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120
        if steps == 0:
            return
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(1.25 ** steps, event.position())
        else:
            self.set_brush_size(self.brush_size + int(np.sign(steps)) * max(1, abs(int(steps))))
            self.brush_size_changed.emit(self.brush_size)
        event.accept()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self._update_cursor()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._update_cursor()
            return
        super().keyReleaseEvent(event)

    def leaveEvent(self, event) -> None:
        self._mouse = None
        self.update()

    def _can_paint(self) -> bool:
        return self.painting_enabled and self.editor is not None and self._qimage is not None

    def _update_cursor(self) -> None:
        if self._space:
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.setCursor(Qt.CursorShape.CrossCursor)

    def enterEvent(self, event) -> None:
        self._update_cursor()

    # --- painting -----------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        if self._qimage is None:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        scale, origin = self._layout()
        target = QRectF(origin.x(), origin.y(), self._qimage.width() * scale,
                        self._qimage.height() * scale)
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
        painter.drawRect(target.adjusted(-1, -1, 0, 0))
        painter.drawImage(target, self._qimage)
        overlay = self._shown_overlay()
        if overlay is not None:
            painter.drawImage(target, self._overlay_image(overlay))
        elif self.editor is not None:
            self._draw_outline(painter, self.editor.mask, scale, origin)
        self._draw_tool(painter, scale, origin)

    def _shown_overlay(self) -> np.ndarray | None:
        if self._overlay is not None:
            return self._overlay
        if self.editor is not None and (self._mask_visible or self._stroke_erase is not None):
            return self.editor.mask
        return None

    def _overlay_image(self, mask: np.ndarray) -> QImage:
        colour = self.mask_colour
        rgba = np.zeros(mask.shape + (4,), np.uint8)
        rgba[mask] = (colour.red(), colour.green(), colour.blue(), 140)
        image = QImage(rgba.data, mask.shape[1], mask.shape[0], rgba.strides[0],
                       QImage.Format.Format_RGBA8888)
        return image.copy()

    def _draw_outline(self, painter: QPainter, mask: np.ndarray, scale: float,
                      origin: QPointF) -> None:
        """The mask's border only, as a dashed line: where a fill goes, without hiding it."""
        padded = np.pad(mask, 1)
        lines = []
        for r, c in np.argwhere(padded[1:, 1:-1] != padded[:-1, 1:-1]):   # horizontal edges
            y = origin.y() + r * scale
            lines.append(QLineF(origin.x() + c * scale, y, origin.x() + (c + 1) * scale, y))
        for r, c in np.argwhere(padded[1:-1, 1:] != padded[1:-1, :-1]):   # vertical edges
            x = origin.x() + c * scale
            lines.append(QLineF(x, origin.y() + r * scale, x, origin.y() + (r + 1) * scale))
        if lines:
            pen = QPen(self.mask_colour, 1.5, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawLines(lines)

    def _draw_tool(self, painter: QPainter, scale: float, origin: QPointF) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if self._rect_start is not None and self._mouse is not None:
            r0, c0 = self._rect_start
            start = QPointF(origin.x() + c0 * scale, origin.y() + r0 * scale)
            painter.setPen(QPen(self.mask_colour, 1.5, Qt.PenStyle.DashLine))
            painter.drawRect(QRectF(start, self._mouse).normalized())
        elif (self._mouse is not None and self.tool != "rectangle" and self._can_paint()
              and self._pan_from is None and not self._space):
            radius = max(self.brush_size / 2, 0.5) * scale
            # Two rings, dark and light, so the outline shows on any image.
            for colour, width in ((QColor(0, 0, 0, 160), 3.0), (QColor(255, 255, 255), 1.2)):
                painter.setPen(QPen(colour, width))
                painter.drawEllipse(self._mouse, radius, radius)
