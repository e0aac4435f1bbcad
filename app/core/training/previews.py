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

    from ..registry import kind_spec, load_function
    from ..sampling.audio import generate_audio
    from ..sampling.events import final_event
    from ..sampling.text import sample_text

    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            if modality == "image":
                labels = None
                if getattr(net.config, "num_classes", 0):
                    labels = [i % net.config.num_classes for i in range(4)]
                # Each kind's quick preview: where full sampling is slow (one pass per pixel
                # for an any-order model) it takes a cheaper way, so training does not stall.
                preview = load_function(kind_spec(net.config.kind).preview)
                result = preview(net, codec, 4, labels, seed=seed)
                return TrainPreview(step, modality, images=result.pixels)
            if modality == "audio":
                clip = generate_audio(net, codec, codec.sample_rate, seed=seed)[0]
                return TrainPreview(step, modality, audio=clip, sample_rate=codec.sample_rate)
            unknown = codec.unknown_chars(prompt)
            done = final_event(sample_text(net, codec, "" if unknown else prompt, 200,
                                           temperature=0.8, seed=seed))
            return TrainPreview(step, modality, text=("" if unknown else prompt) + done.texts[0])
    finally:
        net.train(was_training)
