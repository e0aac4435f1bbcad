"""Issue 13: a user's choice travels one path. Each test is one defect a user met: state
leaking between modes and tabs, stale banners, a progress bar that disagrees with its line,
saved parameters that say something else than what happened, a worker reading widgets."""

import numpy as np

from app.core.outputs import read_png_params, read_text_file
from tests.conftest import make_bundle
from tests.ui.test_tabs import wait_done


def add_model(folder, name, kind, **overrides):
    from app.core.checkpoint import save_bundle

    net, codec = make_bundle(kind, **overrides)
    return save_bundle(folder / f"{name}.safetensors", net, codec, {"description": "tiny"})


def image_tab(window, *names):
    tab = window.image_tab
    window.tabs.setCurrentWidget(tab)
    tab.picker.refresh()
    tab.compare.other.refresh()
    tab.picker.select_name(names[0] if names else "digits")
    return tab


def test_a_saved_grid_opens_as_its_images_with_its_parameters(window, qtbot, tmp_path):
    # Defect 3: a saved 4x4 grid opened for inpainting was squashed into one image.
    tab = image_tab(window)
    tab.grid.setValue(2)
    tab.seed.setValue(7)
    tab.temperature.setValue(0.8)
    tab.generate()
    wait_done(qtbot, tab)
    drawn = tab.canvas.images.copy()
    path = tmp_path / "grid.png"
    tab.save_result(str(path))
    tab.seed.setValue(1)
    tab.grid.setValue(5)
    tab.set_mode("inpaint")
    tab.open_result(str(path))
    assert tab.mode == "generate" and tab.canvas.images.shape[0] == 4
    assert np.array_equal(tab.canvas.images[..., :1], drawn)
    assert (tab.seed.value(), tab.grid.value(), tab.temperature.value()) == (7, 2, 0.8)
    assert "click one" in tab.stats.text()
    tab.use_sample(3)                                   # the cell the user picked
    assert tab.mode == "inpaint"
    assert np.array_equal(tab.inpaint.image, tab.inpaint.session.codec.encode(drawn[3]))


def test_a_banner_about_the_model_goes_when_the_model_can(window, qtbot, tiny_models):
    # Defect 4: "cannot inpaint" stayed after switching to a model that can; Fill was enabled.
    add_model(tiny_models, "slices", "subscale")
    tab = image_tab(window, "slices")
    tab.load_image(tab.inpaint.load_pixels, np.full((16, 16, 1), 90, np.uint8), "grey")
    assert tab.mode == "inpaint"
    assert tab.message.isVisible() and "Subscale Pixel Network" in tab.message.text()
    assert not tab.generate_button.isEnabled()
    assert "Subscale" in tab.generate_button.toolTip()
    tab.picker.select_name("digits")
    assert tab.message.isHidden() and tab.generate_button.isEnabled()


def test_each_mode_and_tab_keeps_its_own_messages(window, qtbot, tiny_models):
    # Defect 5: Compare's and Inpaint's lines showed in Generate and in the Audio tab.
    add_model(tiny_models, "loose", "anyorder", height=16, width=16)
    tab = image_tab(window)
    tab.grid.setValue(1)
    tab.generate()
    wait_done(qtbot, tab)
    generate_line = tab.stats.text()
    assert generate_line.startswith("Done")
    tab.set_mode("compare")
    tab.compare.other.select_name("loose")
    assert tab.stats.text() == "" and "both models" not in tab.progress.format()
    tab.generate()
    wait_done(qtbot, tab)
    assert "Compute" in tab.stats.text()
    assert "Compare:" in window.statusBar().currentMessage()
    tab.set_mode("generate")
    assert tab.stats.text() == generate_line and "both models" not in tab.progress.format()
    assert window.statusBar().currentMessage().startswith("Image:")
    window.tabs.setCurrentWidget(window.audio_tab)
    assert "Compare" not in window.statusBar().currentMessage()
    assert "voice" in window.statusBar().currentMessage()
    tab.announce("Image: a line while hidden")           # a hidden tab's line waits
    assert "hidden" not in window.statusBar().currentMessage()
    window.tabs.setCurrentWidget(tab)
    assert "hidden" in window.statusBar().currentMessage()


def test_after_stop_the_bar_and_the_line_agree(window, qtbot):
    # Defect 6: "224 / 784" on the bar against "Stopped after 225" in the line.
    tab = image_tab(window)
    tab.grid.setValue(8)
    tab.generate()
    qtbot.waitUntil(lambda: tab.generate_mode.state.done > 7, timeout=20000)
    tab.stop()
    wait_done(qtbot, tab)
    done = tab.generate_mode.state.done
    assert f"Stopped after {done} of" in tab.stats.text()
    assert tab.progress.value() == done


