"""Inpaint mode of the Image tab: the image, its mask, the fill running live, the variations.

The panel is the right-hand side of the tab in Inpaint mode (tool row, mask canvas, staging
strip) plus the state behind it. The tab owns the worker and the shared controls; it asks
the panel for a fill (`prepare_fill`) and hands it the events.

History: mask edits live in the MaskEditor (one stroke = one step); accepting a variation
changes the image. `_history` records which of the two each step was, so Ctrl+Z undoes
them in the order they happened.
"""
from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ...core.codecs import codec_from_dict
from ...core.mask_editing import MaskEditor
from ...core.masks import MaskError, read_mask_png, save_mask_png
from ...core.media import MediaError, read_image
from ...core.outputs import save_png
from ..widgets.mask_canvas import MaskCanvasWidget
from ..widgets.mask_toolbar import MaskToolbarWidget
from ..widgets.staging_strip import StagingStripWidget
from .inpaint_fill import FillState, fill_generator

SAVE_SCALE = 4
MODE_NAMES = {"1": "1-bit", "L": "grey", "LA": "grey + alpha", "P": "palette",
              "RGB": "RGB", "RGBA": "RGBA", "CMYK": "CMYK", "I;16": "16-bit grey"}


def png_bytes_of_qimage(image) -> bytes:
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data())


