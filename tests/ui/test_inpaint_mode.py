"""Inpaint mode of the Image tab: load an image, paint a mask with the mouse, fill it live."""
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.core.outputs import read_png_params
from tests.ui.test_tabs import record_stats

LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton
NO_MOD = Qt.KeyboardModifier.NoModifier


def wait_done(qtbot, tab, timeout=60000):
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=timeout)


def picture(h=16, w=16, seed=0):
    """A smooth grey picture (a gradient plus noise) as uint8 (H, W, 1)."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, w)[None, :] * np.ones((h, 1))
    return np.clip(ramp + rng.normal(0, 20, (h, w)), 0, 255).astype(np.uint8)[..., None]


@pytest.fixture
def tab(window, qtbot):
    tab = window.image_tab
    window.tabs.setCurrentWidget(tab)
    assert tab.load_image(tab.inpaint.load_pixels, picture(), "a test picture")
    assert tab.mode == "inpaint"
    qtbot.waitExposed(window)
    tab.inpaint.canvas.setFocus()
    return tab


def at(canvas, row, col) -> QPoint:
    """The widget position of the centre of image pixel (row, col)."""
    scale, origin = canvas._layout()
    return QPoint(round(origin.x() + (col + 0.5) * scale), round(origin.y() + (row + 0.5) * scale))


def stroke(canvas, points, button=LEFT):
    QTest.mousePress(canvas, button, NO_MOD, at(canvas, *points[0]))
    for point in points[1:]:
        QTest.mouseMove(canvas, at(canvas, *point))
    QTest.mouseRelease(canvas, button, NO_MOD, at(canvas, *points[-1]))


def key(widget, k, modifiers=NO_MOD):
    QTest.keyClick(widget, k, modifiers)


def test_load_shows_the_conversion(window, qtbot, tmp_path):
    tab = window.image_tab
    path = tmp_path / "photo.jpg"
    Image.fromarray(np.full((48, 64, 3), 200, np.uint8)).save(path)
    window.open_path(str(path))                     # File > Open and drops go this way
    assert tab.mode == "inpaint" and tab.inpaint.has_image()
    assert "converted from 64\u00d748 RGB to 16\u00d716 grey, 16 levels" in tab.inpaint.note.text()
    assert tab.inpaint.image.shape == (1, 16, 16)


def test_brush_paints_where_the_mouse_goes_and_eraser_removes(tab):
    canvas, editor = tab.inpaint.canvas, tab.inpaint.editor
    tab.inpaint.toolbar.size_slider.setValue(1)
    stroke(canvas, [(8, 2), (8, 6), (8, 12)])
    assert editor.mask[8, 2:13].all()                 # a continuous line, even between moves
    assert editor.mask.sum() == 11 and not editor.mask[7].any()
    stroke(canvas, [(8, 5), (8, 7)], button=RIGHT)     # the right button erases
    assert not editor.mask[8, 5:8].any() and editor.mask[8, 4] and editor.mask[8, 8]
    tab.inpaint.toolbar.tool_buttons["eraser"].click()
    stroke(canvas, [(8, 2)])
    assert not editor.mask[8, 2]


def test_wheel_changes_the_brush_size_and_the_slider_follows(tab):
    canvas = tab.inpaint.canvas
    before = canvas.brush_size
    pos = QPointF(at(canvas, 4, 4))
    for delta in (120, 120, -120, 120):
        event = QWheelEvent(pos, canvas.mapToGlobal(pos), QPoint(0, 0), QPoint(0, delta),
                            Qt.MouseButton.NoButton, NO_MOD, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(canvas, event)
    assert canvas.brush_size == before + 2
    assert tab.inpaint.toolbar.size_slider.value() == before + 2


def test_undo_redo_restore_exact_masks(tab):
    panel, canvas = tab.inpaint, tab.inpaint.canvas
    panel.toolbar.size_slider.setValue(3)
    masks = [panel.editor.mask.copy()]
    stroke(canvas, [(2, 2), (2, 10)])
    masks.append(panel.editor.mask.copy())
    stroke(canvas, [(12, 3), (6, 7), (13, 13)])
    masks.append(panel.editor.mask.copy())
    panel.toolbar.tool_buttons["rectangle"].click()
    stroke(canvas, [(9, 1), (14, 5)])
    masks.append(panel.editor.mask.copy())
    assert masks[3][9:15, 1:6].all()
    panel.toolbar.invert_button.click()
    masks.append(panel.editor.mask.copy())
    assert len({m.tobytes() for m in masks}) == 5          # every step changed the mask
    for expected in reversed(masks[:-1]):
        key(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert np.array_equal(panel.editor.mask, expected)
    assert not panel.toolbar.undo_button.isEnabled()
    for expected in masks[1:]:
        key(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
            | Qt.KeyboardModifier.ShiftModifier)
        assert np.array_equal(panel.editor.mask, expected)
    panel.toolbar.undo_button.click()                       # the buttons do the same
    assert np.array_equal(panel.editor.mask, masks[3])


def hide_block(panel, top=4, bottom=13):
    panel.editor.rectangle(top, 0, bottom, 15)
    panel._mask_edited()
    return panel.editor.mask.copy()


def record_fills(tab):
    """After every batch the canvas shows, record how many hidden pixels are still to do."""
    seen, start = [], tab.runner.start

    def start_with_probe(factory, on_events, on_error=None):
        def spy(events):
            on_events(events)
            seen.append(int(tab.inpaint.fill.pending.sum()))
        start(factory, spy, on_error)

    tab.runner.start = start_with_probe
    return seen


def check_only_hidden_changed(panel, original, mask):
    staged = panel.staged
    assert staged is not None and staged.shape[1:] == original.shape
    known = np.repeat(original[None], len(staged), 0)[:, :, ~mask]
    assert np.array_equal(staged[:, :, ~mask], known)
    assert (staged[:, :, mask] != original[None][:, :, mask]).any()


@pytest.mark.parametrize("method", ["raster", "resample"])
def test_pixelcnn_fill_changes_only_hidden_pixels_live(tab, qtbot, method, monkeypatch):
    import app.ui.workers

    # One batch per event: on a fast machine a tiny fill could otherwise fit in two batches.
    monkeypatch.setattr(app.ui.workers, "BATCH_INTERVAL_S", 0.0)
    panel = tab.inpaint
    mask = hide_block(panel)
    original = panel.image.copy()
    tab.fill_controls.method.setCurrentIndex(tab.fill_controls.method.findData(method))
    tab.fill_controls.candidates.setValue(3)
    tab.fill_controls.variations.setValue(4)
    pending = record_fills(tab)
    tab.generate()
    wait_done(qtbot, tab)
    assert len(set(pending)) >= 3 and pending == sorted(pending, reverse=True)
    assert pending[-1] == 0
    check_only_hidden_changed(panel, original, mask)
    assert len(panel.staged) == 4 and panel.strip.count == 4 and panel.strip.isVisible()
    assert np.array_equal(panel.image, original)            # staged, not yet accepted
    assert tab.save_button.isEnabled() and "Filled" in tab.stats.text()


def test_anyorder_fill_with_the_chosen_order(window, tab, qtbot, save_tiny):
    tab.open_checkpoint(save_tiny("anyorder"))
    fc = tab.fill_controls
    assert fc.current() == "any-order" and fc.order.isEnabled()
    raster = fc.method.model().item(fc.method.findData("raster"))
    assert not raster.isEnabled()
    assert "PixelCNN" in fc.method.itemData(0, Qt.ItemDataRole.ToolTipRole)
    panel = tab.inpaint
    assert panel.image.shape == (1, 6, 5)                   # converted to the new model
    panel.editor.rectangle(1, 1, 4, 3)
    panel._mask_edited()
    mask, original = panel.editor.mask.copy(), panel.image.copy()
    fc.order.setCurrentIndex(fc.order.findData("spiral"))
    tab.generate()
    wait_done(qtbot, tab)
    check_only_hidden_changed(panel, original, mask)
    assert panel.session.staged_request.order == "spiral"


def test_stop_mid_fill_leaves_a_valid_image(tab, qtbot):
    panel = tab.inpaint
    mask = hide_block(panel, 0, 15)
    original = panel.image.copy()
    tab.fill_controls.method.setCurrentIndex(tab.fill_controls.method.findData("resample"))
    tab.fill_controls.candidates.setValue(16)
    tab.fill_controls.variations.setValue(16)
    tab.generate()
    qtbot.waitUntil(lambda: panel.fill is not None and panel.fill.done > 3, timeout=60000)
    key(tab.inpaint.canvas, Qt.Key.Key_Escape)
    wait_done(qtbot, tab)
    assert "Stopped" in tab.stats.text()
    staged = panel.staged
    assert staged is not None and staged.min() >= 0 and staged.max() < 16
    assert np.array_equal(staged[:, :, ~mask], np.repeat(original[None], 16, 0)[:, :, ~mask])
    # Pixels the fill never reached keep the original values.
    assert np.array_equal(staged[:, :, -1], np.repeat(original[None], 16, 0)[:, :, -1])
    assert tab.generate_button.isEnabled() and panel.canvas.painting_enabled


def test_accept_then_undo_restores_the_image(tab, qtbot):
    panel = tab.inpaint
    mask = hide_block(panel)
    original = panel.image.copy()
    tab.fill_controls.variations.setValue(3)
    tab.generate()
    wait_done(qtbot, tab)
    panel.strip.next.click()
    chosen = panel.staged[1].copy()
    panel.strip.accept.click()
    assert np.array_equal(panel.image, chosen) and panel.staged is None
    assert tab.save_button.isEnabled()                       # the accepted image can be saved
    key(panel.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(panel.image, original)
    assert np.array_equal(panel.editor.mask, mask)           # the mask was not touched
    key(panel.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
        | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(panel.image, chosen)


def test_bad_files_and_empty_masks_are_explained_and_the_tab_still_works(
        window, tab, qtbot, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("this is not an image")
    window.open_path(str(bad))
    assert not tab.message.isHidden() and "not a readable image" in tab.message.text()
    assert tab.inpaint.has_image()                           # the old image is still there
    tab.generate()                                           # nothing hidden yet
    assert not tab.runner.running and "hides no pixel" in tab.message.text()
    hide_block(tab.inpaint, 14, 15)
    tab.generate()
    wait_done(qtbot, tab)
    assert tab.inpaint.staged is not None


def test_a_method_that_does_not_fit_the_model_is_refused_with_the_reason(tab, qtbot):
    fc = tab.fill_controls
    anyorder = fc.method.findData("any-order")
    assert not fc.method.model().item(anyorder).isEnabled()
    assert "this model is a PixelCNN" in fc.method.itemData(anyorder, Qt.ItemDataRole.ToolTipRole)
    fc.method.setCurrentIndex(anyorder)                     # forced past the disabled item
    hide_block(tab.inpaint)
    tab.generate()
    assert not tab.runner.running
    assert "needs an any-order model; this model is a PixelCNN" in tab.message.text()
    fc.method.setCurrentIndex(fc.method.findData("raster"))
    tab.generate()
    wait_done(qtbot, tab)
    assert tab.inpaint.staged is not None


def test_save_writes_a_png_whose_params_read_back(window, tab, qtbot, tmp_path):
    tab.seed.setValue(77)
    tab.temperature.setValue(0.8)
    tab.fill_controls.method.setCurrentIndex(tab.fill_controls.method.findData("resample"))
    tab.fill_controls.candidates.setValue(2)
    tab.fill_controls.variations.setValue(2)
    hide_block(tab.inpaint, 10, 15)
    tab.generate()
    wait_done(qtbot, tab)
    path = tmp_path / "filled.png"
    tab.save_result(str(path))
    params = read_png_params(path)
    assert params["model"] == "digits" and params["method"] == "resample"
    assert params["candidates"] == 2 and params["seed"] == 77
    assert params["temperature"] == pytest.approx(0.8) and params["label"] == "any"
    assert params["order"] == "raster" and params["mode"] == "inpaint"
    assert Image.open(path).size == (64, 64)                 # 16 px, 4x
    # Reopened, even from Generate mode, it is an image to inpaint with its settings back.
    tab.set_mode("generate")
    tab.seed.setValue(1)
    tab.fill_controls.method.setCurrentIndex(0)
    tab.fill_controls.candidates.setValue(9)
    window.open_path(str(path))
    assert tab.mode == "inpaint" and tab.seed.value() == 77
    assert tab.fill_controls.current() == "resample" and tab.fill_controls.candidates.value() == 2


def test_use_this_sample_switches_to_inpaint(window, qtbot):
    tab = window.image_tab
    tab.grid.setValue(2)
    tab.generate()
    wait_done(qtbot, tab)
    tab.canvas.selected = 3
    tab.use_button.click()
    assert tab.mode == "inpaint"
    expected = tab.generate_mode.state.codec.encode(tab.canvas.images[3])
    assert np.array_equal(tab.inpaint.image, expected)
    tab.set_mode("generate")                                 # Generate still works
    tab.generate()
    wait_done(qtbot, tab)
    assert "Done" in tab.stats.text()


def test_mask_colour_and_mode_are_remembered(window, qtbot, tiny_models):
    from PySide6.QtGui import QColor

    from app.ui.main_window import MainWindow

    tab = window.image_tab
    tab.set_mode("inpaint")
    tab.inpaint.toolbar.set_colour(QColor("#20c8f0"), announce=True)
    window.close()
    second = MainWindow()
    qtbot.addWidget(second)
    second.restore()
    assert second.image_tab.mode == "inpaint"
    assert second.image_tab.inpaint.canvas.mask_colour.name() == "#20c8f0"
    second.close()


def test_drop_and_paste_load_images(window, qtbot, tmp_path):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDropEvent, QGuiApplication, QImage

    tab = window.image_tab
    path = tmp_path / "dropped.png"
    Image.fromarray(np.zeros((30, 20, 3), np.uint8)).save(path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    window.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.NoButton, NO_MOD))
    assert tab.mode == "inpaint" and tab.inpaint.image.max() == 0
    assert "dropped.png: converted from 20\u00d730 RGB" in tab.inpaint.note.text()
    image = QImage(8, 8, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    QGuiApplication.clipboard().setImage(image)
    tab.paste()
    assert tab.inpaint.image.min() == 15 and "clipboard" in tab.inpaint.note.text()
    QGuiApplication.clipboard().setText("just words")
    tab.paste()
    assert "no image" in tab.message.text() and tab.inpaint.image.min() == 15


def test_ctrl_wheel_zooms_and_middle_drag_pans_without_painting(tab):
    canvas = tab.inpaint.canvas
    before = canvas.device_scale()
    pos = QPointF(at(canvas, 8, 8))
    event = QWheelEvent(pos, canvas.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas, event)
    assert canvas.device_scale() > before
    under = at(canvas, 8, 8)
    QTest.mousePress(canvas, Qt.MouseButton.MiddleButton, NO_MOD, under)
    QTest.mouseMove(canvas, under + QPoint(30, 0))
    QTest.mouseRelease(canvas, Qt.MouseButton.MiddleButton, NO_MOD, under + QPoint(30, 0))
    assert at(canvas, 8, 8).x() == pytest.approx(under.x() + 30, abs=1)
    assert not tab.inpaint.editor.mask.any()
    tab.inpaint.toolbar.zoom_fit.click()
    assert canvas.device_scale() == before


def test_mask_files_save_load_and_undo_through_the_buttons(tab, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    panel, toolbar = tab.inpaint, tab.inpaint.toolbar
    assert toolbar.open_mask_button.isEnabled() and not toolbar.save_mask_button.isEnabled()
    painted = hide_block(panel, 3, 6)
    assert toolbar.save_mask_button.isEnabled()
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "hole"), "PNG image (*.png)"))
    toolbar.save_mask_button.click()
    saved = tmp_path / "hole.png"                            # the suffix is added
    assert saved.is_file() and "Mask saved" in tab.stats.text()
    panel._mask_action("clear")
    # A bigger painting of another mask is scaled to the image, and the load is undoable.
    big = np.zeros((64, 64), np.uint8)
    big[:32, :32] = 255
    Image.fromarray(big).save(tmp_path / "corner.png")
    for name, expected in (("hole.png", painted), ("corner.png", None)):
        before = panel.editor.mask.copy()
        monkeypatch.setattr(QFileDialog, "getOpenFileName",
                            lambda *a, n=name, **k: (str(tmp_path / n), ""))
        toolbar.open_mask_button.click()
        if expected is None:
            expected = np.zeros((16, 16), bool)
            expected[:8, :8] = True
        assert np.array_equal(panel.editor.mask, expected)
        toolbar.undo_button.click()
        assert np.array_equal(panel.editor.mask, before)
        toolbar.redo_button.click()
    (tmp_path / "junk.png").write_text("not an image")
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *a, **k: (str(tmp_path / "junk.png"), ""))
    toolbar.open_mask_button.click()
    assert not tab.message.isHidden() and "not a readable image" in tab.message.text()
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "no" / "such" / "m.png"), ""))
    toolbar.save_mask_button.click()
    assert "could not be saved" in tab.message.text()
    assert panel.editor.mask[:8, :8].all()                   # nothing lost on the way


def test_a_depth_upscaling_model_fills_in_its_two_stages(window, tab, qtbot, save_tiny):
    tab.open_checkpoint(save_tiny("depth-upscale"))
    fc = tab.fill_controls
    assert fc.current() == "raster"
    assert not fc.method.model().item(fc.method.findData("resample")).isEnabled()
    panel = tab.inpaint
    assert panel.image.shape == (3, 6, 5)                   # converted to the colour model
    panel.editor.rectangle(1, 1, 4, 3)
    panel._mask_edited()
    mask, original = panel.editor.mask.copy(), panel.image.copy()
    lines = record_stats(tab.inpaint_mode)
    tab.generate()
    wait_done(qtbot, tab)
    check_only_hidden_changed(panel, original, mask)
    assert f"Filled {int(mask.sum())} pixels" in tab.stats.text()    # pixels, not steps
    running = [line for line in lines if line.startswith("Stage ")]
    assert running and all("of 2:" in line for line in running)
