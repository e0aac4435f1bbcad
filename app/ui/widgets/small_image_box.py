"""The Image tab's "Start from" row for a model that can upscale a small picture (a Subscale
Pixel Network): none (the model draws the small picture too), or an image file of yours."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPushButton, QWidget

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp);;All files (*)"


class SmallImageBox(QWidget):
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._path = ""
        self.choose = QPushButton()
        self.choose.clicked.connect(self._choose)
        self.clear_button = QPushButton("\u00d7")
        self.clear_button.setToolTip("Draw the small picture too")
        self.clear_button.setFixedWidth(28)
        self.clear_button.clicked.connect(lambda: self.set_path(""))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.choose, 1)
        row.addWidget(self.clear_button)
        self.set_path("")

    def path(self) -> str:
        return self._path

    def set_path(self, path: str) -> None:
        self._path = str(path or "")
        self.choose.setText(Path(self._path).name if self._path else
                            "the model's own small picture")
        self.choose.setToolTip(
            f"Upscale {self._path}: it is read at the model's first-slice size (1/S of each "
            "side) and only the full size is drawn; choose another file" if self._path else
            "A Subscale Pixel Network draws a small picture first, then upscales it. Choose "
            "an image of yours to upscale instead")
        self.clear_button.setEnabled(bool(self._path))
        self.changed.emit()

    def _choose(self) -> None:
        start = str(Path(self._path).parent) if self._path else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "A small image to upscale", start,
                                              IMAGE_FILTER)
        if path:
            self.set_path(path)
