"""Generate in every tab with tiny models and watch the views change; stop; close; errors."""
import time

import pytest
from PIL import Image

from app.core.outputs import read_png_params, read_text_file, read_wav_params


def wait_done(qtbot, tab, timeout=30000):
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=timeout)


def test_window_has_the_tabs_and_lists_models_by_kind(window):
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert titles[:3] == ["Image", "Audio", "Text"]
    assert window.image_tab.picker.current().name == "digits"
    assert window.audio_tab.picker.current().name == "voice"
    assert window.text_tab.picker.current().name == "bard"
    assert window.image_tab.label_picker.count() == 4          # any + 3 classes


@pytest.fixture
def every_event_its_own_batch(monkeypatch):
    """A tiny model can make a whole clip or image within one 1/60 s batch interval; then
    whether the view was seen growing would depend on the machine's speed."""
    import app.ui.workers

    monkeypatch.setattr(app.ui.workers, "BATCH_INTERVAL_S", 0.0)


def record_stats(mode) -> list[str]:
    """Every status line an Image tab mode shows from now on (it still shows them)."""
    lines, shown = [], mode.set_stats

    def record(text):
        lines.append(text)
        shown(text)

    mode.set_stats = record
    return lines


def record_updates(tab, probe):
    """After every batch the tab shows, record probe(): what the view displays then."""
    seen, start = [], tab.runner.start

    def start_with_probe(factory, on_events, on_error=None):
        def spy(events):
            on_events(events)
            seen.append(probe())
        start(factory, spy, on_error)

    tab.runner.start = start_with_probe
    return seen


def test_image_tab_draws_pixel_by_pixel_and_finishes(window, qtbot, every_event_its_own_batch):
    tab = window.image_tab
    tab.grid.setValue(2)
    counts = record_updates(tab, lambda: int(tab.generate_mode.state.drawn.sum()))
    tab.generate()
    wait_done(qtbot, tab)
    # The canvas was updated several times mid-run, in raster order, and then completed.
    assert len(set(counts)) >= 3 and counts == sorted(counts) and counts[-1] == 256
    assert tab.canvas.images.shape == (4, 16, 16, 1)
    assert tab.progress.value() == 256 and "Done" in tab.stats.text()
    assert tab.save_button.isEnabled()


def test_image_stop_keeps_what_was_drawn(window, qtbot):
    tab = window.image_tab
    tab.grid.setValue(8)
    # The tiny model draws all 256 sub-pixels in a blink; on a loaded machine it could finish
    # before Stop arrives. Each event after the first few waits 20 ms (5 s for the rest).
    start = tab.runner.start

    def paced_start(factory, on_events, on_error=None):
        def paced():
            for i, event in enumerate(factory()):
                if i > 8:
                    time.sleep(0.02)
                yield event
        start(paced, on_events, on_error)

    tab.runner.start = paced_start
    tab.generate()
    qtbot.waitUntil(lambda: tab.generate_mode.state.done > 5, timeout=20000)
    tab.stop()
    wait_done(qtbot, tab)
    assert 5 < tab.generate_mode.state.done < 256
    assert "Stopped" in tab.stats.text()
    assert tab.generate_button.isEnabled() and not tab.stop_button.isEnabled()


def test_image_save_and_reopen_restores_parameters(window, qtbot, tmp_path):
    tab = window.image_tab
    tab.grid.setValue(2)
    tab.seed.setValue(1234)
    tab.label_picker.setCurrentIndex(2)                  # class1
    tab.temperature.setValue(0.7)
    tab.generate()
    wait_done(qtbot, tab)
    path = tmp_path / "out.png"
    tab.save_result(str(path))
    params = read_png_params(path)
    assert params["seed"] == 1234 and params["label"] == 1 and params["model"] == "digits"
    assert Image.open(path).size == ((2 * 17 + 1) * 4, (2 * 17 + 1) * 4)   # 1-px frame
    tab.seed.setValue(1)
    tab.label_picker.setCurrentIndex(0)
    tab.grid.setValue(5)
    window.open_path(str(path))
    assert tab.seed.value() == 1234 and tab.label_picker.label() == 1
    assert tab.grid.value() == 2 and tab.temperature.value() == pytest.approx(0.7)


def test_audio_tab_generates_without_a_sound_device(window, qtbot, tmp_path,
                                                    every_event_its_own_batch):
    tab = window.audio_tab
    tab.seconds.setValue(0.5)
    lengths = record_updates(tab, lambda: len(tab.waveform.samples))
    tab.generate()
    wait_done(qtbot, tab)
    assert len(set(lengths)) >= 3 and lengths == sorted(lengths)   # the waveform grew live
    assert len(tab.waveform.samples) == 4000
    assert tab.play_button.isEnabled() == tab.output.available    # no device: off, says why
    if not tab.output.available:      # CI and this machine: a notice, not a crash
        text = tab.message.text()
        assert not tab.message.isHidden() and "Playback unavailable" in text
    path = tmp_path / "a.wav"
    tab.save_result(str(path))
    assert read_wav_params(path)["seconds"] == 0.5
    tab.play_again()                      # must not raise without a device
    window.open_path(str(path))
    assert len(tab.waveform.samples) == 4000


