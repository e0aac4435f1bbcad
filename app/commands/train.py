"""`chainrule train`: a bundled preset, or a fresh / fine-tuned model on local files.

Every run gets a run folder (history, settings, best and resumable state); `--resume
RUN_DIR` continues one exactly. Under `torchrun --nproc_per_node=N -m app train ...` the
same command trains with DistributedDataParallel.

Every flag is checked before any data is read (one line, exit 2), and so is everything the
run will write (its name, --out), so nothing can fail on them after training began. The
first Ctrl-C stops after the step in progress, like the Train tab's Stop: the resumable
state and the best model are saved and the run can be resumed (exit 130).
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import sys
from pathlib import Path

EXIT_STOPPED = 130          # as a shell reports a command stopped by Ctrl-C


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
    what.add_argument("--resume", metavar="RUN_DIR",
                      help="continue a stopped run exactly (--steps, --lr and --out may "
                           "change; its other settings are the run's own)")
    p.add_argument("--data", help="folder or file of your own images / audio / text")
    p.add_argument("--from", dest="init_from", metavar="CKPT",
                   help="fine-tune this checkpoint (bundled name or path)")
    p.add_argument("--size", choices=SIZES, default="small",
                   help="architecture size for a fresh --kind model")
    p.add_argument("--image-size", metavar="N or HxW",
                   help="images a fresh --kind image model draws, e.g. 32 or 48x64 (4 to 256 "
                        "a side; default 28); each file is scaled and centre-cropped to it")
    p.add_argument("--colour", "--color", action="store_true",
                   help="a fresh --kind image model draws RGB colour (default: grey)")
    p.add_argument("--name", help="name of the new model: a plain file name of at most 100 "
                                  "characters (default: from the data folder)")
    p.add_argument("--out", help="checkpoint to write, a .safetensors file (default: your "
                                 "models folder)")
    p.add_argument("--steps", type=int, help="1 to 10,000,000")
    p.add_argument("--batch-size", type=int, help="1 to 65,536")
    p.add_argument("--lr", type=float, help="learning rate, more than 0 and at most 1")
    p.add_argument("--eval-every", type=int, help="held-out loss every N steps (1 to "
                                                  "10,000,000)")
    p.add_argument("--checkpoint-every", type=int,
                   help="resumable state every N steps (1 to 10,000,000)")
    p.add_argument("--mixed-precision", action="store_true", help="bfloat16 autocast (CUDA)")
    p.add_argument("--seed", type=int, help="0 to 2,147,483,647")
    p.add_argument("--ema", type=float, metavar="DECAY",
                   help="score and save an exponential moving average of the weights with "
                        "this decay, e.g. 0.999 (0 to 0.99999; default 0: the weights "
                        "themselves)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--log-every", type=int, metavar="N",
                   help="print one line per N steps instead of a progress bar (for logs; "
                        "a line means that step is done)")
    add_common(p)       # --device, and --threads (checked by the parser: cli.py)
    p.set_defaults(run=run)


def flag_problems(args) -> list[str]:
    """Every flag out of its range, in the words of the setting it gives, before any data
    is read; the job is checked again as a whole (core/training/runner.job_problems)."""
    from ..core.requests.base import number_problem
    from ..core.training.jobs import SETTING_FLAGS
    from ..core.training.runs import name_problem, out_problem
    from ..core.training.trainer import MAX_STEPS, setting_problem

    problems = [p for field, flag in SETTING_FLAGS if getattr(args, field) is not None
                if (p := setting_problem(field, getattr(args, field), flag))]
    if args.log_every is not None and (
            p := number_problem("--log-every", args.log_every, 1, MAX_STEPS, integer=True)):
        problems.append(p)
    if args.name is not None and (p := name_problem(args.name, "--name")):
        problems.append(p)
    if args.out is not None and (p := out_problem(args.out, "--out")):
        problems.append(p)
    if args.resume and (kept := _kept_by_resume(args)):
        problems.append(f"{' and '.join(kept)}: a resumed run keeps its own settings (only "
                        f"--steps, --lr and --out may change); start a new run with --from "
                        f"to train with others")
    if (args.image_size is not None or args.colour) and not args.kind:
        problems.append("--image-size and --colour choose the images of a fresh --kind "
                        "model; a preset or a resumed run keeps its own")
    elif args.image_size is not None and isinstance(p := image_choice(args), str):
        problems.append(p)
    return problems


def _kept_by_resume(args) -> list[str]:
    """The flags given that a resumed run would otherwise ignore without a word (it rebuilds
    its job from its own saved settings, so that it continues exactly)."""
    from ..core.training.jobs import SETTING_FLAGS

    changeable = ("steps", "lr")        # job_from_run takes these (and --out)
    flags = [("data", "--data"), ("init_from", "--from"), ("name", "--name"),
             *((field, flag) for field, flag in SETTING_FLAGS if field not in changeable)]
    return [flag for field, flag in flags
            if getattr(args, field) not in (None, False)]


def image_choice(args) -> tuple[int, int, int] | str | None:
    """(height, width, channels) from --image-size and --colour, None when neither is given,
    or the problem with --image-size (one line)."""
    from ..core.errors import visible
    from ..core.training.folders import DEFAULT_IMAGE, image_shape_problem

    if args.image_size is None and not args.colour:
        return None
    channels = 3 if args.colour else 1
    if args.image_size is None:
        return (32, 32, 3) if args.colour else DEFAULT_IMAGE
    text = args.image_size.strip().lower()
    match = re.fullmatch(r"(\d{1,4})(?:\s*[x\u00d7]\s*(\d{1,4}))?", text)
    if match is None:
        return (f"--image-size: expected N or HEIGHTxWIDTH such as 32 or 48x64, got "
                f"{visible(args.image_size)[:40]!r}")
    height = int(match.group(1))
    width = int(match.group(2) or height)
    problem = image_shape_problem(height, width)
    return f"--image-size: {problem}" if problem else (height, width, channels)


def _override(settings, args):
    changes = {k: v for k, v in (("steps", args.steps), ("batch_size", args.batch_size),
                                 ("lr", args.lr), ("eval_every", args.eval_every),
                                 ("checkpoint_every", args.checkpoint_every),
                                 ("seed", args.seed), ("ema", args.ema)) if v is not None}
    if args.mixed_precision:
        changes["mixed_precision"] = True
    settings = dataclasses.replace(settings, **changes)
    if args.steps is not None and args.eval_every is None:
        settings = dataclasses.replace(settings, eval_every=min(settings.eval_every, args.steps))
    return settings


def _job_from_preset(args, device):
    from ..core.training.jobs import job_for_preset

    return job_for_preset(args.preset, device, name=args.name, out=args.out,
                          adjust=lambda settings: _override(settings, args),
                          init_from=args.init_from)


def _job_from_folder(args, device):
    from ..core.training.folders import DataFolderError
    from ..core.training.jobs import job_for_folder

    if not args.data:
        raise DataFolderError("--kind needs --data PATH (a folder or file of your own data)")
    image = image_choice(args)
    return job_for_folder(args.kind, Path(args.data), args.size, args.init_from, device,
                          name=args.name, out=args.out,
                          adjust=lambda settings: _override(settings, args),
                          command=args.command_line,
                          image=image if isinstance(image, tuple) else None)


def run(args) -> int:
    from ..core.devices import pick_device
    from ..core.registry import kind_spec
    from ..core.saving import check_writable
    from ..core.training.runner import run_job
    from ..core.training.trainer import TrainingError

    problems = flag_problems(args)
    if problems:
        raise TrainingError("; ".join(problems))
    if args.out:
        check_writable(Path(args.out).parent)      # before the data, which can take a while
    device = pick_device(args.device)
    if args.resume:
        from ..core.training.jobs import job_from_run

        job = job_from_run(Path(args.resume), device, args.steps, lr=args.lr, out=args.out)
    else:
        job = _job_from_preset(args, device) if args.preset else _job_from_folder(args, device)
    unit = kind_spec(job.config.kind).unit
    print(f"training {job.config.kind} on {device} -> {_text(job.out_path)}", file=sys.stderr)
    for note in job.notes:
        print(_text(note), file=sys.stderr)
    print(f"data: {_text(job.data.provenance.get('source', ''))} "
          f"({job.data.provenance.get('split', '')})", file=sys.stderr)
    if job.data.provenance.get("converted"):
        print(f"images: {job.data.provenance['converted']}", file=sys.stderr)
    skipped = job.data.provenance.get("skipped", [])
    if skipped:
        print(f"skipped {job.data.provenance['files_skipped']} file(s):", file=sys.stderr)
        for line in skipped[:10]:
            print(f"  {_text(line)}", file=sys.stderr)
        if len(skipped) > 10:
            print(f"  ... and {job.data.provenance['files_skipped'] - 10} more",
                  file=sys.stderr)
    notes = job.data.provenance.get("notes", [])
    if notes:
        print(f"read with a guess ({len(notes)} file(s)):", file=sys.stderr)
        for line in notes[:10]:
            print(f"  {_text(line)}", file=sys.stderr)
    log_every = args.log_every or 0
    bar = _progress(job.settings.steps, args.quiet or log_every > 0)
    events = run_job(job)
    try:
        with _stop_on_ctrl_c() as stop_asked:
            return _follow(events, job, bar, log_every, unit, stop_asked)
    finally:
        bar.close()         # an error line then starts on a line of its own
        events.close()      # now, so that an error while saving is reported, not lost


def _log_line(event, unit: str) -> str:
    """One logged step. The held-out figure is this step's own where it was scored, with the
    best so far beside it: printing only the best hid a resumed run getting worse (its log
    read 2.2180 four times while the net scored 2.46, 2.49, 2.31, 2.35)."""
    line = f"step {event.step}/{event.steps} loss {event.loss_bits:.4f} {unit}"
    if event.heldout_bits is not None:
        line += f", held-out {event.heldout_bits:.4f}"
        if event.best_bits is not None and event.best_bits < event.heldout_bits:
            line += f" (best {event.best_bits:.4f})"
    elif event.best_bits is not None:
        line += f", best held-out {event.best_bits:.4f}"
    return line


def _follow(events, job, bar, log_every: int, unit: str, stop_asked) -> int:
    from ..core.training.runner import FinalReport

    for event in events:
        if isinstance(event, FinalReport):
            bar.close()
            print(f"saved {_text(event.path)}\nheld-out: {event.heldout_bits:.4f} "
                  f"{event.unit} on {event.final_name} (trained in "
                  f"{event.wall_time_s / 60:.1f} min)\nrun folder: {_text(event.run_dir)}")
            return 0
        if log_every and event.step % log_every == 0:
            print(_log_line(event, unit), file=sys.stderr, flush=True)
        if bar.n == 0 and event.step > 1:
            bar.update(event.step - 1)       # resumed: the bar starts where the run was
        postfix = {"loss": f"{event.loss_bits:.3f}"}
        if event.best_bits is not None:
            postfix["best held-out"] = f"{event.best_bits:.3f} {unit}"
        bar.set_postfix(postfix, refresh=False)
        bar.update(1)
        if stop_asked():
            bar.close()
            events.close()          # saves the resumable state and exports the best model
            print(_stopped_line(job, event.step), file=sys.stderr)
            return EXIT_STOPPED
    return 0


def _stopped_line(job, step: int) -> str:
    from ..core.training.runs import BEST_FILE

    saved = job.run_folder is not None and (job.run_folder / BEST_FILE).exists()
    best = f"; the best model so far is saved as {_text(job.out_path)}" if saved else ""
    return (f"chainrule: stopped after step {step}{best}; continue with: chainrule train "
            f"--resume {_text(job.run_folder)}")


@contextlib.contextmanager
def _stop_on_ctrl_c():
    """The first Ctrl-C asks training to stop after the step in progress (a step stopped
    half-way could not be saved to resume exactly); a second one interrupts at once. Not
    under torchrun: each process would stop at its own step and the others wait forever."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or \
            int(os.environ.get("WORLD_SIZE", "1") or 1) > 1:
        yield lambda: False
        return
    asked: list[bool] = []

    def on_ctrl_c(signum, frame):
        if asked:
            raise KeyboardInterrupt
        asked.append(True)
        print("\nstopping after this step (Ctrl-C again to stop at once)", file=sys.stderr,
              flush=True)

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield lambda: bool(asked)
    finally:
        signal.signal(signal.SIGINT, previous)


def _text(path) -> str:
    """A path as one line any terminal can take: bytes of a name that are not UTF-8 (held
    as surrogates) are written out instead of failing the print after training, and so is a
    line break in a folder's name."""
    from ..core.errors import visible

    return visible(str(path))


def _progress(total: int, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="step", disable=quiet, file=sys.stderr, dynamic_ncols=True,
                mininterval=0.5)
