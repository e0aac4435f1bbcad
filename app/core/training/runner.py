"""Runs a training job end to end: build (or load) a net, train in a run folder, score it.

Shared by `chainrule train` and the Train tab, so both write identical run folders and
checkpoints. Under `torchrun` the same job runs as DistributedDataParallel (Gloo on CPU,
NCCL on GPUs); only rank 0 writes files.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import platform
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..checkpoint import Bundle, load_bundle, save_bundle
from ..config import ConfigBase
from ..registry import kind_spec
from ..saving import SaveError, check_writable, make_folder, write_atomic
from .presets import PreparedData
from .runs import BEST_FILE, name_problem, new_run_dir, out_problem, read_run, write_run
from .trainer import (
    DivergedError,
    RunOptions,
    TrainingError,
    TrainMetrics,
    TrainSettings,
    evaluate,
    train,
)


@dataclass
class TrainJob:
    data: PreparedData
    config: ConfigBase              # architecture of a fresh net (ignored when fine-tuning)
    settings: TrainSettings
    out_path: str                   # where the finished model goes (e.g. the user's models)
    device: object = "cpu"
    half: bool = False
    init_from: Bundle | None = None   # a model to fine-tune, or None for a fresh net
    provenance: dict = dataclasses.field(default_factory=dict)
    name: str = "model"
    source: dict = dataclasses.field(default_factory=dict)   # how to prepare the data again
    run_dir: Path | None = None     # an existing run to resume, or None for a new one
    score_final: bool = True        # evaluate on the full final set when done
    net: object = None              # the net being trained, once run_job has built it
    run_folder: Path | None = None  # the run folder it writes, once run_job has made it
    notes: list[str] = dataclasses.field(default_factory=list)   # e.g. damaged history lines


@dataclass
class FinalReport:
    path: str
    heldout_bits: float
    final_name: str
    unit: str
    wall_time_s: float
    run_dir: str = ""


@dataclass
class Distributed:
    rank: int = 0
    world: int = 1

    @property
    def writer(self) -> bool:
        return self.rank == 0


def start_distributed(device):
    """Join the process group when launched by torchrun; returns (Distributed, device)."""
    import torch

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed(), device
    import torch.distributed as dist

    cuda = torch.device(device).type == "cuda"
    if cuda:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return Distributed(dist.get_rank(), dist.get_world_size()), device


def build_net(job: TrainJob):
    import torch

    if job.init_from is not None:
        return job.init_from.net
    torch.manual_seed(job.settings.seed)      # weights are part of the recipe
    return kind_spec(job.config.kind).build(job.config)


def run_info(job: TrainJob, net, status: str, step: int = 0, best=None) -> dict:
    return {"name": job.name, "kind": net.config.kind, "status": status, "step": step,
            "steps": job.settings.steps, "best": best, "unit": kind_spec(net.config.kind).unit,
            "started": time.strftime("%Y-%m-%d %H:%M:%S"), "out": str(job.out_path),
            "config": net.config.to_dict(), "codec": job.data.codec.to_dict(),
            "settings": dataclasses.asdict(job.settings), "source": job.source,
            "data": job.data.provenance, "half": job.half}


def job_problems(job: TrainJob) -> list[str]:
    """Everything that would stop the job after training began, found before it begins:
    settings out of range, a model name or an output that cannot be written."""
    problems = job.settings.problems()
    # A resumed run keeps the name it was started with (checked then).
    if job.run_dir is None and (problem := name_problem(job.name)):
        problems.append(problem)
    if problem := out_problem(job.out_path):
        if job.run_dir is not None:
            problem += "; resume with --out FILE.safetensors to save it elsewhere"
        problems.append(problem)
    return problems


def run_job(job: TrainJob) -> Iterator[TrainMetrics | FinalReport]:
    """Yield TrainMetrics every step, then one FinalReport (rank 0) after scoring."""
    problems = job_problems(job)
    if problems:
        raise TrainingError("; ".join(problems))
    dist, device = start_distributed(job.device)
    net = job.net = build_net(job)
    settings = job.settings
    if settings.eval_limit is None and job.data.eval_limit is not None:
        settings = dataclasses.replace(settings, eval_limit=job.data.eval_limit)
    resume = job.run_dir is not None
    if dist.writer:
        check_writable(Path(job.out_path).parent)    # now, not after hours of training
    run_dir = job.run_folder = Path(job.run_dir) if job.run_dir is not None else \
        (new_run_dir(job.name) if dist.writer else None)
    # The run folder this process writes to: rank 0's, None on the other ranks.
    writer_dir = run_dir if dist.writer else None
    if resume and writer_dir is not None:
        _remove_temporary_files(writer_dir)
    info = read_run(run_dir) if run_dir is not None and resume else \
        run_info(job, net, "running")
    info.update(steps=settings.steps, settings=dataclasses.asdict(job.settings),
                out=str(job.out_path))
    info.pop("stopped_because", None)
    if writer_dir is not None:
        write_run(writer_dir, dict(info, status="running"))
    options = RunOptions(run_dir, resume, dist.writer, dist.rank, _ddp_wrapper(dist, device))
    provenance = dict(job.provenance, data=job.data.provenance,
                      settings=dataclasses.asdict(job.settings),
                      host=f"{platform.machine()} {platform.system()}")
    best_path = run_dir / BEST_FILE if run_dir else Path(os.devnull)
    start, status, last, record = time.perf_counter(), "failed", None, info
    inner = train(net, job.data.train, job.data.heldout, settings, best_path, job.data.codec,
                  provenance, device, job.half, options, name=job.name)
    try:
        for metrics in inner:
            last, last_at = metrics, time.perf_counter()
            if writer_dir is not None and (metrics.checkpointed or metrics.saved):
                write_run(writer_dir, dict(info, status="running", step=metrics.step,
                                        best=metrics.best_bits))
            yield metrics
        status = "finished"
    except GeneratorExit:
        status = "stopped"
        raise
    except KeyboardInterrupt:
        # Ctrl-C mid-step: nothing of that step was saved; the run resumes from its last
        # resumable state (the CLI's first Ctrl-C stops between steps instead, saving one).
        status, info["stopped_because"] = "stopped", "interrupted"
        raise
    except DivergedError as err:
        status, info["stopped_because"] = "diverged", str(err)
        raise _diverged(err, job, run_dir, best_path.exists()) from None
    except SaveError as err:
        raise _stopped_by(err, last, info, run_dir) from None
    finally:
        try:
            inner.close()       # a stopped run saves its resumable state here
            if writer_dir is not None:
                record = dict(info, status=status, step=last.step if last else
                              info.get("step", 0),
                              best=last.best_bits if last else info.get("best"))
                # "finished" only once the model is exported (below): until then a kill
                # or a full disk leaves a run that can be resumed to finish it.
                write_run(writer_dir, dict(record, status="running")
                          if status == "finished" else record)
                if status == "stopped" and best_path.exists():
                    _export(best_path, job.out_path)
        except SaveError as err:
            # Already failing: the first error is the one to report (the disk is full,
            # so recording "failed" fails too). A stop that cannot save says so.
            if status != "failed":
                raise _stopped_by(err, last, info, run_dir) from None
        if dist.world > 1:
            _report_weights(net, dist)
            _leave_process_group()
    if writer_dir is not None and not best_path.exists():
        # A resume asked for fewer steps than the run has done, before any held-out
        # evaluation (job_from_run refuses that up front; this is for jobs built otherwise).
        raise TrainingError(f"{run_dir}: there is no model to save yet (no held-out "
                            f"evaluation so far); resume it with more --steps")
    if writer_dir is not None:
        # Training time of the whole run (resumed sessions included) plus the final scoring.
        wall = last.elapsed_s + time.perf_counter() - last_at if last else \
            time.perf_counter() - start
        try:
            report = _finish(job, writer_dir, best_path, wall)
            write_run(writer_dir, record)
        except SaveError as err:
            raise err.add(f"training is done but its model is not saved; resume the run "
                          f"({run_dir}) to score and save it again") from None
        yield report


def _leave_process_group() -> None:
    """Close the process group once training is over (rank 0's scoring and export need no
    other process). Left to the interpreter's exit, gloo's threads were sometimes torn
    down mid-use: "terminate called without an active exception", the process aborted."""
    import torch.distributed as torch_dist

    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def _finish(job: TrainJob, run_dir: Path, best_path: Path, wall: float) -> FinalReport:
    """Score exactly what was saved (float16 weights included) and export it."""
    bundle = load_bundle(best_path, job.device)
    unit = kind_spec(bundle.kind).unit
    if job.score_final:
        bits = evaluate(bundle.net, job.data.final, job.settings.batch_size, job.device)
        bundle.provenance["metrics"] = {"heldout": round(bits, 4), "unit": unit,
                                        "heldout_set": job.data.final_name}
    else:
        bits = bundle.provenance.get("heldout_bits", float("nan"))
    bundle.provenance["train_wall_time_s"] = round(wall, 1)
    bundle.provenance["run"] = run_dir.name
    save_bundle(best_path, bundle.net, bundle.codec, bundle.provenance,
                name=Path(job.out_path).stem, half=job.half)
    _export(best_path, job.out_path)
    return FinalReport(str(job.out_path), bits, job.data.final_name, unit, wall, str(run_dir))


def _export(best_path: Path, out_path) -> None:
    """Copy the run's best checkpoint to where models are used (atomically)."""
    out = make_folder(Path(out_path).parent) / Path(out_path).name
    write_atomic(out, best_path.read_bytes())


