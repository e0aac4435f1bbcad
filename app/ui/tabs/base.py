"""What every generating tab shares: a control column, a worker, messages, settings."""
from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ...core.memory import guard_out_of_memory
from ...core.requests import ModelFacts
from ...core.requests.run import request_events
from ..widgets.controls import ModelPicker, StatsLabel, control_column
from ..workers import WorkerRunner


class MessageBar(QLabel):
    """A non-modal inline notice: 'error' (red) or 'info' (blue); click to dismiss."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Word-wrapped labels are laid out by height-for-width, which ignores style-sheet
        # padding: as margins, the padding counts and the text is not squeezed to one line.
        self.setContentsMargins(8, 6, 8, 6)
        self.hide()

    def show_message(self, text: str, level: str = "error") -> None:
        self.setObjectName(f"message-{level}")
        self.setText(text)
        self.style().unpolish(self)
        self.style().polish(self)
        self.show()

    def mousePressEvent(self, event) -> None:
        self.hide()


class GenerateTab(QWidget):
    """Base class. Subclasses add controls to `self.form`, content to `self.content`."""

    modality = ""
    status_changed = Signal(str)      # a line for the main window's status bar
    save_requested = Signal()         # the tab's Save button: the window asks where
    result_ready = Signal()           # a run made a result (finished or stopped): history

    def __init__(self, models, device_source, parent=None):
        super().__init__(parent)
        self.models = models                  # ModelCache shared by all tabs
        self.device_source = device_source    # callable -> current torch device string
        self.runner = WorkerRunner(self)
        self.runner.stopped.connect(self._on_stopped)
        self.result_params: dict | None = None
        self.status_text = ""                 # this tab's status-bar line

        self.picker = ModelPicker(self.modality)
        self.model_note = QLabel()
        self.model_note.setObjectName("muted")
        self.model_note.setWordWrap(True)
        self.generate_button = QPushButton("Generate")
        self.generate_button.setObjectName("primary")
        self.generate_button.setToolTip("Generate (Ctrl+Return)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop (Esc): keeps what was generated")
        self.stop_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.stats = StatsLabel()
        self.message = MessageBar()

        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.form.addRow("Model", self.picker)
        self.form.addRow("", self.model_note)
        self.buttons = QHBoxLayout()
        self.buttons.addWidget(self.generate_button, 1)
        self.buttons.addWidget(self.stop_button, 1)
        self.more_buttons = QHBoxLayout()      # a second row: Save, and each tab's extras
        self.save_button = QPushButton("Save\u2026")
        self.save_button.setToolTip("Save the result with its parameters (Ctrl+S)")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save_requested)
        self.more_buttons.addWidget(self.save_button, 1)
        self.content = QVBoxLayout()
        self._assemble()

        self.generate_button.clicked.connect(self.generate)
        self.stop_button.clicked.connect(self.stop)
        self.picker.model_changed.connect(self._model_changed)
        # whatsThis: the line Help > Keyboard shortcuts shows for each.
        for keys, slot, what in (("Ctrl+Return", self.generate, "Generate"),
                                 ("Ctrl+Enter", self.generate, "Generate"),
                                 ("Esc", self.stop, "Stop, keeping what was made")):
            QShortcut(QKeySequence(keys), self, slot,
                      context=Qt.ShortcutContext.WidgetWithChildrenShortcut).setWhatsThis(what)

    def _assemble(self) -> None:
        panel = QWidget()
        panel.setObjectName("controls")
        column = QVBoxLayout(panel)
        column.setContentsMargins(14, 14, 14, 14)
        column.setSpacing(10)
        self.column = column            # tabs may put a mode switch above the form
        column.addLayout(self.form)
        column.addLayout(self.buttons)
        column.addLayout(self.more_buttons)
        column.addWidget(self.progress)
        column.addWidget(self.stats)
        # Notices appear under the button that caused them, in the control column: above
        # the canvas they pushed it down whenever one appeared (the canvas jumped).
        column.addWidget(self.message)
        column.addStretch(1)
        scroll = control_column(panel, 330)
        right = QVBoxLayout()
        right.setContentsMargins(0, 10, 10, 10)
        right.addLayout(self.content, 1)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        outer.addLayout(right, 1)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    # --- model ---------------------------------------------------------------------------
    def _model_changed(self, info) -> None:
        self.model_note.setText(info.summary if info else "No model of this kind found.")
        self.generate_button.setEnabled(info is not None and not self.runner.running)
        self.on_model_changed(info)
        if info is not None:
            self.announce(f"{self.modality.capitalize()}: {info.name}")

    def on_model_changed(self, info) -> None:
        """Subclasses update class lists and limits for the chosen model."""

    def open_checkpoint(self, path) -> None:
        from ...core.checkpoint import CheckpointError

        try:
            self.picker.add_file(path)
            self.message.hide()
        except CheckpointError as err:
            self.message.show_message(str(err))

    # --- running -------------------------------------------------------------------------
    def generate(self) -> None:
        if self.runner.running or self.picker.current() is None:
            return
        self.message.hide()
        factory = self.prepare_run()
        if factory is None:
            return
        self._makes_result = self.run_makes_result()
        self._set_running(True)
        self.set_stats("Loading the model\u2026" if not self.models_loaded() else "Starting\u2026")
        # Running out of GPU memory ends the run with advice, and frees the memory for a retry.
        guarded = functools.partial(guard_out_of_memory, factory, self.memory_advice)
        self.runner.start(guarded, self.on_events, self.on_error)

    def run_factory(self, request, paths, through=None, report: bool = False):
        """What the worker runs: plain values only (the request, the models' paths and the
        device, read here in the GUI thread), never a widget. `report`: the sampler hands
        the distribution of every step too (for the explain views)."""
        return functools.partial(request_events, self.models, request,
                                 [str(p) for p in paths], self.device_source(), through,
                                 report)

    def check_request(self, request, model) -> bool:
        """Show every problem of `request` for `model` in the message bar; True if none."""
        problems = request.problems(ModelFacts.of(model))
        if problems:
            self.message.show_message("; ".join(problems))
        return not problems

    # --- messages: each tab (and each mode of a tab) owns its own lines -----------------
    def set_stats(self, text: str) -> None:
        self.stats.setText(text)

    def announce(self, text: str) -> None:
        """A line for the status bar; the window shows it while this tab is visible."""
        self.status_text = text
        self.status_changed.emit(text)

    def models_loaded(self) -> bool:
        info = self.picker.current()
        return info is not None and self.models.has(info.path, self.device_source())

    def stop(self) -> None:
        self.runner.stop()

    def on_error(self, text: str) -> None:
        self.message.show_message(text)

    def _on_stopped(self, how: str) -> None:
        self._set_running(False)
        self.on_run_ended(how)
        # What a stopped run made is kept too, as Stop promises ("keeps what was generated").
        if how != "error" and getattr(self, "_makes_result", False) and self.has_result():
            self.result_ready.emit()
        self._makes_result = False

    def _set_running(self, running: bool) -> None:
        self.generate_button.setEnabled(not running and self.picker.current() is not None)
        self.stop_button.setEnabled(running)
        self.picker.setEnabled(not running)
        self.save_button.setEnabled(not running and self.has_result())

    def refresh_actions(self) -> None:
        """Re-evaluate which buttons apply (after opening or clearing a result)."""
        self._set_running(self.runner.running)

    def shutdown(self) -> None:
        """Join every run of this tab (its own, and helpers' such as Drift's)."""
        for runner in self.findChildren(WorkerRunner):
            runner.shutdown()

    # --- for subclasses ------------------------------------------------------------------
    memory_advice = "make less at once, choose a smaller model, or use the CPU"

    def prepare_run(self):
        """Read the controls (GUI thread) and return a factory for the worker, or None."""
        raise NotImplementedError

    def on_events(self, events: list) -> None:
        raise NotImplementedError

    def on_run_ended(self, how: str) -> None:
        pass

    def run_makes_result(self) -> bool:
        """Whether the run just prepared makes a result (for the history), or only looks
        at one (scoring an opened file, the views' measurements)."""
        return True

    # save / open / settings: overridden where the tab has a result
    save_filter = ""

    def default_save_name(self) -> str:
        return ""

    def has_result(self) -> bool:
        return False

    def save_result(self, path: str) -> None:
        raise NotImplementedError

    def open_result(self, path: str) -> None:
        raise NotImplementedError

    def save_settings(self, settings) -> None:
        info = self.picker.current()
        if info is not None:
            settings.setValue(f"{self.modality}/model", str(info.path))

    def restore_settings(self, settings) -> None:
        path = settings.value(f"{self.modality}/model")
        if path and not self.picker.select_path(path) and Path(path).is_file():
            self.open_checkpoint(path)
