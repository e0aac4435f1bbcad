"""Image tab: Generate (a grid drawn pixel by pixel), Inpaint (fill a masked hole) and
Compare (two models side by side) as three modes behind one interface (image_modes.py).

The tab owns what the modes share: the model, class, grid, order, network calls, temperature
and seed controls, the worker and the mode switch. The mode on show builds its request from
them, folds its run's events into its own state and owns its messages."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QPushButton, QSpinBox, QStackedWidget

from ...core.errors import failure_reason
from ...core.registry import ORDERS, kind_spec
from ...core.requests import ImageRequest, ModelFacts, RequestError
from ...core.sampling.guidance import DEFAULT_SCALE
from ...core.saved_images import saved_images, saved_params
from ..widgets.controls import (
    CallsBox,
    LabelPicker,
    ModeSwitchWidget,
    SeedBox,
    guidance_box,
    temperature_box,
)
from ..widgets.measured_settings import ModelDefault
from ..widgets.small_image_box import SmallImageBox
from .base import GenerateTab
from .image_compare import CompareMode
from .image_inpaint import InpaintMode
from .image_modes import GenerateMode, ImageMode

MODES = {"generate": "Draw new images from nothing",
         "inpaint": "Paint a mask over an image and let the model fill it",
         "compare": "Two models side by side, with the same seed and class"}


class ImageTab(GenerateTab):
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
        self.guidance = guidance_box()
        self._model_settings = [ModelDefault(self.temperature, "temperature", 1.0),
                                ModelDefault(self.guidance, "guidance", DEFAULT_SCALE)]
        self.seed = SeedBox()
        self.order = QComboBox()
        for name in ORDERS:
            self.order.addItem(name.capitalize(), name)
        self.free_order = "random"       # the user's choice, kept while a fixed model shows
        self._fitting = False
        self.order.currentIndexChanged.connect(self._order_chosen)
        self.calls = CallsBox()
        self.small_box = SmallImageBox()
        self.mode_switch = ModeSwitchWidget(MODES)
        self.column.insertWidget(0, self.mode_switch)
        self.active_mode: ImageMode | None = None
        self.modes: dict[str, ImageMode] = {m.key: m for m in (
            GenerateMode(self), InpaintMode(self), CompareMode(self))}
        self.generate_mode, self.inpaint_mode, self.compare_mode = self.modes.values()
        self.canvas = self.generate_mode.canvas          # the pages, by their usual names
        self.inpaint = self.inpaint_mode.panel
        self.compare = self.compare_mode.panel
        self.fill_controls = self.inpaint_mode.fill_controls
        self._build_form()
        self._build_pages()
        self._model_changed(self.picker.current())
        self.set_mode("generate")

    def _build_form(self) -> None:
        self.form.insertRow(2, "Compare with", self.compare.other)   # below the model's note
        self.form.addRow("Class", self.label_picker)
        self.form.addRow("Images", self.grid)
        self.form.addRow("Start from", self.small_box)
        self.form.addRow("Order", self.order)
        self.form.addRow("Network calls", self.calls)
        for label, widget in self.fill_controls.rows():
            self.form.addRow(label, widget)
        self.form.addRow("Temperature", self.temperature)
        self.form.addRow("Guidance", self.guidance)
        self.form.addRow("Seed", self.seed)
        self._rows = {"grid": [self.grid], "order": [self.order], "calls": [self.calls],
                      "guidance": [self.guidance],
                      "other": [self.compare.other],
                      "fill": [w for _label, w in self.fill_controls.rows()]}
        self.open_image_button = QPushButton("Open image\u2026")
        self.open_image_button.setToolTip("An image to inpaint; also drop a file or paste "
                                          "(Ctrl+V). It is converted to the model's shape")
        self.open_image_button.clicked.connect(self.inpaint_mode.open_dialog)
        self.use_button = QPushButton("Inpaint this")
        self.use_button.setToolTip("Use the selected sample (click one; or right-click it) "
                                   "as the image to inpaint")
        self.use_button.clicked.connect(lambda: self.use_sample(self.canvas.selected))
        self.more_buttons.addWidget(self.open_image_button, 1)
        self.more_buttons.addWidget(self.use_button, 1)
        self.compare.other.model_changed.connect(self._other_changed)
        self.label_picker.currentIndexChanged.connect(lambda _i: self.refresh_actions())
        self.label_picker.currentIndexChanged.connect(lambda _i: self._fit_guidance())
        self.fill_controls.method.currentIndexChanged.connect(lambda _i: self._fit_guidance())

    def _build_pages(self) -> None:
        self.pages = QStackedWidget()
        for mode in self.modes.values():
            self.pages.addWidget(mode.page)
        self.content.addWidget(self.pages, 1)
        self.mode_switch.mode_changed.connect(self.set_mode)
        self.canvas.use_requested.connect(self.use_sample)
        self.canvas.save_requested.connect(self.save_sample)
        self.inpaint.changed.connect(self.refresh_actions)
        self.inpaint.strip.save_requested.connect(self.save_requested)
        QShortcut(QKeySequence("Ctrl+V"), self, self.inpaint_mode.paste,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut).setWhatsThis(
            "Paste a picture to inpaint")

    # --- modes ------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self.active_mode.key if self.active_mode else ""

    def set_mode(self, key: str) -> None:
        if self.runner.running and key != self.mode:
            self.mode_switch.set_mode(self.mode, announce=False)
            return
        mode = self.modes.get(key, self.generate_mode)
        self.active_mode = mode
        self.mode_switch.set_mode(mode.key, announce=False)
        self.pages.setCurrentWidget(mode.page)
        for row, widgets in self._rows.items():
            for widget in widgets:
                self.form.setRowVisible(widget, row in mode.rows)
        self.open_image_button.setVisible(mode is self.inpaint_mode)
        self.use_button.setVisible(mode is self.generate_mode)
        self.inpaint.set_shortcuts_enabled(mode is self.inpaint_mode)
        self.generate_button.setText(mode.button)
        self.generate_button.setToolTip(mode.tip)
        mode.model_changed(self.picker.current())
        self._fit_order()
        self._fit_guidance()
        # What this mode said last comes back with it; nothing another mode said stays.
        self.stats.setText(mode.stats_text)
        mode.show_progress()
        self.announce(mode.status or self._model_line())
        self.show_problem()

    def _model_line(self) -> str:
        info = self.picker.current()
        return f"Image: {info.name}" if info else "Image: no model"

    def spec_of(self, info):
        return kind_spec(info.kind)

    def facts(self, info) -> ModelFacts:
        return ModelFacts.of(info)

    def on_model_changed(self, info) -> None:
        self.label_picker.set_classes(info.class_names if info else [])
        for setting in self._model_settings:    # the model's measured settings, if any
            setting.fit(info)
        for mode in self.modes.values():
            mode.model_changed(info)
        self._fit_order()
        self._fit_guidance()
        self.show_problem()

    def guidance_for(self, info) -> float:
        """The guidance scale a request for `info` gets: the box's, for a model with
        classes (one without has nothing to be guided by)."""
        return self.guidance.value() if info is not None and info.class_names else 1.0

    def _fit_guidance(self) -> None:
        info = self.picker.current()
        if info is None or not info.class_names:
            why = "This model was trained without classes: there is nothing to guide by"
        elif self.label_picker.label() is None:
            why = "Choose a class: guidance leans every pixel towards it"
        elif self.mode == "inpaint" and not self.inpaint_mode.guided():
            why = ("Resampling keeps fills by the model's own likelihood, so it is not "
                   "guided: choose the raster or any-order method")
        else:
            why = ""
        self.guidance.setEnabled(not why)
        self.guidance.setToolTip(why or guidance_box().toolTip())

    def fit_calls(self, shown=None) -> None:    # for an any-order model (in Compare: a side)
        info = next((i for i in shown or [self.picker.current()]
                     if i is not None and self.spec_of(i).parallel), None)
        self.calls.fit(info and info.path, info and self.facts(info).codec.dims or 0,
                       info is not None)

    def _other_changed(self, _info) -> None:
        self.compare.set_models(self.picker.current(), self.compare.other.current())
        self._fit_order()
        self.show_problem()

    def show_problem(self) -> None:
        """A banner says why the mode cannot run with these models, and goes when it can."""
        problem = self.active_mode.problem() if self.active_mode else None
        if problem:
            self.message.show_message(problem, "info")
        elif self.message.property("problem_banner"):
            self.message.hide()
        self.message.setProperty("problem_banner", bool(problem))
        self.refresh_actions()

    def _order_chosen(self, _index: int) -> None:
        if not self._fitting and self.order.isEnabled():
            self.free_order = self.order.currentData()

    def _fit_order(self) -> None:
        """Only an any-order model can draw in another order than its own (in Compare mode,
        the order applies to whichever side is one)."""
        shown = [self.picker.current()]
        if self.mode == "compare":
            shown.append(self.compare.other.current())
        free = any(info is not None and not self.spec_of(info).fixed_order for info in shown)
        fixed = None if free or shown[0] is None else self.spec_of(shown[0]).fixed_order
        self._fitting = True
        self.order.setCurrentIndex(ORDERS.index(self.free_order if free or not fixed
                                                else fixed))
        self._fitting = False
        # A model that upscales (an SPN) may start from a small picture of the user's.
        upscales = shown[0] is not None and self.spec_of(shown[0]).upscales
        self.form.setRowVisible(self.small_box, self.mode == "generate" and upscales)
        self.order.setEnabled(free)
        self.order.setToolTip("The order an any-order model draws in" if free else
                              f"This model draws in {fixed} order only")
        self.fit_calls(shown)

    # --- running: the mode that started a run gets its events --------------------------------
    def prepare_run(self):
        self._running_mode = self.active_mode
        factory = self.active_mode.prepare()
        if factory is not None:
            self.mode_switch.setEnabled(False)
        return factory

    def on_events(self, events: list) -> None:
        self._running_mode.on_events(events)

    def run_makes_result(self) -> bool:
        return self._running_mode.run_makes_result()

    def on_run_ended(self, how: str) -> None:
        self.mode_switch.setEnabled(True)
        self._fit_order()              # (a budgeted run may have measured the model's losses)
        self._running_mode.on_run_ended(how)
        self.refresh_actions()

    def _set_running(self, running: bool) -> None:
        super()._set_running(running)
        self.use_button.setEnabled(self.canvas.images is not None and not running)
        self.generate_mode.views.refresh_actions()
        mode = self.active_mode
        if not running and mode is not None and mode.problem() is not None:
            self.generate_button.setEnabled(False)
            self.generate_button.setToolTip(mode.problem())
        elif mode is not None:
            self.generate_button.setToolTip(mode.tip)

    # --- results ------------------------------------------------------------------------------
    def has_result(self) -> bool:
        return self.active_mode is not None and self.active_mode.has_result()

    def default_save_name(self) -> str:
        return self.active_mode.default_save_name()

    def save_result(self, path: str) -> None:
        self.active_mode.save(path)

    def open_result(self, path: str) -> None:
        """A saved fill reopens in Inpaint with its settings; a saved grid shows its images,
        one to pick for inpainting; any other picture opens in Inpaint."""
        params = saved_params(path)
        mode = params.get("mode", "generate" if params else "")
        if not params or mode == "inpaint" or (self.mode == "inpaint" and
                                               params.get("n", 1) == 1):
            if self.load_image(self.inpaint.load_file, path) and params:
                self.inpaint_mode.restore(params)
            return
        images = saved_images(path, params if mode == "generate" else {})
        if mode == "compare":
            self.compare.other.select_name(str(params.get("other_model", "")))
        self.set_mode("generate")
        self.generate_mode.show_opened(images, params)
        try:
            self.show_request_values(ImageRequest.from_params(params))
        except RequestError as err:
            self.message.show_message(f"the file's parameters were not restored: {err}")
        self.refresh_actions()

    def show_request_values(self, request) -> None:
        """Put a request's shared settings back into the controls."""
        if request.model and not self.picker.select_name(request.model):
            self.message.show_message(f"model '{request.model}' is not installed; the other "
                                      "parameters were restored", "info")
        self.label_picker.set_label("any" if request.label is None else request.label)
        if isinstance(request, ImageRequest):
            self.grid.setValue(max(1, min(8, int(round(request.n ** 0.5)))))
            if request.order in ORDERS and self.order.isEnabled():
                self.order.setCurrentIndex(ORDERS.index(request.order))
            self.calls.setCurrentIndex(max(0, self.calls.findData(request.calls)))
            self.small_box.set_path(request.small)
        if self.guidance.isEnabled() or request.guidance != 1.0:
            self.guidance.setValue(request.guidance)
        self.temperature.setValue(request.temperature)
        self.seed.setValue(request.seed)

    # --- pictures in (Inpaint) -------------------------------------------------------------------
    def load_image(self, loader, *args) -> bool:
        return self.inpaint_mode.load(loader, *args)

    def use_sample(self, index: int) -> None:
        images = self.canvas.images
        if images is None or not 0 <= index < len(images):
            self.message.show_message("Generate some samples first, then pick one", "info")
            return
        self.load_image(self.inpaint.load_pixels, images[index],
                        f"sample {index + 1} of {len(images)}")

    def save_sample(self, index: int, path: str | None = None) -> None:
        """Save one image of the grid on its own (the canvas's context menu)."""
        from ..settings_file import ask_save_path, remember_save_folder

        images, params = self.canvas.images, self.generate_mode.params
        if images is None or params is None or not 0 <= index < len(images):
            return
        if path is None:
            stem = Path(self.generate_mode.default_save_name()).stem
            path = ask_save_path(self, "Save this image", f"{stem}-{index + 1}.png",
                                 self.save_filter)
            if not path:
                return
        try:
            self.generate_mode.save_one(path, index)
            remember_save_folder(path)
        except OSError as err:
            self.message.show_message(f"Could not save {path}: {failure_reason(err)}")

    def paste(self) -> None:
        self.inpaint_mode.paste()

    # --- settings -------------------------------------------------------------------------------
    def save_settings(self, settings) -> None:
        super().save_settings(settings)
        for key, value in (("grid", self.grid.value()), ("temperature", self.temperature.value()),
                           ("guidance", self.guidance.value()),
                           ("mode", self.mode),
                           ("label", self.label_picker.currentText())):
            settings.setValue(f"image/{key}", value)
        self.seed.save_settings(settings, "image")
        other = self.compare.other.current()
        if other is not None:
            settings.setValue("compare/model", str(other.path))
        self.inpaint_mode.save_settings(settings)

    def restore_settings(self, settings) -> None:
        super().restore_settings(settings)
        self.grid.setValue(int(settings.value("image/grid", 4)))
        self.temperature.setValue(float(settings.value("image/temperature", 1.0)))
        self.guidance.setValue(float(settings.value("image/guidance", DEFAULT_SCALE)))
        self.seed.restore_settings(settings, "image")
        self.label_picker.set_label(settings.value("image/label", "any"))
        self.inpaint_mode.restore_settings(settings)
        other = settings.value("compare/model")
        if other:
            self.compare.other.select_path(other)
        self.set_mode(str(settings.value("image/mode", "generate")))
