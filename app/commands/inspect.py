"""`chainrule info | models | eval`: look inside checkpoints and score them."""
from __future__ import annotations

import json
import sys
from pathlib import Path

BUILTIN_SETS = {  # --data names for the held-out sets of the bundled presets
    "mnist-heldout": "mnist", "fashion-test": "fashion",
    "speech-heldout": "speech", "shakespeare-heldout": "shakespeare",
}


def add_parsers(sub, add_common) -> None:
    from .sample import positive_int

    info = sub.add_parser("info", help="print a checkpoint's config, codec, provenance, metrics")
    info.add_argument("model", help="bundled name or checkpoint path")
    info.add_argument("--json", action="store_true", help="one JSON object on stdout")
    info.set_defaults(run=run_info)

    models = sub.add_parser("models", help="list bundled and user models")
    models.add_argument("--json", action="store_true")
    models.set_defaults(run=run_models)

    ev = sub.add_parser("eval", help="negative log-likelihood of a model on data",
                        description="Bits/dim (images), bits/sample (audio) or bits/char "
                                    "(text). --data is a folder/file, or one of: "
                                    + ", ".join(BUILTIN_SETS))
    what = ev.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", help="bundled name or checkpoint path (with --data)")
    what.add_argument("--all-images", action="store_true",
                      help="every bundled image model on its own test set, as one table "
                           "(parameters, bits/dim, seconds to draw 16 images)")
    ev.add_argument("--data", help="with --model: a folder/file or a built-in set")
    ev.add_argument("--limit", type=positive_int, metavar="N",
                    help="with --all-images: score only the first N images of each set")
    ev.add_argument("--only", metavar="NAMES",
                    help="with --all-images: a comma-separated subset of the models")
    ev.add_argument("--skip-unknown", action="store_true",
                    help="text: leave out characters the model has no token for and score "
                         "the rest (without it they are listed and nothing is scored)")
    ev.add_argument("--batch-size", type=positive_int, default=32)
    ev.add_argument("--json", action="store_true")
    add_common(ev)
    ev.set_defaults(run=run_eval)


def describe(meta: dict, path: Path) -> dict:
    from ..core.registry import KINDS

    spec = KINDS.get(meta["kind"])
    return {"name": meta["name"], "path": str(path), "kind": meta["kind"],
            "title": spec.title if spec else meta["kind"],
            "file_mb": round(path.stat().st_size / 1e6, 2),
            "weights": "float16" if meta["half"] else "float32",
            "config": meta["config"], "codec": meta["codec"], "provenance": meta["provenance"]}


def run_info(args) -> int:
    from ..core.checkpoint import load_bundle, read_metadata
    from ..core.model_manager import codec_line
    from ..core.paths import resolve_model

    path = resolve_model(args.model)
    meta = read_metadata(path)
    info = describe(meta, path)
    info["parameters"] = load_bundle(path).parameters   # also validates the weights
    if args.json:
        print(json.dumps(info, indent=2))    # JSON escapes control characters itself
        return 0
    vocab = info["codec"].get("vocab")
    info = _visible_strings(info)     # names, descriptions, commands come from the file
    if vocab is not None:
        info["codec"]["vocab"] = vocab     # shown by repr(), which escapes it itself
    prov = info["provenance"]
    print(f"{info['name']}: {info['title']} ({info['kind']}), {info['parameters']:,} parameters, "
          f"{info['file_mb']} MB ({info['weights']} weights)\n  file: {info['path']}")
    print("config:\n" + "".join(f"  {k}: {v}\n" for k, v in info["config"].items()), end="")
    print(f"codec:\n  {codec_line(info['codec'])}")
    data = prov.get("data", {})
    print("provenance:")
    for key in ("description", "command"):
        if key in prov:
            print(f"  {key}: {prov[key]}")
    for key in ("source", "package", "file", "license", "split"):
        if key in data:
            print(f"  data {key}: {data[key]}")
    for key in ("steps", "device", "host", "train_wall_time_s"):
        if key in prov:
            print(f"  {key}: {prov[key]}")
    for key, value in _origin_lines(prov):
        print(f"  {key}: {value}")
    metrics = prov.get("metrics")
    if metrics:
        print(f"metrics:\n  held-out: {metrics['heldout']} {metrics['unit']} "
              f"({metrics.get('heldout_set', '')})")
    return 0


def _visible_strings(value):
    """Every string inside `value` (dicts, lists) with control characters written out."""
    from ..core.errors import visible

    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {_visible_strings(k): _visible_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_visible_strings(v) for v in value]
    return value


def _origin_lines(prov: dict) -> list[tuple[str, str]]:
    """Where an imported or fine-tuned model came from, as (label, value) lines (its
    strings were made visible by the caller)."""
    lines = []
    record = prov.get("imported_from")
    if isinstance(record, dict):
        what = record.get("layout") or record.get("format", "")
        lines.append(("imported from", f"{record.get('file', '?')} ({what})"))
        for key, label in (("sha256", "sha256"), ("vocabulary", "vocabulary"),
                           ("iter_num", "trained iterations"),
                           ("best_val_loss", "best validation loss (nats/token)"),
                           ("renamed_by", "tensors renamed by"),
                           ("stripped_prefix", "prefix removed")):
            if key in record:
                lines.append((label, str(record[key])))
    tuned = prov.get("fine_tuned_from")
    if isinstance(tuned, dict):
        lines.append(("fine-tuned from", f"{tuned.get('name', '?')} ({tuned.get('path', '?')})"))
    return lines


