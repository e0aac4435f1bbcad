"""A training session: what runs in the worker, and what a view shows about it (no Qt).

The worker side gets plain values read in the GUI thread (a job, paths, a device string) and
yields events: `prepare_events` reads the data, `run_training` trains (TrainMetrics every
step, TrainPreview now and then, one FinalReport at the end), `resume_events` reads a run
folder to continue.

The view side: a `TrainSession` is built from the job about to run, `apply` folds the
worker's events and `finish` says how the run ended. The rate and the time left are measured
here, from the steps' own clock minus the time spent paused, so a pause neither shows a rate
nor stretches the elapsed time. `line()` is the one line of statistics a view prints.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from ..registry import kind_spec
from .previews import TrainPreview
from .runner import FinalReport
from .trainer import TrainMetrics

RATE_WINDOW = 50          # steps the rate is measured over

ENDINGS = {
    "cancelled": ("stopped", "Stopped: the best model so far is saved; the run can be resumed"),
    "error": ("failed", "Training stopped by an error (see the message); what was saved "
                        "before is intact"),
    "finished": ("finished", "Done"),
}


def format_duration(seconds: float) -> str:
    """'42 s', '3:07' or '1:02:09'."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    if hours:
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{rest // 60}:{rest % 60:02d}" if seconds >= 60 else f"{seconds} s"


@dataclass
class TrainSession:
    kind: str
    name: str
    steps: int
    start: str | None = None            # the model fine-tuned (its path); None: a fresh one
    settings: dict = field(default_factory=dict)   # TrainSettings as a dict
    out: str = ""                       # where the trained model goes
    unit: str = "bits"
    state: str = "starting"             # starting | running | finished | stopped | failed
    step: int = 0
    losses: list = field(default_factory=list)      # (step, training loss)
    heldout: list = field(default_factory=list)     # (step, held-out loss)
    loss: float | None = None           # the last step's training loss
    best: float | None = None           # the lowest held-out loss so far
    paused: bool = False
    paused_s: float = 0.0               # time spent paused (finished pauses)
    elapsed_s: float = 0.0              # the run's time, pauses not counted
    rate: float | None = None           # steps per second, pauses not counted
    preview: TrainPreview | None = None
    report: FinalReport | None = None
    message: str = ""                   # how the run ended, once it has
    error: str = ""
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    _paused_at: float = field(default=0.0, repr=False)
    _recent: deque = field(default_factory=lambda: deque(maxlen=RATE_WINDOW), repr=False)

    @classmethod
    def for_job(cls, job, rows: Iterable[dict] = (), clock=None) -> TrainSession:
        """The session of `job` (a TrainJob about to run); `rows` continue a resumed run."""
        kind = job.config.kind
        init = job.init_from
        session = cls(kind, job.name, job.settings.steps,
                      start=str(init.path) if init is not None else None,
                      settings=dataclasses.asdict(job.settings), out=str(job.out_path),
                      unit=kind_spec(kind).unit,
                      **({"clock": clock} if clock else {}))
        session.add_rows(list(rows))
        return session

    # --- folding events -----------------------------------------------------------------
    def add_rows(self, rows: list[dict]) -> list[dict]:
        """History rows ({'step', 'loss', 'heldout'?}) of a run being resumed."""
        for row in rows:
            self.step = row["step"]
            self.loss = row["loss"]
            self.losses.append((row["step"], row["loss"]))
            if row.get("heldout") is not None:
                self.heldout.append((row["step"], row["heldout"]))
                self.best = row["heldout"] if self.best is None else \
                    min(self.best, row["heldout"])
        return rows

    def apply(self, events: Iterable) -> list[dict]:
        """Fold a batch of worker events; returns the new rows for the loss plot."""
        rows = []
        for event in events:
            if isinstance(event, TrainMetrics):
                rows.append(self._metrics(event))
            elif isinstance(event, TrainPreview):
                self.preview = event
            elif isinstance(event, FinalReport):
                self.report = event
        if self.paused:
            # These were made before the run came to rest: the pause starts after them.
            self._paused_at = self.clock()
        return rows

    def _metrics(self, m: TrainMetrics) -> dict:
        if self.state == "starting":
            self.state = "running"
        self.step, self.steps, self.loss = m.step, m.steps, m.loss_bits
        self.losses.append((m.step, m.loss_bits))
        if m.heldout_bits is not None:
            self.heldout.append((m.step, m.heldout_bits))
        if m.best_bits is not None:
            self.best = m.best_bits
        self.elapsed_s = max(self.elapsed_s, m.elapsed_s - self.paused_s)
        self._recent.append((m.step, self.elapsed_s))
        (first, t0), (last, t1) = self._recent[0], self._recent[-1]
        self.rate = (last - first) / (t1 - t0) if last > first and t1 > t0 else \
            (m.steps_per_s or None)
        return {"step": m.step, "loss": m.loss_bits, "heldout": m.heldout_bits}

    # --- pausing and ending -------------------------------------------------------------
    def pause(self) -> None:
        if not self.paused:
            self.paused, self._paused_at = True, self.clock()

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            self.paused_s += max(0.0, self.clock() - self._paused_at)

    def finish(self, how: str, error: str = "") -> None:
        """The run ended: 'finished', 'cancelled' (stopped) or 'error'."""
        self.resume()
        self.state, self.message = ENDINGS.get(how, ENDINGS["error"])
        self.error = error or self.error
        if self.state == "finished":
            if self.report is None:         # ended without its final report: not done
                self.state, self.message = ENDINGS["error"]
            else:
                self.message = (f"Done: held-out {self.report.heldout_bits:.4f} "
                                f"{self.report.unit}; saved as {Path(self.report.path).stem}")

    @property
    def running(self) -> bool:
        return self.state in ("starting", "running")

    @property
    def eta_s(self) -> float | None:
        return (self.steps - self.step) / self.rate if self.rate else None

    # --- what a view shows --------------------------------------------------------------
    def line(self) -> str:
        """The statistics line: progress and speed while running; how it ended after."""
        if not self.running:
            return self.message
        if self.paused:
            text = f"Paused at step {self.step} of {self.steps}"
            if self.loss is not None:
                text += f" \u00b7 loss {self.loss:.3f} {self.unit}"
            return text + f" \u00b7 {format_duration(self.elapsed_s)} elapsed"
        if self.state == "starting" or self.loss is None:
            return "Starting\u2026"
        best = f" \u00b7 best held-out {self.best:.3f}" if self.best is not None else ""
        parts = [f"loss {self.loss:.3f} {self.unit}{best}"]
        eta = self.eta_s
        if self.rate and eta is not None:
            parts += [f"{self.rate:.2f} steps/s", f"ETA {format_duration(eta)}"]
        parts.append(f"{format_duration(self.elapsed_s)} elapsed")
        return " \u00b7 ".join(parts)

    def run_line(self, status: str = "") -> str:
        """This run as the list of past runs shows it."""
        best = f", best {self.best:.3f} {self.unit}" if self.best is not None else ""
        status = status or ("running" if self.running else self.state)
        return f"{self.name} \u2014 {status} at {self.step}/{self.steps}{best}"


# --- the worker side: plain values in, events out --------------------------------------
def prepare_events(kind: str, data: str, size: str, start: str | None, device: str,
                   image: tuple[int, int, int] | None = None):
    """Read the data: yields the prepared TrainJob (a fresh model, or fine-tuning `start`);
    `image`: the (height, width, channels) a fresh image model draws."""
    from .jobs import job_for_folder

    yield job_for_folder(kind, Path(data), size, start, device, image=image)


def resume_events(run_dir, device: str):
    """Read a run folder's data again: yields the job that continues the run."""
    from .jobs import job_from_run

    yield job_from_run(Path(run_dir), device)


def job_for_run(prepared, *, steps: int, batch_size: int, lr: float, checkpoint_every: int,
                mixed_precision: bool, name: str, device: str):
    """The job one run trains: the prepared one (data, start point) with these settings.
    The prepared job is left as it was, ready for another run."""
    from ..paths import user_models_dir

    settings = dataclasses.replace(
        prepared.settings, steps=steps, batch_size=batch_size, lr=lr,
        checkpoint_every=checkpoint_every, eval_every=min(checkpoint_every, steps),
        mixed_precision=mixed_precision)
    name = name or prepared.name
    out = prepared.out_path if name == prepared.name else \
        str(user_models_dir() / f"{name}.safetensors")
    return dataclasses.replace(prepared, settings=settings, name=name, out_path=out,
                               device=device, score_final=True, net=None)


def run_training(job, preview_every: int, threads: int, advice: str):
    """The worker's generator for a run; running out of memory says what to lower."""
    from ..memory import guard_out_of_memory

    return guard_out_of_memory(training_events(job, preview_every, threads), advice)


def training_events(job, preview_every: int, threads: int):
    """Metrics, previews every N steps (and at the last), then the final report."""
    import torch

    from .previews import make_preview
    from .runner import run_job

    torch.set_num_threads(threads)
    if job.init_from is not None:
        # Training changes the net in place: the prepared model stays as it was read, so
        # another run fine-tunes the same start point.
        job.init_from = dataclasses.replace(job.init_from,
                                            net=copy.deepcopy(job.init_from.net))
    modality = job.data.codec.modality
    # Closed explicitly when Stop closes this generator: a stopped run saves its state then,
    # and a failure to save must reach the worker (an error in a generator that is merely
    # garbage-collected is lost).
    try:
        with contextlib.closing(cast(Generator, run_job(job))) as events:
            for event in events:
                yield event
                step = getattr(event, "step", None)
                if step is not None and (step % preview_every == 0 or
                                         step == job.settings.steps):
                    yield make_preview(job.net, job.data.codec, modality, step, seed=step,
                                       prompt="\n")
    except Exception:
        # A failed run's nets (perhaps filling the GPU) must not stay with the job.
        job.net = job.init_from = None
        raise
