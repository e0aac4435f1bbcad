"""Inpaint mode's fill settings: method, candidates, order, variations. Which methods a
model runs is the registry's word (app/core/registry.py), never decided here."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QSpinBox

from ...core.registry import INPAINT_METHODS, KINDS, ORDERS, kinds_with_method, method_mismatch


def method_tip(key: str) -> str:
    method = INPAINT_METHODS[key]
    needs = " or ".join(spec.article for spec in kinds_with_method(key))
    return f"{method.title}: {method.how} (needs {needs})"


class FillControls:
    """The widgets of the fill settings, and which of them fit the chosen model."""

    def __init__(self):
        self.method = QComboBox()
        for key, method in INPAINT_METHODS.items():
            self.method.addItem(method.title, key)
            self.method.setItemData(self.method.count() - 1, method_tip(key),
                                    Qt.ItemDataRole.ToolTipRole)
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
            why = method_mismatch(key, kind)
            model.item(i).setEnabled(why is None)
            self.method.setItemData(i, why or method_tip(key), Qt.ItemDataRole.ToolTipRole)
        if not self.fits():
            for i in range(self.method.count()):
                if model.item(i).isEnabled():
                    self.method.setCurrentIndex(i)
                    break
        self._method_changed()

    def fits(self) -> bool:
        spec = KINDS.get(self._kind or "")
        return spec is not None and spec.can_inpaint(self.current())

    def current(self) -> str:
        return self.method.currentData()

    def _method_changed(self) -> None:
        method = self.current()
        self.candidates.setEnabled(method == "resample")
        self.order.setEnabled(method == "any-order")
        self.method.setToolTip(method_tip(method))

    def values(self) -> dict:
        """The InpaintRequest fields these controls set."""
        return {"method": self.current(), "candidates": self.candidates.value(),
                "order": self.order.currentData(), "n": self.variations.value()}

    def show_values(self, request) -> None:
        """Put a request's fill settings back (a reopened file); a method the model cannot
        run is left as it is."""
        index = self.method.findData(request.method_key)
        if index >= 0 and self.method.model().item(index).isEnabled():
            self.method.setCurrentIndex(index)
        self.candidates.setValue(max(self.candidates.minimum(), request.candidates))
        self.order.setCurrentIndex(max(0, self.order.findData(request.order)))
        self.variations.setValue(request.n)

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
