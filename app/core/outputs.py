"""Writing generated results with their generation parameters embedded, and reading them back.

PNG: parameters as PNG text chunks ('chainrule' holds all of them as JSON, plus one chunk per
key for other viewers). WAV: the same JSON in the file's comment field (RIFF INFO ICMT).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .errors import UserError

PARAMS_KEY = "chainrule"


class OutputError(UserError):
    """A result file that cannot be written where asked; found before any work is done."""

    def __init__(self, path, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"cannot write {self.path}: {reason}")


def check_output(path) -> Path:
    """Refuse now, before a model is loaded or a sample drawn, an output path whose folder
    is missing, is a file or cannot be written, or that is itself a folder."""
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise OutputError(path, "it is a folder; give a file name")
    if not folder.exists():
        # A file somewhere up the path makes the folder impossible, not just missing.
        above = next((p for p in folder.parents if p.exists()), None)
        if above is not None and not above.is_dir():
            raise OutputError(path, f"'{above}' is a file, not a folder")
        raise OutputError(path, f"the folder '{folder}' does not exist")
    if not folder.is_dir():
        raise OutputError(path, f"'{folder}' is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(path, f"the folder '{folder}' is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(path, "the file exists and is read-only")
    return path


def save_png(path, pixels: np.ndarray, params: dict, scale: int = 1) -> Path:
    """pixels (H, W, C) uint8 -> PNG, upscaled by `scale` with nearest-neighbour."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    path = Path(path)
    if scale > 1:
        pixels = pixels.repeat(scale, axis=0).repeat(scale, axis=1)
    image = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    info = PngInfo()
    info.add_text(PARAMS_KEY, json.dumps(params))
    for key, value in params.items():
        info.add_text(str(key), str(value))
    image.save(path, pnginfo=info)
    return path


def read_png_params(path) -> dict:
    from PIL import Image

    with Image.open(path) as image:
        text = getattr(image, "text", {}) or {}
    return json.loads(text[PARAMS_KEY]) if PARAMS_KEY in text else {}


def save_wav(path, samples: np.ndarray, sample_rate: int, params: dict) -> Path:
    """samples (n,) or (channels, n) float in [-1, 1] -> 16-bit PCM WAV with params."""
    import soundfile

    path = Path(path)
    data = np.asarray(samples, dtype=np.float32)
    data = data[:, None] if data.ndim == 1 else data.T
    with soundfile.SoundFile(path, "w", samplerate=sample_rate, channels=data.shape[1],
                             subtype="PCM_16", format="WAV") as f:
        f.comment = json.dumps(params)
        f.software = "chainrule"
        f.write(np.clip(data, -1.0, 1.0))
    return path


def open_wav(path, sample_rate: int, params: dict):
    """A 16-bit PCM WAV open for writing as samples arrive (write float (n,) in [-1, 1]),
    params in its comment: a long generation keeps what was made when it is stopped, and
    holds no more than one chunk in memory. Closing it finishes the header."""
    import soundfile

    f = soundfile.SoundFile(Path(path), "w", samplerate=sample_rate, channels=1,
                            subtype="PCM_16", format="WAV")
    f.comment = json.dumps(params)
    f.software = "chainrule"
    return f


def read_wav_params(path) -> dict:
    import soundfile

    with soundfile.SoundFile(path) as f:
        comment = f.comment
    try:
        return json.loads(comment) if comment else {}
    except json.JSONDecodeError:
        return {}


FRONT_MATTER = "---chainrule\n"


def save_text(path, text: str, params: dict) -> Path:
    """Text with its parameters as a short JSON header block that read_text_file strips."""
    path = Path(path)
    path.write_text(f"{FRONT_MATTER}{json.dumps(params)}\n---\n{text}", encoding="utf-8")
    return path


def read_text_file(path) -> tuple[str, dict]:
    """(text, params) of a saved completion; a plain text file gives (its text, {})."""
    text = Path(path).read_text(encoding="utf-8")
    if text.startswith(FRONT_MATTER):
        header, sep, body = text[len(FRONT_MATTER):].partition("\n---\n")
        if sep:
            try:
                return body, json.loads(header)
            except json.JSONDecodeError:
                pass
    return text, {}
