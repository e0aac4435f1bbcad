"""Compare mode: two models draw side by side, live, with the same seed, class,
temperature and grid, each side in its own thread (app/core/sampling/compare.py)."""
from __future__ import annotations

from dataclasses import replace

from ...core.requests import CompareRequest
from ..widgets.controls import format_eta
from .compare_panel import ComparePanelWidget, time_left
from .image_files import SAVE_SCALE
from .image_modes import ImageMode


class CompareMode(ImageMode):
    key, title = "compare", "Compare"
    rows = ("grid", "order", "calls", "other", "guidance")

    def __init__(self, tab):
        super().__init__(tab)
        self.page = self.panel = ComparePanelWidget()
        self.params: dict | None = None

    def model_changed(self, info) -> None:
        self.panel.suggest_other(info, self.tab.label_picker.label())
        self.panel.set_models(info, self.panel.other.current())

    def request(self, left, right) -> CompareRequest:
        left_request = self.tab.modes["generate"].request(left)
        if self.tab.spec_of(left).fixed_order:   # the order is for the other side, if free
            left_request = replace(left_request, order=self.tab.order.currentData())
        return CompareRequest(left=left_request, other_model=right.name if right else "")

    def problem(self) -> str | None:
        left, right = self.tab.picker.current(), self.panel.other.current()
        if left is None or right is None:
            return "Choose a model to compare with"
        problems = self.request(left, right).problems(self.tab.facts(left),
                                                      self.tab.facts(right))
        return "; ".join(problems) or None

    def prepare(self):
        t = self.tab
        left, right = t.picker.current(), self.panel.other.current()
        problem = self.problem()
        if problem:
            t.message.show_message(problem, "info")
            return None
        t.seed.for_run()                    # a new seed unless kept; the request reads it
        request = self.request(left, right)
        self.panel.start(left, right, request.left.n)
        self.params = {**request.to_params(t.facts(left), t.facts(right)), "scale": SAVE_SCALE}
        self.set_progress(0, self.panel.total, "%v / %m pixels, both models")
        return t.run_factory(request, [left.path, right.path])

    def on_events(self, events: list) -> None:
        panel = self.panel
        panel.apply(events)
        done, total = panel.done, panel.total
        if done - self.progress[0] >= total / 100 or done == total:
            self.set_progress(done)
        # The sides run side by side, each at its own pace: done when the slower one is.
        eta = max((time_left(s) for s in panel.sides), default=0.0)
        self.set_stats(f"Compute so far: {panel.summary()} \u00b7 ETA {format_eta(eta)}")

    def on_run_ended(self, how: str) -> None:
        panel = self.panel
        for state in panel.sides:
            state.end()
        self.set_progress(panel.done)
        elapsed = max((s.elapsed_s for s in panel.sides), default=0.0)
        if how == "finished":
            self.set_stats(f"Done in {elapsed:.1f} s. Compute: {panel.summary()}")
        elif how == "cancelled":
            self.set_stats(f"Stopped after {panel.done} of {panel.total} pixels")
        self.announce(self.stats_text)

    def has_result(self) -> bool:
        return self.panel.has_result() and self.params is not None

    def default_save_name(self) -> str:
        p = self.params or {}
        return f"{'-vs-'.join(p.get('models', ['compare']))}-{p.get('label_name', 'any')}-" \
               f"seed{p.get('seed', 0)}.png"

    def save(self, path: str) -> None:
        from ...core.outputs import save_png

        save_png(path, self.panel.picture(),
                 dict(self.params, drawn=[int(s.drawn.sum()) for s in self.panel.sides]),
                 scale=SAVE_SCALE)