def test_text_tab_streams_continues_and_regenerates(window, qtbot, tmp_path,
                                                    every_event_its_own_batch):
    tab = window.text_tab
    tab.prompt.setPlainText("ab")
    tab.length.setValue(600)
    shown = record_updates(tab, lambda: tab.output.toPlainText())
    tab.generate()
    wait_done(qtbot, tab)
    first = tab._completion
    assert len(set(shown)) >= 2 and all(t.startswith("ab") for t in shown)   # streamed in
    assert len(first) == 600 and tab.output.toPlainText() == "ab" + first
    tab.continue_()
    wait_done(qtbot, tab)
    assert tab._completion.startswith(first) and len(tab._completion) == 1200
    seed = tab.seed.value()
    tab.regenerate()
    wait_done(qtbot, tab)
    assert tab.seed.value() != seed and len(tab._completion) == 600
    path = tmp_path / "t.txt"
    tab.save_result(str(path))
    text, params = read_text_file(path)
    assert text == "ab" + tab._completion and params["prompt"] == "ab"


def test_text_prompt_with_unknown_characters_is_explained(window, qtbot):
    tab = window.text_tab
    tab.prompt.setPlainText("ZZZ")
    tab.generate()
    assert not tab.runner.running and "never saw" in tab.message.text()


def test_corrupt_checkpoint_shows_an_error_and_the_tab_still_works(window, qtbot, tmp_path):
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x80\x04garbage")
    window.open_path(str(bad))
    tab = window.current_tab()
    assert not tab.message.isHidden() and "pickle" in tab.message.text()
    image = window.image_tab
    window.tabs.setCurrentWidget(image)
    image.grid.setValue(1)
    image.generate()
    wait_done(qtbot, image)
    assert "Done" in image.stats.text()


def test_worker_error_is_shown_and_tab_recovers(window, qtbot, tiny_models):
    tab = window.image_tab
    info = tab.picker.current()
    info.path.write_bytes(info.path.read_bytes()[:200])       # truncated after listing
    tab.generate()
    wait_done(qtbot, tab)
    assert not tab.message.isHidden() and "truncated" in tab.message.text()
    assert tab.generate_button.isEnabled()


def test_closing_during_generation_stops_and_joins(qtbot, tiny_models):
    from app.ui.main_window import MainWindow
    from app.ui.workers import WorkerRunner

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.image_tab.grid.setValue(8)
    win.image_tab.generate()
    qtbot.waitUntil(lambda: win.image_tab.generate_mode.state.done > 2, timeout=20000)
    win.close()
    assert not WorkerRunner.live_threads


def test_settings_persist_across_restarts(qtbot, tiny_models):
    from app.ui.main_window import MainWindow

    first = MainWindow()
    qtbot.addWidget(first)
    first.text_tab.prompt.setPlainText("hello")
    first.image_tab.grid.setValue(3)
    first.tabs.setCurrentIndex(2)
    first.close()
    second = MainWindow()
    qtbot.addWidget(second)
    second.restore()
    assert second.text_tab.prompt.toPlainText() == "hello"
    assert second.image_tab.grid.value() == 3 and second.tabs.currentIndex() == 2
    second.close()


def test_dropping_a_checkpoint_selects_it_in_its_tab(window, qtbot, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    from app.core.checkpoint import save_bundle
    from tests.conftest import make_bundle

    net, codec = make_bundle("charlm-gpt")
    path = save_bundle(tmp_path / "dropped.safetensors", net, codec, {})
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.current_tab() is window.text_tab
    assert window.text_tab.picker.current().path == path
    assert "Model: dropped" in window.model_label.text()


def test_an_any_order_model_generates_in_the_chosen_order(window, qtbot, save_tiny):
    tab = window.image_tab
    window.tabs.setCurrentWidget(tab)
    assert not tab.order.isEnabled()                       # the tiny PixelCNN: raster only
    tab.open_checkpoint(save_tiny("anyorder"))
    assert tab.order.isEnabled()
    tab.order.setCurrentIndex(tab.order.findData("spiral"))
    tab.grid.setValue(2)
    tab.generate()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=60000)
    assert "Done" in tab.stats.text() and tab.generate_mode.params["order"] == "spiral"
    assert tab.generate_mode.state.drawn.all() and tab.canvas.images.shape[0] == 4
    tab.open_checkpoint(save_tiny("pixelcnn", name="raster-only"))
    assert not tab.order.isEnabled() and tab.order.currentData() == "raster"
