"""File > Manage models: every bundled and own model with its card (kind, size, data,
held-out figure, where it came from); open one in its tab, show it in its folder, and
rename, delete or import the user's own (app/core/model_manager.py does the work)."""
from __future__ import annotations

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import failure_reason
from ..core.model_manager import (
    ModelEntry,
    ModelManagerError,
    card_rows,
    delete_model,
    import_model,
    model_entries,
    rename_model,
)
from ..core.registry import KINDS


class ModelManager(QDialog):
    """`models_changed()`: the window lists the models again in every tab;
    `open_requested(path)`: the window opens a model in its tab."""

    models_changed = Signal()
    open_requested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.list = QListWidget()
        self.list.setMinimumWidth(210)
        self.list.setSpacing(3)
        self.list.currentItemChanged.connect(lambda *_: self._show_card())
        self.list.itemActivated.connect(lambda _item: self.open_selected())
        self.card = QWidget()
        self.card_form = QFormLayout(self.card)
        self.card_form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        scroll = QScrollArea()
        scroll.setWidget(self.card)
        scroll.setWidgetResizable(True)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("muted")
        body = QHBoxLayout()
        body.addWidget(self.list, 2)
        body.addWidget(scroll, 5)
        self.open_button = QPushButton("Open in its tab")
        self.open_button.setObjectName("primary")
        self.reveal_button = QPushButton("Show in folder")
        self.rename_button = QPushButton("Rename\u2026")
        self.delete_button = QPushButton("Delete\u2026")
        self.import_button = QPushButton("Import\u2026")
        self.import_button.setToolTip("Copy a chainrule checkpoint (.safetensors) into your "
                                      "models folder")
        for button, slot in ((self.open_button, self.open_selected),
                             (self.reveal_button, self.reveal),
                             (self.rename_button, self.rename_selected),
                             (self.delete_button, self.delete_selected),
                             (self.import_button, self.import_dialog)):
            button.clicked.connect(slot)
        row = QHBoxLayout()
        for button in (self.open_button, self.reveal_button, self.rename_button,
                       self.delete_button):
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(self.import_button)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.message)
        layout.addLayout(row)
        self.resize(900, 560)
        self.refresh()

    # --- the list and the card ----------------------------------------------------------------
    def refresh(self, select: str | None = None) -> None:
        keep = select or (self.current().name if self.current() else None)
        self.list.clear()
        for entry in model_entries():
            title = "unusable" if entry.meta is None else \
                (KINDS[entry.meta["kind"]].title if entry.meta["kind"] in KINDS
                 else entry.meta["kind"])
            name = entry.name if entry.origin == "bundled" else f"{entry.name} (yours)"
            item = QListWidgetItem(f"{name}\n{title}")
            item.setData(Qt.ItemDataRole.UserRole, entry)
            self.list.addItem(item)
            if entry.name == keep:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        self._show_card()

    def current(self) -> ModelEntry | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _show_card(self) -> None:
        while self.card_form.rowCount():
            self.card_form.removeRow(0)
        entry = self.current()
        if entry is None:
            self.card_form.addRow(QLabel("No models yet: train one in the Train tab, or "
                                         "Import a checkpoint."))
        else:
            for label, value in card_rows(entry):
                text = QLabel(value)
                text.setWordWrap(True)
                text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                self.card_form.addRow(f"<b>{label}</b>", text)
        own = entry is not None and entry.own
        why = "" if own else "Bundled models ship with chainrule and are kept as they are"
        for button in (self.rename_button, self.delete_button):
            button.setEnabled(own)
            button.setToolTip(why)
        self.open_button.setEnabled(entry is not None and entry.meta is not None)
        self.reveal_button.setEnabled(entry is not None)

    # --- actions --------------------------------------------------------------------------------
    def open_selected(self) -> None:
        entry = self.current()
        if entry is not None and entry.meta is not None:
            self.open_requested.emit(str(entry.path))
            self.accept()

    def reveal(self) -> None:
        entry = self.current()
        if entry is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(entry.path.parent)))

    def rename_selected(self, new_name: str | None = None) -> None:
        entry = self.current()
        if entry is None:
            return
        if new_name is None:
            new_name, ok = QInputDialog.getText(self, "Rename model", "New name:",
                                                text=entry.name)
            if not ok:
                return
        path = self._change("Not renamed", lambda: rename_model(entry, new_name))
        if path is not None:
            self._changed(f"Renamed {entry.name} to {path.stem}.", path.stem)

    def delete_selected(self, confirmed: bool = False) -> None:
        entry = self.current()
        if entry is None:
            return
        if not confirmed and QMessageBox.question(
                self, "Delete model",
                f"Delete {entry.name} ({entry.path})? This cannot be undone.") \
                != QMessageBox.StandardButton.Yes:
            return
        if self._change("Not deleted", lambda: delete_model(entry)) is not None:
            self._changed(f"Deleted {entry.name}.")

    def import_dialog(self, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Import a checkpoint", "",
                                                  "chainrule checkpoints (*.safetensors);;"
                                                  "All files (*)")
            if not path:
                return
        target = self._change("Not imported", lambda: import_model(path))
        if target is not None:
            self._changed(f"Imported as {target.stem}.", target.stem)

    def _change(self, failed: str, action):
        """Run a rename, delete or import; its result, or None with the reason shown."""
        try:
            return action()
        except (ModelManagerError, OSError) as err:
            self.message.setText(f"{failed}: {failure_reason(err)}")
            return None

    def _changed(self, said: str, select: str | None = None) -> None:
        self.message.setText(said)
        self.refresh(select=select)
        self.models_changed.emit()