def png_bytes_of_pixels(pixels: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(out, "PNG")
    return out.getvalue()


class InpaintPanelWidget(QWidget):
    changed = Signal()          # image, staging or history changed: the tab re-checks buttons
    status = Signal(str)        # a line for the tab's stats after an accept or discard
    problem = Signal(str)       # a file that could not be used: the tab shows why

    def __init__(self, shortcut_owner: QWidget, parent=None):
        super().__init__(parent)
        self.note = QLabel("No image yet")
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        self.toolbar = MaskToolbarWidget()
        self.canvas = MaskCanvasWidget()
        self.strip = StagingStripWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.strip)
        bottom = QHBoxLayout()
        bottom.addWidget(self.note, 1)
        bottom.addWidget(self.toolbar.view_bar)
        layout.addLayout(bottom)
        self.codec = None
        self.image: np.ndarray | None = None        # (C, H, W) levels
        self._loaded: np.ndarray | None = None      # the image as loaded, before any Accept
        self.editor: MaskEditor | None = None
        self._source: tuple[bytes, str] | None = None
        self._history: list = []
        self._redo: list = []
        self._mask_before: np.ndarray | None = None
        self.fill: FillState | None = None
        self.staged: np.ndarray | None = None       # (n, C, H, W) levels to choose from
        self.staged_params: dict = {}
        self.running = False
        self._started = 0.0
        self._connect()
        self.shortcuts = [QShortcut(QKeySequence(keys), shortcut_owner, slot,
                                    context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
                          for keys, slot in (("Ctrl+Z", self.undo), ("Ctrl+Shift+Z", self.redo),
                                             ("Ctrl+Y", self.redo))]
        self._refresh()

    def _connect(self) -> None:
        tb = self.toolbar
        tb.tool_chosen.connect(self._tool_chosen)
        tb.brush_size_changed.connect(self.canvas.set_brush_size)
        tb.colour_chosen.connect(self.canvas.set_mask_colour)
        tb.invert_button.clicked.connect(lambda: self._mask_action("invert"))
        tb.clear_button.clicked.connect(lambda: self._mask_action("clear"))
        tb.undo_button.clicked.connect(self.undo)
        tb.redo_button.clicked.connect(self.redo)
        tb.show_mask.toggled.connect(self.canvas.set_mask_visible)
        tb.zoom_in.clicked.connect(lambda: self.canvas.zoom(1.25))
        tb.zoom_out.clicked.connect(lambda: self.canvas.zoom(0.8))
        tb.zoom_fit.clicked.connect(self.canvas.zoom_to_fit)
        tb.open_mask_button.clicked.connect(self.open_mask_dialog)
        tb.save_mask_button.clicked.connect(self.save_mask_dialog)
        self.canvas.brush_size_changed.connect(tb.set_brush_size)
        self.canvas.mask_edited.connect(self._mask_edited)
        self.strip.current_changed.connect(lambda _i: self._show())
        self.strip.accept_requested.connect(self.accept)
        self.strip.discard_requested.connect(self.discard)
        self.canvas.set_brush_size(tb.size_slider.value())

    def set_shortcuts_enabled(self, enabled: bool) -> None:
        for shortcut in self.shortcuts:
            shortcut.setEnabled(enabled)

    # --- the image ----------------------------------------------------------------------
    def set_model(self, info) -> None:
        """A model's codec decides the image shape and levels; the image is converted anew."""
        codec = codec_from_dict(info.codec) if info is not None else None
        if codec == self.codec:
            return
        self.codec = codec
        self._discard_staged()
        if self._source is not None and codec is not None:
            self._load(*self._source)
        elif codec is None:
            self.image = None
            self._refresh()

    def load_file(self, path) -> bool:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as err:
            raise MediaError(f"{path}: {err.strerror or err}") from None
        return self._load(data, Path(path).name)

    def load_qimage(self, image, label: str = "the clipboard") -> bool:
        return self._load(png_bytes_of_qimage(image), label)

    def load_pixels(self, pixels: np.ndarray, label: str = "a generated sample") -> bool:
        return self._load(png_bytes_of_pixels(pixels), label)

    def _load(self, data: bytes, label: str) -> bool:
        """Convert to the model's shape and levels; raises MediaError for a bad image."""
        from PIL import Image

        if self.codec is None:
            raise MediaError("choose an image model first: the image is converted to its shape")
        c = self.codec
        try:
            pixels = read_image(io.BytesIO(data), c.height, c.width, c.channels)
        except MediaError as err:
            raise MediaError(f"{label}: {err}") from None
        with Image.open(io.BytesIO(data)) as im:
            size, mode = im.size, MODE_NAMES.get(im.mode, im.mode)
        self._source = (data, label)
        self.image = c.encode(pixels).astype(np.int64)                     # (C, H, W)
        self._loaded = self.image
        if self.editor is None or self.editor.mask.shape != (c.height, c.width):
            self.editor = MaskEditor(c.height, c.width)
            self.canvas.set_editor(self.editor)
        self._history, self._redo = [], []
        self._mask_before = self.editor.mask.copy()
        self._discard_staged()
        colours = "grey" if c.channels == 1 else "RGB"
        self.note.setText(f"{label}: converted from {size[0]}\u00d7{size[1]} {mode} to "
                          f"{c.width}\u00d7{c.height} {colours}, {c.levels} levels")
        self.canvas.zoom_to_fit()
        self._refresh()
        return True

    def has_image(self) -> bool:
        return self.image is not None

    def has_result(self) -> bool:
        """Something worth saving: staged variations, or an image changed by a fill."""
        return self.staged is not None or (
            self.image is not None and not np.array_equal(self.image, self._loaded))

    # --- the mask and its history -------------------------------------------------------
    def _tool_chosen(self, name: str) -> None:
        self.canvas.tool = name
        self.canvas.update()

    def _mask_action(self, action: str) -> None:
        if self.editor is None or self.running:
            return
        getattr(self.editor, action)()
        self._mask_edited()

    def _mask_edited(self) -> None:
        """After any finished edit: one history step if the mask really changed."""
        if not np.array_equal(self.editor.mask, self._mask_before):
            self._history.append("mask")
            self._redo.clear()
        self._mask_before = self.editor.mask.copy()
        self.toolbar.show_mask.setChecked(True)
        self._refresh()

    def undo(self) -> None:
        self._step(self._history, self._redo, self.editor.undo if self.editor else None)

    def redo(self) -> None:
        self._step(self._redo, self._history, self.editor.redo if self.editor else None)

    def _step(self, source: list, target: list, mask_step) -> None:
        if self.running or not source:
            return
        entry = source.pop()
        if entry == "mask":
            mask_step()
            target.append("mask")
            self.toolbar.show_mask.setChecked(True)
        else:                                        # ("image", levels before the change)
            target.append(("image", self.image))
            self.image = entry[1]
        self._mask_before = self.editor.mask.copy()
        self._refresh()

    # --- the mask as a file -------------------------------------------------------------
    def load_mask_file(self, path) -> None:
        """A mask image (light = fill), scaled to the image's size; undoable like a stroke."""
        if self.editor is None or self.running:
            raise MaskError("open an image (and stop any fill) first: a mask goes over one")
        self.editor.replace(read_mask_png(path, *self.editor.mask.shape))
        self._mask_edited()
        self.status.emit(f"Mask loaded from {Path(path).name}")

    def save_mask_file(self, path) -> Path:
        path = Path(path) if Path(path).suffix else Path(path).with_suffix(".png")
        try:
            return save_mask_png(path, self.editor.mask)
        except (OSError, ValueError) as err:
            raise MaskError(f"{path}: the mask could not be saved "
                            f"({getattr(err, 'strerror', None) or err})") from None

    def open_mask_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a mask (white = fill)", str(Path.home()),
                                              "Images (*.png *.bmp *.gif *.jpg *.jpeg *.webp)")
        self._mask_file_action(self.load_mask_file, path)

    def save_mask_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the mask", str(Path.home() / "mask.png"),
                                              "PNG image (*.png)")
        self._mask_file_action(self.save_mask_file, path)

    def _mask_file_action(self, action, path) -> None:
        try:
            if path and (saved := action(path)) is not None:
                self.status.emit(f"Mask saved to {saved}")
        except MaskError as err:
            self.problem.emit(str(err))

    # --- filling ------------------------------------------------------------------------
    def prepare_fill(self, bundle_source, params: dict, label, temperature, seed):
        """Check the inputs (GUI thread) and return the worker's factory; ValueError if not."""
        if self.image is None:
            raise ValueError("Load an image first: File \u203a Open, drop a file here, paste "
                             "one (Ctrl+V), or use a generated sample")
        if not self.editor.mask.any():
            raise ValueError("The mask hides no pixel: paint the region to fill first")
        image, mask = self.image.copy(), self.editor.mask.copy()
        self._discard_staged()
        self.fill = FillState(image, mask, params["n"], params["candidates"])
        self.staged_params = dict(params, label=label, temperature=temperature, seed=seed)
        self._started = time.perf_counter()

        def factory():   # runs in the worker thread: torch loads there, never here
            return fill_generator(bundle_source(), image, mask, params, label,
                                  temperature, seed)

        return factory

    def set_running(self, running: bool) -> None:
        self.running = running
        self.canvas.painting_enabled = not running
        if running:
            self._show()
        self._refresh()

    def on_events(self, events: list) -> None:
        self.fill.apply(events)
        self._show()

    def rate(self) -> float:
        return self.fill.done / max(time.perf_counter() - self._started, 1e-6)

    def finish_fill(self, how: str) -> None:
        """Stage what the fill made, complete or not: every variation is a valid image."""
        if self.fill is None:
            return
        if how in ("finished", "cancelled") and self.fill.done > 0:
            self.staged = self.fill.variations().copy()
            self.staged_params["complete"] = how == "finished"
            self.toolbar.show_mask.setChecked(False)
        self.fill = None
        self.running = False
        self.canvas.painting_enabled = True
        self._refresh()

    # --- staging ------------------------------------------------------------------------
    def accept(self) -> None:
        if self.staged is None or self.running:
            return
        self._history.append(("image", self.image))
        self._redo.clear()
        chosen = self.strip.current
        self.image = self.staged[chosen].copy()
        self._discard_staged()
        self._refresh()
        self.status.emit(f"Accepted variation {chosen + 1}: it is the image now "
                         "(Ctrl+Z undoes it)")

    def discard(self) -> None:
        self._discard_staged()
        self.toolbar.show_mask.setChecked(True)
        self._refresh()
        self.status.emit("Variations discarded; the image is as it was")

    def _discard_staged(self) -> None:
        self.staged = None

    def save_params(self, model_info) -> dict:
        p = self.staged_params
        return {"model": model_info.name if model_info else "", "mode": "inpaint",
                "kind": model_info.kind if model_info else "", "method": p.get("method"),
                "candidates": p.get("candidates"), "order": p.get("order"),
                "seed": p.get("seed"), "label": "any" if p.get("label") is None
                else p.get("label"), "temperature": p.get("temperature"),
                "n": p.get("n"), "variation": self.strip.current,
                "complete": p.get("complete", True),
                "hidden": int(self.editor.mask.sum()), "scale": SAVE_SCALE}

    def shown_levels(self) -> np.ndarray | None:
        """What Save writes: the chosen variation, or the image when nothing is staged."""
        if self.staged is not None:
            return self.staged[self.strip.current]
        return self.image

    def save(self, path, params: dict) -> None:
        pixels = self.codec.decode(self.shown_levels())
        save_png(path, pixels, params, scale=SAVE_SCALE)

    # --- showing ------------------------------------------------------------------------
    def _show(self) -> None:
        if self.image is None:
            self.canvas.set_pixels(None)
            self.strip.set_variations(None)
            return
        if self.fill is not None:
            variations = self.fill.variations()
            current = min(self.strip.current, len(variations) - 1)
            self.canvas.set_pixels(self.codec.decode(self.fill.live[current * self.fill.k]))
            self.canvas.set_overlay(self.fill.pending)
            self.strip.set_variations(self._thumbnails(variations), running=True)
            return
        self.canvas.set_overlay(None)
        if self.staged is not None:
            self.strip.set_variations(self.codec.decode(self.staged))
            self.canvas.set_pixels(self.codec.decode(self.staged[self.strip.current]))
        else:
            self.strip.set_variations(None)
            self.canvas.set_pixels(self.codec.decode(self.image))

    def _thumbnails(self, variations: np.ndarray) -> np.ndarray:
        """Variations mid-fill, the pixels still to draw in the mask colour: at thumbnail
        size a tint would not show which ones are done."""
        pixels = self.codec.decode(variations)                      # (n, H, W, C)
        if pixels.shape[-1] == 1:
            pixels = np.repeat(pixels, 3, axis=-1)
        colour = self.canvas.mask_colour
        pixels[:, self.fill.pending] = (colour.red(), colour.green(), colour.blue())
        return pixels

    def _refresh(self) -> None:
        editable = self.image is not None and not self.running
        tb = self.toolbar
        for button in (*tb.tool_buttons.values(), tb.invert_button, tb.clear_button,
                       tb.show_mask, tb.size_slider):
            button.setEnabled(editable)
        tb.set_history(editable and bool(self._history), editable and bool(self._redo))
        for button in (tb.zoom_in, tb.zoom_out, tb.zoom_fit):
            button.setEnabled(self.image is not None)
        tb.open_mask_button.setEnabled(editable)
        tb.save_mask_button.setEnabled(self.editor is not None and bool(self.editor.mask.any()))
        self._show()
        self.changed.emit()

    def set_mask_colour(self, colour: QColor) -> None:
        self.toolbar.set_colour(colour)
        self.canvas.set_mask_colour(colour)
