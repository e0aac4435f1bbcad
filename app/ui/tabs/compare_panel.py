"""Compare mode of the Image tab: two models draw side by side, live, with the same seed,
class, temperature and grid. Each side fills in its model's own order (raster, any-order,
subscale), so the difference in how they build a picture is there to see, and each side's
compute time is shown, so is the difference in cost."""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from ...core.codecs import codec_from_dict
from ...core.registry import KINDS
from ...core.sampling.compare import SideEvent
from ...core.sampling.events import ImageResult, PixelStep
from ..widgets.controls import ModelPicker, StatsLabel
from ..widgets.image_canvas import ImageCanvasWidget


class SideState:
    """One side's images while they are drawn: levels, pixels and which pixels are done."""

    def __init__(self, info, n: int):
        self.info = info
        self.codec = codec_from_dict(info.codec)
        c = self.codec
        self.levels = np.zeros((n, c.channels, c.height, c.width), np.int64)
        self.pixels = c.decode(self.levels)
        self.drawn = np.zeros((c.height, c.width), bool)
        self.done, self.total, self.busy_s = 0, c.dims, 0.0
        self.cursor = None

    def apply(self, event, busy_s: float) -> None:
        self.busy_s = busy_s
        if isinstance(event, PixelStep):
            self.levels[:, event.channel, event.row, event.col] = event.values
            self.pixels[:, event.row, event.col, event.channel] = \
                self.codec.decode(event.values.reshape(-1, 1, 1, 1))[:, 0, 0, 0]
            if event.channel == self.codec.channels - 1:
                self.drawn[event.row, event.col] = True
            self.done, self.cursor = event.step + 1, (event.row, event.col)
        elif isinstance(event, ImageResult):
            self.levels, self.pixels = event.levels, event.pixels
            self.drawn[:] = True
            self.done, self.cursor = self.total, None

    def line(self) -> str:
        rate = self.done / self.busy_s if self.busy_s > 0 else 0.0
        return (f"{self.done:,} / {self.total:,} pixels \u00b7 {self.busy_s:.1f} s of compute"
                f" \u00b7 {rate:,.0f} pixels/s alone")


def label_for_other(label, left, right) -> tuple[object, str | None]:
    """The label the right-hand model gets for the left's `label`, or a reason it has none.

    Same classes: the same label. An unconditional model: none, and it draws any class.
    Other classes: only 'any' can be compared fairly.
    """
    if label is None or not right.class_names:
        return None, None
    if right.class_names == left.class_names:
        return label, None
    return None, (f"{right.name} was trained on other classes than {left.name}: choose "
                  "Class: any, or two models trained on the same data")


class ComparePanelWidget(QWidget):
    """Two captioned canvases; the right-hand model is chosen with `other`."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.other = ModelPicker("image")
        self.other.setToolTip("The model drawn on the right, next to the one chosen above")
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.titles = [QLabel(), QLabel()]
        self.canvases = [ImageCanvasWidget(selectable=False), ImageCanvasWidget(selectable=False)]
        self.lines = [StatsLabel(), StatsLabel()]
        for side in (0, 1):
            self.titles[side].setObjectName("compareTitle")
            self.titles[side].setWordWrap(True)
            layout.addWidget(self.titles[side], 0, side)
            layout.addWidget(self.canvases[side], 1, side)
            layout.addWidget(self.lines[side], 2, side)
            layout.setColumnStretch(side, 1)
        layout.setRowStretch(1, 1)
        self.sides: list[SideState] = []
        self.params: dict | None = None
        self.set_models(None, self.other.current())
        self.other.model_changed.connect(lambda info: self.set_models(self._left, info))

    def suggest_other(self, left) -> None:
        """If the right-hand side shows the same model as the left, pick another: one
        trained on the same classes if there is one, so a class can be compared."""
        current = self.other.current()
        if left is None or current is None or current.path != left.path:
            return
        others = [i for i in range(self.other.count())
                  if self.other.itemData(i).path != left.path]
        same = [i for i in others if self.other.itemData(i).class_names == left.class_names]
        if same or others:
            self.other.setCurrentIndex((same or others)[0])

    def set_models(self, left, right) -> None:
        """Captions for the chosen pair (before any run)."""
        self._left = left
        for side, info in enumerate((left, right)):
            if info is None:
                self.titles[side].setText("<b>no model</b>")
                continue
            title = KINDS[info.kind].title if info.kind in KINDS else info.kind
            self.titles[side].setText(f"<b>{info.name}</b> \u00b7 {title}")
        if not self.sides:
            for canvas in self.canvases:
                canvas.clear("Press Generate to draw with both models")

    def start(self, left, right, n: int) -> None:
        self.sides = [SideState(left, n), SideState(right, n)]
        for side in (0, 1):
            self.lines[side].setText(" ")
            self._show(side)

    def apply(self, events: list[SideEvent]) -> None:
        touched = set()
        for tagged in events:
            self.sides[tagged.side].apply(tagged.event, tagged.busy_s)
            touched.add(tagged.side)
        for side in touched:
            self._show(side)
            self.lines[side].setText(self.sides[side].line())

    def _show(self, side: int) -> None:
        state = self.sides[side]
        finished = state.drawn.all()
        self.canvases[side].set_images(state.pixels, None if finished else state.cursor,
                                       None if finished else state.drawn)

    @property
    def done(self) -> int:
        return sum(s.done for s in self.sides)

    @property
    def total(self) -> int:
        return sum(s.total for s in self.sides)

    def summary(self) -> str:
        """'mnist 1.3 s, mnist-anyorder 9.8 s' of compute, for the status line."""
        return ", ".join(f"{s.info.name} {s.busy_s:.1f} s" for s in self.sides)

    def has_result(self) -> bool:
        return bool(self.sides) and self.params is not None and self.done > 0

    def picture(self) -> np.ndarray:
        """Both grids side by side on one dark background, for Save."""
        from ...core.sampling.image import image_grid

        grids = [image_grid(s.pixels if s.pixels.shape[-1] == 3 else
                            np.repeat(s.pixels, 3, axis=-1), pad=1, background=40)
                 for s in self.sides]
        height = max(g.shape[0] for g in grids)
        gap = np.full((height, 4, 3), 40, np.uint8)
        padded = [np.pad(g, ((0, height - g.shape[0]), (0, 0), (0, 0)), constant_values=40)
                  for g in grids]
        return np.concatenate([padded[0], gap, padded[1]], axis=1)
