"""The History panel: every tab's results go in, stay across a restart, reopen with their
parameters, obey the size limit (asking before it deletes), and a refusing disk is a notice."""
import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from app.core.history import History
from app.core.outputs import save_png
from tests.ui.test_tabs import wait_done


def _run(qtbot, tab):
    tab.generate()
    wait_done(qtbot, tab)


def _small_runs(window):
    window.image_tab.grid.setValue(1)
    window.audio_tab.seconds.setValue(0.1)
    window.text_tab.length.setValue(30)
    window.text_tab.prompt.setPlainText("ab")      # characters the tiny model knows


def test_every_tab_records_its_results_and_they_survive_a_restart(window, qtbot):
    from app.ui.main_window import MainWindow

    panel = window.history_panel
    assert panel.list.count() == 0 and not panel.empty.isHidden()
    _small_runs(window)
    for tab in (window.image_tab, window.audio_tab, window.text_tab):
        window.tabs.setCurrentWidget(tab)
        _run(qtbot, tab)
    entries = panel.history.entries()
    assert [e.tab for e in entries] == ["text", "audio", "image"]
    assert panel.list.count() == 3 and panel.empty.isHidden()
    assert entries[2].params["seed"] == window.image_tab.seed.value()
    assert entries[0].model == "bard" and entries[1].thumbnail is not None
    assert "3 results" in panel.usage.text()
    window.save_settings()
    window.close()
    again = MainWindow()
    qtbot.addWidget(again)
    try:
        assert again.history_panel.list.count() == 3
        assert [e.folder for e in again.history_panel.history.entries()] == \
            [e.folder for e in entries]
    finally:
        again.close()


def test_a_result_reopens_in_its_tab_with_its_parameters(window, qtbot):
    tab = window.image_tab
    tab.grid.setValue(1)
    _run(qtbot, tab)
    first = tab.seed.value()
    _run(qtbot, tab)
    assert tab.seed.value() != first
    panel = window.history_panel
    panel.list.setCurrentRow(1)                           # the older one
    assert panel.open_button.isEnabled()
    window.tabs.setCurrentWidget(window.text_tab)
    panel.open_selected()
    assert window.current_tab() is tab
    assert tab.seed.value() == first and tab.seed.locked()
    panel.filter.setCurrentIndex(panel.filter.findData("text"))
    assert panel.list.count() == 0
    panel.filter.setCurrentIndex(panel.filter.findData(""))
    panel.list.setCurrentRow(0)
    panel.delete_selected()
    assert panel.list.count() == 1


def test_measuring_runs_are_not_results_and_stopped_ones_are(window, qtbot):
    tab = window.audio_tab
    tab.seconds.setValue(0.1)
    _run(qtbot, tab)
    assert window.history_panel.list.count() == 1
    assert tab.run_makes_result()
    tab._scoring = True                  # as scoring an opened sound sets it
    assert not tab.run_makes_result()
    image = window.image_tab
    image.grid.setValue(4)
    image.generate()
    qtbot.waitUntil(lambda: image.generate_mode.state.done > 5, timeout=20000)
    image.stop()
    wait_done(qtbot, image)
    assert window.history_panel.list.count() == 2        # Stop keeps what was drawn


def _big_entries(history, n):
    rng = np.random.default_rng(0)
    for _ in range(n):
        pixels = rng.integers(0, 256, (700, 700, 3)).astype(np.uint8)   # ~1.4 MB as PNG
        history.add("image", lambda path, p=pixels: save_png(path, p, {"model": "m"}))


def test_the_size_limit_asks_before_deleting_and_is_kept(window, qtbot, monkeypatch):
    from app.ui.main_window import MainWindow

    panel = window.history_panel
    _big_entries(panel.history, 3)
    panel.refresh()
    newest = panel.history.entries()[0].folder
    answers = iter([QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes])
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *args: asked.append(args[2]) or next(answers))
    panel.limit.setValue(2)
    assert "2 oldest" in asked[0] and panel.limit.value() == 200        # No: nothing lost
    assert panel.list.count() == 3
    panel.limit.setValue(2)
    assert [e.folder for e in panel.history.entries()] == [newest]
    assert panel.list.count() == 1
    window.close()
    again = MainWindow()
    qtbot.addWidget(again)
    try:
        assert again.history_panel.limit.value() == 2
        assert again.history_panel.history.limit_bytes == 2 << 20
    finally:
        again.close()


def test_a_disk_that_refuses_is_a_notice_and_the_result_stays(window, qtbot, monkeypatch):
    tab = window.text_tab
    tab.length.setValue(20)
    tab.prompt.setPlainText("ab")

    def refuse(self, tab_name, write):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(History, "add", refuse)
    _run(qtbot, tab)
    assert "not kept in the history" in tab.message.text()
    assert "No space left" in tab.message.text()
    assert tab.has_result() and window.history_panel.list.count() == 0


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_history_toggle_is_in_the_view_menu(window, theme):
    window.set_theme(theme)
    actions = {a.text(): a for a in window.menuBar().actions()}
    view = actions["&View"].menu()
    toggle = next(a for a in view.actions() if a.text() == "&History")
    assert toggle.shortcut().toString() == "Ctrl+H"
    toggle.trigger()
    assert window.history_panel.isHidden()
    toggle.trigger()
    assert not window.history_panel.isHidden()
