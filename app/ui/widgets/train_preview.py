"""Samples from the model being trained: an image grid, a clip to play, or text."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from .image_canvas import ImageCanvasWidget
from .waveform import WaveformWidget


class TrainPreviewWidget(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel("Samples from the current weights appear here while training.")
        self.title.setObjectName("muted")
        self.stack = QStackedWidget()
        self.canvas = ImageCanvasWidget(selectable=False)
        self.canvas.setMinimumSize(160, 160)
        self.canvas.clear("Samples from the model appear here while it trains")
        audio_page = QWidget()
        audio_layout = QVBoxLayout(audio_page)
        audio_layout.setContentsMargins(0, 0, 0, 0)
        self.waveform = WaveformWidget()
        self.play_button = QPushButton("Play this sample")
        audio_layout.addWidget(self.waveform, 1)
        audio_layout.addWidget(self.play_button)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        for page in (self.canvas, audio_page, self.text):
            self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.stack, 1)
        self.preview = None

    def show_preview(self, preview) -> None:
        self.preview = preview
        self.title.setText(f"Samples at step {preview.step:,}")
        if preview.modality == "image":
            self.stack.setCurrentIndex(0)
            self.canvas.set_images(preview.images)
        elif preview.modality == "audio":
            self.stack.setCurrentIndex(1)
            self.waveform.set_audio(preview.audio, preview.sample_rate)
        else:
            self.stack.setCurrentIndex(2)
            self.text.setPlainText(preview.text)
