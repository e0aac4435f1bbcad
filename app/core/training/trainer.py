"""The training loop: a plain generator of metrics, a sibling of the samplers.

Pulling from `train()` runs steps; stopping the pull stops training (and, with a run folder,
saves a resumable state first). The best checkpoint (lowest held-out loss) is written
atomically whenever the held-out loss improves, so the file on disk is always a complete,
usable model. With a run folder the loop also appends the metrics history and writes the
resumable state every `checkpoint_every` steps.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserError

LN2 = math.log(2.0)
MAX_STEPS = 10_000_000
MAX_SEED = 2**31 - 1         # as for sampling (requests/base.py)

# What each setting may be: (lowest, highest, whole number, lowest excluded). The CLI's flags,
# a run folder's run.json and every job are checked against these before any data is read,
# so a zero or a NaN never reaches a division or the optimizer hours into a run.
SETTING_RANGES: dict[str, tuple[float, float, bool, bool]] = {
    "steps": (1, MAX_STEPS, True, False),
    "batch_size": (1, 65_536, True, False),
    "lr": (0, 1, False, True),               # as the Train tab allows; beyond 1 AdamW diverges
    "warmup": (0, MAX_STEPS, True, False),
    "min_lr_ratio": (0, 1, False, False),
    "weight_decay": (0, 10, False, False),
    "grad_clip": (0, 1e6, False, False),      # 0: no clipping
    "eval_every": (1, MAX_STEPS, True, False),
    "eval_limit": (1, 10**9, True, False),
    "label_dropout": (0, 1, False, False),
    "seed": (0, MAX_SEED, True, False),
    "checkpoint_every": (1, MAX_STEPS, True, False),
    "ema": (0, 0.99999, False, False),       # 0: no average
}
OPTIONAL_SETTINGS = ("eval_limit", "checkpoint_every")     # None means "the default"


class TrainingError(UserError, ValueError):
    """A run that cannot start or go on: a setting out of range, a name or an output that
    cannot be written, a damaged run folder, a loss that diverged."""


class DivergedError(TrainingError):
    """The loss, the gradients or the weights stopped being finite numbers. Raised before
    the optimizer applies the bad step and before anything is saved from it, so the last
    resumable state and the best model on disk are from before the divergence."""

    def __init__(self, step: int, what: str, saved_step: int):
        self.step, self.what, self.saved_step = step, what, saved_step
        super().__init__(f"training diverged at step {step}: {what}")


@dataclass
class TrainSettings:
    steps: int = 1000
    batch_size: int = 32
    lr: float = 1e-3
    warmup: int = 100            # linear warm-up steps, then cosine decay to lr * min_lr_ratio
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    eval_every: int = 250
    eval_limit: int | None = None   # held-out items (images, windows) scored during training
    label_dropout: float = 0.1      # share of labels replaced by "no label" (conditional nets)
    seed: int = 0
    checkpoint_every: int | None = None   # resumable state (run folders); default eval_every
    mixed_precision: bool = False   # bfloat16 autocast on CUDA
    ema: float = 0.0                # decay of a weight average scored and saved (ema.py); 0: off

    def lr_at(self, step: int) -> float:
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        progress = (step - self.warmup) / max(1, self.steps - self.warmup)
        floor = self.lr * self.min_lr_ratio
        return floor + (self.lr - floor) * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    def problems(self) -> list[str]:
        return [p for name in SETTING_RANGES
                if (p := setting_problem(name, getattr(self, name)))]


def setting_problem(name: str, value, label: str | None = None) -> str | None:
    """'steps must be a whole number at least 1 and at most 10,000,000 (got 0)', or None;
    `label` names it as the user gave it (a flag such as --steps, or a key of run.json)."""
    from ..requests.base import number_problem

    label = label or name
    if name == "mixed_precision":
        return None if isinstance(value, bool) else f"{label} must be true or false " \
                                                    f"(got {value!r})"
    if value is None and name in OPTIONAL_SETTINGS:
        return None
    low, high, whole, low_open = SETTING_RANGES[name]
    # A whole number read from a file must be an int: 5.0 is a number, but range() and
    # the batch sampler refuse it hours later. Checked as NaN, it is refused in the same words.
    refused = whole and isinstance(value, float)
    problem = number_problem(label, math.nan if refused else value, low, high,
                             low_open=low_open, integer=whole)
    return problem.replace("(got nan)", f"(got {value!r})") if problem and refused else problem


def settings_from_dict(data, label: str = "settings") -> tuple[TrainSettings | None, list[str]]:
    """TrainSettings from a dict read from a file: (settings, []) or (None, problems)."""
    if not isinstance(data, dict):
        return None, [f"{label} must be an object (got {type(data).__name__})"]
    known = {f.name for f in dataclasses.fields(TrainSettings)}
    problems = [f"{label} has an unknown key {key!r}" for key in data if key not in known]
    problems += [p for key, value in data.items() if key in known
                 if (p := setting_problem(key, value, f"{label}.{key}"))]
    return (None, problems) if problems else (TrainSettings(**data), [])


@dataclass
class TrainMetrics:
    step: int
    steps: int
    loss_bits: float                 # training loss of this step, in the kind's unit
    lr: float
    steps_per_s: float
    eta_s: float
    elapsed_s: float
    heldout_bits: float | None = None
    best_bits: float | None = None
    saved: str | None = None          # best checkpoint written at this step, if any
    checkpointed: bool = False        # resumable state written at this step
    extra: dict = field(default_factory=dict)


@dataclass
class RunOptions:
    """How a training loop relates to its run folder and to other processes."""

    run_dir: Path | None = None
    resume: bool = False              # continue from run_dir/state.safetensors
    writer: bool = True               # only one process (rank 0) writes files
    data_seed_offset: int = 0         # each distributed rank draws different batches
    wrap: Callable | None = None      # e.g. DistributedDataParallel around the objective


def evaluate(net, data, batch_size: int, device, limit: int | None = None) -> float:
    """Mean negative log-likelihood over `data`, in bits per dimension of the kind's unit."""
    import torch

    was_training = net.training
    net.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in data.eval_batches(batch_size, device, limit):
            nll = net.nll(batch)                      # (B,) nats per dim
            total += float(nll.sum())
            count += nll.shape[0]
    net.train(was_training)
    if count == 0:
        raise ValueError("the held-out set is empty")
    return total / count / LN2


