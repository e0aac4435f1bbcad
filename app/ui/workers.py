"""The one worker pattern: drive a generator in a background QThread, report in batches.

A run is a factory (called in the worker thread, so model loading stays off the GUI thread)
that returns a generator. Events are delivered to the GUI thread in batches at most ~60
times a second, never one signal per pixel or sample. Stopping sets a flag that is checked
between events, so Stop takes effect within one step and keeps everything already produced.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject, QThread, Signal, Slot

BATCH_INTERVAL_S = 1 / 60


class GeneratorWorker(QObject):
    yielded = Signal(list)       # a batch of events, in order
    finished = Signal()          # the generator ran to its end
    cancelled = Signal()         # stopped on request (after the last batch was delivered)
    errored = Signal(str)        # one readable line

    def __init__(self, factory: Callable[[], Iterator], describe_error=None):
        super().__init__()
        self._factory = factory
        self._cancel = threading.Event()
        self._go = threading.Event()          # cleared = paused between events
        self._go.set()
        self._describe_error = describe_error or default_error_text

    def cancel(self) -> None:
        self._cancel.set()
        self._go.set()                        # a paused run must wake up to stop

    def pause(self, paused: bool) -> None:
        (self._go.clear if paused else self._go.set)()

    @Slot()
    def run(self) -> None:
        batch, last = [], time.monotonic()
        try:
            generator = self._factory()
            try:
                for event in generator:
                    batch.append(event)
                    if not self._go.is_set():   # paused: hand over what we have, then wait
                        self.yielded.emit(batch)
                        batch = []
                        self._go.wait()
                    if self._cancel.is_set():
                        break
                    now = time.monotonic()
                    if now - last >= BATCH_INTERVAL_S:
                        self.yielded.emit(batch)
                        batch, last = [], now
            finally:
                # Closing can fail too (a stopped training run saves its state here, and
                # the disk may be full): that is reported like any other error.
                if hasattr(generator, "close"):
                    generator.close()
        except Exception as err:            # reported in the UI; the app keeps going
            if batch:
                self.yielded.emit(batch)
            self.errored.emit(self._describe_error(err))
            return
        if batch:
            self.yielded.emit(batch)
        (self.cancelled if self._cancel.is_set() else self.finished).emit()


def default_error_text(err: Exception) -> str:
    from ..core.errors import describe_error

    return describe_error(err, "try a smaller batch or grid, or the CPU")


class WorkerRunner(QObject):
    """Starts, stops and joins runs for one owner (a tab). At most one run at a time."""

    live_threads: set = set()      # every QThread still running, for shutdown and tests

    started = Signal()
    stopped = Signal(str)          # "finished" | "cancelled" | "error"

    def __init__(self, parent=None):
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: GeneratorWorker | None = None
        self._on_events = self._on_error = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, factory, on_events, on_error=None) -> None:
        if self.running:
            raise RuntimeError("a run is already in progress")
        thread, worker = QThread(), GeneratorWorker(factory)
        worker.moveToThread(thread)
        # Bound methods of GUI-thread objects: Qt queues these calls to the GUI thread.
        # (A lambda here would run in the worker thread.)
        self._on_events, self._on_error = on_events, on_error
        worker.yielded.connect(self._events)
        worker.finished.connect(self._finished)
        worker.cancelled.connect(self._cancelled)
        worker.errored.connect(self._errored)
        thread.started.connect(worker.run)
        self._thread, self._worker = thread, worker
        WorkerRunner.live_threads.add(thread)
        thread.start()
        self.started.emit()

    def stop(self) -> None:
        """Ask the run to stop; it ends after the current step (see `stopped`)."""
        if self._worker is not None:
            self._worker.cancel()

    def pause(self, paused: bool) -> None:
        """Hold the run between two steps (True) or let it go on (False)."""
        if self._worker is not None:
            self._worker.pause(paused)

    @Slot(list)
    def _events(self, events: list) -> None:
        if self._on_events is not None:
            self._on_events(events)

    @Slot()
    def _finished(self) -> None:
        self._end("finished")

    @Slot()
    def _cancelled(self) -> None:
        self._end("cancelled")

    @Slot(str)
    def _errored(self, text: str) -> None:
        if self._on_error is not None:
            self._on_error(text)
        self._end("error")

    def _end(self, how: str) -> None:
        thread = self._thread
        self._thread = self._worker = None
        if thread is not None:
            thread.quit()
            thread.wait()
            WorkerRunner.live_threads.discard(thread)
        self.stopped.emit(how)

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Stop and join, for closing the window: no thread outlives its owner."""
        thread, worker = self._thread, self._worker
        if thread is None:
            return
        worker.blockSignals(True)  # nobody is left to receive them
        worker.cancel()
        thread.quit()              # the event loop ends once run() returns
        if not thread.wait(timeout_ms):
            thread.terminate()
            thread.wait()
        self._thread = self._worker = None
        WorkerRunner.live_threads.discard(thread)
