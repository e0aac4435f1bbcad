"""Compare mode of the Image tab: two models draw side by side, live, with the same seed,
class, temperature and grid. Each side fills in its model's own order (raster, any-order,
subscale) at its own pace, so the difference in how they build a picture is there to see,
and each side's compute time and time left are shown, so is the difference in cost."""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from ...core.codecs import codec_from_dict
from ...core.registry import KINDS
from ...core.sampling.compare import SideEvent
from ...core.state import CanvasState
from ..widgets.controls import ModelPicker, StatsLabel, format_eta
from ..widgets.image_canvas import ImageCanvasWidget


def time_left(state: CanvasState) -> float:
    """Seconds this side still needs at its pace so far (each side runs in its own thread)."""
    if state.done >= state.total:
        return 0.0
    return (state.total - state.done) * state.busy_s / state.done if state.done else 0.0


def side_line(state: CanvasState) -> str:
    rate = state.done / state.busy_s if state.busy_s > 0 else 0.0
    left = f" \u00b7 {format_eta(time_left(state))} left" if state.done < state.total else ""
    stage = f"{state.stage} \u00b7 " if state.stage and state.done < state.total else ""
    return (f"{stage}{state.done:,} / {state.total:,} pixels \u00b7 {state.busy_s:.1f} s of compute"
            f" \u00b7 {rate:,.0f} pixels/s{left}")


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
        self.sides: list[CanvasState] = []
        self.infos: list = []
        self.set_models(None, self.other.current())
        self.other.model_changed.connect(lambda info: self.set_models(self._left, info))

    def suggest_other(self, left, label=None) -> None:
        """The left model is not offered as its own partner; when the right-hand model
        cannot be compared with it (the same model, or other classes while a class is
        chosen), pick one that can: trained on the same classes if there is one."""
        items = self.other.model()
        for i in range(self.other.count()):
            info = self.other.itemData(i)
            items.item(i).setEnabled(left is None or info.path != left.path)
        if left is None:
            return

        def fits(info) -> bool:
            return info.path != left.path and (label is None or not info.class_names or
                                               info.class_names == left.class_names)

        current = self.other.current()
        if current is not None and fits(current):
            return
        others = [i for i in range(self.other.count()) if fits(self.other.itemData(i))]
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
        self.infos = [left, right]
        self.sides = [CanvasState(codec_from_dict(info.codec), n,
                                  stages=KINDS[info.kind].stages if info.kind in KINDS else 1)
                      for info in (left, right)]
        for side in (0, 1):
            self.lines[side].setText(" ")
            self._show(side)

    def apply(self, events: list[SideEvent]) -> None:
        touched = set()
        for tagged in events:
            state = self.sides[tagged.side]
            state.apply([tagged.event])
            state.busy_s = tagged.busy_s
            touched.add(tagged.side)
        for side in touched:
            self._show(side)
            self.lines[side].setText(side_line(self.sides[side]))

    def _show(self, side: int) -> None:
        state = self.sides[side]
        finished = state.finished
        self.canvases[side].set_images(state.pixels, None if finished else state.cursor,
                                       None if finished else state.drawn, state.take_changed())

    @property
    def done(self) -> int:
        return sum(s.done for s in self.sides)

    @property
    def total(self) -> int:
        return sum(s.total for s in self.sides)

    def summary(self) -> str:
        """'mnist 1.3 s, mnist-anyorder 9.8 s' of compute, for the status line."""
        return ", ".join(f"{i.name} {s.busy_s:.1f} s" for i, s in zip(self.infos, self.sides))

    def has_result(self) -> bool:
        return bool(self.sides) and self.done > 0

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
