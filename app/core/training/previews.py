"""Small samples from the weights being trained, to watch a model learn."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class TrainPreview:
    step: int
    modality: str
    images: np.ndarray | None = None     # (B, H, W, C) uint8
    audio: np.ndarray | None = None      # (n,) float32
    sample_rate: int = 0
    text: str = ""


def make_preview(net, codec, modality: str, step: int, seed: int = 0,
                 prompt: str = "") -> TrainPreview:
    """A 2x2 image grid, a one-second clip or a 200-character completion from `net`."""
    import torch

    from ..sampling.audio import generate_audio
    from ..sampling.image import generate_images
    from ..sampling.text import sample_text

    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            if modality == "image":
                labels = None
                if getattr(net.config, "num_classes", 0):
                    labels = [i % net.config.num_classes for i in range(4)]
                if net.config.kind == "anyorder":     # one pass per pixel would stall training
                    from ..sampling.anyorder import quick_images

                    result = quick_images(net, codec, 4, labels, seed=seed)
                elif net.config.kind == "subscale":   # likewise: one pass per slice row
                    from ..sampling.subscale import quick_images as quick_subscale

                    result = quick_subscale(net, codec, 4, labels, seed=seed)
                else:
                    result = generate_images(net, codec, 4, labels, seed=seed)
                return TrainPreview(step, modality, images=result.pixels)
            if modality == "audio":
                clip = generate_audio(net, codec, codec.sample_rate, seed=seed)[0]
                return TrainPreview(step, modality, audio=clip, sample_rate=codec.sample_rate)
            unknown = codec.unknown_chars(prompt)
            done = list(sample_text(net, codec, "" if unknown else prompt, 200,
                                    temperature=0.8, seed=seed))[-1]
            return TrainPreview(step, modality, text=("" if unknown else prompt) + done.texts[0])
    finally:
        net.train(was_training)
