"""`chainrule train`: a bundled preset, or a fresh / fine-tuned model on local files."""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path


def add_parsers(sub, add_common) -> None:
    p = sub.add_parser("train", help="train a model (a bundled preset or your own files)",
                       description="Train a preset from offline data (--preset), or any kind "
                                   "on local files (--kind ... --data PATH), optionally "
                                   "fine-tuning a checkpoint (--from).")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--preset", help="mnist, fashion, speech or shakespeare")
    what.add_argument("--kind", help="pixelcnn, wavenet, charlm-lstm or charlm-gpt")
    p.add_argument("--data", help="folder or file of your own images / audio / text")
    p.add_argument("--from", dest="init_from", metavar="CKPT",
                   help="fine-tune this checkpoint (bundled name or path)")
    p.add_argument("--size", choices=["small", "medium", "large"], default="small",
                   help="architecture size for a fresh --kind model")
    p.add_argument("--out", help="checkpoint to write (default: your models folder)")
    p.add_argument("--steps", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--eval-every", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_common(p)
    p.set_defaults(run=run)


def _override(settings, args):
    changes = {k: v for k, v in (("steps", args.steps), ("batch_size", args.batch_size),
                                 ("lr", args.lr), ("eval_every", args.eval_every),
                                 ("seed", args.seed)) if v is not None}
    settings = dataclasses.replace(settings, **changes)
    if args.steps is not None and args.eval_every is None:
        settings = dataclasses.replace(settings, eval_every=min(settings.eval_every, args.steps))
    return settings


def _job_from_preset(args, device):
    from ..core.paths import user_models_dir
    from ..core.training.presets import get_preset
    from ..core.training.runner import TrainJob

    preset = get_preset(args.preset)
    data = preset.prepare()
    out = args.out or str(user_models_dir() / f"{preset.name}.safetensors")
    return TrainJob(data, preset.make_config(data), _override(preset.settings, args), out,
                    device, preset.half,
                    provenance={"preset": preset.name, "description": preset.description,
                                "command": f"chainrule train --preset {preset.name}"})


def _job_from_folder(args, device):
    from ..core.checkpoint import load_bundle
    from ..core.paths import resolve_model, user_models_dir
    from ..core.training.folders import DataFolderError, prepare_folder
    from ..core.training.runner import TrainJob

    if not args.data:
        raise DataFolderError("--kind needs --data PATH (a folder or file of your own data)")
    init = load_bundle(resolve_model(args.init_from), device) if args.init_from else None
    if init is not None and init.kind != args.kind:
        raise DataFolderError(f"--from {args.init_from} is a {init.kind} model, not {args.kind}")
    data, config, settings = prepare_folder(args.kind, Path(args.data), args.size,
                                            init.codec if init else None)
    if init is not None:
        config = init.config
    name = f"{Path(args.data).resolve().name or 'data'}-{args.kind}"
    out = args.out or str(user_models_dir() / f"{name}.safetensors")
    provenance = {"description": f"{args.kind} trained on {args.data}",
                  "command": " ".join(["chainrule"] + sys.argv[1:])}
    if init is not None:
        provenance["fine_tuned_from"] = {"path": init.path, "name": init.name}
    return TrainJob(data, config, _override(settings, args), out, device,
                    half=init is not None and init.half, init_from=init,
                    provenance=provenance)


def run(args) -> int:
    from ..core.devices import pick_device
    from ..core.registry import kind_spec
    from ..core.training.runner import FinalReport, run_job

    device = pick_device(args.device)
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
    bar = _progress(job.settings.steps, args.quiet)
    for event in run_job(job):
        if isinstance(event, FinalReport):
            bar.close()
            print(f"saved {event.path}\nheld-out: {event.heldout_bits:.4f} {event.unit} "
                  f"on {event.final_name} (trained in {event.wall_time_s / 60:.1f} min)")
            return 0
        postfix = {"loss": f"{event.loss_bits:.3f}"}
        if event.best_bits is not None:
            postfix["held-out"] = f"{event.best_bits:.3f} {unit}"
        bar.set_postfix(postfix, refresh=False)
        bar.update(1)
    return 0


def _progress(total: int, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="step", disable=quiet, file=sys.stderr, dynamic_ncols=True,
                mininterval=0.5)
