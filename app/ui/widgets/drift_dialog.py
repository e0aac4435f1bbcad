"""Drift, drawn: a finished generation's bits per step as the model scores them, against
the same curve over real held-out data (mean and 10th-90th percentile band)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout

from ...core.drift import smooth


class DriftDialog(QDialog):
    def __init__(self, parent, report, what: str, step_name: str = "step"):
        super().__init__(parent)
        self.setWindowTitle(f"Drift: {what}")
        self.resize(760, 420)
        self.report = report
        s = report.summary
        width = s["smoothing"]
        plot = pg.PlotWidget()
        plot.setMenuEnabled(False)
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setLabel("left", f"bits (smoothed over {width} {step_name}s)")
        plot.setLabel("bottom", step_name)
        plot.addLegend(offset=(-10, 10))
        x = np.arange(len(report.curve))
        band = report.band
        lower = plot.plot(x, smooth(band.lower, width), pen=pg.mkPen((150, 150, 150, 90)))
        upper = plot.plot(x, smooth(band.upper, width), pen=pg.mkPen((150, 150, 150, 90)))
        plot.addItem(pg.FillBetweenItem(lower, upper, brush=pg.mkBrush(150, 150, 150, 60)))
        plot.plot(x, smooth(band.mean, width), pen=pg.mkPen("#9aa0a6", width=2),
                  name="held-out data (mean, 10-90% band)")
        plot.plot(x, smooth(report.curve, width), pen=pg.mkPen("#ff8a3d", width=2),
                  name="this generation")
        gap = s["largest_gap_bits"]
        caption = QLabel(
            f"This generation: {s['generation_mean_bits']:.3f} {report.unit}; held-out data: "
            f"{s['reference_mean_bits']:.3f} ({report.source}). Largest gap "
            f"{gap:+.2f} bits at {step_name} {s['largest_gap_step']:,}; "
            f"{s['above_band_share']:.0%} of {step_name}s above the band. Above the band, "
            "the sampler is somewhere the model finds unlikely (it has drifted); well below, "
            "it is repeating what it finds easy." + (f" ({report.note}.)" if report.note
                                                       else ""))
        caption.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(plot, 1)
        layout.addWidget(caption)
        layout.addWidget(buttons)


class DriftLauncher:
    """A Drift button's run: the tab's shown item scored against held-out data in a worker
    of its own (the tab's stays free), then the dialog. `data_of()` gives (data, label,
    order) of the item shown, or None when there is nothing to compare."""

    def __init__(self, tab, button, data_of, what: str, step_name: str):
        from ..workers import WorkerRunner

        self.tab, self.button, self.data_of = tab, button, data_of
        self.what, self.step_name = what, step_name
        self.runner = WorkerRunner(tab)     # the tab's shutdown joins it with its own
        self.dialog: DriftDialog | None = None
        button.setToolTip(f"Score {what} step by step and compare it with real held-out "
                          "data of the model's training set: does generation drift?")
        button.clicked.connect(self.launch)
        tab.runner.started.connect(lambda: button.setEnabled(False))
        tab.runner.stopped.connect(lambda _how: button.setEnabled(not self.runner.running))
        self.runner.stopped.connect(self._stopped)

    def launch(self) -> None:
        import functools

        from ...core import explain_runs

        info = self.tab.picker.current()
        shown = None if self.tab.runner.running or self.runner.running else self.data_of()
        if info is None or shown is None:
            self.tab.message.show_message(f"Generate {self.what} first, then compare it",
                                          "info")
            return
        data, label, order = shown
        self.button.setEnabled(False)
        self.tab.set_stats("Comparing with held-out data\u2026")
        self.runner.start(functools.partial(explain_runs.drift, self.tab.models,
                                            str(info.path), self.tab.device_source(), data,
                                            label, order),
                          self._events, self.tab.on_error)

    def _events(self, events: list) -> None:
        for report in events:
            self.dialog = DriftDialog(self.tab, report, self.what, self.step_name)
            self.dialog.open()
            s = report.summary
            self.tab.set_stats(f"Drift: {s['generation_mean_bits']:.3f} against "
                               f"{s['reference_mean_bits']:.3f} {report.unit} on held-out "
                               "data")

    def _stopped(self, how: str) -> None:
        self.button.setEnabled(not self.tab.runner.running)
        if how == "error":
            self.tab.set_stats("Drift: not compared (see the message above)")
