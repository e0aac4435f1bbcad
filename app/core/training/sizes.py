"""Small / medium / large architectures for a fresh model of each kind, and their sizes.

One `<name>_config(pick, codec)` and one `<name>_parameters(config)` per kind; the kind's row
in registry.py names them, so nothing here asks which kind it is.
"""
from __future__ import annotations

from ..config import (
    AnyOrderConfig,
    ConfigError,
    DepthUpscaleConfig,
    GPTConfig,
    LSTMConfig,
    PixelCNNConfig,
    PixelRNNConfig,
    SubscaleConfig,
    WaveNetConfig,
)
from ..registry import kind_spec, load_function

SIZES = ("small", "medium", "large")


def fresh_config(kind: str, size: str, codec):
    """The architecture for a fresh model of `kind` that fits data described by `codec`."""
    pick = dict(zip(SIZES, range(3)))[size]
    return load_function(kind_spec(kind).fresh_config)(pick, codec)


def count_parameters(config) -> int:
    """Parameters of a net with this config, by arithmetic (no torch needed)."""
    return load_function(kind_spec(config.kind).parameter_count)(config)


# ----- fresh architectures (pick: 0 small, 1 medium, 2 large) -------------------------------

def pixelcnn_config(pick: int, codec) -> PixelCNNConfig:
    hidden, layers = [(32, 5), (64, 8), (96, 12)][pick]
    return PixelCNNConfig(height=codec.height, width=codec.width, channels=codec.channels,
                          levels=codec.levels, hidden=hidden - hidden % codec.channels,
                          layers=layers, output_hidden=4 * hidden,
                          num_classes=len(codec.class_names), position_bias=True)


def pixelrnn_config(pick: int, codec) -> PixelRNNConfig:
    # Grey only: a colour codec gets the config's own clear ConfigError.
    hidden, layers = [(32, 2), (48, 3), (64, 4)][pick]
    config = PixelRNNConfig(height=codec.height, width=codec.width, channels=codec.channels,
                            levels=codec.levels, hidden=hidden, layers=layers,
                            output_hidden=4 * hidden, num_classes=len(codec.class_names),
                            position_bias=True)
    config.validate()
    return config


def anyorder_config(pick: int, codec) -> AnyOrderConfig:
    hidden, blocks = [(32, 6), (48, 6), (64, 8)][pick]
    return AnyOrderConfig(height=codec.height, width=codec.width, channels=codec.channels,
                          levels=codec.levels, hidden=hidden, blocks=blocks,
                          output_hidden=128, num_classes=len(codec.class_names))


def subscale_config(pick: int, codec) -> SubscaleConfig:
    # The largest slice factor that divides both sides: 4 (16 slices) where it can.
    scale = next((s for s in (4, 2) if codec.height % s == 0 and codec.width % s == 0), None)
    if scale is None:
        raise ConfigError(f"a Subscale Pixel Network needs images whose sides are divisible "
                          f"by 2 or 4; these are {codec.height} x {codec.width}")
    ctx, blocks, dec, layers, out = [(32, 3, 32, 4, 128), (48, 4, 48, 6, 128),
                                     (64, 6, 64, 8, 256)][pick]
    return SubscaleConfig(height=codec.height, width=codec.width, channels=codec.channels,
                          levels=codec.levels,
                          scale=scale, context_hidden=ctx, context_blocks=blocks,
                          decoder_hidden=dec - dec % codec.channels, decoder_layers=layers,
                          output_hidden=out,
                          num_classes=len(codec.class_names))


def depth_config(pick: int, codec) -> DepthUpscaleConfig:
    hidden, layers = [(24, 4), (48, 6), (72, 8)][pick]
    bits = codec.levels.bit_length() - 1
    if codec.levels != 2 ** bits or bits < 2:
        raise ConfigError(f"depth upscaling splits each value's bits in two: it needs 4, 8, "
                          f"16 ... 256 levels, not {codec.levels}")
    return DepthUpscaleConfig(height=codec.height, width=codec.width, channels=codec.channels,
                              levels=codec.levels, coarse_bits=min(3, bits - 1),
                              hidden=hidden - hidden % codec.channels, layers=layers,
                              output_hidden=4 * hidden, condition_hidden=hidden,
                              condition_blocks=3, num_classes=len(codec.class_names))


def wavenet_config(pick: int, codec) -> WaveNetConfig:
    res, stacks = [(16, 1), (32, 2), (48, 3)][pick]
    return WaveNetConfig(levels=codec.levels, residual=res, dilation_channels=res,
                         skip=2 * res, output_hidden=4 * res,
                         dilations=[2**i for i in range(10)] * stacks,
                         num_classes=len(codec.class_names))


def lstm_config(pick: int, codec) -> LSTMConfig:
    hidden = [128, 256, 512][pick]
    return LSTMConfig(vocab_size=codec.size, embed=64, hidden=hidden, layers=2)


def gpt_config(pick: int, codec) -> GPTConfig:
    embed, layers = [(128, 2), (192, 4), (256, 6)][pick]
    return GPTConfig(vocab_size=codec.size, context=256, embed=embed, heads=embed // 64,
                     layers=layers)


