"""The Text tab shows the chain rule: each character tinted by its probability, its rivals on
hover, branches on a click, and Score mode for any text (tiny models, offscreen Qt)."""
import math
import re

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication

from app.core.checkpoint import load_bundle
from app.core.explain import score
from app.core.outputs import read_text_file
from app.core.training.datasets import SequenceData
from app.core.training.trainer import evaluate
from app.ui.tabs.text_explain import branch_menu
from app.ui.widgets.text_trace_view import TINTS, shown


def wait_done(qtbot, tab, timeout=30000):
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=timeout)


@pytest.fixture
def tab(window):
    tab = window.text_tab
    window.tabs.setCurrentWidget(tab)
    tab.prompt.setPlainText("ab")             # the tiny model's vocabulary: "\nabcdefgh :!"
    tab.length.setValue(80)
    tab.seed.setValue(5)
    return tab


def generate(qtbot, tab):
    tab.generate()
    wait_done(qtbot, tab)
    return tab.output.toPlainText()


def background(view, position):
    """The tint of the character at `position` (None: no tint)."""
    cursor = QTextCursor(view.document())
    cursor.setPosition(position + 1)
    brush = cursor.charFormat().background()
    return None if brush.style() == Qt.BrushStyle.NoBrush else brush.color().name()


def point_of(view, position):
    """The middle of the character at `position`, in viewport coordinates."""
    cursor = QTextCursor(view.document())
    cursor.setPosition(position)
    rect = view.cursorRect(cursor)
    return QPoint(rect.left() + view.fontMetrics().horizontalAdvance("m") // 2,
                  rect.center().y())


def test_generated_characters_are_tinted_the_prompt_is_not(qtbot, tab):
    text = generate(qtbot, tab)
    assert text == "ab" + tab._completion and len(tab._completion) == 80
    tints = [background(tab.output, p) for p in range(len(text))]
    assert tints[:2] == [None, None]
    theme = "dark" if tab.palette().window().color().lightness() < 128 else "light"
    # (a newline has no width to tint, and a cursor after it reads the next line's format)
    shown = [(t, r.band) for t, r in zip(tints[2:], tab.trace.records) if r.char != "\n"]
    assert all(t == TINTS[theme][b] for t, b in shown) and len(shown) > 40
    assert "probability of each character" in tab.views.legend.title.text()
    tab.colour_box.setChecked(False)
    assert all(background(tab.output, p) is None for p in range(len(text)))
    assert tab.output.toPlainText() == text


def test_colours_on_or_off_draw_the_same_text(qtbot, tab):
    first = generate(qtbot, tab)
    tab.colour_box.setChecked(False)
    assert generate(qtbot, tab) == first


def test_hovering_a_character_shows_its_candidates(qtbot, tab):
    generate(qtbot, tab)
    i = next(i for i, r in enumerate(tab.trace.records) if r.char != "\n")
    record = tab.trace.records[i]
    found = tab.output.record_under(point_of(tab.output, 2 + i))
    assert found == (i, record)
    assert sum(p for _, p in record.candidates) <= 1 + 1e-6
    tip = tab.output.tooltip_at(point_of(tab.output, 2 + i))
    drawn = re.search(r"<b>(.*?)</b></td><td align='right'>&nbsp;([\d.e-]+)%</td>"
                      r"<td>&nbsp;&nbsp;\u25c0 drawn", tip)
    assert drawn, tip
    assert f"{-math.log2(record.prob):.2f} bits" in tip
    assert math.isclose(float(drawn.group(2)) / 100, record.prob, abs_tol=1e-3)
    assert tip.count("<tr>") in (len(record.candidates), len(record.candidates) + 1)
    assert tab.output.tooltip_at(point_of(tab.output, 0)) == ""       # the prompt: none


def test_clicking_a_character_offers_its_candidates(qtbot, tab):
    generate(qtbot, tab)
    with qtbot.waitSignal(tab.output.char_clicked) as clicked:
        qtbot.mouseClick(tab.output.viewport(), Qt.MouseButton.LeftButton,
                         pos=point_of(tab.output, 2 + 7))
    assert clicked.args[0] == 7
    record = tab.trace.records[7]
    menu = branch_menu(tab, record, 7, tab.branch)
    labels = [a.text() for a in menu.actions() if a.text()]
    assert len(labels) == len(record.candidates) + 2 and labels[-1] == "Draw again from here"
    assert sum("(drawn)" in label for label in labels) == (record.char in dict(record.candidates))