def test_compare_never_pairs_a_model_with_itself_or_a_pair_that_cannot_work(window, qtbot,
                                                                            tiny_models):
    # Defect 7: the model itself was offered as its partner; the first pair could not run.
    add_model(tiny_models, "loose", "anyorder", height=16, width=16, num_classes=3)
    add_model(tiny_models, "other-classes", "pixelcnn", height=16, width=16, num_classes=5)
    tab = image_tab(window)
    tab.label_picker.setCurrentIndex(2)                     # class 1 of "digits"
    tab.set_mode("compare")
    other = tab.compare.other
    items = other.model()
    for i in range(other.count()):
        if other.itemData(i).name == "digits":
            assert not items.item(i).isEnabled()
    assert other.current().name == "loose"                  # same classes: comparable
    assert tab.compare_mode.problem() is None and tab.generate_button.isEnabled()


def test_saved_files_say_what_happened(window, qtbot, tmp_path):
    # Defect 9: an inpaint PNG recorded variation 0 after variation 4 was accepted; a text
    # stopped early recorded the asked-for length and no "stopped".
    tab = image_tab(window)
    tab.load_image(tab.inpaint.load_pixels, np.full((16, 16, 1), 90, np.uint8), "grey")
    tab.inpaint.editor.rectangle(4, 4, 8, 8)
    tab.inpaint._mask_edited()
    tab.fill_controls.variations.setValue(5)
    tab.generate()
    wait_done(qtbot, tab)
    tab.inpaint.strip.set_current(4)
    tab.inpaint.accept()
    path = tmp_path / "filled.png"
    tab.save_result(str(path))
    params = read_png_params(path)
    assert params["variation"] == 4 and params["mode"] == "inpaint" and params["version"] == 2

    text = window.text_tab
    window.tabs.setCurrentWidget(text)
    text.prompt.setPlainText("")                 # the tiny model's vocabulary has no capitals
    text.length.setValue(5000)
    text.generate()
    qtbot.waitUntil(lambda: len(text._completion) > 20, timeout=20000)
    text.stop()
    wait_done(qtbot, text)
    saved = tmp_path / "text.txt"
    text.save_result(str(saved))
    body, params = read_text_file(saved)
    assert params["stopped"] is True and params["characters"] == len(text._completion) < 5000
    assert body == text._prompt_text + text._completion


def test_the_worker_thread_never_touches_a_widget(window, qtbot, worker_watch):
    """Every run of every generating tab: no Qt object method and no function of app/ui
    (other than the worker loop and the audio tab's player feed) is called from the worker
    thread."""
    tab = image_tab(window)
    tab.grid.setValue(1)
    for mode in ("generate", "compare"):
        tab.set_mode(mode)
        tab.generate()
        wait_done(qtbot, tab)
    tab.set_mode("generate")            # the explain views' runs: branch, score, dependence
    views = tab.generate_mode.views
    for act in (lambda: views.branch(0, 5, None), views.score_shown,
                lambda: views.show_dependence(0, 3, 3)):
        act()
        wait_done(qtbot, tab)
    tab.load_image(tab.inpaint.load_pixels, np.full((16, 16, 1), 90, np.uint8), "grey")
    tab.inpaint.editor.rectangle(2, 2, 4, 4)
    tab.generate()
    wait_done(qtbot, tab)
    window.text_tab.prompt.setPlainText("")
    for other in (window.text_tab, window.audio_tab):
        window.tabs.setCurrentWidget(other)
        other.generate()
        wait_done(qtbot, other)
    text = window.text_tab                   # a branch, and Score mode
    text.branch(3)
    wait_done(qtbot, text)
    text.set_mode("score")
    text.scoring.view.setPlainText("abc abc")
    text.generate()
    wait_done(qtbot, text)
    window.audio_tab.score()
    wait_done(qtbot, window.audio_tab)
    # The watch did see the worker at work: every kind of run drew in the worker thread ...
    core_calls = set(worker_watch.core_calls)
    assert {"request_events", "sample_raster", "fill_raster", "branch_events", "score",
            "dependence", "score_text", "score_audio"} <= core_calls, sorted(core_calls)[:40]
    # The worker emits its signals (Qt's own queued calls): those are the only Qt calls.
    assert worker_watch.touched(allowed={"feed_player"}) == []
