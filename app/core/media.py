"""Reading user media files into the shapes models need: images, audio and text.

Every function raises MediaError with a one-line reason for a file it cannot use, so a
folder of mixed files can be read with the bad ones skipped and reported.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from .errors import UserError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg"}
MAX_IMAGE_PIXELS = 40_000_000    # Pillow's decompression-bomb limit, set explicitly


class MediaError(UserError, ValueError):
    """A file that cannot be read as the media it claims to be."""


def read_image(path, height: int, width: int, channels: int) -> np.ndarray:
    """Any image file -> uint8 (height, width, channels).

    The image is scaled so its shorter side fits, then centre-cropped; alpha is composited
    onto white; colour becomes grey (luma) for one-channel models.
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            # Pillow only warns between the limit and twice the limit, and decodes anyway;
            # the size check below refuses those files itself.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im: Image.Image = Image.open(path)   # convert() below makes plain Images
        with im:
            # Opening read only the header: refuse a huge image before decoding a pixel.
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise MediaError(_too_large(im.width * im.height))
            im.load()
            if im.mode in ("RGBA", "LA", "P", "PA"):
                im = im.convert("RGBA")
                background = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(background, im)
            im = im.convert("L" if channels == 1 else "RGB")
    except MediaError:
        raise
    except Image.DecompressionBombError as err:     # over twice the limit: Pillow refuses
        pixels = re.search(r"\((\d+) pixels\)", str(err))
        raise MediaError(_too_large(int(pixels[1]) if pixels else None)) from None
    except UnidentifiedImageError:
        raise MediaError("not a readable image") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise MediaError(f"corrupt image ({str(err).splitlines()[0][:80]})") from None
    scale = max(height / im.height, width / im.width)
    size = (max(width, round(im.width * scale)), max(height, round(im.height * scale)))
    im = im.resize(size, Image.Resampling.LANCZOS)
    left, top = (im.width - width) // 2, (im.height - height) // 2
    im = im.crop((left, top, left + width, top + height))
    array = np.asarray(im, dtype=np.uint8)
    return array[..., None] if channels == 1 else array


def _too_large(pixels: int | None) -> str:
    size = f"{pixels:,} pixels" if pixels else "a possible decompression bomb"
    return f"image is too large ({size}; the limit is {MAX_IMAGE_PIXELS:,} pixels)"


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling of a mono signal by FFT (exact for the content it keeps)."""
    if rate_in == rate_out or len(samples) == 0:
        return samples.astype(np.float32)
    n_out = max(1, int(round(len(samples) * rate_out / rate_in)))
    spectrum = np.fft.rfft(samples.astype(np.float64))
    keep = n_out // 2 + 1
    out_spectrum = np.zeros(keep, dtype=np.complex128)
    m = min(keep, len(spectrum))
    out_spectrum[:m] = spectrum[:m]
    return (np.fft.irfft(out_spectrum, n_out) * (n_out / len(samples))).astype(np.float32)


def read_audio(path, sample_rate: int, max_seconds: float | None = None) -> np.ndarray:
    """Any WAV/FLAC/OGG file -> float32 mono at `sample_rate` (channels averaged)."""
    import soundfile

    if isinstance(path, (str, os.PathLike)):
        # libsndfile says only "System error" for these.
        if not Path(path).exists():
            raise MediaError("the file does not exist")
        if Path(path).is_dir():
            raise MediaError("it is a folder, not an audio file")
        if not os.access(path, os.R_OK):
            raise MediaError("permission denied")
    try:
        with soundfile.SoundFile(path) as f:
            rate = f.samplerate
            frames = -1 if max_seconds is None else int(max_seconds * rate)
            data = f.read(frames=frames, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as err:
        raise MediaError(f"not a readable audio file ({str(err).splitlines()[0][:80]})") from None
    if data.shape[0] == 0:
        raise MediaError("audio file has no samples")
    mono = data.mean(axis=1)
    if not np.isfinite(mono).all():
        raise MediaError("audio file contains invalid (NaN/inf) samples")
    return resample(mono, rate, sample_rate)


def read_text(path, max_bytes: int = 200_000_000) -> tuple[str, str | None]:
    """A text file -> (text, note). UTF-8 as a rule; binary files are refused with a reason.

    Two other encodings are common enough on users' disks to read rather than refuse, with
    a note saying so: UTF-16 with its byte-order mark (Windows "Unicode" text) and, for
    bytes that are not UTF-8, Latin-1 / Windows-1252 (almost any byte decodes, so the control
    character check below is what tells such text from a binary file without NUL bytes).
    """
    path = Path(path)
    if path.stat().st_size > max_bytes:
        raise MediaError(f"text file is larger than {max_bytes // 1_000_000} MB")
    raw, note = path.read_bytes(), None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text, note = raw.decode("utf-16"), "decoded as UTF-16 (it has a byte-order mark)"
        except UnicodeDecodeError:
            raise MediaError("damaged UTF-16 text") from None
    elif b"\x00" in raw:
        raise MediaError("binary file (contains NUL bytes), not text")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            text, note = _latin1_text(raw, err.start), \
                f"not UTF-8 (byte {err.start}): decoded as Latin-1 / Windows-1252"
    if not text.strip():
        raise MediaError("text file is empty")
    # Text has few control characters (colour escapes in a log are a few per line); random
    # bytes without NULs are a fifth control characters.
    controls = len(CONTROLS.findall(text))
    if controls > len(text) / 20:
        raise MediaError(f"binary file ({controls:,} control characters), not text")
    return text.replace("\r\n", "\n"), note


CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")     # all but \t \n \f \r


def _latin1_text(raw: bytes, bad_at: int) -> str:
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        raise MediaError(f"not UTF-8 text (invalid byte at offset {bad_at}), nor "
                         "Latin-1 / Windows-1252") from None
