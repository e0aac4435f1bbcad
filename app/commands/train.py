"""`chainrule train`: a bundled preset, or a fresh / fine-tuned model on local files.

Every run gets a run folder (history, settings, best and resumable state); `--resume
RUN_DIR` continues one exactly. Under `torchrun --nproc_per_node=N -m app train ...` the
same command trains with DistributedDataParallel.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path


def _or_list(names: list[str]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else "".join(names)


def add_parsers(sub, add_common) -> None:
    from ..core.registry import KINDS
    from ..core.training.presets import PRESETS
    from ..core.training.sizes import SIZES

    p = sub.add_parser("train", help="train a model (a bundled preset or your own files)",
                       description="Train a preset from offline data (--preset), or any kind "
                                   "on local files (--kind ... --data PATH), optionally "
                                   "fine-tuning a checkpoint (--from), or continue a run "
                                   "(--resume RUN_DIR).")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--preset", help=", ".join(PRESETS))
    what.add_argument("--kind", help=_or_list(list(KINDS)))
    what.add_argument("--resume", metavar="RUN_DIR", help="continue a stopped run exactly")
    p.add_argument("--data", help="folder or file of your own images / audio / text")
    p.add_argument("--from", dest="init_from", metavar="CKPT",
                   help="fine-tune this checkpoint (bundled name or path)")
    p.add_argument("--size", choices=SIZES, default="small",
                   help="architecture size for a fresh --kind model")
    p.add_argument("--name", help="name of the new model (default: from the data folder)")
    p.add_argument("--out", help="checkpoint to write (default: your models folder)")
    p.add_argument("--steps", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--eval-every", type=int)
    p.add_argument("--checkpoint-every", type=int, help="resumable state every N steps")
    p.add_argument("--mixed-precision", action="store_true", help="bfloat16 autocast (CUDA)")
    p.add_argument("--seed", type=int)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--log-every", type=int, metavar="N",
                   help="print one line per N steps instead of a progress bar (for logs; "
                        "a line means that step is done)")
    add_common(p)
    p.set_defaults(run=run)


def _override(settings, args):
    changes = {k: v for k, v in (("steps", args.steps), ("batch_size", args.batch_size),
                                 ("lr", args.lr), ("eval_every", args.eval_every),
                                 ("checkpoint_every", args.checkpoint_every),
                                 ("seed", args.seed)) if v is not None}
    if args.mixed_precision:
        changes["mixed_precision"] = True
    settings = dataclasses.replace(settings, **changes)
    if args.steps is not None and args.eval_every is None:
        settings = dataclasses.replace(settings, eval_every=min(settings.eval_every, args.steps))
    return settings


def _job_from_preset(args, device):
    from ..core.training.jobs import job_for_preset

    return job_for_preset(args.preset, device, name=args.name, out=args.out,
                          adjust=lambda settings: _override(settings, args))


def _job_from_folder(args, device):
    from ..core.training.folders import DataFolderError
    from ..core.training.jobs import job_for_folder

    if not args.data:
        raise DataFolderError("--kind needs --data PATH (a folder or file of your own data)")
    return job_for_folder(args.kind, Path(args.data), args.size, args.init_from, device,
                          name=args.name, out=args.out,
                          adjust=lambda settings: _override(settings, args),
                          command=args.command_line)


def run(args) -> int:
    from ..core.devices import pick_device
    from ..core.registry import kind_spec
    from ..core.training.runner import FinalReport, run_job

    device = pick_device(args.device)
    if args.resume:
        from ..core.training.jobs import job_from_run

        job = job_from_run(Path(args.resume), device, args.steps)
    else:
        job = _job_from_preset(args, device) if args.preset else _job_from_folder(args, device)
    unit = kind_spec(job.config.kind).unit
    print(f"training {job.config.kind} on {device} -> {job.out_path}", file=sys.stderr)
    print(f"data: {job.data.provenance.get('source', '')} "
          f"({job.data.provenance.get('split', '')})", file=sys.stderr)
    skipped = job.data.provenance.get("skipped", [])
    if skipped:
        print(f"skipped {job.data.provenance['files_skipped']} file(s):", file=sys.stderr)
        for line in skipped[:10]:
            print(f"  {line}", file=sys.stderr)
        if len(skipped) > 10:
            print(f"  ... and {job.data.provenance['files_skipped'] - 10} more",
                  file=sys.stderr)
    notes = job.data.provenance.get("notes", [])
    if notes:
        print(f"read with a guess ({len(notes)} file(s)):", file=sys.stderr)
        for line in notes[:10]:
            print(f"  {line}", file=sys.stderr)
    log_every = args.log_every or 0
    bar = _progress(job.settings.steps, args.quiet or log_every > 0)
    events = run_job(job)
    try:
        for event in events:
            if isinstance(event, FinalReport):
                bar.close()
                print(f"saved {event.path}\nheld-out: {event.heldout_bits:.4f} {event.unit} "
                      f"on {event.final_name} (trained in {event.wall_time_s / 60:.1f} min)\n"
                      f"run folder: {event.run_dir}")
                return 0
            if log_every and event.step % log_every == 0:
                held = f" held-out {event.best_bits:.4f}" if event.best_bits is not None else ""
                print(f"step {event.step}/{event.steps} loss {event.loss_bits:.4f}{held} {unit}",
                      file=sys.stderr, flush=True)
            if bar.n == 0 and event.step > 1:
                bar.update(event.step - 1)       # resumed: the bar starts where the run was
            postfix = {"loss": f"{event.loss_bits:.3f}"}
            if event.best_bits is not None:
                postfix["held-out"] = f"{event.best_bits:.3f} {unit}"
            bar.set_postfix(postfix, refresh=False)
            bar.update(1)
    finally:
        bar.close()         # an error line then starts on a line of its own
        events.close()      # now, so that an error while saving is reported, not lost
    return 0


def _progress(total: int, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="step", disable=quiet, file=sys.stderr, dynamic_ncols=True,
                mininterval=0.5)
