"""The History panel: every result of every tab, newest first, with a thumbnail (or the
text's first line), its model and time; open it back into its tab (its parameters with
it), save a copy, delete, and the size limit of the whole (app/core/history.py)."""
from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.errors import failure_reason
from ...core.history import MAX_LIMIT_MB, MIN_LIMIT_MB, History, HistoryEntry

ICON = QSize(64, 64)
SHOWN = {"": "Everything", "image": "Images", "audio": "Sounds", "text": "Texts"}
PARAMS_SHOWN = 14               # lines of parameters in an entry's tooltip


def params_lines(params: dict, limit: int | None = None) -> list[str]:
    lines = [f"{key}: {value}" for key, value in params.items() if key != "version"]
    if limit is not None and len(lines) > limit:
        lines = lines[:limit] + [f"\u2026 and {len(lines) - limit} more"]
    return lines


class HistoryPanel(QDockWidget):
    """`open_requested(path)`: the window opens the result in its tab, as File > Open does."""

    open_requested = Signal(str)
    limit_changed = Signal(int)          # megabytes

    def __init__(self, history: History | None = None, parent=None):
        super().__init__("History", parent)
        self.setObjectName("history")
        self.history = history or History()
        self.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable |
                         QDockWidget.DockWidgetFeature.DockWidgetMovable)
        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(6, 4, 6, 6)
        column.setSpacing(6)
        self.filter = QComboBox()
        for key, text in SHOWN.items():
            self.filter.addItem(text, key)
        self.filter.setToolTip("Which results the list shows")
        self.filter.currentIndexChanged.connect(lambda _i: self._show())
        column.addWidget(self.filter)
        self.list = QListWidget()
        self.list.setIconSize(ICON)
        self.list.setUniformItemSizes(False)
        self.list.setWordWrap(True)
        self.list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.itemActivated.connect(lambda _item: self.open_selected())
        self.list.itemSelectionChanged.connect(self._selection_changed)
        column.addWidget(self.list, 1)
        self.empty = QLabel("Each image, sound and text you make appears here.")
        self.empty.setObjectName("muted")
        self.empty.setWordWrap(True)
        column.addWidget(self.empty)
        buttons = QHBoxLayout()
        # Tool buttons, not push buttons: the panel must fit beside the widest tab at 1280
        # pixels (a push button's style padding made it 240 wide).
        self.open_button = QToolButton()
        self.open_button.setText("Open")
        self.open_button.setToolTip("Show it in its tab, with its parameters (Enter, or "
                                    "double-click)")
        self.open_button.clicked.connect(self.open_selected)
        self.save_button = QToolButton()
        self.save_button.setText("Save\u2026")
        self.save_button.setToolTip("Save a copy, with its parameters")
        self.save_button.clicked.connect(self.save_selected)
        self.delete_button = QToolButton()
        self.delete_button.setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_TrashIcon))
        self.delete_button.setToolTip("Delete from the history (Delete)")
        self.delete_button.setAccessibleName("Delete")
        self.delete_button.clicked.connect(self.delete_selected)
        self.more = QToolButton()
        self.more.setText("\u22ef")
        self.more.setAccessibleName("More")
        self.more.setToolTip("Show the history folder, clear the history")
        self.more.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        more = QMenu(self.more)
        more.addAction("Show the history folder", self.reveal)
        more.addAction("Clear the history\u2026", self.clear_all)
        self.more.setMenu(more)
        for widget in (self.open_button, self.save_button):
            widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            buttons.addWidget(widget, 1)
        buttons.addWidget(self.delete_button)
        buttons.addWidget(self.more)
        column.addLayout(buttons)
        limit_row = QHBoxLayout()
        limit_row.addWidget(QLabel("Keep"))
        self.limit = QSpinBox()
        self.limit.setRange(MIN_LIMIT_MB, MAX_LIMIT_MB)
        self.limit.setSuffix(" MB")
        self.limit.setValue(max(MIN_LIMIT_MB, self.history.limit_bytes >> 20))
        self.limit.setToolTip("The oldest results are deleted when the history grows past "
                              "this size")
        self.limit.setKeyboardTracking(False)      # typing 500 must not pass through 5
        self.limit.valueChanged.connect(self._limit_set)
        limit_row.addWidget(self.limit, 1)
        column.addLayout(limit_row)
        self.usage = QLabel()
        self.usage.setObjectName("muted")
        column.addWidget(self.usage)
        self.setWidget(body)
        # What the list shows, newest first, and each thumbnail once loaded: a new result is
        # put in front of these, so keeping it costs the same with 5 or 5,000 before it.
        self.entries: list[HistoryEntry] = []
        self._icons: dict[Path, QIcon] = {}
        self.refresh()

    # --- the list ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the history folder again, then show it."""
        self.entries = self.history.entries()
        self._show()

    def _show(self) -> None:
        keep = {e.folder for e in self.selected()}
        self.list.clear()
        shown = self.filter.currentData() or ""
        entries = self.entries
        live = {e.folder for e in entries}
        self._icons = {k: v for k, v in self._icons.items() if k in live}
        for entry in entries:
            if shown and entry.tab != shown:
                continue
            item = QListWidgetItem(self._icon(entry), f"{entry.title}\n{entry.model} \u00b7 "
                                                      f"{entry.when[5:16]}")
            item.setData(Qt.ItemDataRole.UserRole, entry)
            item.setToolTip("\n".join([entry.when, *params_lines(entry.params, PARAMS_SHOWN)]))
            self.list.addItem(item)
            item.setSelected(entry.folder in keep)
        total = sum(e.size for e in entries)
        skipped = f"; {len(self.history.damaged)} damaged skipped" if self.history.damaged \
            else ""
        self.usage.setText(f"{len(entries)} results, {total / 2 ** 20:.1f} MB{skipped}")
        self.empty.setVisible(self.list.count() == 0)
        self._selection_changed()

    def _icon(self, entry: HistoryEntry) -> QIcon:
        if entry.folder not in self._icons:
            self._icons[entry.folder] = self._load_icon(entry)
        return self._icons[entry.folder]

    def _load_icon(self, entry: HistoryEntry) -> QIcon:
        if entry.thumbnail is not None:
            pixmap = QPixmap(str(entry.thumbnail))
            if not pixmap.isNull():
                return QIcon(pixmap)
        standard = {"text": QStyle.StandardPixmap.SP_FileIcon,
                    "audio": QStyle.StandardPixmap.SP_MediaVolume}.get(
            entry.tab, QStyle.StandardPixmap.SP_FileIcon)
        return self.style().standardIcon(standard)

    def selected(self) -> list[HistoryEntry]:
        return [item.data(Qt.ItemDataRole.UserRole) for item in self.list.selectedItems()]

    def _selection_changed(self) -> None:
        count = len(self.selected())
        self.open_button.setEnabled(count == 1)
        self.save_button.setEnabled(count == 1)
        self.delete_button.setEnabled(count > 0)

    def _menu(self, pos) -> None:
        if self.list.itemAt(pos) is None:
            return
        menu = QMenu(self)
        if len(self.selected()) == 1:
            menu.addAction("Open in its tab", self.open_selected)
            menu.addAction("Save a copy\u2026", self.save_selected)
            menu.addAction("Copy the parameters", self.copy_params)
        menu.addAction("Delete", self.delete_selected)
        menu.exec(self.list.viewport().mapToGlobal(pos))

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Delete:
            self.delete_selected()
            return
        super().keyPressEvent(event)

    # --- recording --------------------------------------------------------------------------
    def record(self, tab) -> HistoryEntry | None:
        """Keep the result on show in `tab`; a disk that refuses is a notice in the tab,
        and the result on screen is untouched."""
        try:
            entry = self.history.add(tab.modality, lambda path: tab.save_result(str(path)))
        except Exception as err:          # noqa: BLE001 - any failure: say so, keep going
            tab.message.show_message("This result was not kept in the history: "
                                     f"{failure_reason(err)}", "info")
            return None
        gone = {e.folder for e in self.history.last_pruned}
        self.entries = [entry] + [e for e in self.entries if e.folder not in gone]
        self._show()
        return entry

    # --- actions ----------------------------------------------------------------------------
    def open_selected(self) -> None:
        chosen = self.selected()
        if len(chosen) == 1:
            self.open_requested.emit(str(chosen[0].path))

    def save_selected(self, path: str | None = None) -> None:
        chosen = self.selected()
        if len(chosen) != 1:
            return
        entry = chosen[0]
        if not path:
            stem = f"{entry.model or 'result'}-{entry.folder.name}"
            path, _ = QFileDialog.getSaveFileName(
                self, "Save a copy", str(Path.home() / f"{stem}{entry.path.suffix}"),
                f"Same kind (*{entry.path.suffix})")
        if path:
            try:
                shutil.copyfile(entry.path, path)
            except OSError as err:
                QMessageBox.warning(self, "Not saved", f"{path}: {failure_reason(err)}")

    def copy_params(self) -> None:
        from PySide6.QtWidgets import QApplication

        chosen = self.selected()
        if len(chosen) == 1:
            QApplication.clipboard().setText("\n".join(params_lines(chosen[0].params)))

    def delete_selected(self) -> None:
        for entry in self.selected():
            try:
                self.history.delete(entry)
            except OSError:
                pass                   # already gone, or in use: the list says what is left
        self.refresh()

    def clear_all(self) -> None:
        answer = QMessageBox.question(
            self, "Clear the history",
            f"Delete all {len(self.history.entries())} results kept in the history? Copies "
            "you saved are not touched.")
        if answer == QMessageBox.StandardButton.Yes:
            self.history.clear()
            self.refresh()

    def reveal(self) -> None:
        self.history.folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.history.folder)))

    def _limit_set(self, megabytes: int) -> None:
        """A lower limit that would delete results asks first; No keeps the old one."""
        old = self.history.limit_bytes
        doomed = len(self.history.overflow(megabytes << 20))
        if doomed and QMessageBox.question(
                self, "Lower the history's limit",
                f"At {megabytes} MB the {doomed} oldest results in the history are deleted. "
                "Lower the limit?") != QMessageBox.StandardButton.Yes:
            self.limit.blockSignals(True)
            self.limit.setValue(max(MIN_LIMIT_MB, old >> 20))
            self.limit.blockSignals(False)
            return
        self.history.limit_bytes = megabytes << 20
        if self.history.prune():
            self.refresh()
        self.limit_changed.emit(megabytes)
