"""Opening a file the user named: regular files only.

A FIFO named like a model blocks whoever opens it until something writes to it (forever, in
practice); a device such as /dev/zero never ends. So every file chainrule reads is opened
without blocking and checked to be a regular file before the first byte is read.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISDIR, "a directory"))


def not_regular(mode: int) -> str | None:
    """What a file of this st_mode is, when it is not a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


def regular_problem(path) -> str | None:
    """Why `path` cannot be read as a file (None when it is a regular file); never blocks
    (stat does not open the file)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "no such file"
    except PermissionError:
        return "permission denied"
    except OSError as err:
        return f"cannot read: {err.strerror or err}"
    what = not_regular(mode)
    return None if what is None else f"is {what}, not a regular file"


class NotRegularFile(OSError):
    """Raised by open_regular for a FIFO, device, socket or directory."""


def open_regular(path) -> BinaryIO:
    """Open `path` for reading in binary mode, refusing anything but a regular file.

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer; the
    descriptor's own fstat then decides (no window between a check and the open)."""
    fd = os.open(Path(path), os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        what = not_regular(os.fstat(fd).st_mode)
        if what is not None:
            raise NotRegularFile(f"is {what}, not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
