"""One image of a grid: saved on its own with the grid's parameters, copied, sent to
Inpaint (the canvas's context menu)."""
import numpy as np
from PySide6.QtWidgets import QApplication

from app.core.saved_images import saved_images, saved_params
from tests.ui.test_tabs import wait_done


def test_one_image_of_a_grid_is_saved_copied_and_inpainted(window, qtbot, tmp_path):
    tab = window.image_tab
    tab.grid.setValue(2)
    tab.generate()
    wait_done(qtbot, tab)
    images = tab.canvas.images
    path = tmp_path / "third.png"
    tab.save_sample(2, str(path))
    params = saved_params(path)
    assert (params["n"], params["grid_n"], params["grid_index"]) == (1, 4, 3)
    assert params["seed"] == tab.seed.value()
    (alone,) = saved_images(path, params)
    assert np.array_equal(alone, images[2][..., :3].repeat(3 // images.shape[-1], -1))
    tab.canvas.copy_image(2)
    copied = QApplication.clipboard().image()
    assert (copied.width(), copied.height()) == (4 * images.shape[2], 4 * images.shape[1])
    window.open_path(str(path))                         # reopens as one image
    assert len(tab.canvas.images) == 1
    tab.canvas.use_requested.emit(0)
    assert tab.mode == "inpaint"
