"""`chainrule import`: turn a foreign state dict (.pt, .pth, .ckpt, .safetensors) into a
chainrule checkpoint, checked against the architecture the user names."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def add_parsers(sub, add_common) -> None:
    from ..core.registry import KINDS

    p = sub.add_parser(
        "import", help="convert a PyTorch state dict into a chainrule checkpoint",
        description="A state dict holds weights but no architecture: say which with --like "
                    "(kind, config and codec of an existing chainrule model) or --kind and "
                    "--config. PyTorch files are read only with torch.load(weights_only=True), "
                    "after checking they are a PyTorch zip archive or pickle; the weights must "
                    "match the architecture exactly and be finite.")
    p.add_argument("file", help="a .pt/.pth/.ckpt (PyTorch) or .safetensors file holding a state "
                                "dict, possibly inside {'state_dict': ...} or {'model': ...}")
    p.add_argument("--like", metavar="MODEL",
                   help="take kind, config and codec from this chainrule model (name or path)")
    p.add_argument("--kind", help=f"model kind: {', '.join(KINDS)} (not needed with --like)")
    p.add_argument("--config", metavar="JSON",
                   help="architecture config: a JSON file or an inline JSON object; with "
                        "--like, its keys replace the model's")
    p.add_argument("--codec", metavar="JSON",
                   help="codec: a JSON file or an inline JSON object (image kinds default to "
                        "one derived from the config)")
    p.add_argument("--out", metavar="NAME.safetensors",
                   help="where to write (default: your models folder, named after FILE)")
    p.add_argument("--name", help="name stored in the checkpoint (default: the output's name)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(run=run_import)


def _json_option(option: str, value: str) -> dict:
    """An inline JSON object, or the path of a file holding one."""
    from ..core.config import ConfigError

    text, source = value, f"{option} {value}"
    if not value.lstrip().startswith("{"):
        path = Path(value)
        if not path.is_file():
            raise ConfigError(f"{option}: {value} is neither a JSON object nor a file")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"{option}: cannot read {value}: {err}") from None
        source = str(path)
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise ConfigError(f"{source}: not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a JSON object, got {type(data).__name__}")
    return data


def _settings(args) -> tuple[str, dict, dict, str]:
    """(kind, config, codec, where they came from) from --like, --kind, --config, --codec."""
    from ..core.checkpoint import read_metadata
    from ..core.config import ConfigError
    from ..core.paths import resolve_model
    from ..core.registry import kind_spec

    kind, config, codec, sources = "", {}, None, []
    if args.like:
        meta = read_metadata(resolve_model(args.like))
        kind, config, codec = meta["kind"], meta["config"], meta["codec"]
        sources.append(f"--like {args.like}")
    if args.kind:
        if kind and args.kind != kind:
            raise ConfigError(f"--kind {args.kind} contradicts --like {args.like}, a {kind} model")
        kind = args.kind
    if not kind:
        raise ConfigError("say what architecture the file holds: --like MODEL, or --kind KIND "
                          "with --config JSON")
    spec = kind_spec(kind)
    if args.config:
        config = {**config, **_json_option("--config", args.config)}
        sources.append(f"--config {args.config}")
    if args.codec:
        codec = _json_option("--codec", args.codec)
        sources.append(f"--codec {args.codec}")
    if codec is None:
        if spec.modality != "image":
            raise ConfigError(f"a {kind} model needs --codec (the "
                              f"{'vocabulary' if spec.modality == 'text' else 'sample rate'} "
                              "cannot be guessed from weights), or --like MODEL")
        full = spec.config_class.from_dict(config)
        codec = {"modality": "image", "height": full.height, "width": full.width,
                 "channels": full.channels, "levels": full.levels, "class_names": []}
    return kind, config, codec, " ".join(sources) or f"--kind {kind}"


def run_import(args) -> int:
    from ..core.checkpoint import CheckpointError, load_bundle
    from ..core.importing import import_state_dict
    from ..core.paths import user_models_dir

    src = Path(args.file)
    kind, config, codec, source = _settings(args)
    out = Path(args.out) if args.out else user_models_dir() / f"{src.stem}.safetensors"
    if out.suffix != ".safetensors":
        raise CheckpointError(out, "the output must be a .safetensors file")
    if out.exists() and not args.force:
        raise CheckpointError(out, "already exists; choose another --out, or add --force")
    import_state_dict(src, out, kind, config, codec, settings_from=source, name=args.name,
                      provenance={"command": " ".join(["chainrule"] + sys.argv[1:])})
    bundle = load_bundle(out)    # what was written loads like any other model
    print(f"wrote {out}: {bundle.kind}, {bundle.parameters:,} parameters, "
          f"imported from {src.name}")
    return 0
