"""The runs behind Generate mode's views (branch, score, orders, drift, dependence): each
turns the views' state into a factory of plain values for the tab's one worker (the worker
never sees a widget; app/core/explain_runs.py does the work)."""
from __future__ import annotations

import functools
import math

import numpy as np

from ...core import explain_runs
from ...core.branch import branch_mask
from ...core.registry import ORDERS
from ...core.state import CanvasState
from ...core.state.pixel_trace import PixelTrace

# Every order but "nearest" (which orders a hole by its known neighbours: a whole image has
# none, so it would only repeat raster).
COMPARED_ORDERS = tuple(name for name in ORDERS if name != "nearest")


class ViewRuns:
    def __init__(self, views):
        self.views = views

    def prepare_action(self):
        """The factory for the pending action (branch, score, orders), or None."""
        action, self.views.action = self.views.action, None
        state, info = self.views.mode.state, self.views.tab.picker.current()
        if action is None or state is None or info is None:
            return None
        runs = {"branch": self._branch_factory, "score": self._score_factory,
                "orders": self._orders_factory, "drift": self._drift_factory,
                "dependence": self._dependence_factory}
        factory = runs[action[0]](action, state, info)
        self.views.running = action if factory is not None else None
        return factory

    def _plain(self, run, *args):
        return functools.partial(run, self.views.tab.models, str(self.views.path),
                                 self.views.tab.device_source(), *args)

    def _branch_factory(self, action, state, _info):
        _, image, at, value, seed = action
        views = self.views
        row, col, channel = views.trace.steps[at]
        mask = branch_mask(views.trace.steps, at, views.codec.height, views.codec.width,
                           keep_chosen=value is not None)
        start = state.levels[image].copy()
        if value is not None:
            start[channel, row, col] = value
            self.views.trace.set_value(image, row, col, channel, value)
        self.views.trace.forget(image, mask)
        self.views.branch_state = CanvasState(self.views.codec, 1, start[None], ~mask)
        views.mode.set_progress(0, max(1, views.branch_state.total), "%v / %m pixels")
        return self._plain(explain_runs.branch, state.levels[image], list(views.trace.steps),
                           at, value, self._label_of(image), views.temperature, seed,
                           views.guided)

    def _score_factory(self, action, state, info):
        self.views.path, self.views.codec = info.path, self.views.tab.facts(info).codec
        self.views.top_bits = math.log2(self.views.codec.levels)
        self.views.label = self.views.tab.label_picker.label()
        self.views.guided = 1.0          # a score is the model's own likelihood
        tab = self.views.tab
        order = tab.order.currentData() if not tab.spec_of(info).fixed_order else None
        self.views.trace = PixelTrace.for_codec(self.views.codec, len(state.levels))
        self.views.mode.set_progress(0, 0, "Scoring\u2026")
        return self._plain(explain_runs.score_images, state.levels, self.views.label, order)

    def _orders_factory(self, action, state, _info):
        image = action[1]
        self.views.mode.set_progress(0, 0, "Scoring in each order\u2026")
        return self._plain(explain_runs.score_orders, state.levels[image],
                           self._label_of(image), image, COMPARED_ORDERS)

    def _drift_factory(self, action, state, info):
        image = action[1]
        self.views.mode.set_progress(0, 0, "Comparing with held-out data\u2026")
        return self._plain(explain_runs.drift, state.levels[image], self._label_of(image),
                           self._order_for(info))

    def _dependence_factory(self, action, state, info):
        _, image, row, col = action
        self.views.mode.set_progress(0, 0, "Finding what this pixel depends on\u2026")
        return self._plain(explain_runs.dependence_map, state.levels[image],
                           self._label_of(image), image, row, col, self._order_for(info))

    def _order_for(self, info):
        """An any-order model's drawing order (its trace's), None for the others."""
        if self.views.tab.spec_of(info).fixed_order is None:
            return np.array(self.views.trace.steps) if self.views.trace is not None else None
        return None

    def _label_of(self, image: int):
        label = self.views.label
        return label[image] if isinstance(label, (list, tuple)) else label
