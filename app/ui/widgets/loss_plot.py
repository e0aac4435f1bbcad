"""Live training curves: raw training loss (faint), its smoothed trend, held-out points."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

SMOOTHING = 0.9         # exponential moving average of the training loss (~10 steps)


def smooth(values: np.ndarray, alpha: float = SMOOTHING) -> np.ndarray:
    """Debiased exponential moving average (as TensorBoard draws it)."""
    out = np.empty_like(values, dtype=np.float64)
    acc, weight = 0.0, 0.0
    for i, v in enumerate(values):
        acc = alpha * acc + (1 - alpha) * v
        weight = alpha * weight + (1 - alpha)
        out[i] = acc / weight
    return out


class LossPlotWidget(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("bottom", "step")
        self.legend = self.plot.addLegend(offset=(-10, 10))
        self.raw = self.plot.plot(pen=pg.mkPen((74, 163, 255, 70), width=1))
        self.trend = self.plot.plot(pen=pg.mkPen("#4aa3ff", width=2), name="training")
        self.heldout = self.plot.plot(pen=pg.mkPen("#ffb020", width=2), symbol="o",
                                      symbolSize=6, symbolBrush="#ffb020", name="held-out")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.clear()

    def clear(self, unit: str = "bits") -> None:
        self.steps, self.losses, self.held = [], [], []
        self.plot.setLabel("left", "loss", units=None)
        self.plot.getAxis("left").setLabel(f"loss ({unit})")
        self._redraw()

    def set_rows(self, rows: list[dict], unit: str) -> None:
        self.clear(unit)
        self.add_rows(rows)

    def add_rows(self, rows: list[dict]) -> None:
        for row in rows:
            self.steps.append(row["step"])
            self.losses.append(row["loss"])
            if row.get("heldout") is not None:
                self.held.append((row["step"], row["heldout"]))
        self._redraw()

    def _redraw(self) -> None:
        steps = np.asarray(self.steps, dtype=float)
        losses = np.asarray(self.losses, dtype=float)
        self.raw.setData(steps, losses)
        self.trend.setData(steps, smooth(losses) if len(losses) else losses)
        if self.held:
            x, y = zip(*self.held)
            self.heldout.setData(np.asarray(x, float), np.asarray(y, float))
        else:
            self.heldout.setData([], [])
