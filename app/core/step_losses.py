"""An any-order model's loss per step, L_t (bits of a sub-pixel revealed when t are
visible), measured on real held-out images of its training data and cached per model file:
what budgeted parallel decoding (app/core/sampling/budget.py) plans its calls from, and
what prices each budget in bits/dim.

Measuring takes one pass over 32 held-out images at each of 48 values of t (seconds on a
CPU); a model whose data is not at hand has no curve, and its budgets split evenly.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

# The budgets of network calls offered besides "all". Here, not in sampling/budget.py, so
# the window can list them (with their costs) before torch loads.
BUDGETS = (200, 100, 50, 20)

IMAGES = 32
POINTS = 48
VERSION = 2              # bump when what is cached changes meaning


def cache_path(model_path) -> Path | None:
    """Where the curve of this model file is kept (None for a model without a file)."""
    from .paths import derived_cache_path

    return derived_cache_path(model_path, "step-losses", [VERSION, IMAGES, POINTS], ".npy")


def cached(model_path) -> np.ndarray | None:
    """The curve if it was measured before (a quick read, no torch: for the GUI thread)."""
    path = cache_path(model_path)
    if path is None or not path.is_file():
        return None
    try:
        curve = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    return curve if curve.ndim == 1 and np.isfinite(curve).all() else None


def costs_path(model_path) -> Path | None:
    """Where the bits/dim each of BUDGETS gives up (drawing a whole image) is kept."""
    from .paths import derived_cache_path

    return derived_cache_path(model_path, "step-loss-costs",
                              [VERSION, IMAGES, POINTS, *BUDGETS], ".json")


def cached_costs(model_path) -> dict[int, float] | None:
    """{calls: bits/dim given up} for BUDGETS, if measured before: a quick read for the
    GUI thread, which must not plan schedules itself (~0.1 s of DP per budget)."""
    import json

    path = costs_path(model_path)
    if path is None or not path.is_file():
        return None
    try:
        costs = json.loads(path.read_text(encoding="utf-8"))
        return {int(calls): float(cost) for calls, cost in costs.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def _write(path: Path | None, data: bytes) -> None:
    from .errors import UserError

    if path is None:
        return
    try:
        from .saving import make_folder, write_atomic

        make_folder(path.parent)
        write_atomic(path, data)
    except (UserError, OSError):
        pass                                 # a cache that cannot be written is no cache


def measured(bundle, device=None) -> np.ndarray | None:
    """The curve of `bundle`'s model: from the cache, or measured now on its held-out
    images and cached (with what each budget costs); None when it has no held-out data
    at hand."""
    import json

    from .drift import held_out_items
    from .errors import UserError
    from .sampling.budget import step_losses

    curve = cached(bundle.path)
    if curve is not None:
        if cached_costs(bundle.path) is None:        # measured by an earlier version
            _write(costs_path(bundle.path), json.dumps(_costs(curve)).encode())
        return curve
    try:
        held = held_out_items(bundle, IMAGES)
    except (UserError, OSError):         # no data recorded, or not installed
        return None
    labels = None if held.labels is None else [int(v) for v in held.labels]
    curve = step_losses(bundle.net, held.items.astype(np.int64), labels, POINTS,
                        device=device)
    buffer = io.BytesIO()
    np.save(buffer, curve)
    _write(cache_path(bundle.path), buffer.getvalue())
    _write(costs_path(bundle.path), json.dumps(_costs(curve)).encode())
    return curve


def _costs(curve: np.ndarray) -> dict[int, float]:
    return {calls: float(budget_cost(curve, len(curve), calls) or 0.0) for calls in BUDGETS}


def budget_cost(curve: np.ndarray | None, total: int, calls: int, start: int = 0
                ) -> float | None:
    """Bits/dim a budget gives up against the full chain (None without a curve)."""
    from .sampling.schedule import plan, schedule_cost

    if curve is None or calls >= total:
        return None if curve is None else 0.0
    return schedule_cost(curve, start, plan(total, calls, curve, start)) / len(curve)
