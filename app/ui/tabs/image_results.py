"""Save and reopen Image tab results: sample grids with their parameters, inpainted images."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.outputs import read_png_params, save_png

SAVE_SCALE = 4      # saved PNGs are upscaled (nearest-neighbour) so they are easy to view


class ImageResultsMixin:
    """Methods of ImageTab that save a result and bring one back."""

    def has_result(self) -> bool:
        if self.mode == "inpaint":
            return self.inpaint.has_result()
        if self.mode == "compare":
            return self.compare.has_result()
        return self.canvas.images is not None and self.result_params is not None

    def default_save_name(self) -> str:
        if self.mode == "inpaint":
            p = self.inpaint.save_params(self.picker.current())
            return f"{p['model']}-inpaint-{p['method']}-seed{p['seed']}-{p['variation'] + 1}.png"
        if self.mode == "compare":
            p = self.compare.params
            return f"{'-vs-'.join(p['models'])}-{p['label_name']}-seed{p['seed']}.png"
        p = self.result_params or {}
        return f"{p.get('model', 'image')}-{p.get('label_name', 'any')}-seed{p.get('seed', 0)}.png"

    def save_result(self, path: str) -> None:
        if self.mode == "inpaint":
            params = self.inpaint.save_params(self.picker.current())
            self.inpaint.save(path, dict(params, label_name=self.label_picker.currentText()))
            return
        if self.mode == "compare":
            save_png(path, self.compare.picture(),
                     dict(self.compare.params, drawn=[int(s.drawn.sum())
                                                      for s in self.compare.sides]),
                     scale=SAVE_SCALE)
            return
        from ...core.sampling.image import image_grid

        save_png(path, image_grid(self.canvas.images, pad=1, background=40),
                 dict(self.result_params, drawn=int(self._drawn.sum())), scale=SAVE_SCALE)

    def open_result(self, path: str) -> None:
        """A saved result restores its parameters; any other image opens for inpainting."""
        from PIL import Image

        params = {}
        if self.mode != "inpaint" and Path(path).suffix.lower() == ".png":
            try:
                params = read_png_params(path)
            except Exception:       # unreadable: load_image below says why, readably
                params = {}
        if not params or params.get("mode") == "inpaint":
            if self.load_image(self.inpaint.load_file, path) and params:
                self.apply_inpaint_params(params)
            return
        with Image.open(path) as im:
            pixels = np.asarray(im.convert("RGB"))
        scale = int(params.get("scale", 1) or 1)
        pixels = pixels[::scale, ::scale]
        if params.get("mode") == "compare":
            # The side-by-side picture is shown whole; the pair and settings come back, so
            # Compare > Generate draws it again.
            self.compare.other.select_name(str(params.get("other_model", "")))
        self.set_mode("generate")
        self.canvas.set_images(pixels[None])
        self.result_params = None
        self.apply_params(params)

    def apply_inpaint_params(self, params: dict) -> None:
        """A reopened fill: its settings come back, so 'fill again' is one click."""
        self.apply_params(dict(params, n=self.grid.value() ** 2))
        fc = self.fill_controls
        index = fc.method.findData(params.get("method"))
        if index >= 0 and fc.method.model().item(index).isEnabled():
            fc.method.setCurrentIndex(index)
        fc.candidates.setValue(int(params.get("candidates") or fc.candidates.value()))
        fc.order.setCurrentIndex(max(0, fc.order.findData(params.get("order"))))
        fc.variations.setValue(int(params.get("n") or fc.variations.value()))

    def apply_params(self, params: dict) -> None:
        if "model" in params and not self.picker.select_name(str(params["model"])):
            self.message.show_message(f"model '{params['model']}' is not installed; "
                                      "the other parameters were restored", "info")
        self.label_picker.set_label(params.get("label", "any"))
        n = int(params.get("n", 16))
        self.grid.setValue(max(1, min(8, int(round(n ** 0.5)))))
        self.temperature.setValue(float(params.get("temperature", 1.0)))
        self.seed.setValue(int(params.get("seed", 0)))
