"""Reading user media files into the shapes models need: images, audio and text.

Every function raises MediaError with a one-line reason for a file it cannot use, so a
folder of mixed files can be read with the bad ones skipped and reported. Sizes are checked
from a file's header, before anything big is decoded or allocated.
"""
from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .errors import UserError
from .files import regular_problem
from .limits import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE  # why these values: limits.py

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg"}
# Pillow's decompression-bomb limit, set explicitly and checked from the header: a
# 40-megapixel photo (7,300 x 5,500) still opens, and decodes to at most 160 MB (RGBA).
# Pillow's own default lets 89 million through, and more than twice that only warns.
MAX_IMAGE_PIXELS = 40_000_000
# The long side may be at most this many times the short one. Past it the file is a strip,
# not a picture: centre-cropping keeps under 1% of it, and scaling its short side up to a
# model's made a 2,000,000 x 1 line 56 million pixels long. Any real panorama fits.
MAX_ASPECT_RATIO = 100
# The most samples one sound may have, as read (mixed to mono) and after resampling: each
# is at most 512 MB of float32 (46 minutes at 48 kHz, 4.6 hours at 8 kHz).
MAX_AUDIO_SAMPLES = 2**27
# Resampling works on blocks of about this many samples (in or out, whichever is more), so
# its float64 spectra take tens of MB whatever the length of the sound...
RESAMPLE_BLOCK = 2**20
# ... each with this many samples (at the lower of the two rates) of context either side,
# whose wrap-around ringing (a sinc tail, ~1/(pi n)) is thrown away: under 1e-4 of a jump,
# below the finest mu-law step.
RESAMPLE_PAD = 4096
# Reading mixes channels down block by block: this many values (frames x channels) a block.
READ_BLOCK_VALUES = 2**20


class MediaError(UserError, ValueError):
    """A file that cannot be read as the media it claims to be."""


def read_image(path, height: int, width: int, channels: int,
               notes: list[str] | None = None) -> np.ndarray:
    """Any image file -> uint8 (height, width, channels).

    The image is scaled so its shorter side fits, then centre-cropped; alpha is composited
    onto white; colour becomes grey (luma) for one-channel models; 16- and 32-bit grey is
    scaled to 8 bits, with a line in `notes` saying how (to_8bit).
    """
    from PIL import Image

    with image_errors(), open_image(path) as im:
        # A JPEG can decode at 1/2, 1/4 or 1/8 scale: it does when that still covers the result.
        scale = max(height / im.height, width / im.width)
        im.draft(None, (math.ceil(im.width * scale), math.ceil(im.height * scale)))
        im.load()
        picture = to_8bit(im, notes)
        if picture.mode in ("RGBA", "LA", "P", "PA"):
            picture = picture.convert("RGBA")
            background = Image.new("RGBA", picture.size, (255, 255, 255, 255))
            picture = Image.alpha_composite(background, picture)
        picture = fit_image(picture.convert("L" if channels == 1 else "RGB"), height, width,
                            Image.Resampling.LANCZOS)
    array = np.asarray(picture, dtype=np.uint8)
    return array[..., None] if channels == 1 else array


@contextmanager
def image_errors() -> Iterator[None]:
    """Every way Pillow can fail on a file, as one MediaError line: its decoders raise many
    kinds on damaged files (OSError, SyntaxError, struct.error, IndexError, ...), and a bad
    file in a training folder must be skipped, never the end of the run."""
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            # Between the limit and twice it Pillow only warns, and would decode anyway.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        pixels = re.search(r"\((\d+) pixels\)", str(err))
        raise MediaError(_too_large(int(pixels[1]) if pixels else None)) from None
    except UnidentifiedImageError:
        raise MediaError("not a readable image") from None
    except (FileNotFoundError, IsADirectoryError, PermissionError) as err:
        raise MediaError(err.strerror or _first_line(err)) from None
    except MemoryError:
        raise MediaError("not enough memory to decode the image") from None
    except Exception as err:    # noqa: BLE001 - see above
        raise MediaError(f"corrupt image ({_first_line(err)})") from None


