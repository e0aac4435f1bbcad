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
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..paths import user_data_dir
from ..saving import append_durable, saving, write_atomic

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
    write_atomic(run_dir / RUN_FILE, json.dumps(info, indent=2).encode())


def read_run(run_dir: Path) -> dict:
    path = Path(run_dir) / RUN_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{run_dir}: not a training run (no {RUN_FILE})") from None
    except json.JSONDecodeError:
        raise ValueError(f"{path}: damaged (not valid JSON)") from None


class History:
    """Appends metric lines; a torn last line (crash mid-write) is skipped when reading."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / HISTORY_FILE

    def append(self, rows: list[dict]) -> None:
        if rows:
            append_durable(self.path, "".join(json.dumps(r) + "\n" for r in rows))

    def read(self, up_to_step: int | None = None) -> list[dict]:
        rows = []
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if up_to_step is None or row.get("step", 0) <= up_to_step:
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
