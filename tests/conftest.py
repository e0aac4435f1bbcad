"""Shared fixtures: tiny models of every kind, built and saved by the tests themselves."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True, scope="session")
def _single_thread():
    # Tiny models run fastest on one thread, and tests must not fight each other for cores.
    import torch

    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """User models and settings go to a per-test folder, never the real home."""
    monkeypatch.setenv("CHAINRULE_HOME", str(tmp_path / "chainrule-home"))


def tiny_config(kind: str, **overrides):
    from app.core.config import (
        AnyOrderConfig,
        DepthUpscaleConfig,
        GPTConfig,
        LSTMConfig,
        PixelCNNConfig,
        PixelRNNConfig,
        SubscaleConfig,
        WaveNetConfig,
    )

    base = {
        "pixelcnn": lambda: PixelCNNConfig(height=6, width=5, channels=1, levels=16, hidden=12,
                                           layers=2, output_hidden=24, num_classes=3,
                                           position_bias=True),
        "pixelrnn": lambda: PixelRNNConfig(height=6, width=5, channels=1, levels=16, hidden=8,
                                           layers=2, output_hidden=16, num_classes=3,
                                           position_bias=True),
        "anyorder": lambda: AnyOrderConfig(height=6, width=5, channels=1, levels=16, hidden=8,
                                           blocks=2, output_hidden=16, num_classes=3),
        "subscale": lambda: SubscaleConfig(height=6, width=4, levels=16, scale=2,
                                           context_hidden=8, context_blocks=2, decoder_hidden=8,
                                           decoder_layers=2, output_hidden=16, num_classes=3),
        "depth-upscale": lambda: DepthUpscaleConfig(height=6, width=5, channels=3, levels=16,
                                                    coarse_bits=2, hidden=6, layers=2,
                                                    output_hidden=8, condition_hidden=6,
                                                    condition_blocks=2, num_classes=3),
        "wavenet": lambda: WaveNetConfig(levels=32, residual=8, dilation_channels=8, skip=12,
                                         output_hidden=16, dilations=[1, 2, 4, 1, 2, 4]),
        "charlm-lstm": lambda: LSTMConfig(vocab_size=12, embed=8, hidden=16, layers=2),
        "charlm-gpt": lambda: GPTConfig(vocab_size=12, context=16, embed=16, heads=2, layers=2),
    }[kind]()
    import dataclasses

    return dataclasses.replace(base, **overrides)


def tiny_codec(kind: str, config):
    from app.core.codecs import CharCodec, ImageCodec, MuLawCodec

    if kind in ("pixelcnn", "pixelrnn", "anyorder", "subscale", "depth-upscale"):
        return ImageCodec(config.height, config.width, config.channels, config.levels,
                          [f"class{i}" for i in range(config.num_classes)])
    if kind == "wavenet":
        return MuLawCodec(8000, config.levels, [f"c{i}" for i in range(config.num_classes)])
    return CharCodec("\nabcdefgh :!"[:config.vocab_size])


def make_bundle(kind: str, seed: int = 0, **overrides):
    """(net, codec) of a tiny randomly initialised model."""
    import torch

    from app.core.registry import kind_spec

    config = tiny_config(kind, **overrides)
    torch.manual_seed(seed)
    net = kind_spec(kind).build(config).eval()
    return net, tiny_codec(kind, config)


@pytest.fixture
def save_tiny(tmp_path):
    """Save a tiny model of a kind to a checkpoint file and return its path."""
    from app.core.checkpoint import save_bundle

    def save(kind: str, name: str | None = None, **overrides):
        net, codec = make_bundle(kind, **overrides)
        path = tmp_path / f"{name or kind}.safetensors"
        return save_bundle(path, net, codec, {"description": "tiny test model"})

    return save


@pytest.fixture
def disk_full(monkeypatch):
    """`disk_full("state.safetensors", after=1)`: saving that file works once, then fails the
    way a full disk does (half the bytes reach the file, then OSError ENOSPC). No names: every
    file saved through app/core/saving.py fails. `disk_full(None)` frees the disk again.

    Temporary files count as the file they replace (".state.1a2b3c4d.safetensors.tmp" is
    state.safetensors).
    """
    import builtins
    import errno
    import re
    from pathlib import Path

    from app.core import saving

    real_open = builtins.open
    rule = {"names": None, "after": 0, "active": False}

    class FullDisk:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            self.f.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def fake_open(file, *args, **kwargs):
        f = real_open(file, *args, **kwargs)
        name = Path(str(file)).name
        temp = re.match(r"^\.(.*)\.[0-9a-f]{8}(.*)\.tmp$", name)
        target = temp[1] + temp[2] if temp else name
        if rule["active"] and (not rule["names"] or target in rule["names"]):
            if rule["after"] > 0:
                rule["after"] -= 1
                return f
            return FullDisk(f)
        return f

    monkeypatch.setattr(saving, "open", fake_open, raising=False)

    def fill(*names, after: int = 0):
        rule.update(names=set(names) - {None}, after=after, active=names != (None,))

    return fill


@pytest.fixture
def small_gpu(monkeypatch):
    """`small_gpu(limit=4)`: from now on, any layer given a batch of more than `limit` items
    fails the way a full CUDA device does (torch.OutOfMemoryError), as a GPU with little
    memory would. `small_gpu(None)` lifts the limit. The returned state records a weak
    reference to each input that failed, to check the failed run's memory is let go.

    Real GPU runs use the row cache, not the numba CPU kernels, and so do runs under this
    fixture: that way every pixel goes through torch layers that can fail.
    """
    import weakref

    import torch

    from app.core.fast import pixelcnn_numba

    monkeypatch.setattr(pixelcnn_numba, "available", lambda: False)
    state = {"limit": None, "failed": []}

    def hook(module, args):
        first = next((a for a in args if isinstance(a, torch.Tensor)), None)
        if state["limit"] is not None and first is not None and first.dim() > 0 \
                and first.shape[0] > state["limit"]:
            state["failed"].append(weakref.ref(first))
            raise torch.OutOfMemoryError(
                "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 4.00 GiB total "
                "capacity; 3.10 GiB already allocated)")

    handle = torch.nn.modules.module.register_module_forward_pre_hook(hook)

    def limit_to(limit: int | None = 4):
        state["limit"] = limit
        return state

    yield limit_to
    handle.remove()
