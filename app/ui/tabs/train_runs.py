"""The Train tab's list of past runs: every run folder, the one under way kept up to date."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from ...core.training.runs import RunSummary, list_runs


def run_text(run: RunSummary) -> str:
    best = f", best {run.best:.3f} {run.unit}" if run.best else ""
    return f"{run.name} \u2014 {run.status} at {run.step}/{run.steps}{best}"


class PastRunsWidget(QWidget):
    chosen = Signal(object)          # the RunSummary the user selected

    def __init__(self, parent=None):
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setMaximumHeight(140)
        # A long line wraps within the column rather than scrolling sideways.
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.resume_button = QPushButton("Resume run")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addWidget(self.resume_button)
        self._running = False
        self.list.currentItemChanged.connect(self._selected)

    def refresh(self) -> None:
        """Read the run folders again; the selected run stays selected."""
        keep = self.current()
        self.list.blockSignals(True)
        self.list.clear()
        for run in list_runs():
            item = QListWidgetItem(run_text(run))
            item.setToolTip(f"{run.path}\nstarted {run.started}")
            item.setData(Qt.ItemDataRole.UserRole, run)
            self.list.addItem(item)
            if keep is not None and run.path == keep.path:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self._fit_button()

    def current(self) -> RunSummary | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def live_run(self, name: str) -> Path | None:
        """The folder of the newest run called `name` that is under way."""
        for i in range(self.list.count()):
            run = self.list.item(i).data(Qt.ItemDataRole.UserRole)
            if run.name == name and run.status == "running":
                return run.path
        return None

    def show_live(self, path: Path | None, text: str) -> None:
        """Show the run under way at `path` as it is now."""
        for i in range(self.list.count()):
            item = self.list.item(i)
            if path is not None and item.data(Qt.ItemDataRole.UserRole).path == path:
                item.setText(text)

    def set_running(self, running: bool) -> None:
        self._running = running
        self._fit_button()

    def _fit_button(self) -> None:
        run = self.current()
        self.resume_button.setEnabled(not self._running and run is not None and run.resumable)

    def _selected(self, item, _previous=None) -> None:
        self._fit_button()
        if item is not None and not self._running:
            self.chosen.emit(item.data(Qt.ItemDataRole.UserRole))
