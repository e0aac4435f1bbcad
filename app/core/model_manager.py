"""Managing the models folder: each model's card (read from its header, without loading the
weights), and renaming, deleting and importing the user's own models. Bundled models are
read-only: they ship with chainrule and a new version replaces them."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from .checkpoint import CheckpointError, read_metadata
from .errors import UserError, visible
from .paths import MODEL_SUFFIX, list_models, user_models_dir
from .registry import KINDS


class ModelManagerError(UserError, ValueError):
    """A rename, delete or import that cannot be done, in one line."""


@dataclass(frozen=True)
class ModelEntry:
    name: str
    path: Path
    origin: str                      # "bundled" or "user"
    meta: dict | None                # None when the header cannot be read
    problem: str = ""                # why, then

    @property
    def own(self) -> bool:
        return self.origin == "user"


def model_entries() -> list[ModelEntry]:
    """Every bundled and user model, each with its header or the reason it is unusable."""
    entries = []
    for name, path, origin in list_models():
        try:
            entries.append(ModelEntry(name, path, origin, read_metadata(path)))
        except CheckpointError as err:
            entries.append(ModelEntry(name, path, origin, None, err.problem))
    return entries


def codec_line(codec: dict) -> str:
    """'image 28x28x1, 256 levels; classes: ...' and so on, from a checkpoint's codec."""
    if codec.get("modality") == "image":
        line = f"image {codec['height']}x{codec['width']}x{codec.get('channels', 1)}, " \
               f"{codec.get('levels', 256)} levels"
    elif codec.get("modality") == "audio":
        line = f"audio {codec['sample_rate']} Hz, mu-law {codec.get('levels', 256)} levels"
    else:
        line = f"text, {len(codec.get('vocab', ''))} characters: {codec.get('vocab', '')!r}"
    names = codec.get("class_names")
    return line + (f"; classes: {', '.join(names)}" if names else "")


def card_rows(entry: ModelEntry) -> list[tuple[str, str]]:
    """(label, value) lines of a model's card: what it is, what it was trained on, how well
    it does on data it never saw, and where it came from. Strings from the file are made
    visible (a file may hold control characters)."""
    size = entry.path.stat().st_size if entry.path.exists() else 0
    rows = [("Name", entry.name),
            ("Origin", "bundled with chainrule" if entry.origin == "bundled" else
             "yours (trained, imported or fine-tuned here)"),
            ("File", f"{entry.path} ({size / 1e6:.2f} MB)")]
    if entry.meta is None:
        return rows + [("Problem", entry.problem)]
    meta, prov = entry.meta, entry.meta.get("provenance") or {}
    spec = KINDS.get(meta["kind"])
    rows.append(("Kind", f"{spec.title if spec else meta['kind']} ({meta['kind']})"))
    rows.append(("Weights", "float16" if meta.get("half") else "float32"))
    rows.append(("Draws", codec_line(meta["codec"])))
    metrics = prov.get("metrics")
    if isinstance(metrics, dict) and "heldout" in metrics:
        held = f"{metrics['heldout']} {metrics.get('unit', '')}"
        if metrics.get("heldout_set"):
            held += f" on {metrics['heldout_set']}"
        rows.append(("Held out", held))
    if prov.get("description"):
        rows.append(("About", str(prov["description"])))
    data = prov.get("data")
    if isinstance(data, dict):
        for key, label in (("source", "Data"), ("license", "Data licence"),
                           ("split", "Split")):
            if data.get(key):
                rows.append((label, str(data[key])))
    elif isinstance(prov.get("data"), str):
        rows.append(("Data", prov["data"]))
    training = []
    if prov.get("steps"):
        training.append(f"{prov['steps']} steps")
    wall = prov.get("train_wall_time_s") or prov.get("wall_time_s")
    if isinstance(wall, (int, float)):
        training.append(f"{wall / 60:.0f} min")
    if prov.get("device"):
        training.append(f"on {prov['device']}")
    if training:
        rows.append(("Training", ", ".join(training)))
    if prov.get("command"):
        rows.append(("Command", str(prov["command"])))
    tuned = prov.get("fine_tuned_from")
    if isinstance(tuned, dict):
        rows.append(("Fine-tuned from", str(tuned.get("name", "?"))))
    imported = prov.get("imported_from")
    if isinstance(imported, dict):
        rows.append(("Imported from", str(imported.get("file", "?"))))
    return [(label, visible(value)) for label, value in rows]


def _own(entry: ModelEntry, doing: str) -> None:
    if not entry.own:
        raise ModelManagerError(f"{entry.name} is bundled with chainrule and cannot be "
                                f"{doing}; copy it (Import) to have one of your own")


def _free_name(name: str, current: Path | None = None) -> str | None:
    """Why `name` cannot be a new model's name here, or None."""
    from .training.runs import name_problem

    problem = name_problem(name, "the new name")
    if problem:
        return problem
    # Every file in the models folders is listed (one shadowed by a bundled model's name
    # too, under that name), so this finds any clash.
    for other, path, origin in list_models():
        if other == name and path != current:
            whose = "a bundled model" if origin == "bundled" else "another of your models"
            return f"'{name}' is already the name of {whose}"
    return None


def rename_model(entry: ModelEntry, new_name: str) -> Path:
    _own(entry, "renamed")
    new_name = new_name.strip()
    problem = _free_name(new_name, entry.path)
    if problem:
        raise ModelManagerError(problem)
    target = entry.path.with_name(f"{new_name}{MODEL_SUFFIX}")
    if target != entry.path:
        entry.path.rename(target)
    return target


def delete_model(entry: ModelEntry) -> Path:
    """Delete one of the user's models; the file that went."""
    _own(entry, "deleted")
    entry.path.unlink()
    return entry.path


def import_model(source, name: str | None = None) -> Path:
    """Copy a chainrule checkpoint into the models folder (checked first; a PyTorch file
    needs `chainrule import`, which asks for its architecture)."""
    from .training.runs import plain_name

    source = Path(source)
    try:
        read_metadata(source)
    except CheckpointError as err:
        hint = " (a PyTorch or other file: use `chainrule import`, which asks for its " \
               "architecture)" if source.suffix.lower() != MODEL_SUFFIX else ""
        raise ModelManagerError(f"{visible(source.name)}: {err.problem}{hint}") from None
    base = plain_name(name or source.stem)
    candidate, n = base, 2
    while _free_name(candidate) is not None:
        if n > 999:
            raise ModelManagerError(_free_name(base) or f"no free name for {base}")
        candidate, n = f"{base}-{n}", n + 1
    user_models_dir().mkdir(parents=True, exist_ok=True)
    target = user_models_dir() / f"{candidate}{MODEL_SUFFIX}"
    temporary = target.with_name(f".{candidate}.importing")
    try:
        shutil.copyfile(source, temporary)
        temporary.rename(target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target
