"""Inpaint mode: paint a mask over a picture and watch a model fill it, N ways."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog

from ...core.media import MediaError
from ...core.registry import inpaint_method, kinds_of, method_mismatch
from ...core.requests import InpaintRequest, RequestError
from ...core.sampling.events import Notice
from ..widgets.controls import format_eta
from .image_modes import ImageMode
from .inpaint_fill import FillControls
from .inpaint_panel import InpaintPanelWidget

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp);;All files (*)"


class InpaintMode(ImageMode):
    key, title = "inpaint", "Inpaint"
    button, tip = "Fill", "Fill the masked pixels (Ctrl+Return)"
    rows = ("fill", "calls", "guidance")

    def __init__(self, tab):
        super().__init__(tab)
        self.fill_controls = FillControls()
        self.page = self.panel = InpaintPanelWidget(tab)
        self.panel.status.connect(self._status)
        self.panel.problem.connect(tab.message.show_message)
        self.fill_controls.method.currentIndexChanged.connect(lambda _i: tab.refresh_actions())

    def model_changed(self, info) -> None:
        self.fill_controls.fit_model(info.kind if info else None)
        try:
            self.panel.set_model(info)
        except MediaError as err:
            self.tab.message.show_message(str(err))

    def problem(self) -> str | None:
        info = self.tab.picker.current()
        if info is None:
            return None
        spec = self.tab.spec_of(info)
        if not spec.inpaint_methods:
            able = ", ".join(s.article for s in kinds_of("image") if s.inpaint_methods)
            return (f"{info.name} is {spec.article}: {spec.why_no_inpaint or 'it cannot fill'}"
                    f". Choose a model that can fill ({able}).")
        why = method_mismatch(self.fill_controls.current(), info.kind)
        return f"{why}. Choose another method or model." if why else None

    # --- a fill ---------------------------------------------------------------------------
    def guided(self) -> bool:
        """Whether the chosen method takes guidance (resampling does not)."""
        return inpaint_method(self.fill_controls.current()).guided

    def guidance(self, info) -> float:
        return self.tab.guidance_for(info) if self.guided() else 1.0

    def prepare(self):
        t, panel = self.tab, self.panel
        info = t.picker.current()
        image, editor = panel.image, panel.editor
        anyorder = self.fill_controls.current() == "any-order"
        request = InpaintRequest(model=info.name, **self.fill_controls.values(),
                                 calls=t.calls.calls() if anyorder else 0,
                                 label=t.label_picker.label(), temperature=t.temperature.value(),
                                 seed=t.seed.for_run(), guidance=self.guidance(info),
                                 image=None if image is None else image.copy(),
                                 mask=None if editor is None else editor.mask.copy())
        problems = request.problems(t.facts(info))
        if problems:
            first = problems[0]
            level = "info" if image is None or "mask hides no pixel" in first else "error"
            t.message.show_message("; ".join(p[0].upper() + p[1:] for p in problems), level)
            return None
        panel.begin(request)
        fill = panel.fill
        self.set_progress(0, fill.total, "%v / %m pixels")
        self.announce(f"filling {fill.total} pixels, {fill.n} variations")
        return t.run_factory(request, [info.path])

    def on_events(self, events: list) -> None:
        notices = [e.text for e in events if isinstance(e, Notice)]
        if notices:                       # the first budgeted fill of a model: measuring
            self.set_stats(notices[-1])
            if len(notices) == len(events):
                return
        self.panel.on_events(events)
        fill = self.panel.fill
        self.set_progress(fill.done, fill.total)     # a model filling in stages resets it
        stage = f"{fill.canvas.stage.capitalize()} \u00b7 " if fill.canvas.stage else ""
        if fill.done >= fill.total and fill.k > 1 and fill.result is None:
            self.set_stats(f"Weighing {fill.k} candidates per variation\u2026")
        else:
            self.set_stats(f"{stage}{fill.done} of {fill.total} pixels \u00b7 "
                           f"{fill.canvas.rate():,.0f} pixels/s \u00b7 "
                           f"ETA {format_eta(fill.canvas.eta_s())}")

    def on_run_ended(self, how: str) -> None:
        fill = self.panel.fill
        done, total = (fill.done, fill.total) if fill else (0, 0)
        elapsed = fill.canvas.elapsed_s if fill else 0.0
        n = fill.n if fill else 0
        hidden = int(fill.mask.sum()) if fill else 0     # pixels, whatever the steps were
        self.panel.finish(how)
        self.set_progress(done)
        if how == "finished":
            self.set_stats(f"Filled {hidden} pixels \u00d7 {n} in {elapsed:.1f} s: "
                           "choose a variation, then Accept")
        elif how == "cancelled":
            self.set_stats(f"Stopped after {done} of {total} pixels; unfilled pixels keep "
                           "the original")
        self.announce(self.stats_text)

    def _status(self, text: str) -> None:
        self.set_stats(text)
        self.announce(text)
        self.tab.refresh_actions()

    # --- results --------------------------------------------------------------------------
    def has_result(self) -> bool:
        return self.panel.has_result()

    def save_params(self) -> dict:
        info = self.tab.picker.current()
        return self.panel.session.save_params(self.tab.facts(info)) if info else {}

    def default_save_name(self) -> str:
        p = self.save_params()
        if not p:
            return "inpainted.png"
        return f"{p['model']}-inpaint-{p['method']}-seed{p['seed']}-{p['variation'] + 1}.png"

    def save(self, path: str) -> None:
        from .image_files import SAVE_SCALE

        self.panel.save(path, {**self.save_params(), "scale": SAVE_SCALE})

    def restore(self, params: dict) -> None:
        """A reopened fill: its settings come back, so 'fill again' is one click."""
        try:
            request = InpaintRequest.from_params(params)
        except RequestError as err:
            self.tab.message.show_message(f"the file's parameters were not restored: {err}")
            return
        self.tab.show_request_values(request)
        self.fill_controls.show_values(request)

    # --- pictures in ----------------------------------------------------------------------
    def load(self, loader, *args) -> bool:
        """Switch to Inpaint and load; a bad file is a readable message, nothing more."""
        t = self.tab
        if t.runner.running:
            t.message.show_message("Stop the current run before loading another image", "info")
            return False
        t.set_mode(self.key)
        try:
            loader(*args)
        except MediaError as err:
            t.message.show_message(str(err))
            return False
        t.message.hide()
        t.show_problem()                     # a model that cannot fill says so again
        self.announce(self.panel.note.text())
        t.refresh_actions()
        return True

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.tab, "Open an image to inpaint",
                                              str(Path.home()), IMAGE_FILTER)
        if path:
            try:
                self.tab.open_result(path)
            except Exception as err:   # noqa: BLE001 - any unreadable file: say so, go on
                self.tab.message.show_message(f"{path}: cannot open ({err})")

    def paste(self) -> None:
        data = QGuiApplication.clipboard().mimeData()
        if data is not None and data.hasImage():
            self.load(self.panel.load_qimage, data.imageData(), "the clipboard")
        elif data is not None and data.hasUrls() and data.urls()[0].isLocalFile():
            self.load(self.panel.load_file, data.urls()[0].toLocalFile())
        else:
            self.tab.message.show_message("The clipboard holds no image to paste", "info")

    # --- its settings ------------------------------------------------------------------------
    def save_settings(self, settings) -> None:
        settings.setValue("inpaint/mask_colour", self.panel.canvas.mask_colour.name())
        settings.setValue("inpaint/brush", self.panel.canvas.brush_size)
        self.fill_controls.save_settings(settings)

    def restore_settings(self, settings) -> None:
        from PySide6.QtGui import QColor

        self.fill_controls.restore_settings(settings)
        colour = QColor(str(settings.value("inpaint/mask_colour", "#ff4060")))
        self.panel.set_mask_colour(colour if colour.isValid() else QColor("#ff4060"))
        brush = int(settings.value("inpaint/brush", 4))
        self.panel.canvas.set_brush_size(brush)
        self.panel.toolbar.set_brush_size(brush)