# ----- parameter counts, layer by layer as the nets in nets/ build them ---------------------

def _gated_layer(cin: int, kernel: int, h: int) -> int:
    """One gated masked layer (vertical + horizontal stack), as PixelCNN and SPN build it."""
    p = kernel // 2
    return ((cin * (p + 1) * kernel + 1) * 2 * h        # vertical conv
            + (cin * (p + 1) + 1) * 2 * h               # horizontal conv
            + (2 * h + 1) * 2 * h + (h + 1) * h)        # link, 1x1 after the gate


def pixelcnn_parameters(config: PixelCNNConfig) -> int:
    h, c, classes = config.hidden, config.channels, config.num_classes
    total = 0
    for i in range(config.layers + 1):
        first = i == 0
        total += _gated_layer(c if first else h,
                              config.first_kernel if first else config.kernel, h)
        total += (classes + 1) * 4 * h if classes else 0
        total += 4 * h * (config.height + config.width) if config.position_bias else 0
    oh = config.output_hidden
    per_sub_pixel = 3 * config.mixture if config.mixture else config.levels
    return total + (h + 1) * oh + (oh + 1) * c * per_sub_pixel


def depth_parameters(config: DepthUpscaleConfig) -> int:
    # Two PixelCNNs, and the encoder: input conv, gated blocks, projection to every
    # stage-two layer's gates.
    ch, classes = config.condition_hidden, config.num_classes
    block = (ch * 9 + 1) * 2 * ch + (ch + 1) * ch + ((classes + 1) * 2 * ch if classes else 0)
    encoder = ((config.channels * 9 + 1) * ch + config.condition_blocks * block
               + (ch + 1) * (config.layers + 1) * 4 * config.hidden)
    return (pixelcnn_parameters(config.stage_config(0))
            + pixelcnn_parameters(config.stage_config(1)) + encoder)


def pixelrnn_parameters(config: PixelRNNConfig) -> int:
    h, oh, classes = config.hidden, config.output_hidden, config.num_classes
    k = config.first_kernel
    layer = (2 * h + 1) * 4 * h + (3 * h + 1) * 4 * h + (h + 1) * h   # in, state, out
    layer += (classes + 1) * 4 * h if classes else 0
    layer += 4 * h * (config.height + config.width) if config.position_bias else 0
    return ((config.channels * k * k + 1) * h + config.layers * layer + (h + 1) * oh
            + (oh + 1) * config.channels * config.levels)


def anyorder_parameters(config: AnyOrderConfig) -> int:
    h, c, oh, classes = config.hidden, config.channels, config.output_hidden, config.num_classes
    block = (h * 9 + 1) * 2 * h + (h + 1) * h + ((classes + 1) * 2 * h if classes else 0)
    return ((2 * c * 9 + 1) * h + h * config.height * config.width
            + config.blocks * block + (h + 1) * oh + (oh + 1) * c * config.levels)


def subscale_parameters(config: SubscaleConfig) -> int:
    ch, k, dh = config.context_hidden, config.scale ** 2, config.decoder_hidden
    side = (config.height // config.scale) * (config.width // config.scale)
    block = (ch * 9 + 1) * 2 * ch + (ch + 1) * ch + (k * 2 * ch if k > 1 else 0)
    c = config.channels
    context = ((c + 1) * k * 9 + 1) * ch + k * ch + ch * side + config.context_blocks * block
    layers = config.decoder_layers + 1
    gates = (ch + 1) * layers * 4 * dh
    gates += (config.num_classes + 1) * layers * 4 * dh if config.num_classes else 0
    decoder = _gated_layer(c, 5, dh) + config.decoder_layers * _gated_layer(dh, 3, dh)
    oh = config.output_hidden
    return context + gates + decoder + (dh + 1) * oh + (oh + 1) * c * config.levels


def wavenet_parameters(config: WaveNetConfig) -> int:
    r, d, s = config.residual, config.dilation_channels, config.skip
    layer = (2 * r + 1) * 2 * d + (d + 1) * r + (d + 1) * s
    layer += (config.num_classes + 1) * 2 * d if config.num_classes else 0
    oh = config.output_hidden
    return (config.levels * r + len(config.dilations) * layer + (s + 1) * oh
            + (oh + 1) * config.levels)


def lstm_parameters(config: LSTMConfig) -> int:
    h, e, v = config.hidden, config.embed, config.vocab_size
    lstm = sum(4 * h * ((e if k == 0 else h) + h + 2) for k in range(config.layers))
    return v * e + lstm + (h + 1) * v


def gpt_parameters(config: GPTConfig) -> int:
    e, v, b = config.embed, config.vocab_size, int(config.bias)
    block = 2 * (1 + b) * e + (e + b) * 3 * e + (e + b) * e + (e + b) * 4 * e + (4 * e + b) * e
    head = (0 if config.tied else e * v) + b * v
    return v * e + config.context * e + config.layers * block + (1 + b) * e + head