def _objective(net):
    """An nn.Module whose forward is the loss, so DistributedDataParallel can wrap it."""
    import torch

    class Objective(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, batch: dict):
            return self.net.nll(batch)

    return Objective()


def train(net, train_data, heldout_data, settings: TrainSettings, out_path, codec,
          provenance: dict, device="cpu", half: bool = False,
          options: RunOptions | None = None, name: str | None = None
          ) -> Generator[TrainMetrics, None, None]:
    """Train `net` in place, yielding metrics every step; best weights go to `out_path`.
    Closing the generator stops training (saving a resumable state in a run folder)."""
    import torch

    from ..checkpoint import save_bundle
    from .ema import WeightAverage
    from .runs import STATE_FILE, History
    from .state import load_state, nonfinite_weights, save_state

    options = options or RunOptions()
    device = torch.device(device)
    net.to(device).train()
    model = _objective(net)
    model = options.wrap(model) if options.wrap else model
    opt = torch.optim.AdamW(net.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    rng = np.random.default_rng(settings.seed + options.data_seed_offset)
    history = History(options.run_dir) if options.run_dir and options.writer else None
    state_path = options.run_dir / STATE_FILE if options.run_dir else None
    every = settings.checkpoint_every or settings.eval_every
    null_label = getattr(net.config, "num_classes", 0) or None
    best, done, earlier_s = math.inf, 0, 0.0
    average = WeightAverage(net, settings.ema) if settings.ema else None
    # A run killed before its first checkpoint has no state yet: it resumes from step 0.
    if options.resume and state_path is not None and state_path.exists():
        done, rng, extra = load_state(state_path, net, opt,
                                      average.load if average is not None else None)
        best = extra.get("best", math.inf)
        # The clock goes on from where the run stopped: its history and its wall time are
        # those of the whole run, not of the last session.
        earlier_s = float(extra.get("elapsed_s", 0.0))
    if options.resume and history:
        history.truncate(done)      # lines past the state (or torn by a kill) go
    autocast = settings.mixed_precision and device.type == "cuda"
    saved_at = done                            # the step of the resumable state on disk

    def check_weights(step: int) -> None:
        # Before every save: a state or a best model with NaN in it must never replace a
        # good one (the losses can stay finite while an unused weight is not).
        if bad := nonfinite_weights(net):
            raise DivergedError(step, f"weight '{bad}' is not a finite number", saved_at)

    def checkpoint() -> None:
        nonlocal saved_at
        assert state_path is not None          # only a run with a folder (a history) saves
        check_weights(done)
        save_state(state_path, net, opt, done, rng,
                   {"best": best, "elapsed_s": time.perf_counter() - start},
                   average.tensors() if average is not None else None)
        saved_at = done

    recent: list[float] = []                   # seconds of the last 50 steps
    start, rows = time.perf_counter() - earlier_s, []
    try:
        for step in range(done + 1, settings.steps + 1):
            tick = time.perf_counter()
            lr = settings.lr_at(step - 1)
            for group in opt.param_groups:
                group["lr"] = lr
            batch = train_data.sample_batch(rng, settings.batch_size, device,
                                            null_label=null_label,
                                            label_dropout=settings.label_dropout)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
                loss = model(batch).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            # The norm is measured even without clipping (clipping at infinity changes no
            # gradient): under DDP it is the same on every process, so all stop together.
            norm = torch.nn.utils.clip_grad_norm_(net.parameters(),
                                                  settings.grad_clip or math.inf)
            loss_value = loss.item()
            if what := _not_finite(loss_value, float(norm), options.wrap is None):
                raise DivergedError(step, what, saved_at)    # before the step is applied
            opt.step()
            if average is not None:
                average.update(step)
            done = step
            recent = (recent + [time.perf_counter() - tick])[-50:]
            per_step = sum(recent) / len(recent)
            metrics = TrainMetrics(step, settings.steps, loss_value / LN2, lr, 1.0 / per_step,
                                   per_step * (settings.steps - step),
                                   time.perf_counter() - start)
            if options.writer and (step % settings.eval_every == 0 or step == settings.steps):
                with average.applied() if average is not None else contextlib.nullcontext():
                    metrics.heldout_bits = evaluate(net, heldout_data, settings.batch_size,
                                                    device, settings.eval_limit)
                    if metrics.heldout_bits < best and math.isfinite(metrics.heldout_bits):
                        check_weights(step)
                        record = dict(provenance, steps=step, device=str(device),
                                      wall_time_s=round(metrics.elapsed_s, 1),
                                      heldout_bits=round(metrics.heldout_bits, 4))
                        metrics.saved = str(save_bundle(out_path, net, codec, record,
                                                        name=name, half=half))
                if not math.isfinite(metrics.heldout_bits):
                    raise DivergedError(step, f"the held-out loss is {metrics.heldout_bits}",
                                        saved_at)
                best = min(best, metrics.heldout_bits)
                metrics.best_bits = best
            rows.append({"step": step, "loss": round(metrics.loss_bits, 5), "lr": lr,
                         "time": round(metrics.elapsed_s, 2),
                         **({"heldout": round(metrics.heldout_bits, 5)}
                            if metrics.heldout_bits is not None else {})})
            if history and (step % every == 0 or step == settings.steps):
                history.append(rows)
                rows = []
                checkpoint()
                metrics.checkpointed = True
            yield metrics
    except GeneratorExit:
        # Stopped by the consumer: keep a resumable state at the last finished step.
        if history:
            history.append(rows)
            checkpoint()
        raise


def _not_finite(loss: float, norm: float, local_loss_counts: bool) -> str | None:
    """What is not a finite number, or None. Under DDP each process has its own loss, so
    only the (shared) gradient norm decides there: a process must never stop alone."""
    if local_loss_counts and not math.isfinite(loss):
        return f"the training loss is {loss} (a learning rate too high?)"
    if not math.isfinite(norm):
        return f"the gradient norm is {norm} (a learning rate too high?)"
    return None


def model_size(net) -> int:
    return sum(p.numel() for p in net.parameters())
