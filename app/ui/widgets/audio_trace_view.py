"""What the model computes while it speaks: the bits of every sample (smoothed) and the
distribution over the mu-law levels through time, on the waveform's time axis, and, at the
cursor (or at the newest sample), that moment's whole distribution.

The widgets render an AudioTrace (app/core/state/audio_trace.py) and never compute on it
beyond colouring; a timer redraws at most REDRAW_HZ times a second, however fast events come.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...core.state.audio_trace import AudioTrace, Moment

REDRAW_HZ = 8          # while streaming: each redraw repaints two plots and an image
MAX_IMAGE_COLUMNS = 512   # the distribution image's width as drawn
MAX_DOTS = 400         # drawn levels marked, spread over the sound (a scatter is slow to set)
AXIS_WIDTH = 52          # every plot's left axis, so that the time axes line up
FLOOR = -3.0             # log10 of the faintest probability given a colour (0.1 %)
CURSOR = "#ffb020"
PROBABILITY_RANGES = (0.05, 0.1, 0.2, 0.4, 0.7, 1.0)


def _quiet(plot) -> None:
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.getAxis("left").setWidth(AXIS_WIDTH)


class MomentWidget(QWidget):
    """One moment's distribution, sideways like a column of the image, and its numbers."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel("At the cursor")
        self.title.setObjectName("muted")
        self.plot = pg.PlotWidget()
        _quiet(self.plot.getPlotItem())
        self.plot.getAxis("left").setWidth(34)
        self.plot.setLabel("bottom", "probability")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.bars = pg.BarGraphItem(x0=[], y=[], height=1.0, width=[], brush="#4aa3ff",
                                    pen=None)
        self.plot.addItem(self.bars)
        self.drawn = pg.InfiniteLine(angle=0, pen=pg.mkPen(CURSOR, width=2))
        self.plot.addItem(self.drawn)
        self.readout = QLabel("Generate or score a sound to see, for every sample, the "
                              "distribution it was drawn from.")
        self.readout.setWordWrap(True)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Room for its nine lines (five of them the likeliest levels, in a fixed-width font)
        # from the start, so new text never re-lays out the window.
        self.readout.setFixedHeight(10 * self.readout.fontMetrics().lineSpacing() + 6)
        self.readout.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.readout)
        self.setFixedWidth(230)
        self.moment: Moment | None = None

    def clear(self) -> None:
        self.moment = None
        self.bars.setOpts(x0=[], y=[], width=[])
        self.drawn.hide()

    def show_moment(self, moment: Moment | None, hovered: bool) -> None:
        self.moment = moment
        if moment is None:
            self.clear()
            return
        levels = len(moment.probs)
        self.title.setText("At the cursor" if hovered else "The newest sample")
        self.bars.setOpts(x0=np.zeros(levels), y=np.arange(levels) + 0.5, width=moment.probs)
        if self.plot.viewRange()[1] != [0.0, float(levels)]:
            self.plot.setYRange(0, levels, padding=0)
        # The probability axis in a few fixed ranges: a range (and so an axis, ~2 ms to lay
        # out) that changed with every sample made this panel the Audio tab's costliest.
        peak = float(moment.probs.max())
        right = next((r for r in PROBABILITY_RANGES if peak <= r), 1.0)
        if self.plot.viewRange()[0][1] != right:
            self.plot.setXRange(0, right, padding=0)
        self.drawn.setValue(moment.level + 0.5)
        self.drawn.show()
        top = "<br>".join(f"&nbsp;&nbsp;{v:>3}: {p:6.1%}" for v, p in moment.top(5))
        self.readout.setText(
            f"<b>{moment.time:.3f} s</b> (sample {moment.index:,})<br>"
            f"<span style='color:{CURSOR}'>\u25a0</span> level {moment.level}: "
            f"p = {moment.probs[moment.level]:.3g}, <b>{moment.bits:.2f} bits</b><br>"
            f"entropy {moment.entropy:.2f} bits<br>likeliest:<br><tt>{top}</tt>")


