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
