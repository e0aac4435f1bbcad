"""A text view that tints each character by how probable the model found it.

It renders a core TextTrace (app/core/state/text_trace.py) and never computes on it: hovering
a character shows its candidates, clicking one reports it (the tab offers the branches).
"""
from __future__ import annotations

import html
import math
from itertools import groupby

from PySide6.QtCore import QEvent, QPoint, Qt, Signal
from PySide6.QtGui import QColor, QFont, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTextEdit,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ...core.state.text_trace import BAND_LABELS, BANDS, CharRecord, TextTrace

# One tint per probability band, certain first. Light tints under dark text, deep ones under
# the dark theme's light text: the text keeps the theme's own colour and stays readable.
TINTS = {"light": ("#e4f3dc", "#eef5b8", "#ffeb99", "#ffcf9e", "#ffadad"),
         "dark": ("#22372a", "#3d4d22", "#5e561a", "#74431a", "#7c2626")}
PLAIN_COMPLETION = {"light": "#a05a00", "dark": "#e0a030"}   # uncoloured: told apart by hue
SHOWN = {"\n": "\u21b5", " ": "\u2423", "\t": "\u21e5"}


def is_dark(widget: QWidget) -> bool:
    return widget.palette().window().color().lightness() < 128


def shown(char: str) -> str:
    return SHOWN.get(char, char)


def percent(prob: float) -> str:
    return f"{prob:.1%}" if prob >= 0.001 else f"{prob * 100:.2g}%"


def describe(record: CharRecord, scored: bool) -> str:
    """Rich text for a tooltip: the character, its probability and bits, the candidates."""
    if record.prob is None:
        return ""
    what = "actual" if scored else "drawn"

    def row(char: str, prob: float) -> str:
        name = html.escape(shown(char))
        mine = char == record.char
        mark = f"&nbsp;&nbsp;\u25c0 {what}" if mine else ""
        return (f"<tr><td>{f'<b>{name}</b>' if mine else name}</td>"
                f"<td align='right'>&nbsp;{percent(prob)}</td><td>{mark}</td></tr>")

    rows = [row(char, prob) for char, prob in record.candidates]
    if record.char not in dict(record.candidates):     # drawn below the ten listed
        rows.append(row(record.char, record.prob))
    source = "the model's distribution" if scored else "the sampling distribution"
    return (f"<p style='white-space:pre'><b>{html.escape(shown(record.char))}</b>: "
            f"p = {percent(record.prob)}, {record.bits:.2f} bits<br/>"
            f"<small>top {len(record.candidates)} of {source}</small></p>"
            f"<table style='font-family: monospace'>{''.join(rows)}</table>")


