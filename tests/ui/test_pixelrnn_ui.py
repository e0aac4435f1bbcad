"""A PixelRNN in the views: painted pixel by pixel, offered the raster inpainting methods,
listed with its sizes in the Train tab."""
from app.core.registry import method_mismatch as mismatch
from app.ui.tabs.inpaint_fill import FillControls
from tests.ui.test_train_tab import choose_start


def test_raster_methods_fit_a_pixelrnn_and_any_order_does_not(qtbot):
    assert mismatch("raster", "pixelrnn") is None and mismatch("resample", "pixelrnn") is None
    assert ("needs a PixelCNN, a PixelRNN or a depth-upscaling PixelCNN; this model is an "
            "any-order model") in mismatch("raster", "anyorder")
    assert "this model is a PixelRNN" in mismatch("any-order", "pixelrnn")
    controls = FillControls()
    controls.fit_model("pixelrnn")
    enabled = {controls.method.itemData(i): controls.method.model().item(i).isEnabled()
               for i in range(controls.method.count())}
    assert enabled == {"raster": True, "resample": True, "any-order": False}
    assert controls.fits()


def test_the_image_tab_paints_a_pixelrnn_pixel_by_pixel(window, qtbot, save_tiny):
    tab = window.image_tab
    window.tabs.setCurrentWidget(tab)
    tab.open_checkpoint(save_tiny("pixelrnn"))
    assert not tab.order.isEnabled()                       # raster order only
    tab.grid.setValue(2)
    seen = []
    start = tab.runner.start

    def spy_start(factory, handler, on_error=None):
        def spy(events):
            handler(events)
            seen.append(int(tab.generate_mode.state.drawn.sum()))
        start(factory, spy, on_error)

    tab.runner.start = spy_start
    tab.generate()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=60000)
    assert "Done" in tab.stats.text() and seen == sorted(seen) and seen[-1] == 30
    assert tab.canvas.images.shape == (4, 6, 5, 1)


def test_the_train_tab_offers_a_fresh_pixelrnn_with_its_sizes(window):
    tab = window.train_tab
    choose_start(tab, "New PixelRNN (Row LSTM)")
    sizes = [tab.size.itemText(i) for i in range(tab.size.count())]
    assert len(sizes) == 3 and all("M parameters" in s for s in sizes)
    assert tab.batch.value() == 16
