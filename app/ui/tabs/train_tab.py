"""Train tab: fine-tune or train a model on your own files and watch it learn."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core.codecs import CharCodec, ImageCodec, MuLawCodec
from ...core.paths import list_models
from ...core.registry import KINDS
from ...core.training.sizes import SIZES, count_parameters, fresh_config
from ..widgets.controls import StatsLabel, control_column, model_info, number_box
from ..widgets.loss_plot import LossPlotWidget
from ..widgets.train_preview import TrainPreviewWidget
from ..workers import WorkerRunner
from .base import MessageBar
from .train_data import data_summary_text, example_images
from .train_run import TrainRunMixin

# A typical codec per kind, only to show parameter counts before the data is known.
TYPICAL_CODECS = {"pixelcnn": ImageCodec(28, 28, 1, 256), "pixelrnn": ImageCodec(28, 28, 1, 256),
                  "anyorder": ImageCodec(28, 28, 1, 256), "subscale": ImageCodec(28, 28, 1, 256),
                  "wavenet": MuLawCodec(8000),
                  "charlm-lstm": CharCodec("".join(chr(i) for i in range(32, 127))),
                  "charlm-gpt": CharCodec("".join(chr(i) for i in range(32, 127)))}


class TrainTab(TrainRunMixin, QWidget):
    model_ready = Signal(str)          # path of a newly trained model
    status_changed = Signal(str)

    def __init__(self, models, device_source, parent=None):
        super().__init__(parent)
        self.models, self.device_source = models, device_source
        self.setAcceptDrops(True)
        self.runner = WorkerRunner(self)
        self.runner.stopped.connect(self._run_ended)
        self.job = None                # the prepared TrainJob (data read, not yet trained)
        self.mode = ""                 # "prepare" or "train" while a run is going
        self._prepare_again = False
        self._paused = False
        self._build()
        self.refresh_starts()
        self.refresh_runs()

    # --- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        self.start = QComboBox()
        self.start.setToolTip("Fine-tune a model you have, or start a new one")
        self.size = QComboBox()
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
        self.device = QComboBox()
        self.device.addItem("CPU", "cpu")
        self.mixed = QCheckBox("Mixed precision (CUDA)")
        self.mixed.setEnabled(False)
        self.name = QLineEdit()
        self.name.setPlaceholderText("name of the new model")
        self.epochs = QLabel()
        self.epochs.setObjectName("muted")
        for combo in (self.start, self.size, self.device):
            # Long entries must not widen the column: they elide and show in full when open.
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("primary")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.progress = QProgressBar()
        self.stats = StatsLabel()
        self.runs = QListWidget()
        self.runs.setMaximumHeight(140)
        self.resume_button = QPushButton("Resume run")
        self.message = MessageBar()
        self.plot = LossPlotWidget()
        self.preview = TrainPreviewWidget()

        start_box = self._group("Start from", [("Model", self.start), ("Size", self.size),
                                               ("", self.open_button)])
        data_row = QHBoxLayout()
        data_row.addWidget(self.folder_button)
        data_row.addWidget(self.files_button)
        data_box = self._group("Data", [("", self.data_path), ("", data_row), ("", self.summary),
                                        ("", self.data_preview)])
        settings_box = self._group("Settings", [
            ("Steps", self.steps), ("", self.epochs), ("Batch size", self.batch),
            ("Learning rate", self.lr),
            ("Checkpoint every", self.checkpoint), ("Samples every", self.preview_every),
            ("Device", self.device), ("", self.mixed), ("Name", self.name)])
        buttons = QHBoxLayout()
        for b in (self.train_button, self.pause_button, self.stop_button):
            buttons.addWidget(b, 1)
        runs_box = self._group("Past runs", [("", self.runs), ("", self.resume_button)])
        panel = QWidget()
        panel.setObjectName("controls")
        column = QVBoxLayout(panel)
        column.setContentsMargins(14, 14, 14, 14)
        for widget in (start_box, data_box, settings_box):
            column.addWidget(widget)
        column.addLayout(buttons)
        column.addWidget(self.progress)
        column.addWidget(self.stats)
        column.addWidget(runs_box)
        column.addStretch(1)
        scroll = control_column(panel, 350)
        right = QVBoxLayout()
        right.setContentsMargins(0, 10, 10, 10)
        right.addWidget(self.message)
        right.addWidget(self.plot, 3)
        right.addWidget(self.preview, 2)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        outer.addLayout(right, 1)

        self.start.currentIndexChanged.connect(self._start_changed)
        self.size.currentIndexChanged.connect(lambda _: self.prepare())
        self.open_button.clicked.connect(self._open_checkpoint)
        self.folder_button.clicked.connect(self._choose_folder)
        self.files_button.clicked.connect(self._choose_files)
        self.data_path.editingFinished.connect(self.prepare)
        self.device.currentIndexChanged.connect(self._device_changed)
        self.train_button.clicked.connect(self.train)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(self.resume_selected)
        self.steps.valueChanged.connect(self._show_epochs)
        self.batch.valueChanged.connect(self._show_epochs)
        self.runs.currentItemChanged.connect(self._run_selected)
        self._set_state()

    @staticmethod
    def _group(title: str, rows) -> QGroupBox:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for label, item in rows:
            if isinstance(item, QHBoxLayout):
                form.addRow(label, item) if label else form.addRow(item)
            elif label:
                form.addRow(label, item)
            else:
                form.addRow(item)
        return box

    # --- start point --------------------------------------------------------------------
    def refresh_starts(self, select_path: str | None = None) -> None:
        keep = select_path or self.start.currentData()
        self.start.blockSignals(True)
        self.start.clear()
        for kind, spec in KINDS.items():
            self.start.addItem(f"New {spec.title} ({spec.modality})", ("new", kind))
        for name, path, origin in list_models():
            try:
                info = model_info(path)
            except Exception:       # a damaged file simply is not offered
                continue
            label = f"Fine-tune {name}" + (" (yours)" if origin == "user" else "")
            self.start.addItem(label, ("tune", str(path), info.kind))
        index = self.start.findData(keep) if keep is not None else -1
        if index < 0 and isinstance(keep, str):
            index = next((i for i in range(self.start.count())
                          if self.start.itemData(i)[0] == "tune"
                          and self.start.itemData(i)[1] == keep), -1)
        self.start.setCurrentIndex(max(index, 0))
        self.start.blockSignals(False)
        self._start_changed()

    def _start_changed(self, *_) -> None:
        choice = self.start.currentData()
        kind = choice[1] if choice and choice[0] == "new" else (choice[2] if choice else None)
        self.size.blockSignals(True)
        self.size.clear()
        if choice and choice[0] == "new":
            for size in SIZES:
                params = count_parameters(fresh_config(kind, size, TYPICAL_CODECS[kind]))
                self.size.addItem(f"{size} ({params / 1e6:.2f}M parameters)", size)
        else:
            self.size.addItem("as the model is", None)
        self.size.setEnabled(self.size.count() > 1)
        self.size.blockSignals(False)
        defaults = {"pixelcnn": (16, 1e-3), "pixelrnn": (16, 1e-3), "subscale": (8, 1e-3),
                    "wavenet": (4, 2e-3),
                    "charlm-lstm": (32, 2e-3), "charlm-gpt": (32, 1e-3)}.get(kind, (16, 1e-3))
        self.batch.setValue(defaults[0])
        self.lr.setValue(defaults[1] if choice and choice[0] == "new" else defaults[1] / 3)
        self.prepare()

    def _open_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model to fine-tune", "",
                                              "Checkpoints (*.safetensors)")
        if path:
            self.open_checkpoint(path)

    def open_checkpoint(self, path: str) -> None:
        try:
            info = model_info(path)
        except Exception as err:
            self.message.show_message(str(err))
            return
        self.start.addItem(f"Fine-tune {info.name} ({Path(path).name})", ("tune", path, info.kind))
        self.start.setCurrentIndex(self.start.count() - 1)

    # --- data ---------------------------------------------------------------------------
    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder of training data")
        if path:
            self.set_data(path)

    def _choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Training files")
        if paths:
            self.set_data(paths[0] if len(paths) == 1 else os.path.commonpath(paths))

    def set_data(self, path: str) -> None:
        self.data_path.setText(path)
        self.prepare()

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if len(paths) == 1 and paths[0].endswith(".safetensors"):
            self.open_checkpoint(paths[0])
        elif paths:
            self.set_data(paths[0] if len(paths) == 1 else os.path.commonpath(paths))

    def _kind_and_start(self):
        choice = self.start.currentData()
        if choice is None:
            return None, None
        return (choice[1], None) if choice[0] == "new" else (choice[2], choice[1])

    def prepare(self) -> None:
        """Read the data in the background; the summary appears when it is done."""
        path = self.data_path.text().strip()
        if not path:
            return
        if self.runner.running:
            if self.mode == "prepare":      # the choice changed while reading: read again
                self._prepare_again = True
                self.runner.stop()
            return
        kind, start = self._kind_and_start()
        size = self.size.currentData() or "small"
        device = self.device.currentData() or "cpu"
        self.job, self.mode = None, "prepare"
        self.summary.setText("Reading the data\u2026")
        self.message.hide()

        def factory():
            from ...core.training.jobs import job_for_folder

            yield job_for_folder(kind, Path(path), size, start, device)

        self._set_state(running=True)
        self.runner.start(factory, self._prepared, self._failed)

    def _prepared(self, events: list) -> None:
        self.job = events[-1]
        self.summary.setText(data_summary_text(self.job))
        self.data_preview.setVisible(self.job.data.codec.modality == "image")
        if self.job.data.codec.modality == "image":
            self.data_preview.canvas.set_images(example_images(self.job, 8))
            self.data_preview.title.setText("As the model will see them:")
        if not self.name.text():
            self.name.setText(self.job.name)
        self._show_epochs()

    def _show_epochs(self, *_) -> None:
        """Steps as passes over the data: what "epochs" would say."""
        if self.job is None:
            self.epochs.setText("")
            return
        data = self.job.data.train
        # Images count one by one; sequences (audio, text) in training windows.
        items = max(1, len(data) // data.window) if hasattr(data, "window") else len(data)
        epochs = self.steps.value() * self.batch.value() / max(items, 1)
        self.epochs.setText(f"\u2248 {epochs:,.1f} passes over your data")

    def _failed(self, text: str) -> None:
        self.message.show_message(text)
        if self.mode == "prepare":
            self.summary.setText("This data cannot be used; see the message.")

    def _device_changed(self, *_) -> None:
        self.mixed.setEnabled(str(self.device.currentData()).startswith("cuda"))
        if not self.mixed.isEnabled():
            self.mixed.setChecked(False)

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        self.device.blockSignals(True)
        self.device.clear()
        for label, device in devices:
            self.device.addItem(label, device)
        self.device.blockSignals(False)
        self._device_changed()
