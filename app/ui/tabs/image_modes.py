"""The Image tab's modes share one interface, `ImageMode`: the tab owns the shared controls
(model, class, grid, order, temperature, seed) and the worker; the mode it shows builds the
request from them, folds the run's events into its own state and owns its messages (stats
line, progress, status-bar line), so nothing one mode says shows up in another."""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QHBoxLayout, QWidget

from ...core.requests import ImageRequest
from ...core.sampling.events import Notice
from ...core.state import CanvasState
from ..widgets.controls import format_eta
from ..widgets.image_canvas import ImageCanvasWidget
from .image_files import GRID_PAD, SAVE_SCALE
from .image_views import ChainViews


class ImageMode:
    key = ""
    title = ""
    button = "Generate"
    tip = "Generate (Ctrl+Return)"
    rows: tuple[str, ...] = ()        # which of the tab's optional form rows it uses

    def __init__(self, tab):
        self.tab = tab
        self.page = None
        self.stats_text = ""
        self.progress = (0, 1, 0, "")       # value, maximum, minimum, format: empty, no run
        self.status = ""

    @property
    def active(self) -> bool:
        return self.tab.active_mode is self

    # --- its own messages ------------------------------------------------------------------
    def set_stats(self, text: str) -> None:
        self.stats_text = text
        if self.active:
            self.tab.stats.setText(text)

    def set_progress(self, value: int, maximum: int | None = None, fmt: str | None = None
                     ) -> None:
        _, old_max, low, old_fmt = self.progress
        self.progress = (value, old_max if maximum is None else maximum, low, fmt or old_fmt)
        if self.active:
            self.show_progress()

    def show_progress(self) -> None:
        value, maximum, low, fmt = self.progress
        bar = self.tab.progress
        bar.setRange(low, maximum)
        bar.setFormat(fmt)
        bar.setValue(value)

    def announce(self, text: str) -> None:
        self.status = f"{self.title}: {text}"
        if self.active:
            self.tab.announce(self.status)

    # --- for each mode -----------------------------------------------------------------
    def model_changed(self, info) -> None:
        """The tab's model changed (not while running)."""

    def problem(self) -> str | None:
        """Why this mode cannot run with the chosen model(s), or None."""
        return None

    def prepare(self):
        raise NotImplementedError

    def on_events(self, events: list) -> None:
        raise NotImplementedError

    def on_run_ended(self, how: str) -> None:
        pass

    def has_result(self) -> bool:
        return False

    def run_makes_result(self) -> bool:
        return True

    def default_save_name(self) -> str:
        return "image.png"

    def save(self, path: str) -> None:
        raise NotImplementedError


