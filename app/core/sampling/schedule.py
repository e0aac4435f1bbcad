"""Schedules for budgeted parallel decoding (sampling/budget.py): how many sub-pixels each
network call reveals. Plain NumPy, no torch, so the window can price each budget (in bits/dim
given up) before torch loads.

`uniform_schedule` splits evenly; `loss_schedule` uses the model's measured loss per step,
L_t = expected bits of a sub-pixel revealed when t are visible, and by dynamic programming
puts fewer sub-pixels in the calls where each costs most (early, with little visible), more
where the model is sure. A call revealing k sub-pixels at t visible costs k * L_t bits; the
full chain costs sum_t L_t; `schedule_cost` is the difference, the likelihood given up.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def uniform_schedule(total: int, calls: int) -> list[int]:
    """Sub-pixels per call: `total` split as evenly as possible over min(calls, total)."""
    calls = max(1, min(calls, total))
    return [len(part) for part in np.array_split(np.arange(total), calls)]


def loss_schedule(losses: np.ndarray, start: int, total: int, calls: int) -> list[int]:
    """Sub-pixels per call minimising the expected bits of revealing sub-pixels start ..
    start + total - 1 in `calls` calls, given per-step losses (losses[t]: bits of one
    revealed at t visible). Exact dynamic programming over the call boundaries."""
    calls = max(1, min(calls, total))
    if calls == total:
        return [1] * total
    loss = np.asarray(losses, np.float64)[start:start + total]
    at = np.arange(total + 1)
    # step[a, b]: cost of one call revealing a..b-1 (b > a); inf where it reveals nothing
    step = np.where(at[None, :] > at[:, None],
                    (at[None, :] - at[:, None]) * np.append(loss, 0.0)[:, None], np.inf)
    best = np.full(total + 1, np.inf)
    best[0] = 0.0
    choice = np.zeros((calls, total + 1), np.int64)
    for c in range(calls):
        options = best[:, None] + step                   # (a, b): reach b by a last call a..b
        choice[c] = options.argmin(axis=0)
        best = options.min(axis=0)
    sizes: list[int] = []
    end = total
    for c in range(calls - 1, -1, -1):
        begin = int(choice[c, end])
        sizes.append(end - begin)
        end = begin
    return sizes[::-1]


def schedule_cost(losses: np.ndarray, start: int, sizes: Sequence[int]) -> float:
    """Expected extra bits of a schedule over the full chain (one sub-pixel per call)."""
    loss = np.asarray(losses, np.float64)
    t, cost = start, 0.0
    for k in sizes:
        cost += k * loss[t] - loss[t:t + k].sum()
        t += k
    return float(cost)


def plan(total: int, calls: int, losses: np.ndarray | None = None, start: int = 0
         ) -> list[int]:
    """The schedule of `calls` calls for `total` sub-pixels: from the model's measured
    per-step losses when there are some, else an even split."""
    if losses is None:
        return uniform_schedule(total, calls)
    return loss_schedule(losses, start, total, calls)
