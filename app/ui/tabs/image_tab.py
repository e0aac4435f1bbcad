"""Image tab: watch a PixelCNN fill a grid of images pixel by pixel (Generate mode), or
paint a mask over an image and watch a model fill it (Inpaint mode, see inpaint_panel.py)."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QFileDialog, QPushButton, QSpinBox, QStackedWidget

from ...core.codecs import codec_from_dict
from ...core.media import MediaError
from ...core.sampling.events import ImageResult, PixelStep
from ...core.sampling.orders import ORDERS, fixed_order
from ..widgets.controls import (
    LabelPicker,
    ModeSwitchWidget,
    SeedBox,
    format_eta,
    temperature_box,
)
from ..widgets.image_canvas import ImageCanvasWidget
from .base import GenerateTab
from .compare_mode import CompareModeMixin
from .image_results import SAVE_SCALE, ImageResultsMixin
from .inpaint_fill import FillControls, mismatch
from .inpaint_panel import InpaintPanelWidget

MODES = {"generate": "Draw new images from nothing",
         "inpaint": "Paint a mask over an image and let the model fill it",
         "compare": "Two models side by side, with the same seed and class"}
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp);;All files (*)"


class ImageTab(CompareModeMixin, ImageResultsMixin, GenerateTab):
    modality = "image"
    save_filter = "PNG image (*.png)"
    memory_advice = "make a smaller Images grid (or fewer Variations), or use the CPU"

    def __init__(self, models, device_source, parent=None):
        super().__init__(models, device_source, parent)
        self.label_picker = LabelPicker()
        self.grid = QSpinBox()
        self.grid.setRange(1, 8)
        self.grid.setValue(4)
        self.grid.setSuffix(" \u00d7 grid")
        self.temperature = temperature_box()
        self.seed = SeedBox()
        self.order = QComboBox()
        for name in ORDERS:
            self.order.addItem(name.capitalize(), name)
        self.form.addRow("Class", self.label_picker)
        self.form.addRow("Images", self.grid)
        self.form.addRow("Order", self.order)
        self.form.addRow("Temperature", self.temperature)
        self.form.addRow("Seed", self.seed)
        self.canvas = ImageCanvasWidget()
        self._levels = self._codec = None
        self._done = self._total = 0
        self._started = 0.0
        self._build_inpaint()
        self._build_compare()
        self._model_changed(self.picker.current())
        self.set_mode("generate")

    def _build_inpaint(self) -> None:
        self.mode_switch = ModeSwitchWidget(MODES)
        self.column.insertWidget(0, self.mode_switch)
        self.fill_controls = FillControls()
        for label, widget in self.fill_controls.rows():
            self.form.addRow(label, widget)
        self.open_image_button = QPushButton("Open image\u2026")
        self.open_image_button.setToolTip("An image to inpaint; also drop a file or paste "
                                          "(Ctrl+V). It is converted to the model's shape")
        self.open_image_button.clicked.connect(self.open_image_dialog)
        self.use_button = QPushButton("Inpaint this")
        self.use_button.setToolTip("Use the selected sample (click one; or right-click it) "
                                   "as the image to inpaint")
        self.use_button.clicked.connect(lambda: self.use_sample(self.canvas.selected))
        self.more_buttons.addWidget(self.open_image_button, 1)
        self.more_buttons.addWidget(self.use_button, 1)
        self.inpaint = InpaintPanelWidget(self)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.canvas)
        self.pages.addWidget(self.inpaint)
        self.content.addWidget(self.pages, 1)
        self.mode_switch.mode_changed.connect(self.set_mode)
        self.canvas.use_requested.connect(self.use_sample)
        self.inpaint.changed.connect(self.refresh_actions)
        self.inpaint.status.connect(self._inpaint_status)
        self.inpaint.problem.connect(self.message.show_message)
        self.inpaint.strip.save_requested.connect(self.save_requested)
        QShortcut(QKeySequence("Ctrl+V"), self, self.paste,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)

    @property
    def mode(self) -> str:
        return self.mode_switch.mode

    def set_mode(self, mode: str) -> None:
        if self.runner.running and mode != self.mode:
            self.mode_switch.set_mode(self.mode, announce=False)
            return
        self.mode_switch.set_mode(mode, announce=False)
        inpaint = mode == "inpaint"
        self.pages.setCurrentWidget({"inpaint": self.inpaint, "compare": self.compare}
                                    .get(mode, self.canvas))
        self.form.setRowVisible(self.grid, not inpaint)
        self.form.setRowVisible(self.order, not inpaint)
        self.form.setRowVisible(self.compare.other, mode == "compare")
        for _label, widget in self.fill_controls.rows():
            self.form.setRowVisible(widget, inpaint)
        self.open_image_button.setVisible(inpaint)
        self.use_button.setVisible(mode == "generate")
        self._fit_order()
        self.inpaint.set_shortcuts_enabled(inpaint)
        self.generate_button.setText("Fill" if inpaint else "Generate")
        self.generate_button.setToolTip("Fill the masked pixels (Ctrl+Return)" if inpaint
                                        else "Generate (Ctrl+Return)")
        self.message.hide()
        self.refresh_actions()

    def on_model_changed(self, info) -> None:
        self.label_picker.set_classes(info.class_names if info else [])
        self._fit_order()
        self.compare.suggest_other(info)
        self.compare.set_models(info, self.compare.other.current())
        self.fill_controls.fit_model(info.kind if info else None)
        try:
            self.inpaint.set_model(info)
        except MediaError as err:
            self.message.show_message(str(err))

    def _fit_order(self) -> None:
        """Only an any-order model can draw in another order than its own (in Compare mode,
        the order applies to whichever side is one)."""
        shown = [self.picker.current()]
        if self.mode == "compare":
            shown.append(self.compare.other.current())
        free = any(info is not None and fixed_order(info.kind) is None for info in shown)
        fixed = None if free else fixed_order(shown[0].kind if shown[0] else None)
        self.order.setCurrentIndex(self.order.currentIndex() if free else ORDERS.index(fixed))
        self.order.setEnabled(free)
        self.order.setToolTip("The order an any-order model draws in" if free else
                              f"This model draws in {fixed} order only")

    # --- running ------------------------------------------------------------------------
    def prepare_run(self):
        if self.mode == "inpaint":
            return self._prepare_fill()
        if self.mode == "compare":
            return self._prepare_compare()
        info = self.picker.current()
        codec = codec_from_dict(info.codec)
        n, label = self.grid.value() ** 2, self.label_picker.label()
        temperature, seed = self.temperature.value(), self.seed.value()
        order = fixed_order(info.kind) or self.order.currentData()
        self._codec = codec
        self._levels = np.zeros((n, codec.channels, codec.height, codec.width), np.int64)
        self._pixels = codec.decode(self._levels)      # kept in step, pixel by pixel
        self._drawn = np.zeros((codec.height, codec.width), bool)
        self._done, self._total = 0, codec.dims
        self._started = time.perf_counter()
        self.result_params = {"model": info.name, "kind": info.kind, "seed": seed,
                              "label": "any" if label is None else label,
                              "label_name": self.label_picker.currentText(),
                              "temperature": temperature, "order": order, "n": n,
                              "scale": SAVE_SCALE}
        self.progress.setRange(0, self._total)
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m pixels")
        self._show(None)

        def factory():   # runs in the worker thread: torch loads there, never here
            from ...core.sampling.image import sample_images

            bundle = self.bundle()
            return sample_images(bundle.net, bundle.codec, n, label, temperature, seed,
                                 order=order)

        return factory

    def on_events(self, events: list) -> None:
        if self.mode != "generate":
            (self._fill_events if self.mode == "inpaint" else self._compare_events)(events)
            return
        cursor = None
        for event in events:
            if isinstance(event, PixelStep):
                self._levels[:, event.channel, event.row, event.col] = event.values
                self._pixels[:, event.row, event.col, event.channel] = \
                    self._codec.decode(event.values.reshape(-1, 1, 1, 1))[:, 0, 0, 0]
                if event.channel == self._codec.channels - 1:
                    self._drawn[event.row, event.col] = True
                self._done = event.step + 1
                cursor = (event.row, event.col)
            elif isinstance(event, ImageResult):
                self._levels, self._pixels = event.levels, event.pixels
                self._drawn[:] = True
        self._show(cursor)
        elapsed = max(time.perf_counter() - self._started, 1e-6)
        rate = self._done / elapsed
        # A progress bar repaint costs milliseconds: move it in steps of 1%, not per batch.
        if self._done - self.progress.value() >= self._total / 100 or self._done == self._total:
            self.progress.setValue(self._done)
        eta = (self._total - self._done) / rate if rate > 0 else 0
        self.stats.setText(f"{rate:,.0f} pixels/s \u00b7 {len(self._levels)} images \u00b7 "
                           f"ETA {format_eta(eta)}")

    def _show(self, cursor) -> None:
        # Decoding all levels again on every batch costs milliseconds with 64 images.
        finished = self._drawn.all()
        self.canvas.set_images(self._pixels, None if finished else cursor,
                               None if finished else self._drawn)

    def on_run_ended(self, how: str) -> None:
        if self.mode != "generate":
            (self._fill_ended if self.mode == "inpaint" else self._compare_ended)(how)
            return
        elapsed = time.perf_counter() - self._started
        if how == "finished":
            self.stats.setText(f"Done: {len(self._levels)} images in {elapsed:.1f} s")
        elif how == "cancelled":
            self.stats.setText(f"Stopped after {self._done} of {self._total} pixels")
            if self._levels is not None:
                self.canvas.set_images(self._codec.decode(self._levels), None, self._drawn)
        self.status_changed.emit(f"Image: {self.stats.text()}")

    # --- inpaint mode: filling -----------------------------------------------------------
    def _prepare_fill(self):
        problem = mismatch(self.fill_controls.current(), self.picker.current().kind)
        if problem:
            self.message.show_message(problem)
            return None
        try:
            factory = self.inpaint.prepare_fill(
                self.bundle, self.fill_controls.params(), self.label_picker.label(),
                self.temperature.value(), self.seed.value())
        except ValueError as err:
            self.message.show_message(str(err), "info")
            return None
        self.inpaint.staged_params["label_name"] = self.label_picker.currentText()
        self.progress.setRange(0, self.inpaint.fill.total)
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m pixels")
        self.mode_switch.setEnabled(False)
        self.inpaint.set_running(True)
        fill = self.inpaint.fill
        self.status_changed.emit(f"Inpaint: filling {fill.total} pixels, {fill.n} variations")
        return factory

    def _fill_events(self, events: list) -> None:
        self.inpaint.on_events(events)
        fill = self.inpaint.fill
        rate = self.inpaint.rate()
        eta = (fill.total - fill.done) / rate if rate > 0 else 0
        self.progress.setValue(fill.done)
        if fill.done >= fill.total and fill.k > 1 and fill.result is None:
            self.stats.setText(f"Weighing {fill.k} candidates per variation\u2026")
        else:
            self.stats.setText(f"{fill.done} of {fill.total} pixels \u00b7 {rate:,.0f} "
                               f"pixels/s \u00b7 ETA {format_eta(eta)}")

    def _fill_ended(self, how: str) -> None:
        fill = self.inpaint.fill
        done, total = (fill.done, fill.total) if fill else (0, 0)
        elapsed = time.perf_counter() - self.inpaint._started
        self.inpaint.finish_fill(how)
        self.mode_switch.setEnabled(True)
        if how == "finished":
            self.stats.setText(f"Filled {total} pixels \u00d7 {fill.n} in {elapsed:.1f} s: "
                               "choose a variation, then Accept")
        elif how == "cancelled":
            self.stats.setText(f"Stopped after {done} of {total} pixels; unfilled pixels "
                               "keep the original")
        self.status_changed.emit(f"Inpaint: {self.stats.text()}")
        self.refresh_actions()

    def _inpaint_status(self, text: str) -> None:
        self.stats.setText(text)
        self.status_changed.emit(f"Inpaint: {text}")

    # --- inpaint mode: images in -----------------------------------------------------------
    def load_image(self, loader, *args) -> bool:
        """Switch to Inpaint and load; a bad file is a readable message, nothing more."""
        if self.runner.running:
            self.message.show_message("Stop the current run before loading another image",
                                      "info")
            return False
        self.set_mode("inpaint")
        try:
            loader(*args)
        except MediaError as err:
            self.message.show_message(str(err))
            return False
        self.message.hide()
        self.status_changed.emit(f"Inpaint: {self.inpaint.note.text()}")
        return True

    def open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an image to inpaint",
                                              str(Path.home()), IMAGE_FILTER)
        if path:
            self.load_image(self.inpaint.load_file, path)

    def use_sample(self, index: int) -> None:
        images = self.canvas.images
        if images is None or not 0 <= index < len(images):
            self.message.show_message("Generate some samples first, then pick one", "info")
            return
        self.load_image(self.inpaint.load_pixels, images[index],
                        f"sample {index + 1} of {len(images)}")

    def paste(self) -> None:
        data = QGuiApplication.clipboard().mimeData()
        if data is not None and data.hasImage():
            self.load_image(self.inpaint.load_qimage, data.imageData(), "the clipboard")
        elif data is not None and data.hasUrls() and data.urls()[0].isLocalFile():
            self.load_image(self.inpaint.load_file, data.urls()[0].toLocalFile())
        else:
            self.message.show_message("The clipboard holds no image to paste", "info")

    def _set_running(self, running: bool) -> None:
        super()._set_running(running)
        self.use_button.setEnabled(self.canvas.images is not None and not running)

    def save_settings(self, settings) -> None:
        super().save_settings(settings)
        settings.setValue("image/grid", self.grid.value())
        settings.setValue("image/temperature", self.temperature.value())
        settings.setValue("image/seed", self.seed.value())
        settings.setValue("image/label", self.label_picker.currentText())
        settings.setValue("image/mode", self.mode)
        other = self.compare.other.current()
        if other is not None:
            settings.setValue("compare/model", str(other.path))
        settings.setValue("inpaint/mask_colour", self.inpaint.canvas.mask_colour.name())
        settings.setValue("inpaint/brush", self.inpaint.canvas.brush_size)
        self.fill_controls.save_settings(settings)

    def restore_settings(self, settings) -> None:
        super().restore_settings(settings)
        self.grid.setValue(int(settings.value("image/grid", 4)))
        self.temperature.setValue(float(settings.value("image/temperature", 1.0)))
        self.seed.setValue(int(settings.value("image/seed", 1)))
        self.label_picker.set_label(settings.value("image/label", "any"))
        self.fill_controls.restore_settings(settings)
        colour = QColor(str(settings.value("inpaint/mask_colour", "#ff4060")))
        self.inpaint.set_mask_colour(colour if colour.isValid() else QColor("#ff4060"))
        brush = int(settings.value("inpaint/brush", 4))
        self.inpaint.canvas.set_brush_size(brush)
        self.inpaint.toolbar.set_brush_size(brush)
        other = settings.value("compare/model")
        if other:
            self.compare.other.select_path(other)
        self.set_mode(str(settings.value("image/mode", "generate")))
