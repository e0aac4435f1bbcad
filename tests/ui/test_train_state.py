"""What the user chose survives a training run; a new model changes no tab's selection;
a paused run says so and every run is listed from its start."""
import time
from pathlib import Path

import pytest

from app.core import paths
from tests.conftest import make_bundle
from tests.ui.test_finetune_bundled import draw_ones
from tests.ui.test_train_tab import one_training_thread, prepare, wait_until_still  # noqa: F401

REAL_BUNDLED = paths.bundled_models_dir()


def start_texts(tab) -> list[str]:
    return [tab.start.itemText(i) for i in range(tab.start.count())]


def choices(tab) -> dict:
    return {"start": tab.start.currentText(), "size": tab.size.currentData(),
            "lr": tab.lr.value(), "batch": tab.batch.value(), "steps": tab.steps.value(),
            "data": tab.data_path.text()}


@pytest.fixture
def bundled(tiny_models, monkeypatch):
    """The shipped models are listed again (the window fixture hides them)."""
    monkeypatch.setattr(paths, "bundled_models_dir", lambda: REAL_BUNDLED)


def test_fine_tuning_a_bundled_model_keeps_the_choice_after_stop(bundled, window, qtbot,
                                                                 tmp_path):
    draw_ones(tmp_path / "mine", count=8)
    tab = window.train_tab
    window.tabs.setCurrentWidget(tab)
    tab.start.setCurrentIndex(start_texts(tab).index("Fine-tune mnist"))
    tab.set_data(str(tmp_path / "mine"))
    qtbot.waitUntil(lambda: tab.job is not None and not tab.runner.running, timeout=60000)
    tab.lr.setValue(0.0004)
    tab.batch.setValue(2)
    tab.steps.setValue(60)
    tab.checkpoint.setValue(2)
    tab.preview_every.setValue(1000)
    chosen = choices(tab)
    tab.train()
    assert choices(tab) == chosen
    qtbot.waitUntil(lambda: len(tab.plot.steps) >= 3, timeout=120000)
    tab.stop()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=60000)
    assert "Stopped" in tab.stats.text()
    # The stopped run's model is listed; the choice is the user's, and the status bar agrees.
    assert "Fine-tune mine-mnist (yours)" in start_texts(tab)
    assert choices(tab) == chosen
    assert window.model_label.text() == "Fine-tune mnist"
    assert tab.train_button.isEnabled()
    # Train again: it fine-tunes mnist again (not the weights the stopped run left).
    tab.train()
    assert tab.session.start == str(REAL_BUNDLED / "mnist.safetensors")
    assert tab.session.kind == "pixelcnn" and tab.session.settings["lr"] == 0.0004
    qtbot.waitUntil(lambda: len(tab.plot.steps) >= 1, timeout=120000)
    tab.stop()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=60000)
    assert choices(tab) == chosen


def test_a_finished_run_keeps_the_size_and_settings(window, qtbot, tmp_path):
    tab = prepare(qtbot, window, tmp_path)
    tab.size.setCurrentIndex(tab.size.findData("medium"))
    qtbot.waitUntil(lambda: tab.job is not None and not tab.runner.running, timeout=30000)
    tab.lr.setValue(0.0042)
    tab.batch.setValue(3)
    tab.steps.setValue(4)
    tab.checkpoint.setValue(2)
    tab.preview_every.setValue(1000)
    tab.name.setText("sonnets")
    chosen = choices(tab)
    tab.train()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=60000)
    assert "Done" in tab.stats.text()
    assert "Fine-tune sonnets (yours)" in start_texts(tab)
    assert choices(tab) == chosen and chosen["start"].startswith("New LSTM")
    assert chosen["size"] == "medium" and tab.train_button.isEnabled()
    window.model_trained(str(Path(tab.job.out_path)))    # a second refresh changes nothing
    assert choices(tab) == chosen