class TextTraceWidget(QTextEdit):
    """Shows a TextTrace; `char_clicked(completion index, global position)` on a click."""

    char_clicked = Signal(int, QPoint)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFont(QFont("DejaVu Sans Mono", 11))
        self.trace = TextTrace()
        self.coloured = True
        self._press: QPoint | None = None
        self._rendering = False

    # --- rendering ------------------------------------------------------------------------
    def show_trace(self, trace: TextTrace) -> None:
        """Render the whole trace anew (a new run, a branch, a switch of colours or theme)."""
        self.trace = trace
        self._rendering = True
        try:
            self.clear()
            cursor = self.textCursor()
            cursor.insertText(trace.prompt, QTextCharFormat())
            self._insert(cursor, trace.records)
        finally:
            self._rendering = False

    def append_records(self, records: list[CharRecord]) -> None:
        """Records the trace already holds, newly added at its end."""
        self._rendering = True
        try:
            cursor = self.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.End)
            self._insert(cursor, records)
            self.setTextCursor(cursor)
            self.ensureCursorVisible()
        finally:
            self._rendering = False

    def forget_trace(self) -> None:
        """The user edited the text: its colours no longer describe it, so they go."""
        self._rendering = True
        try:
            self.trace = TextTrace(scored=self.trace.scored)
            cursor = QTextCursor(self.document())
            cursor.select(QTextCursor.SelectionType.Document)
            cursor.setCharFormat(QTextCharFormat())
        finally:
            self._rendering = False

    @property
    def rendering(self) -> bool:
        """True while the view writes its own text (not the user typing)."""
        return self._rendering

    def set_coloured(self, on: bool) -> None:
        self.coloured = on
        self.show_trace(self.trace)

    def _insert(self, cursor: QTextCursor, records: list[CharRecord]) -> None:
        # Characters of one band share a format: one insert per run, not per character;
        # and all runs as one edit, so the document lays out (and records undo) once.
        theme = "dark" if is_dark(self) else "light"
        formats: dict[int | None, QTextCharFormat] = {}
        cursor.beginEditBlock()
        try:
            for key, run in groupby(records, key=lambda r: r.band):
                if key not in formats:
                    formats[key] = self._format(key, theme)
                cursor.insertText("".join(r.char for r in run), formats[key])
        finally:
            cursor.endEditBlock()

    def _format(self, band: int | None, theme: str) -> QTextCharFormat:
        fmt = QTextCharFormat()
        if self.coloured and band is not None:
            fmt.setBackground(QColor(TINTS[theme][band]))
        elif not self.trace.scored:
            fmt.setForeground(QColor(PLAIN_COMPLETION[theme]))
        return fmt

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and not self._rendering:
            self.show_trace(self.trace)       # the tints are the theme's

    # --- hover and click ------------------------------------------------------------------
    def char_at(self, pos: QPoint) -> int | None:
        """The document position of the character under `pos` (viewport coordinates)."""
        cursor = self.cursorForPosition(pos)
        for position in (cursor.position() - 1, cursor.position()):
            if not 0 <= position < self.document().characterCount() - 1:
                continue
            cursor.setPosition(position)
            rect = self.cursorRect(cursor)
            char = self.document().characterAt(position)
            width = self.fontMetrics().horizontalAdvance(
                " " if char in "\u2029\n" else char)
            if rect.top() <= pos.y() <= rect.bottom() and \
                    rect.left() <= pos.x() < rect.left() + width:
                return position
        return None

    def record_under(self, pos: QPoint) -> tuple[int, CharRecord] | None:
        """(completion index, record) of the generated or scored character under `pos`."""
        position = self.char_at(pos)
        record = None if position is None else self.trace.record_at(position)
        if record is None or position is None:
            return None
        return position - len(self.trace.prompt), record

    def tooltip_at(self, pos: QPoint) -> str:
        found = self.record_under(pos)
        return describe(found[1], self.trace.scored) if found else ""

    def viewportEvent(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            text = self.tooltip_at(event.pos())
            if text:
                QToolTip.showText(event.globalPos(), text, self.viewport())
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().viewportEvent(event)

    def mousePressEvent(self, event) -> None:
        self._press = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        pos = event.position().toPoint()
        clicked = self._press is not None and (pos - self._press).manhattanLength() < 4
        self._press = None
        if clicked and event.button() == Qt.MouseButton.LeftButton \
                and not self.textCursor().hasSelection():
            found = self.record_under(pos)
            if found:
                self.char_clicked.emit(found[0], event.globalPosition().toPoint())


class LegendWidget(QWidget):
    """'probability of each character: >90% 50-90% ... <1%' as tinted swatches."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.title = QLabel()
        self.title.setObjectName("muted")
        layout.addWidget(self.title)
        self.swatches = [QLabel() for _ in BAND_LABELS]
        for swatch in self.swatches:
            layout.addWidget(swatch)
        layout.addStretch(1)
        self.set_unit("probability")

    def set_unit(self, unit: str) -> None:
        """'probability' or 'bits': the same bands, labelled as either."""
        self.unit = unit
        if unit == "bits":
            edges = [f"{-math.log2(p):.2g}" for p in BANDS]
            labels = [f"<{edges[0]}"] + [f"{a}\u2013{b}" for a, b in zip(edges, edges[1:])] \
                + [f">{edges[-1]}"]
            self.title.setText("bits of each character (\u2212log\u2082 p):")
        else:
            labels = list(BAND_LABELS)
            self.title.setText("probability of each character:")
        self.labels = labels
        self._paint()

    def _paint(self) -> None:
        theme = "dark" if is_dark(self) else "light"
        # Improbable first: the red end is the one the eye looks for.
        for swatch, label, tint in zip(self.swatches, self.labels[::-1], TINTS[theme][::-1]):
            swatch.setText(label)
            swatch.setStyleSheet(f"background: {tint}; padding: 1px 6px; border-radius: 3px;")

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "labels"):
            self._paint()


class TextViewsWidget(QWidget):
    """The Text tab's right side: the legend, the 'Colour by probability' switch, and two
    views, one for generated text (read-only) and one for text to score (editable)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.legend = LegendWidget()
        self.colour_box = QCheckBox("Colour by probability")
        self.colour_box.setChecked(True)
        self.colour_box.setToolTip("Tint each character by how probable the model found it; "
                                   "hover one for its rivals, click it to branch")
        self.colour_box.toggled.connect(self._colour_toggled)
        self.output = TextTraceWidget()
        self.output.setReadOnly(True)
        self.output.setPlaceholderText("The completion appears here as it is written. Hover a "
                                       "character for its candidates; click it to branch.")
        self.scored = TextTraceWidget()
        self.scored.trace = TextTrace(scored=True)
        self.scored.setAcceptRichText(False)
        self.scored.setPlaceholderText("Paste or open (File > Open) any text, then press Score:"
                                       " each character is tinted by its bits.")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.output)
        self.stack.addWidget(self.scored)
        self.drift_button = QPushButton("Drift\u2026")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the whole text, prompt included, as plain text")
        self.copy_button.clicked.connect(self.copy_text)
        # Two rows: in one, legend and buttons made the tab too wide for a 1280-pixel screen.
        row = QHBoxLayout()
        row.addWidget(self.copy_button)
        row.addWidget(self.drift_button)
        row.addStretch(1)
        row.addWidget(self.colour_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.legend)
        layout.addWidget(self.stack, 1)

    def copy_text(self) -> None:
        text = self.stack.currentWidget().toPlainText()
        if text:
            QApplication.clipboard().setText(text)

    def show_scored(self, on: bool) -> None:
        self.stack.setCurrentWidget(self.scored if on else self.output)
        self.drift_button.setVisible(not on)
        self.legend.set_unit("bits" if on else "probability")

    def _colour_toggled(self, on: bool) -> None:
        self.output.set_coloured(on)
        self.scored.set_coloured(on)