def _stopped_by(err: SaveError, last, info: dict, run_dir) -> SaveError:
    """A failed save, with what it meant for the run: one line for the CLI and the window."""
    step = last.step if last else info.get("step", 0)
    return err.add(f"training stopped after step {step}; the files saved before are intact "
                   f"and the run can be resumed ({run_dir})")


def _diverged(err: DivergedError, job: TrainJob, run_dir, has_best: bool) -> DivergedError:
    """The divergence, with what is kept and what to do: one line for the CLI and the window."""
    kept = f"its resumable state of step {err.saved_step}" if err.saved_step else \
        "no resumable state yet (a resume starts at step 0)"
    kept += " and its best model" if has_best else ", no best model yet"
    more = (f"; the run keeps {kept} ({run_dir}); resume it with a lower learning rate "
            f"(--lr {job.settings.lr / 10:g}) or start again" if run_dir is not None else "")
    return DivergedError(err.step, err.what + more, err.saved_step)


def _remove_temporary_files(run_dir: Path) -> None:
    """Half-written files of a killed session (saving.write_atomic names them .*.tmp)."""
    for path in run_dir.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            path.unlink()


def _ddp_wrapper(dist: Distributed, device):
    if dist.world <= 1:
        return None
    import torch
    from torch.nn.parallel import DistributedDataParallel

    ids = [device] if torch.device(device).type == "cuda" else None
    return lambda module: DistributedDataParallel(module, device_ids=ids)


def _report_weights(net, dist: Distributed) -> None:
    """Each rank prints a digest of its weights (a check that DDP kept them identical)."""
    import hashlib

    digest = hashlib.sha256()
    for name, tensor in sorted(net.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    print(f"rank {dist.rank}/{dist.world} weights sha256 {digest.hexdigest()}", file=sys.stderr,
          flush=True)
