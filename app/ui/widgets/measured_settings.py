"""Boxes that follow what was measured for a model (`provenance.recommended` in its
checkpoint, app/core/recommended.py), and the Audio tab's voice temperature."""
from __future__ import annotations

from PySide6.QtWidgets import QDoubleSpinBox

from ...core.recommended import recommended
from .controls import number_box


class ModelDefault:
    """A box that starts from the chosen model's measured setting (`recommended[key]`, in
    its checkpoint); going on to a model without one puts back the tab's default, unless
    the value was changed by hand in between."""

    def __init__(self, box: QDoubleSpinBox, key: str, default: float):
        self.box, self.key, self.default = box, key, default
        self._set_by_model: float | None = None

    def fit(self, info) -> None:
        best = recommended(info.provenance).get(self.key) if info else None
        if best is not None:
            self.box.setValue(best)
        elif self._set_by_model is not None and \
                abs(self.box.value() - self._set_by_model) < 1e-6:
            self.box.setValue(self.default)
        self._set_by_model = best


def voice_temperature_box() -> QDoubleSpinBox:
    """The Audio tab's second temperature (sampling/voice.py); 0 shows "off"."""
    box = number_box(0.0, 2.0, 0.0, 0.05)
    box.setSpecialValueText("off")
    box.setToolTip("The temperature while the sound is loud (its last 20 ms above -35 dBFS); "
                   "Temperature applies in the pauses. Lower makes a voice clearer without "
                   "the model falling silent, as a low Temperature everywhere would. "
                   "Off: Temperature throughout")
    return box
