"""Every result a tab made (an image grid, a fill, a sound, a text), kept in the user's data
folder across restarts, newest first, within a size limit the user sets.

One folder per result: the result as Save writes it (so it carries its parameters and
reopens in its tab like any saved file), a small thumbnail, and entry.json. The folder is
written under a temporary name and renamed when complete, so a crash never leaves half an
entry in the list; an entry whose files are damaged is skipped, never fatal.
"""
from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .outputs import read_png_params, read_text_file, read_wav_params
from .paths import user_data_dir

ENTRY_FILE = "entry.json"
THUMB_FILE = "thumb.png"
THUMB_SIZE = 96                  # px, the longer side
DEFAULT_LIMIT_MB = 200
MIN_LIMIT_MB, MAX_LIMIT_MB = 1, 100_000
TITLE_CHARS = 40          # of a text's words: three short lines in the panel
RESULT_SUFFIXES = {"image": ".png", "audio": ".wav", "text": ".txt"}


def history_dir() -> Path:
    return user_data_dir() / "history"


@dataclass(frozen=True)
class HistoryEntry:
    folder: Path
    tab: str                     # "image", "audio" or "text": where it reopens
    model: str
    created: float               # seconds since the epoch
    title: str                   # one line: the mode and class, or the text's first line
    file: str                    # the result's file name inside `folder`
    params: dict = field(default_factory=dict)
    size: int = 0                # bytes of every file of the entry

    @property
    def path(self) -> Path:
        return self.folder / self.file

    @property
    def thumbnail(self) -> Path | None:
        thumb = self.folder / THUMB_FILE
        return thumb if thumb.is_file() else None

    @property
    def when(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.created))


class History:
    """The history folder. `limit_bytes`: the oldest entries go when the total passes it
    (the newest entry is kept even when it alone is larger)."""

    def __init__(self, folder: Path | None = None, limit_bytes: int = DEFAULT_LIMIT_MB << 20):
        self.folder = Path(folder) if folder is not None else history_dir()
        self.limit_bytes = int(limit_bytes)
        self.damaged: list[Path] = []    # entry folders the last listing skipped
        self.last_pruned: list[HistoryEntry] = []    # what the last add() made room by

    # --- reading ---------------------------------------------------------------------------
    def entries(self) -> list[HistoryEntry]:
        """Every complete entry, newest first."""
        self.damaged = []
        found: list[HistoryEntry] = []
        if not self.folder.is_dir():
            return found
        for folder in self.folder.iterdir():
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            entry = read_entry(folder)
            if entry is None:
                self.damaged.append(folder)
            else:
                found.append(entry)
        return sorted(found, key=lambda e: (e.created, e.folder.name), reverse=True)

    def total_bytes(self) -> int:
        return sum(e.size for e in self.entries())

    # --- writing ---------------------------------------------------------------------------
    def add(self, tab: str, write: Callable[[Path], object]) -> HistoryEntry:
        """Keep a result: `write(path)` saves it (as the tab's Save does) to `path`. Then
        the oldest entries go while the history is over its limit. OSError if the disk
        refuses; nothing half-written is left."""
        if tab not in RESULT_SUFFIXES:
            raise ValueError(f"unknown tab {tab!r}")
        self.folder.mkdir(parents=True, exist_ok=True)
        created = time.time()
        name = time.strftime("%Y%m%d-%H%M%S", time.localtime(created)) + \
            f"-{secrets.token_hex(3)}"
        temporary = self.folder / f".new-{name}"
        temporary.mkdir()
        try:
            file = f"result{RESULT_SUFFIXES[tab]}"
            write(temporary / file)
            params, title = _describe(tab, temporary / file)
            with contextlib.suppress(Exception):    # a result without a thumbnail is fine
                _write_thumbnail(tab, temporary / file, temporary / THUMB_FILE)
            size = sum(p.stat().st_size for p in temporary.iterdir())
            # The parameters are copied into the record: listing a long history then reads
            # one small JSON file per entry, never the results themselves.
            record = {"tab": tab, "model": _model_of(params), "created": created,
                      "title": title, "file": file, "size": size, "params": params}
            (temporary / ENTRY_FILE).write_text(json.dumps(record), encoding="utf-8")
            final = self.folder / name
            temporary.rename(final)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        self.last_pruned = self.prune()
        return HistoryEntry(folder=final, tab=tab, model=_model_of(params), created=created,
                            title=title, file=file, params=params, size=size)

    def delete(self, entry: HistoryEntry) -> None:
        # Renamed first: a folder half removed (files in use elsewhere) is never listed.
        doomed = entry.folder.with_name(f".gone-{entry.folder.name}")
        entry.folder.rename(doomed)
        shutil.rmtree(doomed, ignore_errors=True)

    def clear(self) -> None:
        for entry in self.entries():
            self.delete(entry)

    def prune(self) -> list[HistoryEntry]:
        """Delete the oldest entries until the total is within the limit; the removed."""
        removed = self.overflow(self.limit_bytes)
        for entry in removed:
            self.delete(entry)
        return removed

    def overflow(self, limit_bytes: int,
                 entries: list[HistoryEntry] | None = None) -> list[HistoryEntry]:
        """The entries a limit of `limit_bytes` would delete, oldest first: as many of the
        oldest as it takes, never the newest (kept even when it alone is larger)."""
        entries = self.entries() if entries is None else entries
        total = sum(e.size for e in entries)
        doomed = []
        for entry in reversed(entries[1:]):            # oldest first
            if total <= limit_bytes:
                break
            total -= entry.size
            doomed.append(entry)
        return doomed