def _regular(path) -> None:
    """Refuse a FIFO, device or socket before opening it (opening a FIFO waits forever for
    a writer); a file object passed in is the caller's."""
    if isinstance(path, (str, os.PathLike)) and (problem := regular_problem(path)):
        raise MediaError(problem)


def open_image(path):
    """An image file with only its header read, refused (MediaError) if decoding it would
    be a decompression bomb or it is a strip rather than a picture. Use inside
    image_errors(), and close it."""
    from PIL import Image

    _regular(path)
    im = Image.open(path)
    width, height = im.size
    problem = None
    if width * height > MAX_IMAGE_PIXELS:
        problem = _too_large(width * height)
    elif min(width, height) < 1:
        problem = "image has no pixels"
    elif max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        problem = (f"image is {width:,} x {height:,} pixels, a strip rather than a picture "
                   f"(one side may be at most {MAX_ASPECT_RATIO} times the other)")
    if problem:
        im.close()
        raise MediaError(problem)
    return im


def _too_large(pixels: int | None) -> str:
    size = f"{pixels:,} pixels" if pixels else "a possible decompression bomb"
    return f"image is too large ({size}; the limit is {MAX_IMAGE_PIXELS:,} pixels)"


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:80] if text else type(err).__name__


def fit_image(image, height: int, width: int, resample):
    """Scale so the shorter side fits and centre-crop to (height, width).

    The whole image is scaled, then cropped: scaling only the part kept (resize's box) can
    round differently, and open_image's limits already keep the scaled whole small: at most
    the source's size, or MAX_ASPECT_RATIO times the result's longer side squared.
    """
    scale = max(height / image.height, width / image.width)
    size = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
    image = image.resize(size, resample)
    left, top = (image.width - width) // 2, (image.height - height) // 2
    return image.crop((left, top, left + width, top + height))


