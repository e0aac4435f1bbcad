"""Reading user media files into the shapes models need: images and audio.

Every function raises MediaError with a one-line reason for a file it cannot use, so a
folder of mixed files can be read with the bad ones skipped and reported.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg"}
MAX_IMAGE_PIXELS = 40_000_000    # Pillow's decompression-bomb limit, set explicitly


class MediaError(ValueError):
    """A file that cannot be read as the media it claims to be."""


def read_image(path, height: int, width: int, channels: int) -> np.ndarray:
    """Any image file -> uint8 (height, width, channels).

    The image is scaled so its shorter side fits, then centre-cropped; alpha is composited
    onto white; colour becomes grey (luma) for one-channel models.
    """
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("RGBA", "LA", "P", "PA"):
                im = im.convert("RGBA")
                background = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(background, im)
            im = im.convert("L" if channels == 1 else "RGB")
    except Image.DecompressionBombError:
        raise MediaError("image is too large (possible decompression bomb)") from None
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


def read_text(path, max_bytes: int = 200_000_000) -> str:
    """A UTF-8 text file; binary files and other encodings are refused with a reason."""
    path = Path(path)
    if path.stat().st_size > max_bytes:
        raise MediaError(f"text file is larger than {max_bytes // 1_000_000} MB")
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise MediaError("binary file (contains NUL bytes), not text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise MediaError(f"not UTF-8 text (invalid byte at offset {err.start})") from None
    if not text.strip():
        raise MediaError("text file is empty")
    return text.replace("\r\n", "\n")
