"""The Train tab's left column: where to start, the data, the settings, the run buttons."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core.codecs import CharCodec, ImageCodec, MuLawCodec
from ...core.config import ConfigError
from ...core.paths import list_models
from ...core.registry import KINDS, kind_spec
from ...core.training.sizes import SIZES, count_parameters, fresh_config
from ..widgets.controls import StatsLabel, model_info, number_box
from ..widgets.train_preview import TrainPreviewWidget
from .train_runs import PastRunsWidget

# A typical codec per modality, only to show parameter counts before the data is known.
TYPICAL_CODECS = {"image": ImageCodec(28, 28, 1, 256), "audio": MuLawCodec(8000),
                  "text": CharCodec("".join(chr(i) for i in range(32, 127)))}
FINE_TUNE_LR = 1 / 3        # fine-tuning starts at a third of a fresh model's learning rate
# What a fresh image model may draw (height, width, channels); a kind is offered the ones
# its architecture takes (a PixelRNN or an SPN here draws grey only).
IMAGE_FORMATS = ((28, 28, 1), (32, 32, 1), (32, 32, 3), (64, 64, 1), (64, 64, 3))


def image_format_title(shape: tuple[int, int, int]) -> str:
    return f"{shape[0]} \u00d7 {shape[1]} {'colour' if shape[2] == 3 else 'grey'}"


@dataclass(frozen=True)
class StartChoice:
    """An entry of the start list: a fresh model of `kind`, or the checkpoint at `path`."""

    kind: str
    path: str | None = None


@dataclass(frozen=True)
class TrainChoice:
    """Every value of the form, read in the GUI thread: what a run is asked to do."""

    kind: str | None
    start: str | None            # the checkpoint to fine-tune, or None for a fresh model
    size: str
    data: str
    steps: int
    batch: int
    lr: float
    checkpoint: int
    preview_every: int
    device: str
    mixed: bool
    name: str
    image: tuple[int, int, int] | None = None    # a fresh image model's format


class TrainFormWidget(QWidget):
    choice_changed = Signal()        # another start point or size: the data is read again

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("controls")
        self.start, self.size, self.device = QComboBox(), QComboBox(), QComboBox()
        self.image_format = QComboBox()
        self.image_format.setToolTip("What a new image model draws: every image is scaled so "
                                     "its shorter side fits, then centre-cropped")
        self.start.setToolTip("Fine-tune a model you have, or start a new one")
        self.open_button = QPushButton("Open checkpoint\u2026")
        self.data_path = QLineEdit()
        self.data_path.setPlaceholderText("a folder (or drop files here)")
        self.folder_button = QPushButton("Folder\u2026")
        self.files_button = QPushButton("Files\u2026")
        self.summary = QLabel("Choose your data: images (one sub-folder per class, "
                              "optional), audio files, or text files.")
        self.summary.setWordWrap(True)
        self.summary.setObjectName("muted")
        self.data_preview = TrainPreviewWidget()
        self.data_preview.setMinimumHeight(120)
        self.data_preview.hide()
        self.steps, self.batch, self.checkpoint, self.preview_every = (QSpinBox() for _ in range(4))
        for spin, low, high, value in ((self.steps, 1, 1_000_000, 500), (self.batch, 1, 512, 16),
                                       (self.checkpoint, 1, 100_000, 100),
                                       (self.preview_every, 1, 100_000, 100)):
            spin.setRange(low, high)
            spin.setValue(value)
        self.lr = number_box(1e-5, 1.0, 1e-3, 1e-4, decimals=5)
        self.device.addItem("CPU", "cpu")
        self.mixed = QCheckBox("Mixed precision (CUDA)")
        self.mixed.setEnabled(False)
        self.name = QLineEdit()
        self.name.setPlaceholderText("name of the new model")
        self.epochs = QLabel()
        self.epochs.setObjectName("muted")
        for combo in (self.start, self.size, self.device, self.image_format):
            # Long entries must not widen the column: they elide and show in full when open.
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("primary")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.progress = QProgressBar()
        self.stats = StatsLabel()
        self.past = PastRunsWidget()
        self._lay_out()
        self.start.currentIndexChanged.connect(self._start_changed)
        self.size.currentIndexChanged.connect(lambda _: self.choice_changed.emit())
        self.image_format.currentIndexChanged.connect(lambda _: self.choice_changed.emit())
        self.device.currentIndexChanged.connect(self._device_changed)

    def _lay_out(self) -> None:
        data_row = QHBoxLayout()
        data_row.addWidget(self.folder_button)
        data_row.addWidget(self.files_button)
        # Train, Pause, Stop and the progress stay in sight below the scrolling form (the
        # tab places `footer`): on a 720-pixel screen the form is taller than the window.
        self.footer = QWidget()
        footer = QVBoxLayout(self.footer)
        footer.setContentsMargins(14, 8, 14, 10)
        buttons = QHBoxLayout()
        for button in (self.train_button, self.pause_button, self.stop_button):
            buttons.addWidget(button, 1)
        footer.addLayout(buttons)
        footer.addWidget(self.progress)
        column = QVBoxLayout(self)
        column.setContentsMargins(14, 14, 14, 14)
        start = group("Start from", [("Model", self.start), ("Size", self.size),
                                     ("Images", self.image_format), ("", self.open_button)])
        self.start_form = start.layout()
        column.addWidget(start)
        column.addWidget(group("Data", [("", self.data_path), ("", data_row),
                                        ("", self.summary), ("", self.data_preview)]))
        column.addWidget(group("Settings", [
            ("Steps", self.steps), ("", self.epochs), ("Batch size", self.batch),
            ("Learning rate", self.lr),
            ("Checkpoint every", self.checkpoint), ("Samples every", self.preview_every),
            ("Device", self.device), ("", self.mixed), ("Name", self.name)]))
        column.addWidget(self.stats)
        column.addWidget(group("Past runs", [("", self.past)]))
        column.addStretch(1)

    # --- start point --------------------------------------------------------------------
    def refresh_starts(self) -> None:
        """List fresh kinds and every model to fine-tune; what is chosen stays chosen."""
        keep = self.start.currentData()
        known = {str(path) for _, path, _ in list_models()}
        opened = [(self.start.itemText(i), self.start.itemData(i))
                  for i in range(self.start.count())
                  if self.start.itemData(i).path and self.start.itemData(i).path not in known]
        self.start.blockSignals(True)
        self.start.clear()
        for kind, spec in KINDS.items():
            self.start.addItem(f"New {spec.title} ({spec.modality})", StartChoice(kind))
        for name, path, origin in list_models():
            try:
                info = model_info(path)
            except Exception:       # a damaged file simply is not offered
                continue
            label = f"Fine-tune {name}" + (" (yours)" if origin == "user" else "")
            self.start.addItem(label, StartChoice(info.kind, str(path)))
        for label, choice in opened:
            self.start.addItem(label, choice)
        self.start.setCurrentIndex(max(self._index_of(keep), 0))
        self.start.blockSignals(False)
        if self.start.currentData() != keep:
            self._start_changed()

    def _index_of(self, choice) -> int:
        return next((i for i in range(self.start.count()) if self.start.itemData(i) == choice),
                    -1)

    def add_start(self, path: str) -> None:
        """Offer (and choose) a checkpoint file; raises for a file that is not a model."""
        info = model_info(path)
        choice = StartChoice(info.kind, str(path))
        if self._index_of(choice) < 0:
            self.start.addItem(f"Fine-tune {info.name} ({Path(path).name})", choice)
        self.start.setCurrentIndex(self._index_of(choice))

    def _start_changed(self, *_) -> None:
        """Another start point: its sizes, and the batch and learning rate its kind trains
        with."""
        choice = self.start.currentData()
        self.size.blockSignals(True)
        self.size.clear()
        if choice is not None and choice.path is None:
            spec = kind_spec(choice.kind)
            for size in SIZES:
                config = fresh_config(choice.kind, size, TYPICAL_CODECS[spec.modality])
                self.size.addItem(f"{size} ({count_parameters(config) / 1e6:.2f}M parameters)",
                                  size)
        else:
            self.size.addItem("as the model is", None)
        self.size.setEnabled(self.size.count() > 1)
        self.size.blockSignals(False)
        self._fill_image_formats(choice)
        if choice is not None:
            training = kind_spec(choice.kind).training
            self.batch.setValue(training.batch_size)
            self.lr.setValue(training.lr if choice.path is None else training.lr * FINE_TUNE_LR)
        self.choice_changed.emit()

    def _fill_image_formats(self, choice) -> None:
        """The formats a fresh image model of this kind can draw; the row is hidden for
        other kinds and for fine-tuning (a model keeps its own)."""
        keep = self.image_format.currentData()
        self.image_format.blockSignals(True)
        self.image_format.clear()
        fresh_image = choice is not None and choice.path is None and \
            kind_spec(choice.kind).modality == "image"
        if fresh_image:
            for shape in IMAGE_FORMATS:
                try:
                    fresh_config(choice.kind, SIZES[0], ImageCodec(*shape, 256))
                except ConfigError:
                    continue
                self.image_format.addItem(image_format_title(shape), shape)
            self.image_format.setCurrentIndex(max(0, self.image_format.findData(keep)))
        self.start_form.setRowVisible(self.image_format, fresh_image)
        self.image_format.blockSignals(False)

    # --- values -------------------------------------------------------------------------
    def choice(self) -> TrainChoice:
        start = self.start.currentData()
        return TrainChoice(start.kind if start else None, start.path if start else None,
                           self.size.currentData() or SIZES[0], self.data_path.text().strip(),
                           self.steps.value(), self.batch.value(), self.lr.value(),
                           self.checkpoint.value(), self.preview_every.value(),
                           self.device.currentData() or "cpu", self.mixed.isChecked(),
                           self.name.text().strip(), self.image_format.currentData())

    def show_epochs(self, job) -> None:
        """Steps as passes over the data: what "epochs" would say."""
        if job is None:
            self.epochs.setText("")
            return
        data = job.data.train
        # Images count one by one; sequences (audio, text) in training windows.
        items = max(1, len(data) // data.window) if hasattr(data, "window") else len(data)
        epochs = self.steps.value() * self.batch.value() / max(items, 1)
        self.epochs.setText(f"\u2248 {epochs:,.1f} passes over your data")

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        self.device.blockSignals(True)
        self.device.clear()
        for label, device in devices:
            self.device.addItem(label, device)
        self.device.blockSignals(False)
        self._device_changed()

    def _device_changed(self, *_) -> None:
        self.mixed.setEnabled(str(self.device.currentData()).startswith("cuda"))
        if not self.mixed.isEnabled():
            self.mixed.setChecked(False)

    def set_running(self, running: bool, training: bool, can_train: bool) -> None:
        """Enable what can be used now: nothing that changes the run while one goes on."""
        self.train_button.setEnabled(not running and can_train)
        self.pause_button.setEnabled(training)
        self.stop_button.setEnabled(training)
        for widget in (self.start, self.open_button, self.data_path, self.folder_button,
                       self.files_button, self.image_format):
            widget.setEnabled(not running)
        self.size.setEnabled(not running and self.size.count() > 1)
        self.past.set_running(running)


def group(title: str, rows) -> QGroupBox:
    box = QGroupBox(title)
    form = QFormLayout(box)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    for label, item in rows:
        if label:
            form.addRow(label, item)
        else:
            form.addRow(item)
    return box