def run_models(args) -> int:
    from ..core.checkpoint import CheckpointError, read_metadata
    from ..core.paths import bundled_models_dir, list_models, user_models_dir

    rows = []
    for name, path, origin in list_models():
        try:
            meta = read_metadata(path)
        except CheckpointError as err:
            rows.append({"name": name, "origin": origin, "path": str(path), "error": err.problem})
            continue
        metrics = meta["provenance"].get("metrics", {})
        rows.append({"name": name, "origin": origin, "kind": meta["kind"], "path": str(path),
                     "heldout": metrics.get("heldout"), "unit": metrics.get("unit", "")})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no models found in {bundled_models_dir()} or {user_models_dir()}")
    rows = _visible_strings(rows)       # names are file names; details come from files
    for r in rows:
        detail = f"unusable: {r['error']}" if "error" in r else \
            f"{r['kind']:<12} held-out {r['heldout']} {r['unit']}" if r["heldout"] is not None \
            else r["kind"]
        print(f"{r['name']:<16} {r['origin']:<8} {detail}")
    print(f"\nbundled: {bundled_models_dir()}\nyours:   {user_models_dir()}", file=sys.stderr)
    return 0


def run_eval(args) -> int:
    if args.all_images:
        return run_eval_table(args)
    if not args.data:
        from ..core.config import ConfigError

        raise ConfigError("--model needs --data (a folder, a file, or one of: "
                          + ", ".join(BUILTIN_SETS) + ")")
    from ..core.checkpoint import load_bundle
    from ..core.devices import pick_device
    from ..core.paths import resolve_model
    from ..core.registry import kind_spec
    from ..core.training.trainer import evaluate

    device = pick_device(args.device)
    bundle = load_bundle(resolve_model(args.model), device)
    if args.data in BUILTIN_SETS:
        from ..core.training.presets import get_preset

        data = get_preset(BUILTIN_SETS[args.data]).prepare()
        data_set, name = data.final, data.final_name
        if data.codec.to_dict() != bundle.codec.to_dict():
            from ..core.codecs import CodecError

            raise CodecError(f"{args.data} is encoded differently from this model's codec")
    else:
        from ..core.training.folders import prepare_folder

        data, _, _ = prepare_folder(bundle.kind, Path(args.data), codec=bundle.codec,
                                    context=getattr(bundle.net.config, "context", None),
                                    unknown="skip" if args.skip_unknown else "refuse")
        # Score every usable file, not only a held-out share of it.
        data_set, name = _whole(data), str(args.data)
        if skipped := data.provenance.get("skipped_characters"):
            print(f"left out {skipped:,} characters the model has no token for",
                  file=sys.stderr)
        _print_skipped(data.provenance)
    bits = evaluate(bundle.net, data_set, args.batch_size, device)
    unit = kind_spec(bundle.kind).unit
    if args.json:
        print(json.dumps({"model": bundle.name, "data": name, "nll": round(bits, 5),
                          "unit": unit, "dims": data_set.dims}))
    else:
        print(f"{bundle.name} on {name}: {bits:.4f} {unit}")
    return 0


def _print_skipped(provenance: dict) -> None:
    """Files of the data folder that were not scored, each with why (as train lists them)."""
    from ..core.errors import visible

    lines = provenance.get("skipped", [])
    if not lines:
        return
    print(f"skipped {provenance.get('files_skipped', len(lines))} file(s):", file=sys.stderr)
    for line in lines[:10]:
        print(f"  {visible(line)}", file=sys.stderr)
    if len(lines) > 10:
        print(f"  ... and {len(lines) - 10} more", file=sys.stderr)


def run_eval_table(args) -> int:
    from ..core.devices import pick_device
    from ..core.model_table import bundled_image_models, format_table, score_models

    device = pick_device(args.device)
    models = bundled_image_models()
    if args.only:
        wanted = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = sorted(set(wanted) - {name for name, _ in models})
        if unknown:
            from ..core.config import ConfigError

            raise ConfigError(f"not a bundled image model: {', '.join(unknown)} (bundled: "
                              f"{', '.join(name for name, _ in models)})")
        models = [(name, path) for name, path in models if name in wanted]
    if not models:
        print("chainrule: no bundled image models found", file=sys.stderr)
        return 1
    rows = []
    for row in score_models(models, device, args.batch_size, args.limit,
                            progress=lambda line: print(line, file=sys.stderr, flush=True)):
        rows.append(row)
    rows.sort(key=lambda r: (r["data"] or "~", r["model"]))    # models on one data set together
    if args.json:
        print(json.dumps({"device": str(device), "threads": _threads(), "models": rows},
                         indent=1))
    else:
        print(format_table(rows))
    return 0


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def _whole(data):
    import numpy as np

    from ..core.training.datasets import ImageData, SequenceData

    a, b = data.train, data.heldout
    if isinstance(a, ImageData):
        labels = None if a.labels is None else np.concatenate([a.labels, b.labels])
        return ImageData(np.concatenate([a.images, b.images]), labels)
    return SequenceData(np.concatenate([a.values, b.values]), a.window)
