"""What a model file says it is by its first bytes (never by its name): safetensors, a
PyTorch zip archive, a legacy PyTorch pickle, or another zip archive."""
from __future__ import annotations

import struct
from pathlib import Path

MAX_HEADER_BYTES = 100 * 1024 * 1024   # a real header is kilobytes; refuse absurd lengths

TORCH_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")
IMPORT_HINT = "convert it with `chainrule import` (nothing is unpickled when loading models)"


def sniff_foreign(path: Path, head: bytes) -> str | None:
    """What a file that is not safetensors says it is, by its magic bytes, not its name.

    "pytorch-zip" (torch.save's zip format: some top folder holding data.pkl), "zip" (any
    other zip archive), "damaged-zip" (its directory is unreadable: truncated?), "pickle"
    (a pickle, as legacy torch.save writes), or None.
    """
    if head.startswith(b"PK\x03\x04"):
        import zipfile

        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            return "damaged-zip"
        parts = (name.split("/") for name in names)
        return "pytorch-zip" if any(len(p) == 2 and p[1] == "data.pkl" for p in parts) \
            else "zip"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05") \
            and not looks_like_safetensors(head):
        return "pickle"
    return None


def looks_like_safetensors(head: bytes) -> bool:
    """A plausible header length followed by a JSON object.

    A safetensors header of 0x480 bytes starts with the bytes 80 04, a pickle's protocol-4
    mark; a real pickle's next bytes make an absurd length and are not followed by '{'.
    """
    if len(head) < 9:
        return False
    (header_len,) = struct.unpack("<Q", head[:8])
    return header_len <= MAX_HEADER_BYTES and head[8:9] == b"{"