def to_8bit(image, notes: list[str] | None = None):
    """16- and 32-bit grey -> 8-bit grey by scaling, with a note saying how; other modes are
    returned as they are. (Pillow's convert() clips at 255: a 16-bit picture of values
    15..19983 came out 98.6% white.) Values that fit 16 bits are read as 16-bit (white is
    65535, as every viewer shows them); others, and floats, are stretched lowest..highest."""
    from PIL import Image

    if not image.mode.startswith("I") and image.mode != "F":
        return image
    values = np.asarray(image)
    lo, hi = values.min(), values.max()
    if image.mode != "F" and 0 <= lo and hi <= 65535:
        grey = ((values.astype(np.uint32) + 128) // 257).astype(np.uint8)
        how = (f"16-bit grey scaled to 8 bits (values {lo}..{hi} became "
               f"{(int(lo) + 128) // 257}..{(int(hi) + 128) // 257})")
    elif not (np.isfinite(lo) and np.isfinite(hi)):
        raise MediaError("image has invalid (NaN or infinite) values")
    else:
        scaled = values.astype(np.float32)
        scaled -= lo
        scaled *= 255 / ((float(hi) - float(lo)) or 1.0)     # int32 hi - lo can overflow
        grey = np.rint(scaled, out=scaled).astype(np.uint8)
        how = f"32-bit grey values {lo:g}..{hi:g} stretched to 0..255"
    if notes is not None:
        notes.append(how)
    return Image.fromarray(grey)


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling of a mono signal by FFT (exact for the content it keeps).

    A long signal goes in overlapping blocks (RESAMPLE_BLOCK, RESAMPLE_PAD), so the scratch
    memory stays bounded: whole, a WAV declaring 1 Hz needed 12 GiB of spectra."""
    if rate_in == rate_out or len(samples) == 0:
        return samples.astype(np.float32)
    n_out = max(1, int(round(len(samples) * rate_out / rate_in)))
    if max(len(samples), n_out) <= RESAMPLE_BLOCK:
        return _resample_whole(samples, n_out)
    # Blocks start on multiples of `unit` input samples, which fall on whole output samples.
    common = math.gcd(rate_in, rate_out)
    unit_in, unit_out = rate_in // common, rate_out // common
    step = max(1, RESAMPLE_BLOCK // max(unit_in, unit_out)) * unit_in
    pad = math.ceil(RESAMPLE_PAD * rate_in / min(rate_in, rate_out) / unit_in) * unit_in
    out = np.empty(n_out, np.float32)
    for start in range(0, len(samples), step):
        lo, hi = max(0, start - pad), min(len(samples), start + step + pad)
        offset = lo // unit_in * unit_out
        piece_n = n_out - offset if hi == len(samples) else (hi - lo) // unit_in * unit_out
        piece = _resample_whole(samples[lo:hi], piece_n)
        first, last = start // unit_in * unit_out, min(n_out, (start + step) // unit_in * unit_out)
        out[first:last] = piece[first - offset:last - offset]
    return out


def _resample_whole(samples: np.ndarray, n_out: int) -> np.ndarray:
    spectrum = np.fft.rfft(samples.astype(np.float64))
    keep = n_out // 2 + 1
    out_spectrum = np.zeros(keep, dtype=np.complex128)
    m = min(keep, len(spectrum))
    out_spectrum[:m] = spectrum[:m]
    return (np.fft.irfft(out_spectrum, n_out) * (n_out / len(samples))).astype(np.float32)


def read_audio(path, sample_rate: int, max_seconds: float | None = None) -> np.ndarray:
    """Any WAV/FLAC/OGG file -> float32 mono at `sample_rate` (channels averaged).

    The file's rate and length are checked from its header before anything is read."""
    import soundfile

    if isinstance(path, (str, os.PathLike)):
        # libsndfile says only "System error" for these.
        if not Path(path).exists():
            raise MediaError("the file does not exist")
        if Path(path).is_dir():
            raise MediaError("it is a folder, not an audio file")
        if not os.access(path, os.R_OK):
            raise MediaError("permission denied")
        _regular(path)
    try:
        with soundfile.SoundFile(path) as f:
            rate = f.samplerate
            frames = f.frames if max_seconds is None else min(f.frames, int(max_seconds * rate))
            _check_audio_size(rate, frames, sample_rate)
            mono = _read_mono(f, frames)
    except MediaError:
        raise
    except MemoryError:
        raise MediaError("not enough memory to read the audio file") from None
    except Exception as err:    # noqa: BLE001 - libsndfile's many failures, one line each
        raise MediaError(f"not a readable audio file ({_first_line(err)})") from None
    if len(mono) == 0:
        raise MediaError("audio file has no samples")
    if not np.isfinite(mono).all():
        raise MediaError("audio file contains invalid (NaN/inf) samples")
    return resample(mono, rate, sample_rate)


def _check_audio_size(rate: int, frames: int, sample_rate: int) -> None:
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise MediaError(f"the file declares a sample rate of {rate:,} Hz; audio is read at "
                         f"{MIN_SAMPLE_RATE:,} to {MAX_SAMPLE_RATE:,} Hz")
    if frames <= 0:
        raise MediaError("audio file has no samples")
    faster = max(rate, sample_rate)
    if frames * faster / rate > MAX_AUDIO_SAMPLES:
        raise MediaError(f"audio file is too long ({frames / rate / 60:,.0f} minutes; at most "
                         f"{MAX_AUDIO_SAMPLES / faster / 60:,.0f} minutes at {faster:,} Hz "
                         "are read)")


def _read_mono(f, frames: int) -> np.ndarray:
    """Up to `frames` frames of an open SoundFile, channels averaged block by block (a file
    of many channels never sits in memory whole)."""
    per_block = max(1, READ_BLOCK_VALUES // f.channels)
    parts = [block.mean(axis=1) for block in
             f.blocks(per_block, frames=frames, dtype="float32", always_2d=True)]
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def read_text(path, max_bytes: int = 200_000_000) -> tuple[str, str | None]:
    """A text file -> (text, note). UTF-8 as a rule; binary files are refused with a reason.

    Two other encodings are common enough on users' disks to read rather than refuse, with
    a note saying so: UTF-16 with its byte-order mark (Windows "Unicode" text) and, for
    bytes that are not UTF-8, Latin-1 / Windows-1252 (almost any byte decodes, so the control
    character check below is what tells such text from a binary file without NUL bytes).
    """
    path = Path(path)
    _regular(path)
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
