"""Training jobs on the user's own files: fresh models and fine-tuning, shared by the CLI
and the Train tab."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from ..paths import resolve_model, user_models_dir
from ..registry import kind_spec
from .folders import DataFolderError, prepare_folder
from .runner import TrainJob
from .runs import MAX_NAME, plain_name


def extend_vocabulary(net, old_size: int, new_size: int):
    """Give a character model rows for new characters: embeddings at the mean of the known
    ones, output rows that start them as unlikely. Known characters are untouched."""
    import torch

    if new_size == old_size:
        return net
    config = dataclasses.replace(net.config, vocab_size=new_size)
    grown = type(net)(config)
    state = net.state_dict()
    with torch.no_grad():
        for name, value in grown.state_dict().items():
            old = state[name]
            if old.shape == value.shape:
                value.copy_(old)
            elif name in ("embed.weight", "head.weight"):
                value[:old_size] = old
                value[old_size:] = old.mean(0, keepdim=True)
            elif name == "head.bias":
                value[:old_size] = old
                value[old_size:] = old.min() - 1.0
            else:
                raise ValueError(f"cannot grow '{name}' for a larger vocabulary")
    return grown.to(next(net.parameters()).device).eval()


def job_for_folder(kind: str, data_path: Path, size: str = "small", init_from=None,
                   device="cpu", name: str | None = None, out: str | None = None,
                   adjust=None, command: str = "",
                   image: tuple[int, int, int] | None = None) -> TrainJob:
    """A TrainJob for `kind` on the files at `data_path`, fresh or fine-tuning `init_from`.
    image: (height, width, channels) a fresh image model draws (default 28 x 28 grey)."""
    from ..checkpoint import load_bundle

    init = load_bundle(resolve_model(init_from), device) if init_from else None
    if init is not None and init.kind != kind:
        raise DataFolderError(f"{init_from} is a {init.kind} model, not {kind}")
    data, config, settings = prepare_folder(
        kind, Path(data_path), size, init.codec if init else None,
        context=getattr(init.net.config, "context", None) if init else None, image=image)
    provenance: dict[str, object] = {"description": f"{kind} trained on {data_path}",
                                     "command": command}
    if init is not None:
        provenance["fine_tuned_from"] = {"path": init.path, "name": init.name}
        # A text model meets characters it has never seen as a larger vocabulary.
        if kind_spec(kind).modality == "text" and data.codec.size != init.codec.size:
            init.net = extend_vocabulary(init.net, init.codec.size, data.codec.size)
        config = init.net.config
    if name is None:
        # From the folder's name, which may hold anything a file system allows (bytes that
        # are not UTF-8, line breaks): made printable, it can name a file and a checkpoint.
        folder = plain_name(Path(data_path).resolve().name, MAX_NAME // 2)
        name = plain_name(f"{folder}-{init.name if init else kind}")
    out = out or str(user_models_dir() / f"{name}.safetensors")
    settings = adjust(settings) if adjust else settings
    return TrainJob(data, config, settings, out, device, half=bool(init and init.half),
                    init_from=init, provenance=provenance, name=name,
                    source={"data": str(Path(data_path).resolve()), "size": size,
                            "from": str(init.path) if init else None, "kind": kind,
                            **({"image": list(image)} if image else {})})


def job_for_preset(preset_name: str, device="cpu", name: str | None = None,
                   out: str | None = None, adjust=None, init_from=None) -> TrainJob:
    """The exact recipe of a bundled model (see presets.py), from a fresh net or, with
    `init_from`, continuing a checkpoint of the same kind and data (a longer run of a
    bundled model without starting again)."""
    from .presets import get_preset

    preset = get_preset(preset_name)
    data = preset.prepare()
    config = preset.make_config(data)
    init = _preset_base(init_from, preset.name, config.kind, data.codec, device)
    out = out or str(user_models_dir() / f"{preset.name}.safetensors")
    settings = adjust(preset.settings) if adjust else preset.settings
    provenance: dict[str, object] = {
        "preset": preset.name, "description": preset.description,
        "command": preset_command(preset, settings, init_from)}
    if init is not None:
        provenance["fine_tuned_from"] = {"path": init.path, "name": init.name}
        config = init.net.config
    return TrainJob(data, config, settings, out, device, preset.half, init_from=init,
                    provenance=provenance, name=name or preset.name,
                    source={"preset": preset.name, "from": str(init_from) if init else None})


def _preset_base(init_from, preset_name: str, kind: str, codec, device):
    """The checkpoint a preset run continues, or None; refused unless it is the preset's
    kind and reads its data the same way (a fine-tune on other data is --kind --data)."""
    if not init_from:
        return None
    from ..checkpoint import load_bundle

    init = load_bundle(resolve_model(init_from), device)
    if init.kind != kind:
        raise DataFolderError(f"--from {init_from}: a {init.kind} model; the "
                              f"{preset_name} preset trains a {kind} model")
    if init.codec != codec:
        raise DataFolderError(f"--from {init_from}: its data is encoded differently from the "
                              f"{preset_name} preset's; fine-tune it on your own files with "
                              f"--kind {kind} --data PATH")
    return init


# The settings `chainrule train` takes as flags, in the order its --help lists them.
SETTING_FLAGS = (("steps", "--steps"), ("batch_size", "--batch-size"), ("lr", "--lr"),
                 ("eval_every", "--eval-every"), ("checkpoint_every", "--checkpoint-every"),
                 ("mixed_precision", "--mixed-precision"), ("seed", "--seed"),
                 ("ema", "--ema"))


def preset_command(preset, settings, init_from=None) -> str:
    """The command that trains exactly this: the preset plus a flag for each setting that
    differs from the preset's own (so a card's command reproduces a longer run too, also
    one continued with --resume, which rebuilds the job from the run's saved settings)."""
    words = ["chainrule", "train", "--preset", preset.name]
    if init_from:
        words += ["--from", str(init_from)]
    for field, flag in SETTING_FLAGS:
        value, default = getattr(settings, field), getattr(preset.settings, field)
        if value == default:
            continue
        if field == "eval_every" and value == min(default, settings.steps):
            continue                          # what --steps alone makes of it
        if isinstance(value, bool):
            words += [flag] if value else []
        elif value is not None:
            words += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    return " ".join(words)


