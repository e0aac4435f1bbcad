"""Running a request where the GUI runs it: in a worker thread, from plain values only.

The GUI thread turns its widgets into a request, the models' paths and a device; the worker
thread gets those values (never a widget) and calls `request_events`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence


def request_events(models, request, paths: Sequence[str], device: str,
                   through: Callable[[Iterator], Iterator] | None = None,
                   report: bool = False) -> Iterator:
    """Load (or reuse) the models at `paths` on `device`, then the request's events;
    `through` may wrap them (the Audio tab feeds its player on the way); `report` asks the
    sampler for the distribution of every step (the explain views)."""
    import torch

    # Sampling is thousands of tiny sequential steps: one intra-op thread is as fast and
    # leaves the other core to the GUI. (OpenMP's thread count is per thread.)
    torch.set_num_threads(1)
    bundles = [models.get(path, device) for path in paths]
    models_ = bundles if len(bundles) > 1 else bundles[0]
    events = request.events(models_, device, report=True) if report \
        else request.events(models_, device)
    return through(events) if through is not None else events
