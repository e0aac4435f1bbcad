"""A folder of the user's files with bad ones among the good: training goes on and says why.

One folder per modality (folders.py takes the modality from the model kind: images for
pixelcnn and anyorder, audio for wavenet, text for the character models). Each holds a few
good files and every kind of bad file we could think of. Training (two steps, through the
CLI) must use the good files, skip the bad ones and list each with its reason, in the
model's provenance and on stderr. Some files are used with a guess and a note instead.
"""
import io
import os
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from app.core.checkpoint import load_bundle
from app.core.media import MAX_IMAGE_PIXELS, MediaError, read_audio, read_image, read_text

symlinks = pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a size, with one row of pixel data: a decompression bomb
    as far as the header is concerned."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)      # 8-bit grey
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * (width + 1))) + chunk(b"IEND", b""))


def _image_bytes(fmt: str, seed: int, size=(40, 30)) -> bytes:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(
        buffer, fmt)
    return buffer.getvalue()


def _loop(folder: Path, name: str) -> None:
    os.symlink(name, folder / name)          # a link to itself: every lookup loops


def _train(kind: str, folder: Path, tmp_path: Path, capsys) -> tuple[dict, str, object]:
    from app.cli import main

    out = tmp_path / f"{kind}.safetensors"
    code = main(["train", "--kind", kind, "--data", str(folder), "--steps", "2",
                 "--batch-size", "2", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 0, err
    bundle = load_bundle(out)
    return bundle.provenance["data"], err, bundle


def _reasons(lines: list[str], folder: Path) -> dict[str, str]:
    """{file name: reason} from "PATH: reason" lines."""
    return dict(line[len(str(folder)) + 1:].split(": ", 1) for line in lines)


def _check_reported(expected: dict, data: dict, err: str, folder: Path) -> None:
    reasons = _reasons(data["skipped"], folder)
    assert set(reasons) == set(expected)
    for name, start in expected.items():
        assert reasons[name].startswith(start), (name, reasons[name])
        assert f"  {folder / name}: {reasons[name]}\n" in err        # the CLI's list
    assert f"skipped {len(expected)} file(s):" in err


@symlinks
def test_image_folder_with_bad_files(tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(4):
        (folder / f"good{i}.png").write_bytes(_image_bytes("PNG", i))
    for i in range(2):
        (folder / f"good{i}.jpg").write_bytes(_image_bytes("JPEG", 10 + i))
    broken = bytearray(_image_bytes("PNG", 20))
    broken[60:70] = b"\xff" * 10                 # inside IDAT: its checksum no longer fits
    (folder / "corrupt.png").write_bytes(bytes(broken))
    jpeg = _image_bytes("JPEG", 21, size=(64, 64))
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (folder / "empty.png").write_bytes(b"")
    (folder / "bomb.png").write_bytes(_png_claiming(20000, 20000))
    # Over the limit but under twice it, where Pillow only warns and would decode it.
    (folder / "big.png").write_bytes(_png_claiming(7000, 7000))
    _loop(folder, "loop.png")
    os.symlink(".", folder / "again")            # a folder cycle: images/again/again/...
    (folder / "song.wav").write_bytes(b"RIFF")   # another modality
    data, err, bundle = _train("pixelcnn", folder, tmp_path, capsys)
    assert data["files_used"] == 6 and bundle.kind == "pixelcnn"
    _check_reported({
        "corrupt.png": "corrupt image (",
        "truncated.jpg": "corrupt image (image file is truncated",
        "empty.png": "empty file",
        "bomb.png": "image is too large (400,000,000 pixels; the limit is 40,000,000 pixels)",
        "big.png": "image is too large (49,000,000 pixels; the limit is 40,000,000 pixels)",
        "loop.png": "symbolic link loop",
        "again": "link to a folder, not followed",
        "song.wav": "wrong type (.wav)",
    }, data, err, folder)


def test_a_huge_image_is_refused_before_decoding(tmp_path, monkeypatch):
    from PIL import ImageFile

    def decode(self):
        raise AssertionError("decoding started")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decode)
    for side in (20000, 7000):
        path = tmp_path / f"{side}.png"
        path.write_bytes(_png_claiming(side, side))
        with pytest.raises(MediaError, match="image is too large"):
            read_image(path, 28, 28, 1)
    assert Image.MAX_IMAGE_PIXELS == MAX_IMAGE_PIXELS == 40_000_000


def _tone(seconds: float, rate: int, freq: float, channels: int = 1, on=(0,)):
    t = np.arange(int(seconds * rate)) / rate
    wave = np.zeros((len(t), channels), np.float32)
    for c in on:
        wave[:, c] = 0.6 * np.sin(2 * np.pi * freq * t)
    return wave


@symlinks
def test_audio_folder_with_bad_files(tmp_path, capsys):
    folder = tmp_path / "sounds"
    folder.mkdir()
    soundfile.write(folder / "tone.wav", _tone(1.0, 16000, 440), 16000)
    soundfile.write(folder / "low.flac", _tone(1.0, 8000, 220), 8000)
    # 96 kHz, 6 channels (5.1), the tone on the first channel only: mixed down, resampled.
    soundfile.write(folder / "surround.wav", _tone(1.0, 96000, 440, channels=6), 96000)
    (folder / "broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00junk")
    soundfile.write(folder / "silent.wav", np.zeros((0, 1), np.float32), 8000)   # 0 frames
    (folder / "empty.wav").write_bytes(b"")
    _loop(folder, "loop.wav")
    data, err, bundle = _train("wavenet", folder, tmp_path, capsys)
    assert data["files_used"] == 3 and bundle.kind == "wavenet"
    assert data["split"].startswith("3.0 s;")          # 3 files of 1 s, all at 8 kHz now
    _check_reported({
        "broken.wav": "not a readable audio file (",
        "silent.wav": "audio file has no samples",
        "empty.wav": "empty file",
        "loop.wav": "symbolic link loop",
    }, data, err, folder)
    mono = read_audio(folder / "surround.wav", 8000)
    assert abs(len(mono) - 8000) <= 1
    spectrum = np.abs(np.fft.rfft(mono))
    assert abs(np.argmax(spectrum) * 8000 / len(mono) - 440) <= 2       # still 440 Hz
    assert np.max(np.abs(mono)) == pytest.approx(0.6 / 6, rel=0.05)      # averaged over 6


@symlinks
def test_text_folder_with_bad_files(tmp_path, capsys):
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.txt").write_text("the quick brown fox jumps over the lazy dog.\n" * 12,
                                  encoding="utf-8")
    (folder / "bom.md").write_bytes(("\ufeff" + "a note with a byte-order mark.\n" * 4)
                                    .encode())
    (folder / "latin1.txt").write_bytes("Le caf\xe9 cr\xe8me co\xfbte deux euros.\n"
                                        .encode("latin-1") * 6)
    (folder / "notepad.txt").write_bytes(("saved as Unicode in Notepad.\n" * 3).encode("utf-16"))
    binary = np.random.default_rng(0).integers(0, 256, 600, dtype=np.uint8).tobytes()
    assert b"\x00" in binary
    (folder / "program.txt").write_bytes(binary)
    no_nul = bytes(np.random.default_rng(1).integers(1, 128, 600, dtype=np.uint8))
    (folder / "nonul.txt").write_bytes(no_nul)          # valid UTF-8, yet plainly binary
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.txt").write_text("  \n\n")
    _loop(folder, "loop.txt")
    data, err, bundle = _train("charlm-lstm", folder, tmp_path, capsys)
    assert data["files_used"] == 4 and bundle.kind == "charlm-lstm"
    _check_reported({
        "program.txt": "binary file (contains NUL bytes), not text",
        "nonul.txt": "binary file (",
        "empty.txt": "empty file",
        "blank.txt": "text file is empty",
        "loop.txt": "symbolic link loop",
    }, data, err, folder)
    notes = _reasons(data["notes"], folder)
    assert notes == {"latin1.txt": "not UTF-8 (byte 6): decoded as Latin-1 / Windows-1252",
                     "notepad.txt": "decoded as UTF-16 (it has a byte-order mark)"}
    assert re.search(r"read with a guess \(2 file\(s\)\):\n  .*latin1.txt: not UTF-8", err)
    vocab = bundle.codec.vocab
    assert all(ch in vocab for ch in "\xe9\xe8\xfb") and "\ufeff" not in vocab


LATIN1_NOTE = "decoded as Latin-1 / Windows-1252"
LOG = "\x1b[31mERROR\x1b[0m the file could not be read, so it was skipped\n" * 3


@pytest.mark.parametrize("raw, text, note", [
    ("caf\xe9 au lait\n".encode(), "caf\xe9 au lait\n", None),
    ("caf\xe9\r\n".encode("cp1252"), "caf\xe9\n", f"not UTF-8 (byte 3): {LATIN1_NOTE}"),
    ("\u201cquoted\u201d".encode("cp1252"), "\u201cquoted\u201d",
     f"not UTF-8 (byte 0): {LATIN1_NOTE}"),
    (LOG.encode(), LOG, None),          # a few colour escapes in a log: still text
])
def test_text_decoding(tmp_path, raw, text, note):
    path = tmp_path / "t.txt"
    path.write_bytes(raw)
    assert read_text(path) == (text, note)


def test_an_unreadable_sub_folder_is_reported(tmp_path, monkeypatch):
    from app.core.training.folders import scan

    (tmp_path / "locked").mkdir()
    (tmp_path / "a.txt").write_text("x")
    real = os.scandir

    def scandir(path="."):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = scan(tmp_path, {".txt"})
    assert [p.name for p in found.files] == ["a.txt"]
    assert found.skipped == [(str(tmp_path / "locked"), "folder not readable (Permission denied)")]
