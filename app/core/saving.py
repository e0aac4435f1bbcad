"""Saving files so that a failed or interrupted save loses nothing.

Every file training writes (checkpoints, the resumable state, run.json, the exported model)
goes through `write_atomic`: the bytes go to a temporary file in the same folder, are flushed
to the disk, and only then replace the old file in one rename. A kill, a crash or a full disk
mid-save leaves the previous version. The metrics history is appended instead
(`append_durable`), and a failed append is cut back to where it started.

A save that fails raises SaveError, whose message is one line naming the file and the cause
("the disk is full"), so the CLI and the window can say it plainly instead of a traceback.
"""
from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from .errors import UserError

REASONS = {
    errno.ENOSPC: "the disk is full",
    getattr(errno, "EDQUOT", -1): "the disk quota is used up",
    errno.EROFS: "the disk is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOTDIR: "part of the path is a file, not a folder",
    errno.EEXIST: "part of the path is a file, not a folder",   # mkdir over a file
    errno.ENOENT: "its folder does not exist",
    errno.EIO: "the disk reported an input/output error",
}


class SaveError(UserError, OSError):
    """A file that could not be written; the previous version of it is intact.

    str() is one line: "could not save PATH: REASON".
    """

    def __init__(self, path, reason: str):
        one_line = str.maketrans({"\n": "\\n", "\r": "\\r"})
        self.path, self.reason = str(path).translate(one_line), reason.translate(one_line)
        super().__init__(f"could not save {self.path}: {self.reason}")

    def add(self, more: str) -> SaveError:
        """The same error with more said about what it means (e.g. what training did)."""
        return SaveError(self.path, f"{self.reason}; {more}")


def describe(err: OSError) -> str:
    if isinstance(err, SaveError):
        return err.reason
    text = err.strerror or str(err) or type(err).__name__
    return REASONS.get(err.errno) or text.splitlines()[0]


@contextlib.contextmanager
def saving(path) -> Iterator[None]:
    """Turn any OSError inside the block into a SaveError about `path`."""
    try:
        yield
    except SaveError:
        raise
    except OSError as err:
        raise SaveError(path, describe(err)) from err


def write_atomic(path, data: bytes) -> Path:
    """Replace `path` with `data`, all or nothing."""
    path = Path(path)
    with saving(path):
        # A unique name, created exclusively, in the same folder (so the rename is atomic);
        # it ends in e.g. ".safetensors.tmp", which .gitignore knows.
        tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}{path.suffix}.tmp")
        try:
            with open(tmp, "xb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            # Whatever the umask, saved files are readable by others (they are shared).
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
    return path


def append_durable(path, text: str) -> None:
    """Append `text` and flush it to the disk. A failed append is cut back off, so the file
    never ends in half a line when a disk fills up (a kill can still tear the last line;
    readers skip a line that does not parse)."""
    path = Path(path)
    with saving(path):
        start = path.stat().st_size if path.exists() else 0
        try:
            with open(path, "a", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                os.truncate(path, start)
            raise


def make_folder(path) -> Path:
    """Create a folder (and its parents) for saving into; SaveError if that is impossible."""
    path = Path(path)
    with saving(path):
        path.mkdir(parents=True, exist_ok=True)
    return path


def check_writable(folder) -> None:
    """Fail now, not after hours of training, if nothing can be saved in `folder`."""
    folder = make_folder(folder)
    probe = folder / f".chainrule-write-test.{secrets.token_hex(4)}.tmp"
    with saving(folder):
        with open(probe, "xb") as f:
            f.write(b"ok")
        probe.unlink()
