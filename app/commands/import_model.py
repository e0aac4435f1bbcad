"""`chainrule import`: turn a foreign state dict (.pt, .pth, .ckpt, .safetensors) into a
chainrule checkpoint, checked against the architecture the user names."""
from __future__ import annotations

import json
from pathlib import Path


def add_parsers(sub, add_common) -> None:
    from ..core.registry import KINDS

    p = sub.add_parser(
        "import", help="convert a nanoGPT checkpoint or a PyTorch state dict into a chainrule "
                       "model",
        description="A nanoGPT checkpoint (ckpt.pt) is recognised by itself: its architecture "
                    "from its model_args, its characters from the meta.pkl beside it (or "
                    "--vocab). Any other state dict holds weights but no architecture: say "
                    "which with --like (kind, config and codec of an existing chainrule model) "
                    "or --kind and --config, and rename its tensors with --map if its names "
                    "differ. PyTorch files are read only with torch.load(weights_only=True), "
                    "after checking they are a PyTorch zip archive or pickle; meta.pkl only by "
                    "a reader of plain data; the weights must match the architecture exactly "
                    "and be finite.")
    p.add_argument("file", help="nanoGPT's ckpt.pt, or a .pt/.pth/.ckpt (PyTorch) or "
                                ".safetensors file holding a state dict, possibly inside "
                                "{'state_dict': ...} or {'model': ...}")
    p.add_argument("--vocab", metavar="FILE",
                   help="nanoGPT: the character vocabulary, a meta.pkl or a JSON list of "
                        "characters (default: meta.pkl beside the checkpoint, or in "
                        "data/<dataset>/ as nanoGPT writes it)")
    p.add_argument("--map", metavar="JSON",
                   help="rename the file's tensors first: a JSON object (file or inline) of "
                        "regular expression -> replacement, applied in order to every name; "
                        "null drops the tensors it matches")
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


def _rules(value: str) -> dict:
    """--map's renaming rules, each pattern checked to be a regular expression."""
    import re

    from ..core.config import ConfigError

    rules = _json_option("--map", value)
    for pattern, replacement in rules.items():
        if replacement is not None and not isinstance(replacement, str):
            raise ConfigError(f"--map: the replacement for {pattern!r} must be a string or "
                              f"null, got {replacement!r}")
        try:
            re.compile(pattern)
        except re.error as err:
            raise ConfigError(f"--map: {pattern!r} is not a regular expression ({err})") \
                from None
    return rules


def run_import(args) -> int:
    from ..core.checkpoint import CheckpointError, load_bundle
    from ..core.config import ConfigError
    from ..core.importing import import_nanogpt, import_state_dict, read_foreign
    from ..core.nanogpt import is_nanogpt
    from ..core.paths import user_models_dir

    src = Path(args.file)
    rules = _rules(args.map) if args.map else None
    raw, found = (None, {}) if args.like or args.kind else read_foreign(src)
    nanogpt = raw is not None and is_nanogpt(raw)
    if nanogpt and (args.config or args.codec or rules):
        raise ConfigError("a nanoGPT checkpoint brings its own architecture and names: leave "
                          "out --config, --codec and --map (use --vocab for its characters)")
    if not nanogpt and args.vocab:
        raise ConfigError("--vocab is for nanoGPT checkpoints; give a text model's characters "
                          "with --codec or --like")
    settings = None if nanogpt else _settings(args)
    out = Path(args.out) if args.out else user_models_dir() / f"{_default_name(src)}.safetensors"
    if out.suffix != ".safetensors":
        raise CheckpointError(out, "the output must be a .safetensors file")
    if out.exists() and not args.force:
        raise CheckpointError(out, "already exists; choose another --out, or add --force")
    provenance = {"command": args.command_line}
    if settings is None:
        assert isinstance(raw, dict)
        import_nanogpt(src, raw, found, out, vocab=args.vocab, provenance=provenance,
                       name=args.name)
    else:
        kind, config, codec, source = settings
        import_state_dict(src, out, kind, config, codec, settings_from=source, name=args.name,
                          provenance=provenance, rules=rules)
    bundle = load_bundle(out)    # what was written loads like any other model
    print(f"wrote {out}: {bundle.kind}, {bundle.parameters:,} parameters, "
          f"imported from {src.name}")
    return 0


def _default_name(src: Path) -> str:
    """nanoGPT's file is always ckpt.pt: name the model after its run folder instead
    (out-shakespeare-char/ckpt.pt -> shakespeare-char)."""
    if src.stem == "ckpt" and src.parent.name not in ("", "."):
        return src.parent.name.removeprefix("out-") or src.stem
    return src.stem
