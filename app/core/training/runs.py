"""Run folders: everything about one training run, kept next to its checkpoints.

    runs/<name>-<date>-<time>/
        run.json           what was trained on what, with which settings; status and progress
        history.jsonl      one line of metrics per step (the curves)
        best.safetensors   the best model so far (lowest held-out loss): a normal checkpoint
        state.safetensors  the latest resumable state: weights, optimizer moments, step, RNGs

Every file but the history is written atomically (temporary file, flush, fsync, rename;
see saving.py), so a kill or a full disk leaves the previous version, never a broken one.
The history is appended and flushed to the disk at every checkpoint; a line torn by a kill
is skipped when reading and dropped when the run resumes. The resumable state is a
safetensors file too: tensors plus JSON metadata, nothing unpickled.
"""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..paths import user_data_dir
from ..saving import append_durable, saving, write_atomic
from .trainer import TrainingError, settings_from_dict

RUN_FILE, HISTORY_FILE = "run.json", "history.jsonl"
BEST_FILE, STATE_FILE = "best.safetensors", "state.safetensors"


def runs_dir() -> Path:
    return user_data_dir() / "runs"


def new_run_dir(name: str, root: Path | None = None) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "run"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = (root or runs_dir()) / f"{slug}-{stamp}"
    path, n = base, 1
    with saving(path):
        while path.exists():
            n += 1
            path = base.with_name(f"{base.name}-{n}")
        path.mkdir(parents=True)
    return path


def write_run(run_dir: Path, info: dict) -> None:
    # ASCII JSON: a data folder's name that is not valid UTF-8 (held as surrogates, as
    # Python reads such names) is stored as \udcXX escapes and read back exactly.
    write_atomic(run_dir / RUN_FILE, json.dumps(info, indent=2).encode())


class RunFileError(TrainingError):
    """A run folder whose run.json is missing, unreadable or damaged."""


TEXT, WHOLE, OBJECT = (str, "text"), (int, "a whole number"), (dict, "an object")
# What each field of run.json that is read back must be; those in REQUIRED must be there.
RUN_FIELDS: dict[str, tuple] = {
    "name": TEXT, "kind": TEXT, "status": TEXT, "unit": TEXT, "started": TEXT, "out": TEXT,
    "step": WHOLE, "steps": WHOLE, "config": OBJECT, "codec": OBJECT, "settings": OBJECT,
    "source": OBJECT, "data": OBJECT, "half": (bool, "true or false"),
    "best": ((int, float, type(None)), "a number or null")}
SOURCE_FIELDS: dict[str, tuple] = {"preset": TEXT, "data": TEXT, "size": TEXT, "kind": TEXT,
                                   "from": ((str, type(None)), "text or null"),
                                   "image": (list, "[height, width, channels]")}
REQUIRED = ("name", "kind", "out", "settings", "source")


def read_run(run_dir: Path, complete: bool = False) -> dict:
    """run.json of a run folder, checked: RunFileError (one line naming it) when it is not
    there, not JSON, or holds a field of the wrong type; `complete`: or lacks a field that
    rebuilding its job needs (jobs.job_from_run)."""
    path = Path(run_dir) / RUN_FILE
    if not Path(run_dir).is_dir():
        raise RunFileError(f"{run_dir}: no such folder")
    try:
        info = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise RunFileError(f"{run_dir}: not a training run (no {RUN_FILE})") from None
    except OSError as err:
        raise RunFileError(f"{path}: cannot be read ({err.strerror or err})") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RunFileError(f"{path}: damaged (not valid JSON)") from None
    problems = run_problems(info, complete)
    if problems:
        raise RunFileError(f"{path}: damaged ({'; '.join(problems)})")
    return info


def run_problems(info, complete: bool = False) -> list[str]:
    """What is wrong with a run.json's content."""
    if not isinstance(info, dict):
        return [f"not a JSON object but {type(info).__name__}"]
    problems = [f"no '{key}'" for key in REQUIRED if complete and key not in info]
    problems += _type_problems(info, RUN_FIELDS, "")
    if problems:
        return problems
    from ..registry import KINDS

    if "kind" in info and info["kind"] not in KINDS:
        problems.append(f"unknown kind {info['kind']!r}")
    problems += settings_from_dict(info.get("settings", {}), "settings")[1]
    source = info.get("source", {})
    if complete and not source.get("preset") and not source.get("data"):
        problems.append("'source' names neither a preset nor a data folder")
    problems += _type_problems(source, SOURCE_FIELDS, "source.")
    image = source.get("image")
    if isinstance(image, list) and not (
            len(image) == 3 and all(type(v) is int for v in image) and image[2] in (1, 3)):
        problems.append(f"'source.image' must be [height, width, 1 or 3] (got {_shown(image)})")
    return problems


def _type_problems(values: dict, fields: dict[str, tuple], prefix: str) -> list[str]:
    return [f"'{prefix}{key}' must be {name} (got {_shown(values[key])})"
            for key, (kind, name) in fields.items() if key in values and
            (not isinstance(values[key], kind) or
             isinstance(values[key], bool) and kind is not bool)]


