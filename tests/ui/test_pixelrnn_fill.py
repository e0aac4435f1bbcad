"""Inpaint mode offers the raster methods for a PixelRNN, as for a PixelCNN."""
from app.ui.tabs.inpaint_fill import FillControls, mismatch


def test_raster_methods_fit_a_pixelrnn_and_any_order_does_not(qtbot):
    assert mismatch("raster", "pixelrnn") is None and mismatch("resample", "pixelrnn") is None
    assert "needs a PixelCNN or a PixelRNN; this model is an any-order model" in \
        mismatch("raster", "anyorder")
    assert "this model is a PixelRNN" in mismatch("any-order", "pixelrnn")
    controls = FillControls()
    controls.fit_model("pixelrnn")
    enabled = {controls.method.itemData(i): controls.method.model().item(i).isEnabled()
               for i in range(controls.method.count())}
    assert enabled == {"raster": True, "resample": True, "any-order": False}
    assert controls.fits()
