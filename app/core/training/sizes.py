"""Small / medium / large architectures for a fresh model of each kind."""
from __future__ import annotations

from ..config import GPTConfig, LSTMConfig, PixelCNNConfig, WaveNetConfig

SIZES = ("small", "medium", "large")


def fresh_config(kind: str, size: str, codec):
    """The architecture for a fresh model of `kind` that fits data described by `codec`."""
    pick = dict(zip(SIZES, range(3)))[size]
    if kind == "pixelcnn":
        hidden, layers = [(32, 5), (64, 8), (96, 12)][pick]
        return PixelCNNConfig(height=codec.height, width=codec.width, channels=codec.channels,
                              levels=codec.levels, hidden=hidden - hidden % codec.channels,
                              layers=layers, output_hidden=4 * hidden,
                              num_classes=len(codec.class_names), position_bias=True)
    if kind == "wavenet":
        res, stacks = [(16, 1), (32, 2), (48, 3)][pick]
        return WaveNetConfig(levels=codec.levels, residual=res, dilation_channels=res,
                             skip=2 * res, output_hidden=4 * res,
                             dilations=[2**i for i in range(10)] * stacks,
                             num_classes=len(codec.class_names))
    if kind == "charlm-lstm":
        hidden = [128, 256, 512][pick]
        return LSTMConfig(vocab_size=codec.size, embed=64, hidden=hidden, layers=2)
    if kind == "charlm-gpt":
        embed, layers = [(128, 2), (192, 4), (256, 6)][pick]
        return GPTConfig(vocab_size=codec.size, context=256, embed=embed, heads=embed // 64,
                         layers=layers)
    raise KeyError(f"unknown model kind '{kind}'")
