"""Image tab: watch a PixelCNN fill a grid of images pixel by pixel."""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtWidgets import QSpinBox

from ...core.codecs import codec_from_dict
from ...core.outputs import read_png_params, save_png
from ...core.sampling.events import ImageResult, PixelStep
from ..widgets.controls import LabelPicker, SeedBox, format_eta, temperature_box
from ..widgets.image_canvas import ImageCanvasWidget
from .base import GenerateTab

SAVE_SCALE = 4      # saved PNGs are upscaled (nearest-neighbour) so they are easy to view


class ImageTab(GenerateTab):
    modality = "image"
    save_filter = "PNG image (*.png)"

    def __init__(self, models, device_source, parent=None):
        super().__init__(models, device_source, parent)
        self.label_picker = LabelPicker()
        self.grid = QSpinBox()
        self.grid.setRange(1, 8)
        self.grid.setValue(4)
        self.grid.setSuffix(" \u00d7 grid")
        self.temperature = temperature_box()
        self.seed = SeedBox()
        self.form.addRow("Class", self.label_picker)
        self.form.addRow("Images", self.grid)
        self.form.addRow("Temperature", self.temperature)
        self.form.addRow("Seed", self.seed)
        self.canvas = ImageCanvasWidget()
        self.content.addWidget(self.canvas, 1)
        self._levels = self._codec = None
        self._done = self._total = 0
        self._started = 0.0
        self._model_changed(self.picker.current())

    def on_model_changed(self, info) -> None:
        self.label_picker.set_classes(info.class_names if info else [])

    # --- running ------------------------------------------------------------------------
    def prepare_run(self):
        info = self.picker.current()
        codec = codec_from_dict(info.codec)
        n, label = self.grid.value() ** 2, self.label_picker.label()
        temperature, seed = self.temperature.value(), self.seed.value()
        self._codec = codec
        self._levels = np.zeros((n, codec.channels, codec.height, codec.width), np.int64)
        self._drawn = np.zeros((codec.height, codec.width), bool)
        self._done, self._total = 0, codec.dims
        self._started = time.perf_counter()
        self.result_params = {"model": info.name, "kind": info.kind, "seed": seed,
                              "label": "any" if label is None else label,
                              "label_name": self.label_picker.currentText(),
                              "temperature": temperature, "order": "raster", "n": n,
                              "scale": SAVE_SCALE}
        self.progress.setRange(0, self._total)
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m pixels")
        self._show(None)

        def factory():   # runs in the worker thread: torch loads there, never here
            from ...core.sampling.image import sample_images

            bundle = self.bundle()
            return sample_images(bundle.net, bundle.codec, n, label, temperature, seed)

        return factory

    def on_events(self, events: list) -> None:
        cursor = None
        for event in events:
            if isinstance(event, PixelStep):
                self._levels[:, event.channel, event.row, event.col] = event.values
                if event.channel == self._codec.channels - 1:
                    self._drawn[event.row, event.col] = True
                self._done = event.step + 1
                cursor = (event.row, event.col)
            elif isinstance(event, ImageResult):
                self._levels = event.levels
                self._drawn[:] = True
        self._show(cursor)
        elapsed = max(time.perf_counter() - self._started, 1e-6)
        rate = self._done / elapsed
        self.progress.setValue(self._done)
        eta = (self._total - self._done) / rate if rate > 0 else 0
        self.stats.setText(f"{rate:,.0f} pixels/s \u00b7 {len(self._levels)} images \u00b7 "
                           f"ETA {format_eta(eta)}")

    def _show(self, cursor) -> None:
        pixels = self._codec.decode(self._levels)
        finished = self._drawn.all()
        self.canvas.set_images(pixels, None if finished else cursor,
                               None if finished else self._drawn)

    def on_run_ended(self, how: str) -> None:
        elapsed = time.perf_counter() - self._started
        if how == "finished":
            self.stats.setText(f"Done: {len(self._levels)} images in {elapsed:.1f} s")
        elif how == "cancelled":
            self.stats.setText(f"Stopped after {self._done} of {self._total} pixels")
            if self._levels is not None:
                self.canvas.set_images(self._codec.decode(self._levels), None, self._drawn)
        self.status_changed.emit(f"Image: {self.stats.text()}")

    # --- save / open --------------------------------------------------------------------
    def has_result(self) -> bool:
        return self.canvas.images is not None and self.result_params is not None

    def default_save_name(self) -> str:
        p = self.result_params or {}
        return f"{p.get('model', 'image')}-{p.get('label_name', 'any')}-seed{p.get('seed', 0)}.png"

    def save_result(self, path: str) -> None:
        from ...core.sampling.image import image_grid

        save_png(path, image_grid(self.canvas.images, pad=1, background=40),
                 dict(self.result_params, drawn=int(self._drawn.sum())), scale=SAVE_SCALE)

    def open_result(self, path: str) -> None:
        from PIL import Image

        params = read_png_params(path)
        with Image.open(path) as im:
            pixels = np.asarray(im.convert("RGB"))
        scale = int(params.get("scale", 1) or 1)
        pixels = pixels[::scale, ::scale]
        self.canvas.set_images(pixels[None])
        self.result_params = None
        if params:
            self.apply_params(params)
        else:
            self.message.show_message(f"{path}: no chainrule parameters inside; shown as is",
                                      "info")

    def apply_params(self, params: dict) -> None:
        if "model" in params and not self.picker.select_name(str(params["model"])):
            self.message.show_message(f"model '{params['model']}' is not installed; "
                                      "the other parameters were restored", "info")
        self.label_picker.set_label(params.get("label", "any"))
        n = int(params.get("n", 16))
        self.grid.setValue(max(1, min(8, int(round(n ** 0.5)))))
        self.temperature.setValue(float(params.get("temperature", 1.0)))
        self.seed.setValue(int(params.get("seed", 0)))

    def save_settings(self, settings) -> None:
        super().save_settings(settings)
        settings.setValue("image/grid", self.grid.value())
        settings.setValue("image/temperature", self.temperature.value())
        settings.setValue("image/seed", self.seed.value())
        settings.setValue("image/label", self.label_picker.currentText())

    def restore_settings(self, settings) -> None:
        super().restore_settings(settings)
        self.grid.setValue(int(settings.value("image/grid", 4)))
        self.temperature.setValue(float(settings.value("image/temperature", 1.0)))
        self.seed.setValue(int(settings.value("image/seed", 1)))
        self.label_picker.set_label(settings.value("image/label", "any"))
