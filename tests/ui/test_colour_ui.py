"""Colour and staged models in the window: a depth-upscaling model draws in the Image tab
with its stages named, and the Train tab offers the image formats a new model can take."""
from tests.ui.test_tabs import record_stats
from tests.ui.test_train_tab import choose_start


def test_a_depth_upscaling_model_names_its_stages_while_drawing(window, qtbot, save_tiny):
    tab = window.image_tab
    window.tabs.setCurrentWidget(tab)
    tab.open_checkpoint(save_tiny("depth-upscale"))
    tab.grid.setValue(2)
    lines = record_stats(tab.generate_mode)
    tab.generate()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=60000)
    assert "Done" in tab.stats.text()
    state = tab.generate_mode.state
    assert state.finished and state.done == state.total == 2 * 3 * 6 * 5
    assert tab.canvas.images.shape == (4, 6, 5, 3)
    # Events arrive in batches, so which stages a status line caught varies; each line
    # during the run names its stage.
    running = [line for line in lines if "pixels/s" in line]
    assert running and all(line.startswith("Stage ") for line in running)
    assert any("coarse: 2-bit colour" in line or "refine" in line for line in running)


def test_train_tab_offers_colour_formats_to_kinds_that_take_them(window):
    tab = window.train_tab
    window.tabs.setCurrentWidget(tab)
    form = tab.form
    choose_start(tab, "New Gated PixelCNN")
    formats = [form.image_format.itemText(i) for i in range(form.image_format.count())]
    assert "32 \u00d7 32 colour" in formats and "28 \u00d7 28 grey" in formats
    assert form.start_form.isRowVisible(form.image_format)
    form.image_format.setCurrentIndex(form.image_format.findText("32 \u00d7 32 colour"))
    assert form.choice().image == (32, 32, 3)
    choose_start(tab, "New PixelRNN")
    formats = [form.image_format.itemText(i) for i in range(form.image_format.count())]
    assert formats and all("grey" in f for f in formats)
    choose_start(tab, "New WaveNet")
    assert not form.start_form.isRowVisible(form.image_format)
    assert form.choice().image is None
