"""The image grid drawn incrementally while sampling is the grid drawn from scratch."""
import numpy as np
from PySide6.QtGui import QImage

from app.ui.widgets.image_canvas import ImageCanvasWidget


def pixels_of(canvas) -> np.ndarray:
    image = canvas._qimage.convertToFormat(QImage.Format.Format_RGB888)
    data = np.frombuffer(image.constBits(), np.uint8)
    return data.reshape(image.height(), image.bytesPerLine())[:, :image.width() * 3].copy()


def test_patched_grid_equals_a_fresh_grid_at_every_step(qtbot):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 6, 4, 1), dtype=np.uint8)
    live, fresh = ImageCanvasWidget(), ImageCanvasWidget()
    qtbot.addWidget(live)
    qtbot.addWidget(fresh)
    drawn = np.zeros((6, 4), bool)
    for row, col in rng.permutation([(r, c) for r in range(6) for c in range(4)]):
        drawn[row, col] = True
        live.set_images(images, (row, col), drawn)                   # patched in place
        fresh.clear()
        fresh.set_images(images, (row, col), drawn)                  # built from scratch
        assert np.array_equal(pixels_of(live), pixels_of(fresh))
    live.set_images(images[:, :, :, [0, 0, 0]])                     # finished: RGB, no mask
    assert pixels_of(live).shape == pixels_of(fresh).shape


def test_pixels_a_later_stage_changes_are_repainted(qtbot):
    # A model drawing in stages (depth upscaling, an SPN's small first slice) changes pixels
    # the canvas already shows: the patched grid must follow, as a fresh one would.
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (3, 4, 4, 3), dtype=np.uint8)
    live, fresh = ImageCanvasWidget(), ImageCanvasWidget()
    qtbot.addWidget(live)
    qtbot.addWidget(fresh)
    drawn = np.ones((4, 4), bool)
    live.set_images(images, (0, 0), drawn)
    for row, col in [(0, 0), (2, 3), (3, 1)]:
        images = images.copy()
        images[:, row, col] = 255 - images[:, row, col]
        changed = np.zeros((4, 4), bool)
        changed[row, col] = True
        live.set_images(images, (row, col), drawn, changed)
        fresh.clear()
        fresh.set_images(images, (row, col), drawn)
        assert np.array_equal(pixels_of(live), pixels_of(fresh))


def test_a_large_grid_fills_the_canvas_and_small_ones_keep_whole_pixels(qtbot):
    from PySide6.QtCore import QPointF

    canvas = ImageCanvasWidget()
    qtbot.addWidget(canvas)
    canvas.resize(420, 620)
    canvas.set_images(np.zeros((64, 28, 28, 1), np.uint8))       # 8 x 8: 231 px a side
    scale, origin = canvas._layout()
    assert 231 * scale >= 0.75 * 420 and 231 * scale <= 420      # was 231 of 420 (1x)
    # Hit-testing follows the scale: the last tile's centre is image 63.
    far = QPointF(origin.x() + (7 * 29 + 14) * scale, origin.y() + (7 * 29 + 14) * scale)
    assert canvas.tile_at(far) == 63
    canvas.set_images(np.zeros((16, 28, 28, 1), np.uint8))       # 4 x 4: 115 px, 3.65x
    scale, _ = canvas._layout()
    assert scale * canvas.devicePixelRatioF() == 3               # whole device pixels
