"""Train tab: fine-tune or train a model on your own files and watch it learn.

What the tab shows about a run lives in a TrainSession (app/core/training/session.py),
which folds the worker's events; the widgets only render it. The worker runs functions of
that module with plain values read here, in the GUI thread: it never sees a widget.
"""
from __future__ import annotations

import os
from functools import partial

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QVBoxLayout, QWidget

from ...core.training.runs import History
from ...core.training.session import (
    TrainSession,
    job_for_run,
    prepare_events,
    resume_events,
    run_training,
)
from ..widgets.controls import control_column
from ..widgets.loss_plot import LossPlotWidget
from ..widgets.train_preview import TrainPreviewWidget
from ..workers import WorkerRunner
from .base import MessageBar
from .train_data import data_summary_text, example_images
from .train_form import TrainFormWidget

# The form's widgets, also reachable as the tab's own attributes (tab.steps, tab.start...).
FORM_WIDGETS = ("start", "size", "open_button", "data_path", "folder_button", "files_button",
                "summary", "data_preview", "steps", "batch", "checkpoint", "preview_every",
                "lr", "device", "mixed", "name", "epochs", "train_button", "pause_button",
                "stop_button", "progress", "stats")


def training_threads() -> int:
    """CPU threads a run trains with: every core (generating runs set torch to one)."""
    return max(1, os.cpu_count() or 1)


