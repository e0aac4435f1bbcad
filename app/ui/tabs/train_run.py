"""The Train tab's running side: train, pause, stop, previews, past runs, resume."""
from __future__ import annotations

import contextlib
import dataclasses
import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidgetItem

from ...core.memory import guard_out_of_memory
from ...core.registry import kind_spec
from ...core.training.previews import TrainPreview
from ...core.training.runs import History, list_runs
from ..widgets.controls import format_eta


def training_events(job, preview_every: int, threads: int):
    """Runs in the worker thread: metrics, previews every N steps, then the final report."""
    import torch

    from ...core.training.previews import make_preview
    from ...core.training.runner import run_job

    torch.set_num_threads(threads)
    modality = job.data.codec.modality
    prompt = "\n"
    # Closed explicitly when Stop closes this generator: a stopped run saves its state then,
    # and a failure to save must reach the worker (an error in a generator that is merely
    # garbage-collected is lost).
    try:
        with contextlib.closing(run_job(job)) as events:
            for event in events:
                yield event
                step = getattr(event, "step", None)
                if step is not None and (step % preview_every == 0 or
                                         step == job.settings.steps):
                    yield make_preview(job.net, job.data.codec, modality, step, seed=step,
                                       prompt=prompt)
    except Exception:
        # The tab keeps the job for a retry; a failed run's net (perhaps filling the GPU)
        # must not stay with it.
        job.net = None
        raise


class TrainRunMixin:
    """Methods of TrainTab that drive a training run and show its progress."""

    def train(self) -> None:
        if self.runner.running or self.job is None:
            return
        job = self.job
        job.settings = dataclasses.replace(
            job.settings, steps=self.steps.value(), batch_size=self.batch.value(),
            lr=self.lr.value(), checkpoint_every=self.checkpoint.value(),
            eval_every=min(self.checkpoint.value(), self.steps.value()),
            mixed_precision=self.mixed.isChecked())
        name = self.name.text().strip() or job.name
        if name != job.name:
            from ...core.paths import user_models_dir

            job.name, job.out_path = name, str(user_models_dir() / f"{name}.safetensors")
        job.device, job.score_final = self.device.currentData() or "cpu", True
        self._launch(job, rows=[])

    def _launch(self, job, rows: list) -> None:
        self.job, self.mode, self._paused = job, "train", False
        self._unit = kind_spec(job.config.kind).unit
        self.plot.set_rows(rows, self._unit)
        self.progress.setRange(0, job.settings.steps)
        self.progress.setValue(rows[-1]["step"] if rows else 0)
        self.progress.setFormat("%v / %m steps")
        self.stats.setText("Starting\u2026")
        self.message.hide()
        self._set_state(running=True)
        every, threads = self.preview_every.value(), max(1, os.cpu_count() or 1)
        advice = (f"lower the Batch size (now {job.settings.batch_size}), choose a smaller "
                  "model size, or train on the CPU")
        self.runner.start(lambda: guard_out_of_memory(training_events(job, every, threads),
                                                      advice), self._trained, self._failed)
        self.status_changed.emit(f"Training {job.name}")

    def _trained(self, events: list) -> None:
        from ...core.training.runner import FinalReport

        rows = []
        for event in events:
            if isinstance(event, TrainPreview):
                self.preview.show_preview(event)
            elif isinstance(event, FinalReport):
                self._finished_report = event
            else:
                rows.append({"step": event.step, "loss": event.loss_bits,
                             "heldout": event.heldout_bits})
                last = event
        if rows:
            self.plot.add_rows(rows)
            self.progress.setValue(last.step)
            held = f" \u00b7 held-out {last.best_bits:.3f}" if last.best_bits else ""
            self.stats.setText(f"loss {last.loss_bits:.3f} {self._unit}{held} \u00b7 "
                               f"{last.steps_per_s:.2f} steps/s \u00b7 "
                               f"ETA {format_eta(last.eta_s)}")

    def toggle_pause(self) -> None:
        if not self.runner.running or self.mode != "train":
            return
        self._paused = not self._paused
        self.runner.pause(self._paused)
        self.pause_button.setText("Resume" if self._paused else "Pause")
        self.status_changed.emit("Training paused" if self._paused else "Training")

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
        report = getattr(self, "_finished_report", None)
        self._finished_report = None
        if how == "finished" and report is not None:
            self.stats.setText(f"Done: held-out {report.heldout_bits:.4f} {report.unit}; "
                               f"saved as {Path(report.path).stem}")
            self.model_ready.emit(report.path)
        elif how == "cancelled":
            self.stats.setText("Stopped: the best model so far is saved; the run can be "
                               "resumed")
            if Path(self.job.out_path).exists():
                self.model_ready.emit(self.job.out_path)
        elif how == "error":
            self.stats.setText("Training stopped by an error (see the message); what was "
                               "saved before is intact")
        self.refresh_runs()

    def _set_state(self, running: bool = False) -> None:
        training = running and self.mode == "train"
        self.train_button.setEnabled(not running and self.job is not None)
        self.pause_button.setEnabled(training)
        self.pause_button.setText("Pause")
        self.stop_button.setEnabled(training)
        for widget in (self.start, self.size, self.open_button, self.data_path,
                       self.folder_button, self.files_button, self.resume_button):
            widget.setEnabled(not running)
        if not running:
            self.size.setEnabled(self.size.count() > 1)
            item = self.runs.currentItem()
            self.resume_button.setEnabled(bool(item and item.data(Qt.ItemDataRole.UserRole)
                                               .resumable))

    # --- past runs ----------------------------------------------------------------------
    def refresh_runs(self) -> None:
        self.runs.clear()
        for run in list_runs():
            best = f", best {run.best:.3f} {run.unit}" if run.best else ""
            item = QListWidgetItem(f"{run.name} \u2014 {run.status} at {run.step}/{run.steps}"
                                   f"{best}")
            item.setToolTip(f"{run.path}\nstarted {run.started}")
            item.setData(Qt.ItemDataRole.UserRole, run)
            self.runs.addItem(item)
        self._set_state(self.runner.running)

    def _run_selected(self, item, _previous=None) -> None:
        if item is None or self.runner.running:
            return
        run = item.data(Qt.ItemDataRole.UserRole)
        self.plot.set_rows(History(run.path).read(), run.unit)
        self.resume_button.setEnabled(run.resumable)

    def resume_selected(self) -> None:
        item = self.runs.currentItem()
        if item is None or self.runner.running:
            return
        run = item.data(Qt.ItemDataRole.UserRole)
        device = self.device.currentData() or "cpu"
        self.stats.setText("Reading the run's data\u2026")
        rows = History(run.path).resumable_rows()
        self.mode = "prepare-resume"

        def factory():
            from ...core.training.jobs import job_from_run

            yield job_from_run(run.path, device)

        self._set_state(running=True)
        self._resume_rows = rows
        self.runner.start(factory, self._resume_prepared, self._failed)

    def _resume_prepared(self, events: list) -> None:
        self._pending_resume = events[-1]

    def shutdown(self) -> None:
        self.runner.shutdown()