def read_entry(folder: Path) -> HistoryEntry | None:
    """The entry in `folder`, or None if its record or its result is missing or damaged."""
    try:
        record = json.loads((folder / ENTRY_FILE).read_text(encoding="utf-8"))
        entry = HistoryEntry(folder=folder, tab=str(record["tab"]),
                             model=str(record.get("model", "")),
                             created=float(record["created"]),
                             title=str(record.get("title", "")), file=str(record["file"]),
                             params=_dict(record.get("params")),
                             size=int(record.get("size", 0)))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if entry.tab not in RESULT_SUFFIXES or Path(entry.file).name != entry.file or \
            not entry.path.is_file():
        return None
    return entry


def read_params(path) -> dict:
    """The parameters chainrule saved in a PNG, WAV or text file ({} for none)."""
    suffix = Path(path).suffix.lower()
    tab = next((t for t, s in RESULT_SUFFIXES.items() if s == suffix), None)
    if tab is None:
        return {}
    return _describe(tab, Path(path))[0]


def _describe(tab: str, path: Path) -> tuple[dict, str]:
    """(params, title) of a saved result."""
    if tab == "image":
        params = _dict(read_png_params(path))
        return params, image_title(params)
    if tab == "audio":
        params = _dict(read_wav_params(path))
        seconds = params.get("seconds")
        label = _class_name(params, "")
        parts = [f"{seconds:g} s" if isinstance(seconds, (int, float)) else "sound"]
        return params, " \u00b7 ".join(parts + ([str(label)] if label else []))
    text, params = read_text_file(path)
    # The words run on across lines: a prompt such as "ROMEO:" alone would name every text.
    words = " ".join(text.split())
    title = words if len(words) <= TITLE_CHARS else words[:TITLE_CHARS - 1].rstrip() + "\u2026"
    return _dict(params), title or "(empty)"


def image_title(params: dict) -> str:
    mode = params.get("mode", "generate")
    n = params.get("n", 1)
    label = _class_name(params, "any class")
    if mode == "inpaint":
        return f"inpainting ({params.get('method', '')}), {label}"
    if mode == "compare":
        return f"compare with {params.get('other_model', '?')}, {label}"
    count = f"{n} images" if isinstance(n, int) and n != 1 else "1 image"
    return f"{count}, {label}"


def _class_name(params: dict, default: str) -> str:
    name = params.get("label_name")
    return default if name in (None, "", "any") else str(name)


def _model_of(params: dict) -> str:
    return str(params.get("model", ""))


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _write_thumbnail(tab: str, result: Path, out: Path) -> None:
    from PIL import Image

    if tab == "image":
        with Image.open(result) as im:
            picture = im.convert("RGB")
        picture.thumbnail((THUMB_SIZE, THUMB_SIZE), Image.Resampling.BOX)
        picture.save(out)
    elif tab == "audio":
        import soundfile

        samples, _ = soundfile.read(result, dtype="float32", always_2d=True)
        Image.fromarray(waveform_picture(samples.mean(axis=1))).save(out)


def waveform_picture(samples: np.ndarray, width: int = THUMB_SIZE,
                     height: int = THUMB_SIZE // 2) -> np.ndarray:
    """A small picture of a sound: each column spans the range of its stretch of samples."""
    picture = np.full((height, width, 3), 255, np.uint8)
    if len(samples) == 0:
        return picture
    columns = np.array_split(np.clip(samples, -1, 1), width)
    middle = (height - 1) / 2
    for x, chunk in enumerate(columns):
        if len(chunk) == 0:
            continue
        top = int(round(middle - chunk.max() * middle))
        bottom = int(round(middle - chunk.min() * middle))
        picture[top:bottom + 1, x] = (52, 101, 164)
    return picture
