"""Help: the keyboard shortcuts (read from the window's own actions, buttons and shortcuts,
so the sheet cannot go stale), the README in a window, and About."""
from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut, QTextImageFormat
from PySide6.QtWidgets import (
    QAbstractButton,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
)

README_IMAGE_WIDTH = 760          # px: screenshots shrink to the window, never past it


def _plain(text: str) -> str:
    """'&Open\u2026' -> 'Open'; 'Brush (B)' -> 'Brush' (the key is in its own column)."""
    text = text.replace("&&", "\0").replace("&", "").replace("\0", "&")
    text = re.sub(r"\s*\([^()]*\)\s*$", "", text.strip())
    return text.rstrip("\u2026").rstrip(".").strip()


def _where(window, obj) -> str:
    """The tab (and mode) an object lives in, or 'Everywhere' for the window's menus."""
    widget = obj.parent() if isinstance(obj, (QShortcut,)) else obj
    while widget is not None:
        if widget in window.tab_widgets():
            return f"{window.tabs.tabText(window.tabs.indexOf(widget))} tab"
        widget = widget.parent()
    return "Everywhere"


def shortcut_rows(window) -> list[tuple[str, str, str]]:
    """(keys, what it does, where) for every shortcut in the window, each once, sorted:
    menu actions, QShortcut objects (described by their whatsThis) and buttons."""
    rows = set()
    for action in window.findChildren(QAction):
        if not action.shortcut().isEmpty() and action.text():
            rows.add((action.shortcut(), _plain(action.text()), "Everywhere"))
    for shortcut in window.findChildren(QShortcut):
        if not shortcut.key().isEmpty():
            rows.add((shortcut.key(), shortcut.whatsThis() or "", _where(window, shortcut)))
    for button in window.findChildren(QAbstractButton):
        if not button.shortcut().isEmpty():
            what = _plain(button.toolTip() or button.text())
            rows.add((button.shortcut(), what, _where(window, button)))
    native = {(keys.toString(QKeySequence.SequenceFormat.NativeText), what, where)
              for keys, what, where in rows}
    # One row per thing done: keys that do the same in one place share a row ("Ctrl+Return
    # or Ctrl+Enter"), and so do places where the same keys do the same ("Image, Audio and
    # Text tabs").
    by_place: dict[tuple[str, str], list[str]] = {}
    for keys, what, where in native:
        by_place.setdefault((what, where), []).append(keys)
    by_keys: dict[tuple[str, str], list[str]] = {}
    for (what, where), keys in by_place.items():
        by_keys.setdefault((" or ".join(sorted(keys, key=_key_order)), what), []).append(where)
    table = [(keys, what, _places(wheres)) for (keys, what), wheres in by_keys.items()]
    return sorted(table, key=lambda r: (r[2] != "Everywhere", r[2], r[1].lower(), r[0]))


def _key_order(keys: str) -> tuple[bool, str]:
    return ("Enter" in keys, keys)          # Return before the keypad's Enter


def _places(wheres: list[str]) -> str:
    tabs = sorted(w[:-len(" tab")] for w in wheres if w.endswith(" tab"))
    if "Everywhere" in wheres or not tabs:
        return "Everywhere"
    if len(tabs) == 1:
        return f"{tabs[0]} tab"
    return f"{', '.join(tabs[:-1])} and {tabs[-1]} tabs"


class ShortcutsDialog(QDialog):
    def __init__(self, window):
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        self.rows = shortcut_rows(window)
        table = QTableWidget(len(self.rows), 3)
        table.setHorizontalHeaderLabels(["Keys", "What it does", "Where"])
        for r, row in enumerate(self.rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                table.setItem(r, c, item)
        table.verticalHeader().hide()
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table = table
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(620, min(720, 90 + 30 * len(self.rows)))


def readme_text() -> tuple[str, Path | None]:
    """(the README's Markdown, the folder its pictures are relative to). From the checkout
    when there is one (or the bundle, which keeps it at the same place), else from the
    installed package's description."""
    here = Path(__file__).resolve().parents[2]
    if (here / "README.md").is_file():
        return (here / "README.md").read_text(encoding="utf-8"), here
    try:
        from importlib.metadata import metadata

        info = metadata("chainrule")
        return str(info.get_payload() or info.get("Description", "")), None  # type: ignore[attr-defined]
    except Exception:                    # noqa: BLE001 - a missing README is said, no more
        return "", None


class ReadmeDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("chainrule: README")
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        text, folder = readme_text()
        if folder is not None:
            self.browser.setSearchPaths([str(folder)])
        self.browser.setMarkdown(text or "The README is not installed with this copy of "
                                         "chainrule: see the project's page.")
        _fit_images(self.browser)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(860, 680)


def _fit_images(browser: QTextBrowser) -> None:
    """Give each picture a width of at most README_IMAGE_WIDTH (full-size screenshots made
    the window scroll sideways)."""
    from PySide6.QtGui import QTextCursor

    document = browser.document()
    block = document.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            fmt = fragment.charFormat()
            if fmt.isImageFormat():
                image = fmt.toImageFormat()
                resource = document.resource(document.ResourceType.ImageResource,
                                             image.name())
                width = getattr(resource, "width", lambda: 0)()
                if width > README_IMAGE_WIDTH:
                    sized = QTextImageFormat(image)
                    sized.setWidth(README_IMAGE_WIDTH)
                    sized.setHeight(resource.height() * README_IMAGE_WIDTH / width)
                    cursor = QTextCursor(document)
                    cursor.setPosition(fragment.position())
                    cursor.setPosition(fragment.position() + fragment.length(),
                                       QTextCursor.MoveMode.KeepAnchor)
                    cursor.setCharFormat(sized)
            it += 1
        block = block.next()


def about_html(models) -> str:
    """Version, licence, where models live, and each bundled model's data and its licence."""
    from .. import __version__
    from ..core.paths import user_models_dir

    rows = []
    for name, provenance in models:
        data = provenance.get("data") if isinstance(provenance.get("data"), dict) else {}
        source = data.get("source", "your own data") if data else "not recorded"
        rows.append(f"<tr><td><b>{name}</b></td><td>{_escape(str(source))}</td>"
                    f"<td>{_escape(str(data.get('license', '')))}</td></tr>")
    table = ("<table cellspacing='0' cellpadding='3'><tr><th align='left'>model</th>"
             "<th align='left'>trained on</th><th align='left'>data licence</th></tr>"
             + "".join(rows) + "</table>") if rows else ""
    return (f"<h2>chainrule {__version__}</h2>"
            "<p>A playground for autoregressive generative models: every model factorises"
            "</p><p align='center' style='font-size:large'>p(x) = \u220f<sub>i</sub> "
            "p(x<sub>i</sub> | x<sub>&lt;i</sub>)</p>"
            "<p>and chainrule lets you watch that chain rule work.</p>"
            "<p>Licence: MIT. The bundled models carry their training data's licence:</p>"
            f"{table}<p>Your models: {_escape(str(user_models_dir()))}</p>")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class AboutDialog(QDialog):
    def __init__(self, parent, models):
        super().__init__(parent)
        self.setWindowTitle("About chainrule")
        # A browser, not a label: the table of models grows with the models folder and
        # scrolls, where a label was cut off at the dialog's edge.
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setFrameShape(QTextBrowser.Shape.NoFrame)
        self.browser.setHtml(about_html(models))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(660, 580)
