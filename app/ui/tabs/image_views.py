"""Generate mode's views of the chain rule: the bits map, the hovered pixel's distribution,
branching a drawn image, scoring shown images, and one image's bits in each order.

`ChainViews` folds the runs' events into a PixelTrace (app/core/state) and renders it into
the canvas and the side panel. Its runs go through the tab's one worker like any other: the
mode asks it for a factory when an action is pending (see GenerateMode.prepare).
"""
from __future__ import annotations

import functools
import math

import numpy as np
from PySide6.QtWidgets import QMenu

from ...core import explain_runs
from ...core.branch import branch_method
from ...core.dependence import supports_dependence
from ...core.explain_report import heat_map
from ...core.sampling.events import ImageResult, PixelStep
from ...core.state import CanvasState
from ...core.state.pixel_trace import PixelTrace, heat_colours
from ..widgets.chain_panel import ChainPanelWidget
from ..widgets.drift_dialog import DriftDialog
from .image_orders import OrdersDialog
from .image_view_runs import COMPARED_ORDERS, ViewRuns  # noqa: F401 - the dialog's orders

MENU_VALUES = 8           # values offered in the branch menu, likeliest first


def dependence_overlay(picture: np.ndarray, shown) -> np.ndarray:
    """The picture dimmed, each pixel lit in cyan by how much the chosen pixel's prediction
    depends on it (square root: the gradient spans orders of magnitude); the pixel itself
    in the canvas's orange."""
    grad = shown.grad / max(float(shown.grad.max()), 1e-12)
    base = picture.astype(np.float64) * 0.35
    glow = np.sqrt(grad)[..., None] * np.array([40.0, 220.0, 255.0])
    out = np.clip(base + glow, 0, 255).astype(np.uint8)
    out[shown.row, shown.col] = (255, 176, 32)
    return out


