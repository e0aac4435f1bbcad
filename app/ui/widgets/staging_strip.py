"""The row under the mask canvas: the N fills as thumbnails, previous / next, accept or not."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QWidget

from .mask_canvas import rgb_image
from .mask_toolbar import tool_button

THUMB = 44          # thumbnail edge, logical pixels


class StagingStripWidget(QWidget):
    """Thumbnails of the variations; the chosen one is what the canvas previews."""

    current_changed = Signal(int)
    accept_requested = Signal()
    discard_requested = Signal()
    save_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("staging")
        # Its room is kept while there are no variations yet: the canvas above it keeps
        # its size when the first one arrives, instead of jumping.
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.setSizePolicy(policy)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.title = QLabel("Variations")
        self.title.setObjectName("muted")
        self.previous = tool_button("\u25c0", "Previous variation (Page Up)")
        self.previous.setShortcut("PgUp")
        self.next = tool_button("\u25b6", "Next variation (Page Down)")
        self.next.setShortcut("PgDown")
        self.thumbs_row = QHBoxLayout()
        self.thumbs_row.setSpacing(3)
        self.position = QLabel()
        self.position.setObjectName("stats")
        self.accept = QPushButton("Accept")
        self.accept.setObjectName("primary")
        self.accept.setToolTip("Make this variation the image (undo with Ctrl+Z)")
        self.discard = QPushButton("Discard")
        self.discard.setToolTip("Drop the variations, keep the image as it was")
        self.save = QPushButton("Save\u2026")
        self.save.setToolTip("Save this variation as a PNG with its parameters")
        layout.addWidget(self.title)
        layout.addWidget(self.previous)
        layout.addLayout(self.thumbs_row)
        layout.addWidget(self.next)
        layout.addWidget(self.position)
        layout.addStretch(1)
        for button in (self.accept, self.discard, self.save):
            layout.addWidget(button)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self._thumbs: list = []
        self._current = 0
        self._running = False
        self.previous.clicked.connect(lambda: self.set_current(self._current - 1))
        self.next.clicked.connect(lambda: self.set_current(self._current + 1))
        self.accept.clicked.connect(self.accept_requested)
        self.discard.clicked.connect(self.discard_requested)
        self.save.clicked.connect(self.save_requested)
        self.set_variations(None)

    @property
    def current(self) -> int:
        return self._current

    @property
    def count(self) -> int:
        return len(self._thumbs)

    def set_variations(self, pixels: np.ndarray | None, running: bool = False) -> None:
        """(N, H, W, C) uint8, or None for none. Keeps the current choice when it can."""
        n = 0 if pixels is None else len(pixels)
        if n != len(self._thumbs):
            self._rebuild(n)
        for button, image in zip(self._thumbs, pixels if pixels is not None else []):
            pixmap = QPixmap.fromImage(rgb_image(image)).scaled(
                THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.FastTransformation)       # nearest: crisp pixels
            button.setIcon(QIcon(pixmap))
        self._current = min(self._current, max(n - 1, 0))
        self._running = running
        self._refresh()

    def _rebuild(self, n: int) -> None:
        for button in self._thumbs:
            self.group.removeButton(button)
            button.deleteLater()
        self._thumbs = []
        for i in range(n):
            button = tool_button("", f"Variation {i + 1}", checkable=True)
            button.setIconSize(QSize(THUMB, THUMB))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
            button.setObjectName("thumb")
            button.clicked.connect(lambda _checked=False, k=i: self.set_current(k))
            self.group.addButton(button)
            self.thumbs_row.addWidget(button)
            self._thumbs.append(button)

    def set_current(self, index: int) -> None:
        if not self._thumbs:
            return
        index = max(0, min(len(self._thumbs) - 1, index))
        changed = index != self._current
        self._current = index
        self._refresh()
        if changed:
            self.current_changed.emit(index)

    def _refresh(self) -> None:
        running = self._running
        n = len(self._thumbs)
        if n:
            self._thumbs[self._current].setChecked(True)
        self.position.setText(f"{self._current + 1} / {n}" if n else "")
        self.previous.setEnabled(n > 1 and self._current > 0)
        self.next.setEnabled(n > 1 and self._current < n - 1)
        self.accept.setEnabled(n > 0 and not running)
        self.discard.setEnabled(n > 0 and not running)
        self.save.setEnabled(n > 0 and not running)
        self.setVisible(n > 0)
