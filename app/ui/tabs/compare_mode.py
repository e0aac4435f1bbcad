"""The Image tab's Compare mode: run two models side by side in one worker (see
compare_panel.py for the view and app/core/sampling/compare.py for the interleaving)."""
from __future__ import annotations

import time

from ...core.sampling.orders import fixed_order
from .compare_panel import ComparePanelWidget, label_for_other
from .image_results import SAVE_SCALE


class CompareModeMixin:
    """Methods of ImageTab for Compare mode."""

    def _build_compare(self) -> None:
        self.compare = ComparePanelWidget()
        self.pages.addWidget(self.compare)
        self.form.insertRow(1, "Compare with", self.compare.other)
        self.compare.other.model_changed.connect(lambda _info: self._fit_order())

    def _prepare_compare(self):
        left, right = self.picker.current(), self.compare.other.current()
        if right is None:
            self.message.show_message("Choose a model to compare with", "info")
            return None
        label = self.label_picker.label()
        other_label, problem = label_for_other(label, left, right)
        if problem:
            self.message.show_message(problem, "info")
            return None
        n, temperature, seed = self.grid.value() ** 2, self.temperature.value(), self.seed.value()
        order = self.order.currentData()
        orders = [fixed_order(info.kind) or order for info in (left, right)]
        self.compare.start(left, right, n)
        self.compare.params = {"mode": "compare", "models": [left.name, right.name],
                               "model": left.name, "other_model": right.name,
                               "seed": seed, "label": "any" if label is None else label,
                               "label_name": self.label_picker.currentText(),
                               "temperature": temperature, "orders": orders, "n": n,
                               "scale": SAVE_SCALE}
        self.progress.setRange(0, self.compare.total)
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m pixels, both models")
        self._started = time.perf_counter()
        device, models = self.device_source(), self.models

        def factory():   # runs in the worker thread: torch loads there, never here
            from ...core.sampling.compare import sample_side_by_side
            from ...core.sampling.image import sample_images

            bundles = [self.bundle(), models.get(right.path, device)]
            return sample_side_by_side([
                sample_images(b.net, b.codec, n, lab, temperature, seed, order=o)
                for b, lab, o in zip(bundles, (label, other_label), orders)])

        return factory

    def _compare_events(self, events: list) -> None:
        self.compare.apply(events)
        done, total = self.compare.done, self.compare.total
        if done - self.progress.value() >= total / 100 or done == total:
            self.progress.setValue(done)
        self.stats.setText(f"Compute so far: {self.compare.summary()}")

    def _compare_ended(self, how: str) -> None:
        elapsed = time.perf_counter() - self._started
        if how == "finished":
            self.stats.setText(f"Done in {elapsed:.1f} s. Compute: {self.compare.summary()}")
        elif how == "cancelled":
            self.stats.setText(f"Stopped after {self.compare.done} of {self.compare.total} "
                               "pixels")
        self.status_changed.emit(f"Compare: {self.stats.text()}")
