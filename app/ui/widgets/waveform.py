"""A scrolling waveform with a spectrogram below it (pyqtgraph), fed chunk by chunk."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

WINDOW_S = 4.0          # seconds visible while audio streams in
FFT = 256
HOP = 128


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
        self.reset(8000)

    def reset(self, sample_rate: int) -> None:
        self.rate = sample_rate
        self.samples = np.zeros(0, np.float32)
        self._frames: list[np.ndarray] = []
        self.curve.setData([], [])
        self.image.clear()
        self.spec_plot.setYRange(0, sample_rate / 2, padding=0)
        self._scroll(0.0)

    def append(self, chunk: np.ndarray) -> None:
        self.samples = np.concatenate([self.samples, np.asarray(chunk, np.float32)])
        self._update_spectrogram()
        self._redraw(streaming=True)

    def set_audio(self, samples: np.ndarray, sample_rate: int) -> None:
        """Show a whole clip at once (an opened file, or the finished result)."""
        self.reset(sample_rate)
        self.samples = np.asarray(samples, np.float32)
        self._update_spectrogram()
        self._redraw(streaming=False)

    def show_all(self) -> None:
        self._redraw(streaming=False)

    def _update_spectrogram(self) -> None:
        done = len(self._frames)
        window = np.hanning(FFT).astype(np.float32)
        while (done * HOP + FFT) <= len(self.samples):
            frame = self.samples[done * HOP:done * HOP + FFT] * window
            power = np.abs(np.fft.rfft(frame)) ** 2
            self._frames.append(10 * np.log10(power + 1e-10).astype(np.float32))
            done += 1

    def _redraw(self, streaming: bool) -> None:
        n = len(self.samples)
        seconds = n / self.rate
        self.curve.setData(np.arange(n, dtype=np.float32) / self.rate, self.samples)
        if self._frames:
            spec = np.stack(self._frames).T          # (bins, frames)
            self.image.setImage(spec, levels=(-70, max(float(spec.max()), -40)))
            self.image.setRect(0, 0, len(self._frames) * HOP / self.rate, self.rate / 2)
        if streaming:
            self._scroll(seconds)
        else:
            self.wave_plot.setXRange(0, max(seconds, 0.1), padding=0)

    def _scroll(self, seconds: float) -> None:
        self.wave_plot.setXRange(max(0.0, seconds - WINDOW_S), max(WINDOW_S, seconds), padding=0)
