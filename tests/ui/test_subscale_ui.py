"""A Subscale Pixel Network in the GUI: generates in its own order, says plainly that it
cannot inpaint, and is offered as a new model in the Train tab."""
import numpy as np

from tests.ui.test_train_tab import choose_start


def test_image_tab_generates_in_subscale_order_and_inpaint_says_why_not(window, qtbot,
                                                                        save_tiny):
    tab = window.image_tab
    window.tabs.setCurrentWidget(tab)
    tab.open_checkpoint(save_tiny("subscale"))
    assert not tab.order.isEnabled() and tab.order.currentData() == "subscale"
    assert "subscale order only" in tab.order.toolTip()
    tab.grid.setValue(2)
    tab.generate()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=60000)
    assert "Done" in tab.stats.text() and tab.generate_mode.params["order"] == "subscale"
    assert tab.generate_mode.state.drawn.all() and tab.canvas.images.shape[0] == 4
    picture = np.full((6, 4, 1), 128, np.uint8)
    assert tab.load_image(tab.inpaint.load_pixels, picture, "a test picture")
    assert tab.mode == "inpaint"
    fc = tab.fill_controls
    model = fc.method.model()
    assert not any(model.item(i).isEnabled() for i in range(fc.method.count()))
    tab.inpaint.editor.rectangle(1, 1, 3, 2)
    tab.inpaint._mask_edited()
    tab.generate()
    assert not tab.runner.running
    assert tab.message.isVisible() and "Subscale Pixel Network" in tab.message.text()


def test_train_tab_offers_a_new_subscale_model_with_sizes(window):
    tab = window.train_tab
    window.tabs.setCurrentWidget(tab)
    choose_start(tab, "New Subscale Pixel Network")
    assert tab.size.count() == 3 and "parameters" in tab.size.itemText(0)
    assert tab.batch.value() == 8


def test_an_spn_can_start_from_a_small_picture_of_yours(window, qtbot, save_tiny, tmp_path):
    from PIL import Image

    tab = window.image_tab
    window.tabs.setCurrentWidget(tab)
    assert not tab.form.isRowVisible(tab.small_box)           # the default model: no
    tab.open_checkpoint(save_tiny("subscale"))
    assert tab.form.isRowVisible(tab.small_box)
    small = tmp_path / "small.png"
    Image.fromarray(np.full((3, 2), 200, np.uint8)).save(small)
    tab.small_box.set_path(str(small))
    tab.grid.setValue(2)
    tab.generate()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=60000)
    state = tab.generate_mode.state
    assert "Done" in tab.stats.text() and state.finished
    expected = state.codec.encode(np.full((6, 4, 1), 200, np.uint8))[:, ::2, ::2]
    assert (state.levels[:, :, ::2, ::2] == expected).all()
    assert tab.generate_mode.params["upscaled_from"] == str(small)
    tab.set_mode("inpaint")
    assert not tab.form.isRowVisible(tab.small_box)