class History:
    """Appends metric lines. A line that is not a row of metrics (torn by a kill, damaged)
    is skipped when reading; `damaged` lists the numbers of the lines the last read skipped."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / HISTORY_FILE
        self.damaged: list[int] = []

    def append(self, rows: list[dict]) -> None:
        if rows:
            append_durable(self.path, "".join(json.dumps(r) + "\n" for r in rows))

    def read(self, up_to_step: int | None = None) -> list[dict]:
        rows, self.damaged = [], []
        if self.path.exists():
            for number, line in enumerate(self.path.read_bytes().splitlines(), 1):
                row = _history_row(line)
                if row is None:
                    if line.strip():
                        self.damaged.append(number)
                elif up_to_step is None or row["step"] <= up_to_step:
                    rows.append(row)
        return rows

    def resumable_rows(self) -> list[dict]:
        """The curve a resume continues: lines past the saved state are done again."""
        from .state import saved_step

        return self.read(saved_step(self.path.parent / STATE_FILE))

    def truncate(self, up_to_step: int) -> None:
        """Drop lines past a step (they came after the state we resume from)."""
        write_atomic(self.path, "".join(json.dumps(r) + "\n"
                                        for r in self.read(up_to_step)).encode())


def _history_row(line: bytes) -> dict | None:
    """A line of history.jsonl as its row, or None when it is not one (views plot 'loss'
    and 'heldout' against 'step', so those must be numbers)."""
    try:
        row = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    number = (int, float)
    ok = isinstance(row, dict) and isinstance(row.get("step"), int) and \
        not isinstance(row["step"], bool) and row["step"] >= 1 and \
        isinstance(row.get("loss"), number) and not isinstance(row["loss"], bool) and \
        isinstance(row.get("heldout", 0.0), number)
    return row if ok else None


# --- names and files a run writes ------------------------------------------------------
MAX_NAME = 100
# write_atomic's temporary file is ".NAME.xxxxxxxx.tmp": the name must leave room for it.
MAX_FILE_BYTES = 255 - len(".") - len(".01234567.tmp")


def _shown(value, limit: int = 200) -> str:
    """A value as a one-line message can quote it: repr, cut short."""
    text = repr(value)
    return text[:limit] + "..." if len(text) > limit else text


def name_problem(name, label: str = "the model name") -> str | None:
    """Why `name` cannot name a model (it becomes NAME.safetensors in the models folder and
    the name inside the checkpoint), or None."""
    if not isinstance(name, str) or not name.strip():
        return f"{label} is empty"
    if name in (".", ".."):
        return f"{label} must be a file name, not {name!r}"
    if "/" in name or "\\" in name:
        return f"{label} must be a plain file name, without / or \\ (got {_shown(name)})"
    if not name.isprintable():
        # Control characters, and undecodable bytes (surrogates), cannot go into a
        # checkpoint's UTF-8 header or a one-line message.
        return f"{label} must be printable text (got {_shown(name)})"
    if len(name) > MAX_NAME:
        return f"{label} must be at most {MAX_NAME} characters (got {len(name)})"
    return None


def plain_name(text: str, limit: int = MAX_NAME) -> str:
    """`text` (e.g. a data folder's name) made into a model name that name_problem accepts:
    separators and unprintable characters (undecodable bytes included) become '_'."""
    name = "".join(c if c.isprintable() and c not in "/\\" else "_" for c in text)
    name = name.strip()[:limit].strip()
    return "data" if name in ("", ".", "..") else name


def out_problem(out, label: str = "the output") -> str | None:
    """Why the model cannot be saved as `out`, or None; whether its folder can be written
    is for saving.check_writable (which makes it)."""
    path = Path(out)
    if not str(out):
        return f"{label} is empty"
    if path.suffix.lower() != ".safetensors":
        return f"{label} must be a .safetensors file (got {_shown(str(out))})"
    if path.is_dir():
        return f"{label} {_shown(str(out))} is a folder; give a file name ending in " \
               f".safetensors"
    if not path.stem.isprintable():
        # Its name becomes the model's name inside the checkpoint (UTF-8 text).
        return f"{label} must have a printable file name (got {_shown(path.name)})"
    if len(os.fsencode(path.name)) > MAX_FILE_BYTES:
        return f"{label} has a file name too long (at most {MAX_FILE_BYTES} bytes)"
    return None


@dataclass
class RunSummary:
    path: Path
    name: str
    kind: str
    status: str
    step: int
    steps: int
    best: float | None
    unit: str
    started: str
    data: dict = field(default_factory=dict)

    @property
    def resumable(self) -> bool:
        return (self.path / STATE_FILE).exists() and self.status != "finished"


def list_runs(root: Path | None = None) -> list[RunSummary]:
    """Every run folder, newest first; damaged ones are skipped."""
    found = []
    folder = root or runs_dir()
    for path in sorted(folder.glob("*/" + RUN_FILE), reverse=True) if folder.is_dir() else []:
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
            found.append(RunSummary(path.parent, info.get("name", path.parent.name),
                                    info.get("kind", "?"), info.get("status", "?"),
                                    int(info.get("step", 0)), int(info.get("steps", 0)),
                                    info.get("best"), info.get("unit", ""),
                                    info.get("started", ""), info.get("data", {})))
        except (OSError, ValueError):
            continue
    found.sort(key=lambda r: r.started, reverse=True)
    return found