def job_from_run(run_dir: Path, device="cpu", steps: int | None = None,
                 lr: float | None = None, out: str | None = None) -> TrainJob:
    """The job a run folder describes, set to continue from its saved state. `steps`
    extends (or shortens) it; `lr` changes its learning rate from here on (e.g. after it
    diverged); `out` saves its model elsewhere."""
    from .runs import BEST_FILE, STATE_FILE, History, read_run
    from .state import saved_step
    from .trainer import TrainingError, settings_from_dict

    info = read_run(Path(run_dir), complete=True)     # every field used here is as expected
    source = info["source"]
    # A resumed run keeps its name, made printable if an older version let it be otherwise.
    name = plain_name(info["name"])
    if source.get("preset"):
        job = job_for_preset(source["preset"], device, name=name, init_from=source.get("from"))
    else:
        image = source.get("image")
        job = job_for_folder(info["kind"], Path(source["data"]), source.get("size", "small"),
                             source.get("from"), device, name=name,
                             image=tuple(image) if image else None)
    job.settings = settings_from_dict(info["settings"])[0] or job.settings
    if steps is not None:
        job.settings = dataclasses.replace(job.settings, steps=steps)
    if lr is not None:
        job.settings = dataclasses.replace(job.settings, lr=lr)
    done = saved_step(Path(run_dir) / STATE_FILE)
    if job.settings.steps < done and not (Path(run_dir) / BEST_FILE).exists():
        # Nothing would be trained or scored: refused before run.json records the steps.
        raise TrainingError(f"{run_dir}: the run is at step {done} and has no held-out "
                            f"model yet; --steps must be more than {done}")
    history = History(Path(run_dir))
    history.read()
    if history.damaged:
        lines = ", ".join(map(str, history.damaged[:5])) + \
            (", ..." if len(history.damaged) > 5 else "")
        job.notes.append(f"{history.path}: skipped {len(history.damaged)} damaged line(s) "
                         f"(line {lines}); the rest of the curve is kept")
    if source.get("preset"):            # the card's command: the run's own settings
        from .presets import get_preset

        job.provenance["command"] = preset_command(get_preset(source["preset"]), job.settings,
                                                   source.get("from"))
    job.run_dir, job.out_path = Path(run_dir), out or info["out"]
    return job
