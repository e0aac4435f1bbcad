"""Help > Parameters of a file: drop (or open) any PNG, WAV or text file chainrule saved and
read the parameters it carries, then send it to its tab to see it and draw it again."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

PREVIEW = 96


class ParamsViewer(QDialog):
    """`send_requested(path)`: the window opens the file in its tab."""

    send_requested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Parameters of a file")
        self.setAcceptDrops(True)
        self.path: str | None = None
        self.params: dict = {}
        self.drop_note = QLabel("Drop a PNG, WAV or text file chainrule saved here, or "
                                "choose one.")
        self.drop_note.setObjectName("muted")
        self.drop_note.setWordWrap(True)
        self.preview = QLabel()
        self.preview.setFixedSize(PREVIEW, PREVIEW)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.file_label = QLabel()
        self.file_label.setWordWrap(True)
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top = QHBoxLayout()
        top.addWidget(self.preview)
        top.addWidget(self.file_label, 1)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Parameter", "Value"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.choose_button = QPushButton("Choose a file\u2026")
        self.choose_button.clicked.connect(self.choose)
        self.send_button = QPushButton("Send to its tab")
        self.send_button.setObjectName("primary")
        self.send_button.setToolTip("Show it in its tab with these parameters, ready to draw "
                                    "again")
        self.send_button.setEnabled(False)
        self.send_button.clicked.connect(self._send)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.choose_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.send_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.drop_note)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(560, 520)

    def choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "A file chainrule saved", str(Path.home()),
            "chainrule results (*.png *.wav *.txt);;All files (*)")
        if path:
            self.show_file(path)

    def show_file(self, path: str) -> None:
        """Read the file's parameters; a file without them, or an unreadable one, is said
        in the dialog and nothing else changes."""
        from ..core.errors import visible
        from ..core.history import RESULT_SUFFIXES, read_params

        self.path, self.params = None, {}
        self.table.setRowCount(0)
        self.preview.clear()
        name = visible(Path(path).name)
        if Path(path).suffix.lower() not in RESULT_SUFFIXES.values():
            self.file_label.setText(f"<b>{name}</b>: not a PNG, WAV or text file")
            self.send_button.setEnabled(False)
            return
        try:
            params = read_params(path)
        except Exception as err:          # noqa: BLE001 - any damage: say so, keep going
            self.file_label.setText(f"<b>{name}</b>: cannot be read ({visible(str(err))})")
            self.send_button.setEnabled(False)
            return
        self.path, self.params = str(path), params
        rows = [(k, v) for k, v in params.items() if k != "version"]
        self.table.setRowCount(len(rows))
        for r, (key, value) in enumerate(rows):
            self.table.setItem(r, 0, QTableWidgetItem(str(key)))
            self.table.setItem(r, 1, QTableWidgetItem(str(value)))
        note = f"{len(rows)} parameters" if params else \
            "no chainrule parameters: it opens as a plain file"
        self.file_label.setText(f"<b>{name}</b><br>{note}")
        if Path(path).suffix.lower() == ".png":
            pixmap = QPixmap(str(path))
            if not pixmap.isNull():
                self.preview.setPixmap(pixmap.scaled(
                    PREVIEW, PREVIEW, Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.FastTransformation))
        self.send_button.setEnabled(True)

    def _send(self) -> None:
        if self.path:
            self.send_requested.emit(self.path)
            self.accept()

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            self.show_file(files[0])
            event.acceptProposedAction()
