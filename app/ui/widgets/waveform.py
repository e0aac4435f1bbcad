"""A scrolling waveform with a spectrogram below it (pyqtgraph), fed chunk by chunk.

Chunks may arrive far faster than a screen refreshes, and a clip may be minutes long, so
appending only stores (into buffers that grow by doubling) and a timer redraws at most
REDRAW_HZ times a second, plotting only the seconds in view while audio streams in. The
whole clip is drawn once, when it is complete.

While streaming the view pages on rather than scrolling every frame (as a DAW's "page"
follow does): a moving time axis makes every redraw repaint both plots, their axes and the
views below (~10-14 ms offscreen, more than a 120 Hz frame), a standing one only what
changed (~3-6 ms).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

WINDOW_S = 4.0          # seconds visible while audio streams in
PAGE_KEEP_S = 1.0       # seconds still in view after the view pages on
FFT = 256
HOP = 128
REDRAW_HZ = 20


class WaveformWidget(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.view = pg.GraphicsLayoutWidget()
        self.view.ci.setSpacing(6)
        self.wave_plot = self.view.addPlot(row=0, col=0)
        self.spec_plot = self.view.addPlot(row=1, col=0)
        self.view.ci.layout.setRowStretchFactor(0, 1)
        self.view.ci.layout.setRowStretchFactor(1, 1)
        for plot in (self.wave_plot, self.spec_plot):
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
        self.wave_plot.setLabel("left", "amplitude")
        self.wave_plot.setYRange(-1, 1, padding=0.05)
        self.wave_plot.setXLink(self.spec_plot)
        self.wave_plot.getAxis("bottom").setStyle(showValues=False)
        self.spec_plot.setLabel("left", "frequency", units="Hz")
        self.spec_plot.setLabel("bottom", "time", units="s")
        self.curve = self.wave_plot.plot(pen=pg.mkPen("#4aa3ff", width=1))
        self.curve.setClipToView(True)
        self.curve.setDownsampling(auto=True, method="peak")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("inferno"))
        self.spec_plot.addItem(self.image)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(1000 // REDRAW_HZ)
        self._redraw_timer.timeout.connect(lambda: self._redraw(streaming=True))
        self._window = np.hanning(FFT).astype(np.float32)
        self.reset(8000)

    @property
    def samples(self) -> np.ndarray:
        return self._samples[:self._count]

    def reset(self, sample_rate: int) -> None:
        self._redraw_timer.stop()
        self.rate = sample_rate
        self._samples = np.zeros(sample_rate, np.float32)
        self._count = 0
        self._spec = np.zeros((FFT // 2 + 1, 64), np.float32)    # (bins, frames) in dB
        self._frames = 0
        self.curve.setData([], [])
        self.image.clear()
        self.spec_plot.setYRange(0, sample_rate / 2, padding=0)
        self._scroll(0.0)

    def append(self, chunk: np.ndarray) -> None:
        chunk = np.asarray(chunk, np.float32)
        self._samples = _room_for(self._samples, self._count + len(chunk))
        self._samples[self._count:self._count + len(chunk)] = chunk
        self._count += len(chunk)
        self._update_spectrogram()
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def set_audio(self, samples: np.ndarray, sample_rate: int) -> None:
        """Show a whole clip at once (an opened file, or the finished result)."""
        self.reset(sample_rate)
        self.append(samples)
        self._redraw_timer.stop()
        self._redraw(streaming=False)

    def show_all(self) -> None:
        self._redraw_timer.stop()
        self._redraw(streaming=False)

    def _update_spectrogram(self) -> None:
        total = (self._count - FFT) // HOP + 1 if self._count >= FFT else 0
        if total <= self._frames:
            return
        starts = np.arange(self._frames, total) * HOP
        frames = self.samples[starts[:, None] + np.arange(FFT)] * self._window   # (n, FFT)
        power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
        self._spec = _room_for(self._spec, total, axis=1)
        self._spec[:, self._frames:total] = (10 * np.log10(power + 1e-10)).T
        self._frames = total

    def _redraw(self, streaming: bool) -> None:
        seconds = self._count / self.rate
        # While streaming only the seconds in view (plus a margin) are handed to pyqtgraph.
        first = max(0, self._count - int((WINDOW_S + 1) * self.rate)) if streaming else 0
        shown = self.samples[first:]
        self.curve.setData((np.arange(len(shown), dtype=np.float32) + first) / self.rate, shown)
        if self._frames:
            lo = max(0, first // HOP) if streaming else 0
            spec = self._spec[:, lo:self._frames]
            self.image.setImage(spec, levels=(-70, max(float(spec.max()), -40)))
            self.image.setRect(lo * HOP / self.rate, 0, (self._frames - lo) * HOP / self.rate,
                               self.rate / 2)
        if streaming:
            self._scroll(seconds)
        else:
            self.wave_plot.setXRange(0, max(seconds, 0.1), padding=0)

    def _scroll(self, seconds: float) -> None:
        """Keep `seconds` in view, a page at a time: the view stands still until the sound
        reaches its right edge, then jumps on, keeping the last PAGE_KEEP_S in view."""
        left, right = self.wave_plot.viewRange()[0]
        if seconds <= WINDOW_S:
            target = (0.0, WINDOW_S)
        elif left <= seconds <= right and abs(right - left - WINDOW_S) < 1e-6:
            return
        else:
            target = (seconds - PAGE_KEEP_S, seconds - PAGE_KEEP_S + WINDOW_S)
        if (left, right) != target:
            self.wave_plot.setXRange(*target, padding=0)


def _room_for(buffer: np.ndarray, needed: int, axis: int = 0) -> np.ndarray:
    """`buffer`, or a copy twice as large (or as needed) when it cannot hold `needed`."""
    if buffer.shape[axis] >= needed:
        return buffer
    shape = list(buffer.shape)
    shape[axis] = max(needed, 2 * buffer.shape[axis])
    grown = np.zeros(shape, buffer.dtype)
    index = [slice(None)] * buffer.ndim
    index[axis] = slice(0, buffer.shape[axis])
    grown[tuple(index)] = buffer
    return grown