def test_a_branch_keeps_the_text_before_it_and_redraws_the_rest(qtbot, tab, tmp_path):
    first = generate(qtbot, tab)
    i = 30
    other = next(c for c, _ in tab.trace.records[i].candidates if c != first[2 + i])
    menu = branch_menu(tab, tab.trace.records[i], i, tab.branch)
    action = next(a for a in menu.actions()
                  if a.text().split("\t")[0] == shown(other).replace("&", "&&"))
    action.trigger()
    wait_done(qtbot, tab)
    branched = tab.output.toPlainText()
    assert branched[:2 + i] == first[:2 + i] and branched[2 + i] == other
    assert len(tab._completion) == 80 and branched == tab.trace.text
    assert tab.trace.records[i].char == other and tab.trace.records[i].prob is not None
    # Deterministic: the same branch of the same run draws the same rest.
    tab.seed.setValue(5)
    generate(qtbot, tab)
    tab.branch(i, other)
    wait_done(qtbot, tab)
    assert tab.output.toPlainText() == branched
    # Draw again from a position: the text before it stays, the length too.
    tab.branch(50)
    wait_done(qtbot, tab)
    assert tab.trace.text[:52] == branched[:52] and len(tab._completion) == 80
    path = tmp_path / "branched.txt"
    tab.save_result(str(path))
    text, params = read_text_file(path)
    assert text == tab.trace.text and params["prompt"] == "ab" and params["seed"] == 5
    assert [(b["at"], b["char"]) for b in params["branches"]] == [(i, other), (50, None)]


def test_branching_the_last_character_draws_nothing_more(qtbot, tab):
    generate(qtbot, tab)
    other = next(c for c, _ in tab.trace.records[79].candidates
                 if c != tab.trace.records[79].char)
    tab.branch(79, other)
    assert not tab.runner.running and tab._completion[-1] == other
    assert len(tab._completion) == 80


SCORED = ("abc def!\n" * 60)[:2 * 256 + 1]      # two of eval's windows exactly


def score_in_tab(qtbot, tab, text):
    tab.set_mode("score")
    tab.scoring.view.setPlainText(text)
    tab.generate()
    wait_done(qtbot, tab)


def test_score_mode_adds_up_to_the_score_and_to_eval(qtbot, tab, window):
    score_in_tab(qtbot, tab, SCORED)
    assert tab.message.isHidden(), tab.message.text()
    bundle = load_bundle(tab.picker.current().path)
    expected = score(bundle, SCORED)
    trace = tab.scoring.trace
    assert math.isclose(trace.total_bits, expected.total_bits, rel_tol=1e-9)
    per_char = evaluate(bundle.net, SequenceData(bundle.codec.encode(SCORED), 256), 1, "cpu")
    assert math.isclose(trace.total_bits / (len(SCORED) - 1), per_char, rel_tol=1e-4)
    shown = re.search(r"([\d,.]+) bits in total, ([\d.]+) bits/char", tab.stats.text())
    assert float(shown.group(1).replace(",", "")) == round(expected.total_bits, 1)
    assert float(shown.group(2)) == round(expected.mean_bits, 3)
    assert "bits of each character" in tab.views.legend.title.text()
    view = tab.scoring.view
    assert background(view, 0) is None and background(view, 1) is not None
    tip = view.tooltip_at(point_of(view, 1))
    assert "\u25c0 actual" in tip
    # Editing the text takes the colours (now wrong) away; Generate mode kept its own line.
    view.textCursor().insertText("a")
    assert view.trace is not trace and not view.trace.records
    assert background(view, 1) is None and tab.stats.text() == ""
    tab.set_mode("generate")
    assert tab.views.stack.currentWidget() is tab.output
    assert tab.generate_button.text() == "Generate"


def test_text_outside_the_vocabulary_is_refused_with_a_message(qtbot, tab):
    score_in_tab(qtbot, tab, "HELLO there")
    assert not tab.message.isHidden() and "never saw" in tab.message.text()
    assert "Internal error" not in tab.message.text()
    assert not tab.scoring.trace.records and not tab.scoring.view.isReadOnly()


def test_an_opened_text_goes_to_the_mode_it_is_opened_in(qtbot, tab, tmp_path):
    generate(qtbot, tab)
    path = tmp_path / "t.txt"
    tab.save_result(str(path))
    tab.set_mode("score")
    tab.open_result(str(path))
    assert tab.scoring.view.toPlainText() == tab.trace.text
    tab.set_mode("generate")
    tab.open_result(str(path))
    assert tab.trace.prompt == "ab" and all(r.prob is None for r in tab.trace.records)
    assert background(tab.output, 5) is None


def test_the_tints_follow_the_theme(qtbot, tab, window):
    generate(qtbot, tab)
    i = next(i for i, r in enumerate(tab.trace.records) if r.char != "\n")
    band = tab.trace.records[i].band
    app = QApplication.instance()       # the theme is the whole application's: put it back
    palette, sheet, style = app.palette(), app.styleSheet(), app.style().name()
    try:
        for theme in ("dark", "light"):
            window.set_theme(theme)
            assert background(tab.output, 2 + i) == TINTS[theme][band]
            assert tab.views.legend.swatches[-1].styleSheet().count(TINTS[theme][0]) == 1
    finally:
        app.setStyle(style)
        app.setPalette(palette)
        app.setStyleSheet(sheet)


def test_a_long_text_is_scored_up_to_the_limit_and_kept_whole(qtbot, tab, monkeypatch):
    from app.core import explain_runs

    monkeypatch.setattr(explain_runs, "SCORE_CHARS", 30)
    text = ("abc def gh " * 10)[:100]
    score_in_tab(qtbot, tab, text)
    trace = tab.scoring.trace
    assert tab.scoring.view.toPlainText() == text            # nothing the user pasted is lost
    assert sum(r.prob is not None for r in trace.records) == 29
    assert "the 70 after them are not scored" in tab.stats.text()
