"""The Image tab's side panel "What the model computed": pixels or bits map, the bits of the
selected image and where they go, the hovered pixel's distribution, and the actions
(score, bits in each order) that ask the model more."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .pixel_readout import PixelReadoutWidget

HINT = ("Hover over a pixel: what the model predicted there. Right-click it to branch "
        "(give it another value, or draw again from there) or to see which earlier pixels "
        "its prediction depends on.")


def legend_pixmap(colours: np.ndarray, height: int = 10) -> QPixmap:
    """A horizontal colour ramp (W, 3) uint8 as a pixmap."""
    strip = np.ascontiguousarray(np.repeat(colours[None], height, axis=0))
    image = QImage(strip.data, strip.shape[1], height, strip.strides[0],
                   QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())


class ChainPanelWidget(QWidget):
    view_changed = Signal(str)          # "pixels" or "bits"
    enabled_changed = Signal(bool)
    score_requested = Signal()
    orders_requested = Signal()
    drift_requested = Signal()

    def __init__(self, ramp: np.ndarray, top_bits: float, parent=None):
        super().__init__(parent)
        self.setObjectName("chainPanel")
        self.setFixedWidth(300)
        self.enabled = QCheckBox("Show what the model computes")
        self.enabled.setChecked(True)
        self.enabled.setToolTip("Record each pixel's distribution while drawing (a few "
                                "percent slower); off: draw only")
        self.pixels_button, self.bits_button = QPushButton("Pixels"), QPushButton("Bits map")
        self.view_group = QButtonGroup(self)
        switch = QWidget()
        switch.setObjectName("modeSwitch")
        row = QHBoxLayout(switch)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        for i, (button, key) in enumerate(((self.pixels_button, "pixels"),
                                           (self.bits_button, "bits"))):
            button.setCheckable(True)
            button.setObjectName("segment-first" if i == 0 else "segment-last")
            button.setProperty("view", key)
            self.view_group.addButton(button)
            row.addWidget(button, 1)
        self.pixels_button.setChecked(True)
        self.bits_button.setToolTip("Each pixel coloured by -log2 p(value | pixels before it)")
        self.legend = QLabel()
        self.legend.setPixmap(legend_pixmap(ramp))
        self.legend.setScaledContents(True)
        self.legend.setFixedHeight(10)
        self.legend_text = QLabel(f"0 bits{' ' * 8}\u2192{' ' * 8}{top_bits:g}+ bits")
        self.legend_text.setObjectName("muted")
        self.legend_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.summary = QLabel("Generate or open images to see their bits.")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.readout = PixelReadoutWidget()
        self.hint = QLabel(HINT)
        self.hint.setObjectName("muted")
        self.hint.setWordWrap(True)
        self.score_button = QPushButton("Score these images")
        self.score_button.setToolTip("The bits of every pixel of the shown images under the "
                                     "chosen model (opened images, or drawn with this off)")
        self.orders_button = QPushButton("Bits in each order")
        self.orders_button.setToolTip("Any-order models: the selected image's bits when its "
                                      "pixels are revealed in each order")
        self.drift_button = QPushButton("Drift: compare with real data")
        self.drift_button.setToolTip("The selected image's bits, step by step as it was drawn, "
                                     "against real held-out images of the same class")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 0, 0, 0)
        for widget in (self.enabled, switch, self.legend, self.legend_text, self.summary,
                       self.readout, self.hint):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(self.score_button)
        layout.addWidget(self.orders_button)
        layout.addWidget(self.drift_button)
        self.view_group.buttonClicked.connect(
            lambda button: self.view_changed.emit(button.property("view")))
        self.enabled.toggled.connect(self.enabled_changed)
        self.score_button.clicked.connect(self.score_requested)
        self.orders_button.clicked.connect(self.orders_requested)
        self.drift_button.clicked.connect(self.drift_requested)

    @property
    def view(self) -> str:
        return "bits" if self.bits_button.isChecked() else "pixels"

    def set_view(self, view: str) -> None:
        (self.bits_button if view == "bits" else self.pixels_button).setChecked(True)
        self.view_changed.emit(view)
