"""One image's bits when an any-order model reveals its pixels in each order, side by side:
the order changes what each pixel costs, and the total (each is an exact chain rule, so each
total is a valid code length; they differ because the model is not a perfect one)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QGridLayout, QLabel, QVBoxLayout

from ...core.state.pixel_trace import heat_colours

TILE = 168          # shown size of each map, px


def pixmap_of(rgb: np.ndarray, size: int = TILE) -> QPixmap:
    rgb = np.ascontiguousarray(rgb)
    image = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0],
                   QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(image).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.FastTransformation)


class OrdersDialog(QDialog):
    def __init__(self, parent, pixels: np.ndarray, scores: dict, top_bits: float):
        super().__init__(parent)
        self.setWindowTitle("Bits in each order")
        self.totals = {name: s.total_bits for name, s in scores.items()}
        grid = QGridLayout()
        picture = pixels if pixels.shape[-1] == 3 else np.repeat(pixels, 3, axis=-1)
        self._add(grid, 0, pixmap_of(picture), "the image")
        best = min(self.totals.values())
        for i, (name, result) in enumerate(scores.items(), start=1):
            bits = result.bits[0].sum(axis=0)
            total = self.totals[name]
            extra = "" if total == best else f", +{total - best:,.0f}"
            self._add(grid, i, pixmap_of(heat_colours(bits, top_bits)),
                      f"<b>{name}</b><br>{total:,.0f} bits ({result.mean_bits:.3f} "
                      f"bits/dim{extra})")
        note = QLabel("Each map is the same image, its pixels coloured by -log2 p(value | "
                      "the pixels revealed before it) in that order, on the bits map's scale. "
                      "Every order is an exact chain rule: the totals differ only because "
                      "the model predicts better in some orders than in others.")
        note.setWordWrap(True)
        note.setObjectName("muted")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(note)
        layout.addWidget(buttons)

    @staticmethod
    def _add(grid: QGridLayout, column: int, pixmap: QPixmap, caption: str) -> None:
        picture = QLabel()
        picture.setPixmap(pixmap)
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(caption)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setTextFormat(Qt.TextFormat.RichText)
        grid.addWidget(picture, 0, column)
        grid.addWidget(text, 1, column)