class AudioTraceWidget(QWidget):
    """Bits per sample over time, above the distribution over levels through time."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.trace = AudioTrace()
        self._waveform = None               # the waveform above, whose time range we follow
        self._redraws = 0
        self.panel = MomentWidget()        # beside the plots: see under()
        self.switch = QCheckBox("Show what the model computes")
        self.switch.setChecked(True)
        self.switch.setToolTip("Under the waveform: the bits of every sample and the "
                               "distribution over the levels it was drawn from (costs a "
                               "little speed; the sound is the same either way)")
        self.drift_button = QPushButton("Drift: compare with real data")
        self.switch.toggled.connect(self.setVisible)
        self.switch.toggled.connect(self.panel.setVisible)
        self.switch.toggled.connect(self.drift_button.setVisible)
        self.view = pg.GraphicsLayoutWidget()
        self.view.ci.setSpacing(6)
        self.bits_plot = self.view.addPlot(row=0, col=0)
        self.dist_plot = self.view.addPlot(row=1, col=0)
        self.view.ci.layout.setRowStretchFactor(0, 2)
        self.view.ci.layout.setRowStretchFactor(1, 3)
        for plot in (self.bits_plot, self.dist_plot):
            _quiet(plot)
        self.bits_plot.setLabel("left", "bits")
        self.bits_plot.getAxis("bottom").setStyle(showValues=False)
        self.dist_plot.setLabel("left", "level")
        self.dist_plot.setLabel("bottom", "time", units="s")
        self.dist_plot.setXLink(self.bits_plot)
        self.curve = self.bits_plot.plot(pen=pg.mkPen("#4aa3ff", width=1.5))
        self.curve.setClipToView(True)          # while streaming, only the seconds in view
        self.curve.setDownsampling(auto=True, method="peak")
        self.mean_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#8a8a8a", width=1,
                                                               style=Qt.PenStyle.DashLine))
        self.bits_plot.addItem(self.mean_line)
        self.caption = pg.LabelItem(justify="left", size="8pt")
        self.caption.setParentItem(self.bits_plot.vb)
        self.caption.anchor(itemPos=(0, 0), parentPos=(0, 0), offset=(6, 0))
        self.image = pg.ImageItem(autoDownsample=True)   # (columns, levels): x time, y level
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.dist_plot.addItem(self.image)
        # Dots, not a line: a line through levels that jump every sample would hide the
        # distributions it is drawn over.
        self.drawn = pg.ScatterPlotItem(size=2.5, pen=None, brush=pg.mkBrush(255, 176, 32, 200))
        self.dist_plot.addItem(self.drawn)
        self.cursors = [pg.InfiniteLine(angle=90, pen=pg.mkPen(CURSOR, width=1))
                        for _ in range(2)]
        for plot, cursor in zip((self.bits_plot, self.dist_plot), self.cursors):
            plot.addItem(cursor, ignoreBounds=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(1000 // REDRAW_HZ)
        self._timer.timeout.connect(lambda: self.redraw(final=False))
        self.hover_time: float | None = None
        self.view.scene().sigMouseMoved.connect(self._mouse_moved)
        self.reset(8000)

    def under(self, waveform) -> QHBoxLayout:
        """A layout of `waveform` above these plots, on one time axis, the moment beside
        them all (so that it takes no width from the time axis)."""
        for plot in (waveform.wave_plot, waveform.spec_plot):
            plot.getAxis("left").setWidth(AXIS_WIDTH)
        # Not X-linked: a link repaints these plots at every move of the waveform's (10 Hz
        # while streaming) on top of their own redraws; they follow it at REDRAW_HZ instead.
        self._waveform = waveform
        waveform.wave_plot.sigXRangeChanged.connect(self._follow)
        plots = QVBoxLayout()
        plots.addWidget(waveform, 4)
        plots.addWidget(self, 5)
        side = QVBoxLayout()
        side.addWidget(self.panel, 1)
        side.addWidget(self.drift_button)
        row = QHBoxLayout()
        row.addLayout(plots, 1)
        row.addLayout(side)
        return row

    def reset(self, rate: int) -> None:
        self._timer.stop()
        self.trace.reset(rate)
        self.hover_time = None
        self.curve.setData([], [])
        self.drawn.setData([], [])
        self.image.clear()
        self.mean_line.hide()
        self.caption.setText("bits per sample (10 ms mean)")
        for cursor in self.cursors:
            cursor.hide()
        self.panel.clear()

    def apply(self, events) -> None:
        """Fold events in; the views follow within 1 / REDRAW_HZ s."""
        if self.trace.apply(events) and not self._timer.isActive():
            self._timer.start()

    def _follow(self, *_args) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def redraw(self, final: bool = True) -> None:
        """Draw what the trace holds; `final` False: a redraw while sound streams in."""
        self._timer.stop()
        if self._waveform is not None:
            self.bits_plot.setXRange(*self._waveform.wave_plot.viewRange()[0], padding=0)
        trace = self.trace
        times, bits = trace.smoothed()
        shown = self._in_view(times, final)
        self.curve.setData(times[shown], bits[shown])
        if trace.count:
            self.mean_line.setValue(trace.mean_bits)
            self.mean_line.show()
            self.caption.setText(f"bits per sample ({trace.smooth_s * 1000:g} ms mean) "
                                 f"\u00b7 mean {trace.mean_bits:.2f} \u00b7 total "
                                 f"{trace.total_bits:,.0f} bits")
            # Whole bits: the range (and so the axis, ~2 ms to lay out) changes rarely.
            top = float(np.ceil(max(1.0, float(np.percentile(bits, 99.5)) * 1.1)))
            if self.bits_plot.viewRange()[1] != [0.0, top]:
                self.bits_plot.setYRange(0, top, padding=0)
            self._draw_image(final)
        # The newest sample's distribution: every fourth redraw while sound streams in,
        # twice a second (its bars and readout are the Audio tab's costliest repaint, ~5 ms:
        # every other redraw kept the heartbeat's p99 above 8 ms); at once when hovered.
        self._redraws += 1
        if self.hover_time is not None or self._redraws % 4 == 0 or final:
            self._show_moment()

    def _in_view(self, times: np.ndarray, final: bool) -> slice:
        """While sound streams in, only what the time axis shows (plus a column each side)
        is handed to the plots: the views then cost the same at the first second and the
        tenth minute (the whole trace, up to 2,048 columns, made each redraw ~5 ms)."""
        if final or len(times) == 0:
            return slice(None)
        left, right = self.bits_plot.viewRange()[0]
        first = int(np.searchsorted(times, left)) - 1
        return slice(max(0, first), int(np.searchsorted(times, right)) + 1)

    def _draw_image(self, final: bool = True) -> None:
        trace = self.trace
        shown = self._in_view(trace.column_times, final)
        columns, times = trace.columns[shown], trace.column_times[shown]
        if len(columns) == 0:
            return
        group = -(-len(columns) // MAX_IMAGE_COLUMNS)
        if group > 1:            # a plot is a few hundred pixels wide: average neighbours
            whole = len(columns) // group * group
            columns = columns[:whole].reshape(-1, group, columns.shape[1]).mean(axis=1)
        shade = np.log10(np.maximum(columns, 10 ** FLOOR))             # (columns, levels)
        self.image.setImage(shade, levels=(FLOOR, 0.0), autoLevels=False)
        width = len(columns) * group * trace.step / trace.rate
        self.image.setRect(times[0], 0, width, trace.levels)
        levels = trace.column_levels[shown]
        stride = max(1, -(-len(times) // MAX_DOTS))
        self.drawn.setData(times[::stride] + trace.step / trace.rate / 2,
                           levels[::stride] + 0.5)
        self.dist_plot.setYRange(0, trace.levels, padding=0)

    # --- the moment under the cursor ----------------------------------------------------
    def _mouse_moved(self, pos) -> None:
        for plot in (self.bits_plot, self.dist_plot):
            if plot.sceneBoundingRect().contains(pos):
                self.show_time(plot.vb.mapSceneToView(pos).x())
                return
        self.show_time(None)

    def leaveEvent(self, event) -> None:
        self.show_time(None)
        super().leaveEvent(event)

    def show_time(self, seconds: float | None) -> None:
        """Show the distribution at `seconds` (None: at the newest sample)."""
        self.hover_time = seconds
        self._show_moment()

    def moment(self) -> Moment | None:
        if self.hover_time is None:
            return self.trace.latest()
        return self.trace.at(self.hover_time)

    def _show_moment(self) -> None:
        moment = self.moment()
        for cursor in self.cursors:
            cursor.setVisible(moment is not None and self.hover_time is not None)
            if moment is not None:
                cursor.setValue(moment.time)
        self.panel.show_moment(moment, self.hover_time is not None)