class GenerateMode(ImageMode):
    key, title = "generate", "Image"
    rows = ("grid", "order", "calls", "guidance")

    def __init__(self, tab):
        super().__init__(tab)
        self.canvas = ImageCanvasWidget()
        self.state: CanvasState | None = None
        self.params: dict | None = None          # of what the canvas shows, for Save
        self.views = ChainViews(self)
        self.page = QWidget()
        row = QHBoxLayout(self.page)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.canvas, 1)
        row.addWidget(self.views.panel)
        self.canvas.selection_changed.connect(lambda _i: self.views.update_summary())

    def request(self, info) -> ImageRequest:
        t = self.tab
        spec = t.spec_of(info)
        free = not spec.fixed_order
        return ImageRequest(model=info.name, n=t.grid.value() ** 2, label=t.label_picker.label(),
                            temperature=t.temperature.value(), seed=t.seed.value(),
                            order=t.order.currentData() if free else "",
                            calls=t.calls.calls(), guidance=t.guidance_for(info),
                            small=t.small_box.path() if spec.upscales else "")

    def prepare(self):
        if self.views.action is not None:
            return self.views.runs.prepare_action()
        info = self.tab.picker.current()
        self.tab.seed.for_run()             # a new seed unless kept; the request reads it
        request = self.request(info)
        if not self.tab.check_request(request, info):
            return None
        facts = self.tab.facts(info)
        self.state = CanvasState(facts.codec, request.n, stages=self.tab.spec_of(info).stages)
        self.params = {**request.to_params(info), "scale": SAVE_SCALE, "grid_pad": GRID_PAD}
        self.set_progress(0, self.state.total, "%v / %m pixels")
        report = self.views.start_generate(facts.codec, request.n, request, info.path)
        self.show()
        trace = self.views.trace           # folded in the worker thread (see PixelTrace.folded)
        return self.tab.run_factory(request, [info.path], report=report,
                                    through=trace.folded if trace is not None else None)

    def on_events(self, events: list) -> None:
        if self.views.on_events(events):
            return
        state = self.state
        notices = [e.text for e in events if isinstance(e, Notice)]
        if notices:
            self.set_stats(notices[-1])
            if len(notices) == len(events):
                return
        state.apply(events)
        self.show()
        # A progress bar repaint costs milliseconds: move it in steps of 1%, not per batch.
        if state.done - self.progress[0] >= state.total / 100 or state.done == state.total:
            self.set_progress(state.done)
        stage = f"{state.stage.capitalize()} \u00b7 " if state.stage else ""
        self.set_stats(f"{stage}{state.rate():,.0f} pixels/s \u00b7 {len(state.levels)} images "
                       f"\u00b7 ETA {format_eta(state.eta_s())}")

    def show(self) -> None:
        state = self.state
        if state is None:
            return
        finished = state.finished
        images = self.views.shown_images(state.pixels)
        self.canvas.set_images(images, None if finished else state.cursor,
                               None if finished else state.drawn, state.take_changed())
        if finished:
            self.views.update_summary()

    def on_run_ended(self, how: str) -> None:
        line = self.views.on_run_ended(how)
        if line is not None:
            self.set_stats(line)
            self.announce(line)
            self.views.refresh_actions()
            return
        state = self.state
        state.end()
        self.set_progress(state.done)        # the bar and the line say the same number
        if how == "finished":
            self.set_stats(f"Done: {len(state.levels)} images in {state.elapsed_s:.1f} s")
        elif how == "cancelled":
            self.set_stats(f"Stopped after {state.done} of {state.total} pixels")
            self.canvas.set_images(self.views.shown_images(state.pixels), None, state.drawn)
        else:
            self.set_stats(f"Failed after {state.done} of {state.total} pixels")
        self.announce(self.stats_text)

    def show_opened(self, images, params: dict) -> None:
        """A saved result, reopened: its images (each one selectable). At the model's size
        they can be scored (Score these images); no run state otherwise."""
        self.state = None
        self.params = None
        info = self.tab.picker.current()
        if info is not None:
            codec = self.tab.facts(info).codec
            if images.shape[1:3] == (codec.height, codec.width):
                picture = images[..., :codec.channels] if codec.channels == 1 else images
                levels = codec.encode(picture)
                known = np.ones((codec.height, codec.width), bool)
                self.state = CanvasState(codec, len(images), levels, known)
        self.views.trace = None
        self.views.update_summary()
        self.views.refresh_actions()
        self.canvas.set_images(images)
        many = len(images) > 1
        self.set_progress(0, 1, "%p%")
        self.set_stats(f"Opened {len(images)} images: click one, then Inpaint this" if many
                       else "Opened a saved image")
        self.announce(self.stats_text)

    def run_makes_result(self) -> bool:
        # A branch draws a new image; scoring, orders, drift and dependence only measure.
        running = self.views.running
        return running is None or running[0] in ("generate", "branch")

    def has_result(self) -> bool:
        return self.canvas.images is not None and self.params is not None

    def default_save_name(self) -> str:
        p = self.params or {}
        return f"{p.get('model', 'image')}-{p.get('label_name', 'any')}-seed{p.get('seed', 0)}.png"

    def save(self, path: str) -> None:
        self._save_grid(path, self.canvas.images, self.params)

    def save_one(self, path: str, index: int) -> None:
        """One image of the grid, with the grid's parameters and which image it was (the
        seed draws the whole grid: image `index + 1` of `grid_n`)."""
        self._save_grid(path, self.canvas.images[index:index + 1],
                        dict(self.params, n=1, grid_n=self.params.get("n"),
                             grid_index=index + 1))

    def _save_grid(self, path: str, images, params: dict) -> None:
        from ...core.outputs import save_png
        from ...core.sampling.image import image_grid

        save_png(path, image_grid(images, pad=GRID_PAD, background=40),
                 dict(params, drawn=int(self.state.drawn.sum())), scale=SAVE_SCALE)
