"""What went wrong, in the one line a person reads.

Two kinds of failure, told apart by type, never by guessing from the message:
- `UserError`: something the user can fix (a file, a folder, a flag, a setting, a full disk).
  Its text is already the sentence to show; the CLI prints it and exits 2, a tab shows it in
  its message bar.
- anything else is a bug. It is shown as a bug, one line that names the log file where its
  whole traceback was written, so nothing is lost and nobody blames their input for it.

`describe_error` is the one function that does this, for the CLI and the worker thread alike.
"""
from __future__ import annotations

import datetime
import traceback
from pathlib import Path

LOG_NAME = "errors.log"
# The log is appended to; past this size it starts again, so it never grows without bound.
MAX_LOG_BYTES = 1_000_000


class UserError(Exception):
    """Base of every error the user can fix; str() is the one line to show."""


class UnknownNameError(UserError, KeyError):
    """A preset, kind or model name that does not exist (a KeyError for old callers)."""

    def __str__(self) -> str:   # KeyError's own str() would quote the message
        return str(self.args[0]) if self.args else "unknown name"


def log_path() -> Path:
    from .paths import user_data_dir

    return user_data_dir() / "logs" / LOG_NAME


def log_bug(err: BaseException) -> Path | None:
    """Append err's traceback to the log; the log's path, or None if it cannot be written."""
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = "w" if path.exists() and path.stat().st_size > MAX_LOG_BYTES else "a"
        with open(path, mode, encoding="utf-8") as f:
            f.write(f"--- {datetime.datetime.now().isoformat(timespec='seconds')}\n")
            f.write("".join(traceback.format_exception(err)))
        return path
    except OSError:
        return None


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0] if lines else ""


def _os_error_text(err: OSError) -> str:
    """'<file>: <reason>' for the file errors a user meets (missing, a folder, no access)."""
    reason = err.strerror or _first_line(str(err)) or type(err).__name__
    name = err.filename if err.filename is not None else ""
    return f"{name}: {reason}" if name else reason


def failure_reason(err: BaseException) -> str:
    """Why an action the user asked for failed, without the file name the message around
    it already gives: an OSError's reason ('No space left on device'), else the first line."""
    strerror = err.strerror if isinstance(err, OSError) else None
    return strerror or _first_line(str(err)) or type(err).__name__


USER_OS_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def is_user_error(err: BaseException) -> bool:
    """True for what the user can fix (their input, their files, their device's memory)."""
    from .memory import is_out_of_memory

    return isinstance(err, (UserError, *USER_OS_ERRORS)) or is_out_of_memory(err)


def describe_error(err: BaseException, memory_advice: str = "use a smaller run or the CPU"
                   ) -> str:
    """The one line a person reads for `err`; a bug's traceback goes to the log first."""
    from .memory import is_out_of_memory, out_of_memory_text

    if isinstance(err, UserError):
        return _first_line(str(err)) or type(err).__name__
    if isinstance(err, USER_OS_ERRORS):
        return _os_error_text(err)
    if is_out_of_memory(err):
        return out_of_memory_text(err, memory_advice)
    where = log_bug(err)
    what = f"{type(err).__name__}: {_first_line(str(err))}".rstrip(": ")
    logged = f"; details in {where}" if where else ""
    return f"Internal error (a bug in chainrule, not your input): {what}{logged}"


def first_few(names: list[str], shown: int = 3) -> str:
    """'a, b, c, ... 25 more', each name as a terminal can show it (names read from a file
    could hold escapes)."""
    more = len(names) - shown
    safe = [visible(n[:80]) for n in names[:shown]]
    return ", ".join(safe) + (f", ... {more} more" if more > 0 else "")


def visible(text: str) -> str:
    """`text` with every character a terminal would act on (escapes, carriage returns, line
    breaks, bidirectional overrides) written out as \\x1b, \\n, \\u202e ...: what a file or
    folder name says is shown, never obeyed."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)
