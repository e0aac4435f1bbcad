"""The Train tab: read a folder, train with live curves and samples, pause, stop, resume."""
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def one_training_thread(monkeypatch):
    """Runs train on one thread, as every test does (tests/conftest.py): a run on every core
    of a machine that is busy with something else crawls."""
    from app.ui.tabs import train_tab

    monkeypatch.setattr(train_tab, "training_threads", lambda: 1)


def choose_start(tab, text):
    index = next(i for i in range(tab.start.count()) if text in tab.start.itemText(i))
    tab.start.setCurrentIndex(index)


def text_folder(tmp_path) -> Path:
    folder = tmp_path / "poems"
    folder.mkdir()
    (folder / "a.txt").write_text("shall i compare thee to a summer's day?\n" * 40)
    (folder / "noise.bin").write_bytes(b"\x00\x01")
    return folder


def wait_until_still(qtbot, tab, quiet_ms=1500) -> int:
    """After Pause: the step under way still finishes (on a busy machine a step can take a
    while); wait until no step has come for `quiet_ms`. Returns the steps shown."""
    for _ in range(40):
        before = len(tab.plot.steps)
        qtbot.wait(quiet_ms)
        if len(tab.plot.steps) == before:
            break
    return len(tab.plot.steps)


def prepare(qtbot, window, tmp_path, start="New LSTM"):
    tab = window.train_tab
    window.tabs.setCurrentWidget(tab)
    choose_start(tab, start)
    tab.set_data(str(text_folder(tmp_path)))
    qtbot.waitUntil(lambda: tab.job is not None and not tab.runner.running, timeout=30000)
    return tab


def test_data_summary_before_training(window, qtbot, tmp_path):
    tab = prepare(qtbot, window, tmp_path)
    text = tab.summary.text()
    assert "1 text files" in text and "characters" in text
    assert "noise.bin: wrong type" in text and "split:" in text
    assert tab.train_button.isEnabled()
    assert "0." in tab.size.itemText(0) and "parameters" in tab.size.itemText(0)


def test_training_shows_curves_and_samples_and_publishes_the_model(window, qtbot, tmp_path):
    tab = prepare(qtbot, window, tmp_path)
    tab.steps.setValue(12)
    tab.batch.setValue(4)
    tab.checkpoint.setValue(4)
    tab.preview_every.setValue(6)
    tab.name.setText("sonnets")
    tab.train()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=60000)
    assert tab.plot.steps == list(range(1, 13))
    assert [s for s, _ in tab.plot.held] == [4, 8, 12]
    assert tab.preview.preview is not None and tab.preview.preview.step == 12
    assert tab.preview.text.toPlainText()
    assert "Done" in tab.stats.text()
    names = [window.text_tab.picker.itemData(i).name for i in range(window.text_tab.picker.count())]
    assert "sonnets" in names
    # Listed for the user to pick; the text tab keeps the model it had.
    assert window.text_tab.picker.current().name == "bard"
    assert window.statusBar().currentMessage() == "New model ready: sonnets"
    assert tab.runs.count() == 1 and "finished" in tab.runs.item(0).text()


def test_pause_stop_and_resume_continue_the_curve(window, qtbot, tmp_path):
    tab = prepare(qtbot, window, tmp_path)
    tab.steps.setValue(150)
    tab.batch.setValue(2)
    tab.checkpoint.setValue(5)
    tab.preview_every.setValue(1000)
    tab.train()
    qtbot.waitUntil(lambda: len(tab.plot.steps) >= 3, timeout=60000)
    tab.toggle_pause()
    paused_at = wait_until_still(qtbot, tab)
    qtbot.wait(800)
    assert len(tab.plot.steps) == paused_at
    tab.toggle_pause()
    qtbot.waitUntil(lambda: len(tab.plot.steps) > paused_at, timeout=30000)
    tab.stop()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=30000)
    stopped_at = tab.plot.steps[-1]
    assert stopped_at < 150 and "Stopped" in tab.stats.text()
    item = tab.runs.item(0)
    assert "stopped" in item.text()
    tab.runs.setCurrentItem(item)
    assert tab.resume_button.isEnabled()
    tab.resume_selected()
    qtbot.waitUntil(lambda: tab.mode == "train", timeout=30000)
    # Generous: ~140 steps remain, and CI machines may be loaded (it once took over 120 s).
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=300000)
    assert tab.plot.steps == list(range(1, 151))       # one curve, continued, no repeats
    assert "finished" in tab.runs.item(0).text()


def test_bad_data_shows_a_message_and_the_tab_stays_usable(window, qtbot, tmp_path):
    tab = window.train_tab
    choose_start(tab, "New Gated PixelCNN")
    (tmp_path / "empty").mkdir()
    tab.set_data(str(tmp_path / "empty"))
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=30000)
    assert not tab.message.isHidden() and "fewer than 2 usable images" in tab.message.text()
    assert not tab.train_button.isEnabled()
    prepare(qtbot, window, tmp_path)
    assert tab.train_button.isEnabled()


def test_a_full_disk_mid_run_shows_the_message_and_the_run_resumes(window, qtbot, tmp_path,
                                                                  disk_full):
    tab = prepare(qtbot, window, tmp_path)
    tab.steps.setValue(10)
    tab.batch.setValue(2)
    tab.checkpoint.setValue(2)
    tab.preview_every.setValue(1000)
    disk_full("state.safetensors", after=1)      # step 2's state saves, step 4's does not
    tab.train()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=60000)
    text = tab.message.text()
    assert not tab.message.isHidden() and "\n" not in text
    assert "state.safetensors: the disk is full; training stopped after step 3" in text
    assert "stopped by an error" in tab.stats.text()
    assert tab.train_button.isEnabled() and "failed" in tab.runs.item(0).text()
    disk_full(None)
    tab.runs.setCurrentItem(tab.runs.item(0))
    assert tab.resume_button.isEnabled()
    tab.resume_selected()
    qtbot.waitUntil(lambda: tab.mode == "train", timeout=30000)
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=60000)
    assert tab.plot.steps == list(range(1, 11)) and "finished" in tab.runs.item(0).text()


def test_stop_when_the_state_cannot_be_saved_says_so(window, qtbot, tmp_path, disk_full):
    tab = prepare(qtbot, window, tmp_path)
    tab.steps.setValue(150)
    tab.batch.setValue(2)
    tab.checkpoint.setValue(100)
    tab.preview_every.setValue(1000)
    disk_full("state.safetensors")
    tab.train()
    qtbot.waitUntil(lambda: len(tab.plot.steps) >= 2, timeout=60000)
    tab.stop()                                     # Stop saves the state: that fails
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=30000)
    assert "state.safetensors: the disk is full; training stopped after step" in \
        tab.message.text()
    assert tab.train_button.isEnabled()
