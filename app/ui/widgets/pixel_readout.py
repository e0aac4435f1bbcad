"""One pixel's predictive distribution p(x_i | x_<i) as a bar chart over every level, the
drawn (or actual) value marked, with its bits and the distribution's entropy.

Painted with QPainter (256 bars repaint in well under a millisecond as the mouse moves).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

MARK = QColor("#ffb020")         # the drawn value (as the canvas marks the drawing pixel)
BAR = QColor("#4aa3ff")


class DistributionBars(QWidget):
    """Bars of a distribution over `levels` values; one value marked."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.probs: np.ndarray | None = None
        self.value: int | None = None
        self.placeholder = "Hover over a drawn pixel to see what the model predicted there"

    def sizeHint(self) -> QSize:
        return QSize(300, 110)

    def show_distribution(self, probs: np.ndarray | None, value: int | None) -> None:
        self.probs, self.value = probs, value
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        if self.probs is None:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect().adjusted(6, 0, -6, 0),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.placeholder)
            return
        probs = self.probs
        area = QRectF(self.rect()).adjusted(4, 6, -4, -16)
        top = max(float(probs.max()), 1e-9)
        width = area.width() / len(probs)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(BAR)
        for v in np.flatnonzero(probs > top * 1e-3):
            h = area.height() * float(probs[v]) / top
            painter.drawRect(QRectF(area.left() + v * width, area.bottom() - h,
                                    max(width, 1.0), h))
        if self.value is not None:
            x = area.left() + (self.value + 0.5) * width
            pen = QPen(MARK)
            pen.setWidthF(2)
            painter.setPen(pen)
            painter.drawLine(int(x), int(area.top()), int(x), int(area.bottom()))
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(QRectF(area.left(), area.bottom() + 1, area.width(), 14),
                         Qt.AlignmentFlag.AlignLeft, "0")
        painter.drawText(QRectF(area.left(), area.bottom() + 1, area.width(), 14),
                         Qt.AlignmentFlag.AlignRight, f"{len(probs) - 1}")
        painter.drawText(QRectF(area.left(), area.bottom() + 1, area.width(), 14),
                         Qt.AlignmentFlag.AlignHCenter, "level")


class PixelReadoutWidget(QWidget):
    """A title line (where, value, bits, entropy, step) over the distribution's bars."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel()
        self.title.setObjectName("stats")
        self.title.setWordWrap(True)
        self.bars = DistributionBars()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.bars)
        self.show_readout(None)

    def show_readout(self, readout, channels: int = 1, total_steps: int = 0) -> None:
        """A PixelReadout (app/core/state/pixel_trace.py), or None to clear."""
        if readout is None:
            self.title.setText("p(pixel | the pixels drawn before it)")
            self.bars.show_distribution(None, None)
            return
        where = f"row {readout.row}, col {readout.col}"
        if channels > 1:
            where += f", {'RGB'[readout.channel] if channels == 3 else readout.channel}"
        parts = [where, f"value {readout.value}", f"{readout.bits:.2f} bits"]
        if readout.entropy is not None:
            parts.append(f"entropy {readout.entropy:.2f} bits")
        if readout.step is not None and total_steps:
            parts.append(f"step {readout.step + 1:,} of {total_steps:,}")
        self.title.setText(" \u00b7 ".join(parts))
        if readout.probs is None:
            self.bars.placeholder = "The distributions of a grid this large are not kept"
        self.bars.show_distribution(readout.probs, readout.value)
