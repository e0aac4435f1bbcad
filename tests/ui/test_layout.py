"""Layout: each tab's primary button in sight at the default size and on a 1280 x 720 screen
(less a title bar), the wheel changes a spin box only once it has the focus, scroll bars
read the right way round in both themes, the Text tab copies its text."""
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtWidgets import QApplication, QScrollArea

SIZES = [None, (1280, 690)]          # None: the window's own default size


def _fully_visible(button) -> bool:
    """The whole button is on screen: inside the window and inside any scroll area's view."""
    if not button.isVisible():
        return False
    window = button.window()
    rect = button.rect().translated(button.mapTo(window, QPoint(0, 0)))
    if not window.rect().contains(rect):
        return False
    parent = button.parentWidget()
    while parent is not None:
        if isinstance(parent, QScrollArea):
            view = parent.viewport()
            inside = button.rect().translated(button.mapTo(view, QPoint(0, 0)))
            return view.rect().contains(inside)
        parent = parent.parentWidget()
    return True


@pytest.mark.parametrize("size", SIZES)
def test_primary_buttons_are_in_sight(window, qtbot, size):
    if size:
        window.resize(*size)
    qtbot.wait(50)
    assert window.width() <= 1280            # the window, History panel included, fits
    checks = [(window.image_tab, "generate", window.image_tab.generate_button),
              (window.image_tab, "inpaint", window.image_tab.generate_button),
              (window.image_tab, "compare", window.image_tab.generate_button),
              (window.audio_tab, None, window.audio_tab.generate_button),
              (window.text_tab, None, window.text_tab.generate_button),
              (window.train_tab, None, window.train_tab.form.train_button)]
    for tab, mode, button in checks:
        window.tabs.setCurrentWidget(tab)
        if mode:
            tab.set_mode(mode)
        qtbot.wait(20)
        assert _fully_visible(button), (type(tab).__name__, mode, size)


def _wheel(widget, dy=120):
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(centre, widget.mapToGlobal(centre), QPoint(0, 0), QPoint(0, dy),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_the_wheel_changes_a_spin_box_only_once_it_has_the_focus(window, qtbot):
    tab = window.image_tab
    window.resize(1240, 400)                  # short: the control column scrolls
    qtbot.wait(50)
    spin = tab.temperature
    column = next(p for p in _parents(spin) if isinstance(p, QScrollArea))
    column.verticalScrollBar().setValue(0)
    before = spin.value()
    _wheel(spin, dy=-120)
    assert spin.value() == before
    assert column.verticalScrollBar().value() > 0        # the panel scrolled instead
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=2000)
    _wheel(spin, dy=120)
    assert spin.value() != before
    assert spin.focusPolicy() == Qt.FocusPolicy.StrongFocus


def _parents(widget):
    parent = widget.parentWidget()
    while parent is not None:
        yield parent
        parent = parent.parentWidget()


@pytest.mark.parametrize("theme, darker", [("light", True), ("dark", False)])
def test_scroll_handles_contrast_with_their_track_the_right_way(window, theme, darker):
    from app.ui.theme import _SHEET_COLOURS

    window.set_theme(theme)
    colours = _SHEET_COLOURS[theme]
    handle = QColor(colours["scroll_handle"]).lightness()
    track = QColor(colours["scroll_track"]).lightness()
    window_bg = window.palette().color(window.backgroundRole()).lightness()
    assert (handle < track) == darker
    # The track sits close to the window's own background, the handle stands out from it.
    assert abs(track - window_bg) < abs(handle - window_bg)
    assert "@scroll" not in QApplication.instance().styleSheet()


def test_text_tab_copies_its_whole_text(window, qtbot):
    tab = window.text_tab
    window.tabs.setCurrentWidget(tab)
    tab.prompt.setPlainText("ab")
    tab.length.setValue(25)
    tab.generate()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=30000)
    QApplication.clipboard().clear()
    tab.views.copy_button.click()
    assert QApplication.clipboard().text() == tab.output.toPlainText() == tab.trace.text
    assert len(tab.trace.text) == 27


def test_the_canvas_keeps_its_place_when_a_notice_or_the_variations_appear(window, qtbot):
    tab = window.image_tab
    qtbot.wait(50)
    before = tab.canvas.geometry()
    tab.message.show_message("a notice that could push the canvas down " * 3, "info")
    qtbot.wait(50)
    assert tab.canvas.geometry() == before
    tab.message.hide()
    tab.set_mode("inpaint")
    qtbot.wait(50)
    panel = tab.inpaint
    fill_canvas = panel.canvas.geometry()
    assert panel.strip.isHidden()
    panel.strip.setVisible(True)            # as the first variation arriving shows it
    qtbot.wait(50)
    assert panel.canvas.geometry() == fill_canvas
