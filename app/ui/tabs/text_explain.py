"""The Text tab's explain pieces: Score mode (any text scored in the worker, character by
character) and the menu of a generated character's branches."""
from __future__ import annotations

import functools
from collections.abc import Callable

from PySide6.QtWidgets import QMenu, QWidget

from ...core import explain_runs
from ...core.state.text_trace import CharRecord, TextTrace
from ..widgets.text_trace_view import TextTraceWidget, shown

TOP = 10          # candidates kept per character


class TextScoreMode:
    """Score mode of the Text tab: an editable view; Score tints each character by its bits
    and the stats line gives the total. Editing the text takes the stale tints away."""

    def __init__(self, tab, view: TextTraceWidget):
        self.tab = tab
        self.view = view
        self.view.textChanged.connect(self._edited)

    @property
    def trace(self) -> TextTrace:
        return self.view.trace

    def prepare(self):
        """The worker's factory for the text in the view, or None (and a message)."""
        tab, text = self.tab, self.view.toPlainText()
        if len(text) < 2:
            tab.message.show_message("Paste or open a text of two characters or more to "
                                     "score: the first is given, each later one is scored.")
            return None
        self.view.setReadOnly(True)
        tab.progress.setRange(0, 0)          # one pass: busy, not counted
        tab.progress.setFormat("%p%")
        return functools.partial(explain_runs.score_text, tab.models,
                                 str(tab.picker.current().path), tab.device_source(), text,
                                 limit=explain_runs.SCORE_CHARS)

    def on_events(self, events: list) -> None:
        for event in events:
            if isinstance(event, TextTrace):
                self.view.show_trace(event)
                scored = sum(r.prob is not None for r in event.records)
                total, rest = event.total_bits, len(event.records) - scored
                cut = f"; the {rest:,} after them are not scored" if rest else ""
                self.tab.stats.setText(f"{total:,.1f} bits in total, {total / scored:.3f} "
                                       f"bits/char ({scored:,} characters after the first"
                                       f"{cut})")

    def on_run_ended(self, how: str) -> None:
        self.view.setReadOnly(False)
        self.tab.progress.setRange(0, 1)
        self.tab.progress.setValue(1 if how == "finished" else 0)

    def open_text(self, text: str) -> None:
        self.view.show_trace(TextTrace(text, scored=True))
        self.tab.stats.setText("")

    def _edited(self) -> None:
        if not self.view.rendering and self.view.trace.records:
            self.view.forget_trace()
            self.tab.stats.setText("")


def _label(char: str) -> str:
    return shown(char).replace("&", "&&")       # '&' would mark a shortcut


def branch_menu(parent: QWidget, record: CharRecord, i: int,
                branch: Callable[[int, str | None], None]) -> QMenu | None:
    """The candidates of a generated character: choosing one branches there; 'Draw again
    from here' redraws from that position. None for text with no distributions."""
    if not record.candidates:
        return None
    menu = QMenu(parent)
    title = menu.addAction(f"Put here instead of \u2018{_label(record.char)}\u2019:")
    title.setEnabled(False)
    for char, prob in record.candidates:
        drawn = "   (drawn)" if char == record.char else ""
        action = menu.addAction(f"{_label(char)}\t{prob:.1%}{drawn}")
        action.triggered.connect(functools.partial(branch, i, char))
    menu.addSeparator()
    again = menu.addAction("Draw again from here")
    again.triggered.connect(functools.partial(branch, i, None))
    return menu
