"""Two (or more) image samplers side by side, each in its own thread, at its own pace.

Taking one step of each in turn would hold the faster model to the slower one's pace (a
PixelCNN step is a few milliseconds, an any-order network call fifty). Here each side runs
as it would alone: the heavy work (torch ops, the compiled loops) releases the interpreter
lock, so on two cores two sides take about as long as the slower one alone. Each side's
own time (`busy_s`) is measured where it runs. Each sampler keeps its own seeded
generator, so a side draws exactly what it would draw alone with the same seed.
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .events import ImageResult, PixelStep, Stage


@dataclass
class SideEvent:
    side: int                           # index of the sampler that made the event
    event: PixelStep | Stage | ImageResult
    busy_s: float                       # time that side has computed so far


@dataclass
class _Ended:
    side: int
    error: BaseException | None = None


def sample_side_by_side(samplers: Sequence[Iterator], backlog: int = 64
                        ) -> Iterator[SideEvent]:
    """The sides' events as they come, until all are done; a finished side drops out.

    An error in a side stops the others and is raised here. Closing this generator (Stop)
    stops every side after its current step and closes its sampler, in its own thread,
    before returning. At most `backlog` events wait per side: a side ahead of its reader
    waits rather than piling up pictures.
    """
    events: queue.Queue = queue.Queue()
    stop = threading.Event()
    room = [threading.Semaphore(backlog) for _ in samplers]
    # Waited on instead of Thread.join, which would register the reader's thread (a Qt
    # worker) with `threading` as a never-ending dummy thread.
    finished = [threading.Event() for _ in samplers]

    def offer(side: int, item) -> bool:
        """Queue `item` once there is room; False when stopped while waiting."""
        while not room[side].acquire(timeout=0.05):
            if stop.is_set():
                return False
        events.put(item)
        return True

    def run(side: int, sampler) -> None:
        import torch

        busy, error = 0.0, None
        try:
            with torch.no_grad():       # thread-local: the caller's grad mode is untouched
                while not stop.is_set():
                    start = time.perf_counter()
                    event = next(sampler, None)
                    busy += time.perf_counter() - start
                    if event is None or not offer(side, SideEvent(side, event, busy)):
                        break
        except BaseException as err:    # raised again in the reader's thread
            error = err
        finally:
            try:
                if hasattr(sampler, "close"):
                    with torch.no_grad():
                        sampler.close()
            finally:
                events.put(_Ended(side, error))
                finished[side].set()

    threads = [threading.Thread(target=run, args=(side, sampler), daemon=True,
                                name=f"compare-side-{side}")
               for side, sampler in enumerate(samplers)]
    for thread in threads:
        thread.start()
    try:
        live = len(threads)
        while live:
            item = events.get()
            if isinstance(item, _Ended):
                live -= 1
                if item.error is not None:
                    raise item.error
                continue
            room[item.side].release()
            yield item
    finally:
        stop.set()
        for done in finished:
            done.wait()
