"""Inpaint mode's canvas side: tool row, mask canvas, variations strip, note.

It renders an InpaintSession (app/core/state/inpaint.py), which holds the picture, the mask
and their one history, the fill as it grows and the variations: the panel turns clicks and
files into calls on the session and repaints from it, nothing more.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ...core.codecs import codec_from_dict
from ...core.masks import MaskError, read_mask_png, save_mask_png
from ...core.media import MediaError
from ...core.outputs import save_png
from ...core.state import InpaintSession
from ..widgets.mask_canvas import MaskCanvasWidget
from ..widgets.mask_toolbar import MaskToolbarWidget
from ..widgets.staging_strip import StagingStripWidget
from .image_files import png_bytes_of_pixels, png_bytes_of_qimage

SAVE_SCALE = 4


class InpaintPanelWidget(QWidget):
    changed = Signal()          # picture, variations or history changed: buttons re-checked
    status = Signal(str)        # a line for the mode's stats after an accept or discard
    problem = Signal(str)       # a file that could not be used: the tab shows why

    def __init__(self, shortcut_owner: QWidget, parent=None):
        super().__init__(parent)
        self.session = InpaintSession()
        self.note = QLabel(self.session.note)
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
        self._connect()
        self.shortcuts = [QShortcut(QKeySequence(keys), shortcut_owner, slot,
                                    context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
                          for keys, slot in (("Ctrl+Z", self.undo), ("Ctrl+Shift+Z", self.redo),
                                             ("Ctrl+Y", self.redo))]
        for shortcut, what in zip(self.shortcuts, ("Undo a mask edit", "Redo a mask edit",
                                                   "Redo a mask edit")):
            shortcut.setWhatsThis(what)
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
        self.strip.current_changed.connect(self._variation_chosen)
        self.strip.accept_requested.connect(self.accept)
        self.strip.discard_requested.connect(self.discard)
        self.canvas.set_brush_size(tb.size_slider.value())

    def set_shortcuts_enabled(self, enabled: bool) -> None:
        for shortcut in self.shortcuts:
            shortcut.setEnabled(enabled)

    # --- what the session holds, for the tab and tests -----------------------------------
    @property
    def image(self) -> np.ndarray | None:
        return self.session.image

    @property
    def editor(self):
        return self.session.editor

    @property
    def staged(self) -> np.ndarray | None:
        return self.session.staged

    @property
    def fill(self):
        return self.session.fill

    @property
    def running(self) -> bool:
        return self.session.fill is not None

    def has_image(self) -> bool:
        return self.session.has_image()

    def has_result(self) -> bool:
        return self.session.has_result()

    # --- the picture --------------------------------------------------------------------
    def set_model(self, info) -> None:
        """A model's codec decides the picture's shape and levels; it is converted anew."""
        editor = self.session.editor
        self.session.set_codec(codec_from_dict(info.codec) if info is not None else None)
        self._after_load(editor)

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
        """Raises MediaError for a bad image; the picture before it stays."""
        editor = self.session.editor
        self.session.load(data, label)
        self._after_load(editor)
        return True

    def _after_load(self, editor_before) -> None:
        if self.session.editor is not editor_before:
            self.canvas.set_editor(self.session.editor)
            self.canvas.zoom_to_fit()
        self.note.setText(self.session.note)
        self._refresh()

    # --- the mask and the history -------------------------------------------------------
    def _tool_chosen(self, name: str) -> None:
        self.canvas.tool = name
        self.canvas.update()

    def _mask_action(self, action: str) -> None:
        if self.editor is None or self.running:
            return
        getattr(self.editor, action)()
        self._mask_edited()

    def _mask_edited(self) -> None:
        self.toolbar.show_mask.setChecked(True)
        self._refresh()

    def undo(self) -> None:
        if self.session.undo():
            self._mask_edited()

    def redo(self) -> None:
        if self.session.redo():
            self._mask_edited()

    def load_mask_file(self, path) -> None:
        """A mask image (light = fill), scaled to the picture; undoable like a stroke."""
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

    # --- a fill and its variations ------------------------------------------------------
    def begin(self, request) -> None:
        self.session.begin(request)
        self.canvas.painting_enabled = False
        self._refresh()

    def on_events(self, events: list) -> None:
        self.session.apply(events)
        self._show()

    def finish(self, how: str) -> None:
        self.session.finish(how)
        self.session.choose(self.strip.current)     # the variation looked at stays shown
        if self.session.staged is not None:
            self.toolbar.show_mask.setChecked(False)
        self.canvas.painting_enabled = True
        self._refresh()

    def _variation_chosen(self, index: int) -> None:
        self.session.choose(index)
        self._show()

    def accept(self) -> None:
        chosen = self.session.accept()
        if chosen is None:
            return
        self._refresh()
        self.status.emit(f"Accepted variation {chosen + 1}: it is the image now "
                         "(Ctrl+Z undoes it)")

    def discard(self) -> None:
        self.session.discard()
        self.toolbar.show_mask.setChecked(True)
        self._refresh()
        self.status.emit("Variations discarded; the image is as it was")

    def save(self, path, params: dict) -> None:
        pixels = self.session.codec.decode(self.session.shown_levels())
        save_png(path, pixels, params, scale=SAVE_SCALE)

    # --- showing ------------------------------------------------------------------------
    def _show(self) -> None:
        s = self.session
        if s.image is None:
            self.canvas.set_pixels(None)
            self.strip.set_variations(None)
            return
        if s.fill is not None:
            current = min(self.strip.current, s.fill.n - 1)
            self.canvas.set_pixels(s.fill.canvas.pixels[current * s.fill.k])
            self.canvas.set_overlay(s.fill.pending)
            self.strip.set_variations(self._thumbnails(), running=True)
            return
        self.canvas.set_overlay(None)
        if s.staged is not None:
            self.strip.set_variations(s.codec.decode(s.staged))
            self.strip.set_current(s.current)
        else:
            self.strip.set_variations(None)
        self.canvas.set_pixels(s.codec.decode(s.shown_levels()))

    def _thumbnails(self) -> np.ndarray:
        """Variations mid-fill, the pixels still to draw in the mask colour: at thumbnail
        size a tint would not show which ones are done."""
        fill = self.session.fill
        pixels = fill.canvas.pixels[::fill.k].copy()                 # (n, H, W, C)
        if pixels.shape[-1] == 1:
            pixels = np.repeat(pixels, 3, axis=-1)
        colour = self.canvas.mask_colour
        pixels[:, fill.pending] = (colour.red(), colour.green(), colour.blue())
        return pixels

    def _refresh(self) -> None:
        editable = self.image is not None and not self.running
        tb = self.toolbar
        for button in (*tb.tool_buttons.values(), tb.invert_button, tb.clear_button,
                       tb.show_mask, tb.size_slider):
            button.setEnabled(editable)
        tb.set_history(editable and self.session.can_undo(),
                       editable and self.session.can_redo())
        for button in (tb.zoom_in, tb.zoom_out, tb.zoom_fit):
            button.setEnabled(self.image is not None)
        tb.open_mask_button.setEnabled(editable)
        tb.save_mask_button.setEnabled(self.editor is not None and bool(self.editor.mask.any()))
        self._show()
        self.changed.emit()

    def set_mask_colour(self, colour: QColor) -> None:
        self.toolbar.set_colour(colour)
        self.canvas.set_mask_colour(colour)
