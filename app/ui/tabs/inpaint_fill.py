"""Inpaint mode's fill settings (method, candidates, order, variations) and a fill's live state.

The settings are form rows the Image tab shows in Inpaint mode; which methods apply depends on
the model's kind. FillState is plain numpy: it folds sampler events into the N variations as
they grow, so the view can repaint from it at its own pace.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QSpinBox

from ...core.sampling.events import PixelStep
from ...core.sampling.orders import ORDERS

# method id -> (menu text, the model kinds it runs on, why it needs them). The raster methods
# only step a net through its incremental state and score fills with its forward pass, which
# every raster-order model (PixelCNN, PixelRNN) has.
RASTER_KINDS = ("pixelcnn", "pixelrnn")
METHODS = {
    "raster": ("Raster", RASTER_KINDS,
               "Needs a PixelCNN or a PixelRNN: it fills in the model's raster order"),
    "resample": ("Raster + resampling", RASTER_KINDS,
                 "Needs a PixelCNN or a PixelRNN: draws K raster fills and keeps the one that "
                 "best matches the known pixels"),
    "any-order": ("Any-order", ("anyorder",),
                  "Needs an any-order model: it sees every known pixel and fills in the "
                  "order chosen below"),
}
KIND_TITLES = {"pixelcnn": "a PixelCNN", "pixelrnn": "a PixelRNN",
               "anyorder": "an any-order model",
               "subscale": "a Subscale Pixel Network (it cannot fill holes)"}


class FillControls:
    """The widgets of the fill settings, and which of them fit the chosen model."""

    def __init__(self):
        self.method = QComboBox()
        for key, (text, _kind, why) in METHODS.items():
            self.method.addItem(text, key)
            self.method.setItemData(self.method.count() - 1, why, Qt.ItemDataRole.ToolTipRole)
        self.candidates = QSpinBox()
        self.candidates.setRange(2, 64)
        self.candidates.setValue(8)
        self.candidates.setSuffix(" candidates")
        self.candidates.setToolTip("K raster fills are drawn per variation; one is kept, "
                                   "weighed by how well it agrees with the known pixels")
        self.order = QComboBox()
        for name in ORDERS:
            self.order.addItem(name.capitalize(), name)
        self.order.setToolTip("Which hidden pixel the any-order model draws next")
        # Nearest-known-first grows the fill from the hole's edge inwards, each new pixel next
        # to what is already there: the order that best shows off seeing all around the hole.
        self.order.setCurrentIndex(ORDERS.index("nearest"))
        self.variations = QSpinBox()
        self.variations.setRange(1, 16)
        self.variations.setValue(4)
        self.variations.setSuffix(" variations")
        self.method.currentIndexChanged.connect(lambda _i: self._method_changed())
        self._kind = None
        self._method_changed()

    def rows(self) -> list:
        return [("Method", self.method), ("Resampling", self.candidates),
                ("Order", self.order), ("Variations", self.variations)]

    def fit_model(self, kind: str | None) -> None:
        """Disable the methods this kind of model cannot run; the tooltip says why."""
        self._kind = kind
        model = self.method.model()
        for i in range(self.method.count()):
            key = self.method.itemData(i)
            fits = kind in METHODS[key][1]
            model.item(i).setEnabled(fits)
            tip = METHODS[key][2] + ("" if fits else f" (this model is "
                                     f"{KIND_TITLES.get(kind, kind or 'not loaded')})")
            self.method.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        if not self.fits():
            for i in range(self.method.count()):
                if model.item(i).isEnabled():
                    self.method.setCurrentIndex(i)
                    break
        self._method_changed()

    def fits(self) -> bool:
        return self._kind in METHODS[self.current()][1]

    def current(self) -> str:
        return self.method.currentData()

    def _method_changed(self) -> None:
        method = self.current()
        self.candidates.setEnabled(method == "resample")
        self.order.setEnabled(method == "any-order")
        self.method.setToolTip(METHODS[method][2])

    def params(self) -> dict:
        method = self.current()
        return {"method": method,
                "candidates": self.candidates.value() if method == "resample" else 1,
                "order": self.order.currentData() if method == "any-order" else "raster",
                "n": self.variations.value()}

    def save_settings(self, settings) -> None:
        settings.setValue("inpaint/method", self.current())
        settings.setValue("inpaint/candidates", self.candidates.value())
        settings.setValue("inpaint/order", self.order.currentData())
        settings.setValue("inpaint/variations", self.variations.value())

    def restore_settings(self, settings) -> None:
        index = self.method.findData(settings.value("inpaint/method", "raster"))
        if index >= 0 and self.method.model().item(index).isEnabled():
            self.method.setCurrentIndex(index)
        self.candidates.setValue(int(settings.value("inpaint/candidates", 8)))
        self.order.setCurrentIndex(max(0, self.order.findData(
            settings.value("inpaint/order", "nearest"))))
        self.variations.setValue(int(settings.value("inpaint/variations", 4)))


def mismatch(method: str, kind: str | None) -> str | None:
    """Why `method` cannot run on a model of `kind`, or None when it can."""
    needs = METHODS[method][1]
    if kind in needs:
        return None
    wanted = " or ".join(KIND_TITLES[k] for k in needs)
    return (f"The {METHODS[method][0].lower()} method needs {wanted}; this model "
            f"is {KIND_TITLES.get(kind, kind or 'not an image model')}. Choose another "
            "method or model")


def fill_generator(bundle, image, mask, params: dict, label, temperature, seed):
    """The sampler for these settings (called in the worker thread, where torch lives)."""
    method, n = params["method"], params["n"]
    problem = mismatch(method, bundle.net.config.kind)
    if problem:
        raise ValueError(problem)
    if method == "any-order":
        from ...core.sampling.anyorder import sample_anyorder

        return sample_anyorder(bundle.net, bundle.codec, n, label, temperature, seed,
                               params["order"], image=image, mask=mask)
    from ...core.sampling.inpaint import inpaint_raster, inpaint_resample

    if method == "resample":
        return inpaint_resample(bundle.net, bundle.codec, image, mask, n,
                                params["candidates"], label, temperature, seed)
    return inpaint_raster(bundle.net, bundle.codec, image, mask, n, label, temperature, seed)


class FillState:
    """The variations of one fill as they grow: (n * K, C, H, W) levels, K = candidates."""

    def __init__(self, image: np.ndarray, mask: np.ndarray, n: int, candidates: int = 1):
        self.image = image                               # (C, H, W) levels, never changed
        self.mask = mask.copy()                          # (H, W) True = being filled
        self.n, self.k = n, candidates
        self.live = np.repeat(image[None], n * candidates, axis=0)
        self.pending = mask.copy()                       # hidden pixels not drawn yet
        self.total = int(mask.sum()) * image.shape[0]
        self.done = 0
        self.result: np.ndarray | None = None            # (n, C, H, W) once finished

    def apply(self, events: list) -> tuple[int, int] | None:
        """Fold a batch of events in; returns the (row, col) drawn last, if any."""
        cursor = None
        last_channel = self.image.shape[0] - 1
        for event in events:
            if isinstance(event, PixelStep):
                self.live[:, event.channel, event.row, event.col] = event.values
                if event.channel == last_channel:
                    self.pending[event.row, event.col] = False
                self.done = event.step + 1
                cursor = (event.row, event.col)
            elif hasattr(event, "levels"):
                # Known pixels are copied from the image, whatever the sampler returned.
                self.result = np.where(self.mask, event.levels, self.image[None])
                self.pending[:] = False
        return cursor

    def variations(self) -> np.ndarray:
        """(n, C, H, W): the result, or so far the first candidate of each variation."""
        return self.result if self.result is not None else self.live[::self.k]