class TrainTab(QWidget):
    model_ready = Signal(str)          # path of a newly trained model
    status_changed = Signal(str)

    def __init__(self, models, device_source, parent=None):
        super().__init__(parent)
        self.models, self.device_source = models, device_source
        self.setAcceptDrops(True)
        self.runner = WorkerRunner(self)
        self.runner.stopped.connect(self._run_ended)
        self.job = None                # the prepared TrainJob (data read); a run trains a copy
        self.session: TrainSession | None = None     # the run under way, or the last one
        self.mode = ""                 # "prepare", "prepare-resume" or "train" while running
        self._prepare_again = False
        self._pending_resume, self._resume_rows = None, []
        self._live_run, self._looked_for_run = None, False
        self._build()
        self.refresh_starts()
        self.refresh_runs()

    def _build(self) -> None:
        self.form = TrainFormWidget()
        for name in FORM_WIDGETS:
            setattr(self, name, getattr(self.form, name))
        self.runs, self.resume_button = self.form.past.list, self.form.past.resume_button
        self.message = MessageBar()
        self.plot = LossPlotWidget()
        self.preview = TrainPreviewWidget()
        right = QVBoxLayout()
        right.setContentsMargins(0, 10, 10, 10)
        right.addWidget(self.message)
        right.addWidget(self.plot, 3)
        right.addWidget(self.preview, 2)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        left = QVBoxLayout()
        left.setSpacing(0)
        left.addWidget(control_column(self.form, 350), 1)
        left.addWidget(self.form.footer)
        self.form.footer.setFixedWidth(350)
        outer.addLayout(left)
        outer.addLayout(right, 1)

        form = self.form
        form.choice_changed.connect(self.prepare)
        form.open_button.clicked.connect(self._open_checkpoint)
        form.folder_button.clicked.connect(self._choose_folder)
        form.files_button.clicked.connect(self._choose_files)
        form.data_path.editingFinished.connect(self.prepare)
        form.train_button.clicked.connect(self.train)
        form.pause_button.clicked.connect(self.toggle_pause)
        form.stop_button.clicked.connect(self.stop)
        form.past.resume_button.clicked.connect(self.resume_selected)
        form.past.chosen.connect(lambda run: self.plot.set_rows(History(run.path).read(),
                                                                run.unit))
        form.steps.valueChanged.connect(lambda _: form.show_epochs(self.job))
        form.batch.valueChanged.connect(lambda _: form.show_epochs(self.job))
        self._set_state()

    # --- start point and data -----------------------------------------------------------
    def refresh_starts(self) -> None:
        """List the models again (a new one may have come); what is chosen stays chosen."""
        self.form.refresh_starts()

    def _open_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model to fine-tune", "",
                                              "Checkpoints (*.safetensors)")
        if path:
            self.open_checkpoint(path)

    def open_checkpoint(self, path: str) -> None:
        try:
            self.form.add_start(path)
        except Exception as err:
            self.message.show_message(str(err))

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

    def prepare(self) -> None:
        """Read the data in the background; the summary appears when it is done."""
        choice = self.form.choice()
        if not choice.data or choice.kind is None:
            return
        if self.runner.running:
            if self.mode == "prepare":      # the choice changed while reading: read again
                self._prepare_again = True
                self.runner.stop()
            return
        self.job, self.mode = None, "prepare"
        self.summary.setText("Reading the data\u2026")
        self.message.hide()
        self._set_state(running=True)
        self.runner.start(partial(prepare_events, choice.kind, choice.data, choice.size,
                                  choice.start, choice.device, choice.image),
                          self._prepared, self._failed)

    def _prepared(self, events: list) -> None:
        self.job = events[-1]
        modality = self.job.data.codec.modality
        self.summary.setText(data_summary_text(self.job))
        self.data_preview.setVisible(modality == "image")
        if modality == "image":
            self.data_preview.canvas.set_images(example_images(self.job, 8))
            self.data_preview.title.setText("As the model will see them:")
        if not self.name.text():
            self.name.setText(self.job.name)
        self.form.show_epochs(self.job)

    def _failed(self, text: str) -> None:
        self.message.show_message(text)
        if self.mode == "prepare":
            self.summary.setText("This data cannot be used; see the message.")
        elif self.mode == "train":
            self.session.error = text

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        self.form.set_devices(devices)

    # --- a run --------------------------------------------------------------------------
    def train(self) -> None:
        if self.runner.running or self.job is None:
            return
        choice = self.form.choice()
        self._launch(job_for_run(self.job, steps=choice.steps, batch_size=choice.batch,
                                 lr=choice.lr, checkpoint_every=choice.checkpoint,
                                 mixed_precision=choice.mixed, name=choice.name,
                                 device=choice.device), rows=[])

    def _launch(self, job, rows: list) -> None:
        self.mode = "train"
        session = self.session = TrainSession.for_job(job, rows)
        self._live_run, self._looked_for_run = job.run_dir, job.run_dir is not None
        self.plot.set_rows(rows, session.unit)
        self.progress.setRange(0, session.steps)
        self.progress.setValue(session.step)
        self.progress.setFormat("%v / %m steps")
        self._show_session()
        self.message.hide()
        self._set_state(running=True)
        advice = (f"lower the Batch size (now {job.settings.batch_size}), choose a smaller "
                  "model size, or train on the CPU")
        self.runner.start(partial(run_training, job, self.preview_every.value(),
                                  training_threads(), advice),
                          self._trained, self._failed)
        self.status_changed.emit(f"Training {job.name}")

    def _trained(self, events: list) -> None:
        session = self.session
        rows = session.apply(events)
        if rows:
            self.plot.add_rows(rows)
            if not self._looked_for_run:        # its folder exists now: list it at once
                self._looked_for_run = True
                self.refresh_runs()
                self._live_run = self.form.past.live_run(session.name)
        if session.preview is not None and session.preview is not self.preview.preview:
            self.preview.show_preview(session.preview)
        self._show_session()

    def _show_session(self) -> None:
        session = self.session
        self.progress.setValue(session.step)
        self.stats.setText(session.line())
        if session.running:
            self.form.past.show_live(self._live_run, session.run_line())

    def toggle_pause(self) -> None:
        if not self.runner.running or self.mode != "train":
            return
        paused = not self.session.paused
        (self.session.pause if paused else self.session.resume)()
        self.runner.pause(paused)
        self.pause_button.setText("Resume" if paused else "Pause")
        self._show_session()
        self.status_changed.emit("Training paused" if paused else "Training")

    def stop(self) -> None:
        self.runner.stop()

    def _run_ended(self, how: str) -> None:
        mode, self.mode = self.mode, ""
        self._set_state()
        if mode == "prepare" and self._prepare_again:
            self._prepare_again = False
            self.prepare()
            return
        if mode == "prepare-resume" and how == "finished":
            self._launch(self._pending_resume, self._resume_rows)
            return
        if mode != "train":
            return
        session = self.session
        session.finish(how)
        self._show_session()
        self.refresh_runs()
        if session.state == "finished":
            self.model_ready.emit(session.report.path)
        elif session.state == "stopped" and os.path.exists(session.out):
            self.model_ready.emit(session.out)

    def _set_state(self, running: bool = False) -> None:
        self.form.set_running(running, running and self.mode == "train", self.job is not None)
        if not running:
            self.pause_button.setText("Pause")

    # --- past runs ----------------------------------------------------------------------
    def refresh_runs(self) -> None:
        self.form.past.refresh()
        self._set_state(self.runner.running)

    def resume_selected(self) -> None:
        run = self.form.past.current()
        if run is None or self.runner.running:
            return
        device = self.form.choice().device
        self.stats.setText("Reading the run's data\u2026")
        self._resume_rows = History(run.path).resumable_rows()
        self.mode = "prepare-resume"
        self._set_state(running=True)
        self.runner.start(partial(resume_events, run.path, device), self._resume_prepared,
                          self._failed)

    def _resume_prepared(self, events: list) -> None:
        self._pending_resume = events[-1]

    def shutdown(self) -> None:
        self.runner.shutdown()