def test_a_new_model_is_listed_everywhere_and_selected_nowhere(window, qtbot):
    from app.core.checkpoint import save_bundle
    from app.core.paths import user_models_dir
    from app.ui.widgets.controls import ModelPicker

    image = window.image_tab
    image.label_picker.set_label("class2")
    method = image.fill_controls.method
    method.setCurrentIndex(method.findData("resample"))
    pickers = [p for tab in window.generating_tabs() for p in tab.findChildren(ModelPicker)]
    before = {id(p): p.current().path for p in pickers}
    changed = []
    for picker in pickers:
        picker.model_changed.connect(changed.append)
    start = window.train_tab.start.currentText()
    # An any-order model with other classes, named to sort before the chosen ones: had it been
    # selected, the class and the inpainting method would have had to change.
    net, codec = make_bundle("anyorder", num_classes=2)
    path = user_models_dir() / "a-fresh.safetensors"
    save_bundle(path, net, codec, {"description": "tiny"})
    window.train_tab.model_ready.emit(str(path))
    assert changed == []
    assert {id(p): p.current().path for p in pickers} == before
    listed = [image.picker.itemData(i).name for i in range(image.picker.count())]
    assert listed[0] == "a-fresh" and image.picker.current().name == "digits"
    assert image.label_picker.currentText() == "class2"
    assert image.fill_controls.current() == "resample"
    assert window.train_tab.start.currentText() == start
    assert "Fine-tune a-fresh (yours)" in start_texts(window.train_tab)
    assert window.statusBar().currentMessage() == "New model ready: a-fresh"


def test_a_model_picker_refresh_keeps_its_choice_quietly(window):
    from app.core.checkpoint import save_bundle
    from app.core.paths import user_models_dir

    picker = window.image_tab.picker
    net, codec = make_bundle("pixelcnn")
    save_bundle(user_models_dir() / "a-first.safetensors", net, codec, {"description": "tiny"})
    changed = []
    picker.model_changed.connect(changed.append)
    picker.refresh()
    assert picker.current().name == "digits" and picker.currentIndex() == 1
    assert changed == []
    picker.refresh()
    assert changed == [] and picker.current().name == "digits"


def test_a_paused_run_says_so_and_runs_are_listed_from_their_start(window, qtbot, tmp_path):
    tab = prepare(qtbot, window, tmp_path)
    tab.steps.setValue(150)
    tab.batch.setValue(2)
    tab.checkpoint.setValue(5)
    tab.preview_every.setValue(1000)
    started = time.monotonic()
    tab.train()
    qtbot.waitUntil(lambda: len(tab.plot.steps) >= 3, timeout=60000)
    # Listed as running while it runs, and kept up to date.
    assert tab.runs.count() == 1 and "running" in tab.runs.item(0).text()
    assert "steps/s" in tab.stats.text() and "ETA" in tab.stats.text()
    tab.toggle_pause()
    wait_until_still(qtbot, tab)
    step = tab.plot.steps[-1]
    text = tab.stats.text()
    assert f"Paused at step {step} of 150" in text
    assert "steps/s" not in text and "ETA" not in text
    assert f"running at {step}/150" in tab.runs.item(0).text()
    qtbot.wait(2000)
    assert tab.stats.text() == text                 # nothing moves while paused
    tab.toggle_pause()
    qtbot.waitUntil(lambda: len(tab.plot.steps) > step + 1, timeout=30000)
    assert "steps/s" in tab.stats.text() and "Paused" not in tab.stats.text()
    # The two seconds paused are not part of the run's time.
    assert tab.session.elapsed_s < time.monotonic() - started - 1.5
    tab.stop()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=30000)
    assert "stopped" in tab.runs.item(0).text()



def test_the_train_tabs_worker_never_touches_a_widget(window, qtbot, tmp_path, worker_watch):
    """Reading the data, training, stopping and resuming: the worker thread calls no function
    of app/ui (but the worker loop) and no Qt method (but emitting its signals)."""
    tab = prepare(qtbot, window, tmp_path)
    tab.steps.setValue(400)
    tab.batch.setValue(2)
    tab.checkpoint.setValue(2)
    tab.preview_every.setValue(2)
    tab.train()
    qtbot.waitUntil(lambda: len(tab.plot.steps) >= 3, timeout=60000)
    tab.stop()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=60000)
    tab.runs.setCurrentItem(tab.runs.item(0))
    tab.resume_selected()
    qtbot.waitUntil(lambda: tab.mode == "train", timeout=30000)
    qtbot.waitUntil(lambda: len(tab.plot.steps) >= 5, timeout=60000)
    tab.stop()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=60000)
    assert tab.preview.preview is not None
    # The watch did see the worker at work (reading data, training, resuming) ...
    assert {"job_for_folder", "run_job", "job_from_run", "make_preview"} <= \
        set(worker_watch.core_calls)
    # ... and never in a widget.
    assert worker_watch.touched() == []