class ChainViews:
    def __init__(self, mode):
        self.mode, self.tab = mode, mode.tab
        self.top_bits = 8.0           # set per model: log2(levels), a uniform guess
        ramp = heat_map(np.linspace(0, 1, 120)[None], 1.0)[0]
        self.panel = ChainPanelWidget(ramp, self.top_bits)
        self.trace: PixelTrace | None = None
        self.codec = None
        self.label = None             # the class the shown images were drawn (scored) with
        self.temperature = 1.0
        self.guided = 1.0
        self.path = ""                # the model that drew (scored) them
        self.action: tuple | None = None          # the run the next prepare() starts
        self.running: tuple | None = None         # the action a run is doing now
        self.branch_state: CanvasState | None = None
        self.hovered: tuple[int, int, int] | None = None
        self.panel.view_changed.connect(self._view_changed)
        self.panel.score_requested.connect(self.score_shown)
        self.panel.orders_requested.connect(self.compare_orders)
        self.panel.drift_requested.connect(self.show_drift)
        self.dependence = None            # explain_runs.DependenceMap shown over its image
        self.runs = ViewRuns(self)
        self.panel.enabled_changed.connect(self._enabled_changed)
        canvas = mode.canvas
        canvas.pixel_hovered.connect(self.hover)
        canvas.hover_left.connect(lambda: self.hover(None))
        canvas.extend_menu = self.extend_menu

    def _view_changed(self, _view: str) -> None:
        self.mode.canvas.redraw_all()        # every drawn pixel changes colour
        self.mode.show()

    @property
    def enabled(self) -> bool:
        return self.panel.enabled.isChecked()

    def _enabled_changed(self, on: bool) -> None:
        for widget in (self.panel.readout, self.panel.summary, self.panel.hint):
            widget.setVisible(on)
        if not on:
            self.panel.set_view("pixels")
        self.refresh_actions()

    # --- runs --------------------------------------------------------------------------------
    def start_generate(self, codec, n: int, request, path: str) -> bool:
        """A new grid is drawn: a fresh trace when the views are on; True if they are."""
        self.codec, self.path = codec, path
        self.label, self.temperature = request.label, request.temperature
        # Guided draws report the guided distribution's bits, not the model's own.
        self.guided = request.guidance if request.label is not None else 1.0
        self.top_bits = math.log2(codec.levels)
        self.trace = PixelTrace.for_codec(codec, n) if self.enabled else None
        self.running = ("generate",)
        return self.trace is not None

    def on_events(self, events: list) -> bool:
        """Fold a run's events in; False for a plain generation's (the mode's own)."""
        kind = self.running[0] if self.running else None
        if kind == "generate":              # the worker folded them into the trace already
            return False
        if kind == "branch":
            image = self.running[1]
            self.trace.apply(events, image)
            self.branch_state.apply([e for e in events if isinstance(e, PixelStep)])
            self.mode.set_progress(self.branch_state.done)
            _, at, value = self.branch_done
            row, col, _ = self.trace.steps[at]
            self.mode.set_stats(f"Drawing image {image + 1} again after row {row}, col {col}: "
                                f"{self.branch_state.done:,} of {self.branch_state.total:,}")
            for event in events:
                if isinstance(event, ImageResult):
                    self.mode.state.levels[image] = event.levels[0]
                    self.mode.state.pixels[image] = event.pixels[0]
                    self.branch_state = None
        for event in events:
            if isinstance(event, explain_runs.ScoredImages):
                self.trace.apply_score(event.score)
            elif isinstance(event, explain_runs.OrderScores):
                OrdersDialog(self.tab, self.mode.state.pixels[event.image], event.scores,
                             self.top_bits).open()
            elif isinstance(event, explain_runs.DriftReport):
                DriftDialog(self.tab, event, f"image {self.running[1] + 1}",
                            "drawing step").open()
            elif isinstance(event, explain_runs.DependenceMap):
                self.dependence = event
        self.mode.show()
        self.hover(self.hovered)
        return True

    def on_run_ended(self, how: str) -> str | None:
        """A line for the stats, or None for a plain generation's end (the mode's own)."""
        kind, self.running = (self.running or (None,))[0], None
        if kind == "branch":
            if self.branch_state is not None:       # stopped midway: show what it drew
                image = self.branch_done[0]
                self.mode.state.levels[image] = self.branch_state.levels[0]
                self.mode.state.pixels[image] = self.branch_state.pixels[0]
                self.branch_state = None
            self.mode.show()
            self.hover(self.hovered)
            return self._branch_line(how)
        if kind in ("drift", "dependence"):
            self.mode.set_progress(1, 1, "Done")
            if how != "finished":
                return "Stopped" if how == "cancelled" else "Failed: see the message above"
            if kind == "drift":
                return "Compared with held-out data"
            _, image, row, col = self.dependence_action
            return (f"Image {image + 1}, row {row}, col {col}: its prediction depends on the "
                    "pixels lit up (gradient size); right-click to hide")
        if kind in ("score", "orders"):
            self.mode.set_progress(1, 1, "Done")
            self.hover(self.hovered)
            if how != "finished":
                return "Scoring stopped"
            if kind == "orders":
                return "Scored one image in each order"
            totals = [self.trace.total_bits(i) for i in range(self.trace.shape[0])]
            return (f"Scored {len(totals)} image{'s' if len(totals) > 1 else ''}: "
                    f"{sum(totals) / self.trace.bits.size:.3f} bits/dim")
        self.update_summary()
        return None

    def _branch_line(self, how: str) -> str:
        image, at, value = self.branch_done
        row, col, _ = self.trace.steps[at]
        what = "drawn again" if value is None else f"set to {value}"
        line = (f"Branched image {image + 1} at row {row}, col {col} (step {at + 1:,}, "
                f"{what})")
        if how != "finished":
            return line + ": stopped, the rest is as far as it got"
        return f"{line}: now {self.trace.total_bits(image):,.0f} bits (was {self.was:,.0f})"

    # --- what the canvas shows ------------------------------------------------------------
    def shown_images(self, pixels: np.ndarray) -> np.ndarray:
        """The grid's pixels or its bits map; a branch shows its image being redrawn."""
        if self.branch_state is not None:
            image = self.running[1]
            pixels = pixels.copy()
            drawn = self.branch_state.drawn[..., None]
            pixels[image] = np.where(drawn, self.branch_state.pixels[0], (34, 44, 68)
                                     if pixels.shape[-1] == 3 else 50)
        if self.panel.view == "bits" and self.trace is not None:
            pixels = np.stack([heat_colours(self.trace.pixel_bits(i), self.top_bits)
                               for i in range(self.trace.shape[0])])
        if self.dependence is not None and self.dependence.image < len(pixels):
            pixels = np.repeat(pixels, 3, axis=-1) if pixels.shape[-1] == 1 else pixels.copy()
            pixels[self.dependence.image] = dependence_overlay(
                pixels[self.dependence.image], self.dependence)
        return pixels

    def update_summary(self) -> None:
        trace, state = self.trace, self.mode.state
        if trace is None or state is None:
            self.panel.summary.setText("Generate with this on, or press Score, to see the "
                                       "bits of every pixel.")
            return
        image = min(self.mode.canvas.selected, trace.shape[0] - 1)
        drawn = trace.drawn_count(image)
        if not drawn:
            self.panel.summary.setText("")
            return
        total = trace.total_bits(image)
        luma = state.pixels[image].mean(axis=-1) / 255.0
        shares = trace.breakdown(image, luma)
        which = f"Image {image + 1}" if trace.shape[0] > 1 else "This image"
        self.panel.summary.setText(
            f"<b>{which}: {total:,.0f} bits</b> ({total / drawn:.2f} bits/dim"
            + (f", guided \u00d7{self.guided:g}" if self.guided != 1 else "") + ")<br>"
            + " \u00b7 ".join(f"{name} {share:.0%}" for name, share in shares.items()))

    def hover(self, hit) -> None:
        self.hovered = hit
        self.mode.canvas.marked = hit
        self.mode.canvas.update()
        readout = None
        if hit is not None and self.trace is not None and hit[0] < self.trace.shape[0]:
            readout = self.trace.readout(*hit)
        channels = self.trace.shape[1] if self.trace is not None else 1
        self.panel.readout.show_readout(readout, channels, len(self.trace.steps)
                                        if self.trace is not None else 0)

    # --- actions -----------------------------------------------------------------------------
    def can_branch(self) -> bool:
        info = self.tab.picker.current()
        return (self.trace is not None and self.mode.state is not None
                and self.mode.state.finished and info is not None
                and str(info.path) == str(self.path)
                and branch_method(self.tab.spec_of(info).kind) is not None)

    def extend_menu(self, menu: QMenu, image: int, row: int, col: int) -> None:
        if not self.can_branch() or self.tab.runner.running:
            return
        at = self.trace.step_index(row, col, 0)
        readout = self.trace.readout(image, row, col)
        if at is None or readout is None:
            return
        if self.dependence is not None:
            menu.addAction("Hide what the pixel depends on", self.hide_dependence)
        if supports_dependence(self.tab.spec_of(self.tab.picker.current()).kind):
            menu.addAction("Show what this pixel depends on",
                           functools.partial(self.show_dependence, image, row, col))
        menu.addAction(f"Draw again from this pixel (step {at + 1:,})",
                       lambda: self.branch(image, at, None))
        if self.trace.shape[1] == 1 and readout.probs is not None:
            values = menu.addMenu("Give this pixel another value")
            for value, p in readout.top(MENU_VALUES):
                mark = " (drawn)" if value == readout.value else ""
                values.addAction(f"{value}: p = {p:.3f}, {-math.log2(p):.1f} bits{mark}",
                                 functools.partial(self.branch, image, at, value))
        menu.addSeparator()

    def branch(self, image: int, at: int, value: int | None) -> None:
        """Keep image `image` up to step `at`, give that step `value` (None: draw it again)
        and draw the rest again; a new seed for each branch point and value."""
        seed = (self.tab.seed.value() * 7919 + at * 31 + (value or 0) + image) % (2 ** 31)
        self.action = ("branch", image, at, value, seed)
        self.branch_done, self.was = (image, at, value), self.trace.total_bits(image)
        self.tab.generate()

    def show_dependence(self, image: int, row: int, col: int) -> None:
        self.action = self.dependence_action = ("dependence", image, row, col)
        self.tab.generate()

    def hide_dependence(self) -> None:
        self.dependence = None
        self.mode.show()

    def show_drift(self) -> None:
        if self.mode.state is not None:
            self.action = ("drift", min(self.mode.canvas.selected,
                                        len(self.mode.state.levels) - 1))
            self.tab.generate()

    def score_shown(self) -> None:
        if self.mode.state is not None:
            self.action = ("score",)
            self.tab.generate()

    def compare_orders(self) -> None:
        if self.mode.state is not None:
            self.action = ("orders", min(self.mode.canvas.selected,
                                         len(self.mode.state.levels) - 1))
            self.tab.generate()

    def refresh_actions(self) -> None:
        info = self.tab.picker.current()
        running = self.tab.runner.running
        has_images = self.mode.state is not None and self.mode.state.finished
        fits = has_images and info is not None and \
            self.mode.state.levels.shape[1:] == self._model_shape(info)
        self.panel.score_button.setEnabled(self.enabled and fits and not running)
        anyorder = info is not None and self.tab.spec_of(info).fixed_order is None
        self.panel.orders_button.setVisible(anyorder)
        self.panel.orders_button.setEnabled(fits and anyorder and not running)
        self.panel.drift_button.setEnabled(fits and not running and self.trace is not None)

    def _model_shape(self, info) -> tuple:
        codec = self.tab.facts(info).codec
        return (codec.channels, codec.height, codec.width)
