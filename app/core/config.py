"""One small dataclass per architecture, with a strict JSON round trip.

Strict means: an unknown key, a missing required key or a value of the wrong type is an
error that names the key. A checkpoint whose config does not parse is refused rather
than guessed at.
"""
from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .errors import UserError
from .limits import MAX_CONFIG_INT, MAX_RECEPTIVE_FIELD, shown


class ConfigError(UserError, ValueError):
    """A config dictionary that does not describe a valid architecture."""


def _check_type(name: str, value: Any, annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        (item_type,) = typing.get_args(annotation)[:1]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"'{name}' must be a list, got {type(value).__name__}")
        return [_check_type(f"{name}[{i}]", v, item_type) for i, v in enumerate(value)]
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise ConfigError(f"'{name}' must be a finite number, got {shown(value)}")
        return float(value)
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"'{name}' must be an integer, got {shown(value)}")
        if abs(value) > MAX_CONFIG_INT:
            raise ConfigError(f"'{name}' is {shown(value)}, beyond any real model "
                              f"(at most {MAX_CONFIG_INT:,})")
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"'{name}' must be true or false, got {value!r}")
        return value
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"'{name}' must be a string, got {value!r}")
        return value
    return value


class ConfigBase:
    """Shared strict (de)serialisation; subclasses are frozen dataclasses."""

    kind: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        if not isinstance(data, dict):
            raise ConfigError(f"{cls.kind} config must be a JSON object")
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ConfigError(f"unknown key(s) in {cls.kind} config: {', '.join(unknown)}")
        values = {}
        for name, f in fields.items():
            if name in data:
                values[name] = _check_type(name, data[name], hints[name])
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"missing key '{name}' in {cls.kind} config")
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        """Raise ConfigError for values no net could be built from."""

    def _positive(self, *names: str) -> None:
        for name in names:
            if getattr(self, name) <= 0:
                raise ConfigError(f"'{name}' must be positive, got {getattr(self, name)}")


def _check_image(levels: int, channels: int, num_classes: int) -> None:
    """The fields every image model's config shares."""
    if levels < 2:
        raise ConfigError("'levels' must be at least 2")
    if channels not in (1, 3):
        raise ConfigError("'channels' must be 1 (grey) or 3 (RGB)")
    if num_classes < 0:
        raise ConfigError("'num_classes' must be 0 or more")


MAX_MIXTURE = 32


@dataclass(frozen=True)
class PixelCNNConfig(ConfigBase):
    """Gated PixelCNN (van den Oord et al. 2016) with vertical and horizontal stacks."""

    kind: ClassVar[str] = "pixelcnn"
    height: int = 28
    width: int = 28
    channels: int = 1          # 1 grey or 3 RGB (R -> G -> B masking)
    levels: int = 256          # values per sub-pixel; 2 is the binary mode
    hidden: int = 64           # feature maps per stack
    layers: int = 12           # gated layers after the first
    first_kernel: int = 7      # odd; the first (type A) layer
    kernel: int = 3            # odd; every later (type B) layer
    output_hidden: int = 256   # 1x1 layer before the softmax
    num_classes: int = 0       # 0 = unconditional
    # Learned row + column biases inside every gate. Absent from files written before it
    # existed, which therefore load as False.
    position_bias: bool = False
    # 0: a softmax over `levels` per sub-pixel; K > 0: a mixture of K discretized logistics
    # (PixelCNN++; nets/logistic_mixture.py). Absent from older files: they load as 0.
    mixture: int = 0

    def validate(self) -> None:
        self._positive("height", "width", "channels", "hidden", "layers", "output_hidden")
        _check_image(self.levels, self.channels, self.num_classes)
        if not 0 <= self.mixture <= MAX_MIXTURE:
            raise ConfigError(f"'mixture' must be 0 (a softmax) or 1 to {MAX_MIXTURE} "
                              "logistic components")
        if self.hidden % self.channels:
            raise ConfigError("'hidden' must be divisible by 'channels' for channel masking")
        for name in ("first_kernel", "kernel"):
            if getattr(self, name) % 2 == 0 or getattr(self, name) < 1:
                raise ConfigError(f"'{name}' must be an odd positive number")


@dataclass(frozen=True)
class PixelRNNConfig(ConfigBase):
    """PixelRNN Row LSTM (van den Oord, Kalchbrenner, Kavukcuoglu 2016): one LSTM step per row."""

    kind: ClassVar[str] = "pixelrnn"
    height: int = 28
    width: int = 28
    channels: int = 1          # grey only (no R -> G -> B masking inside the LSTM)
    levels: int = 256
    hidden: int = 64           # features of every LSTM state and of the residual stream
    layers: int = 4            # Row LSTM layers after the first (mask A) convolution
    first_kernel: int = 7      # odd; the first (mask A) convolution
    output_hidden: int = 256   # 1x1 layer before the softmax
    num_classes: int = 0
    position_bias: bool = False   # learned row + column biases inside every gate

    def validate(self) -> None:
        self._positive("height", "width", "channels", "hidden", "layers", "output_hidden")
        _check_image(self.levels, self.channels, self.num_classes)
        if self.channels != 1:
            raise ConfigError("'channels' must be 1: the PixelRNN here models grey images only "
                              "(use a PixelCNN for RGB)")
        if self.first_kernel % 2 == 0 or self.first_kernel < 1:
            raise ConfigError("'first_kernel' must be an odd positive number")


@dataclass(frozen=True)
class AnyOrderConfig(ConfigBase):
    """Order-agnostic image model: predicts any hidden pixel from any set of visible ones."""

    kind: ClassVar[str] = "anyorder"
    height: int = 28
    width: int = 28
    channels: int = 1
    levels: int = 256
    hidden: int = 64           # feature maps in every block
    blocks: int = 8            # gated residual blocks, dilations cycling 1, 2, 4, 8
    output_hidden: int = 256   # 1x1 layer before the softmax
    num_classes: int = 0

    def validate(self) -> None:
        self._positive("height", "width", "channels", "hidden", "blocks", "output_hidden")
        _check_image(self.levels, self.channels, self.num_classes)


@dataclass(frozen=True)
class SubscaleConfig(ConfigBase):
    """Subscale Pixel Network (Menick & Kalchbrenner 2018): the image is cut into S x S
    interleaved slices, generated slice after slice, each pixel by pixel in raster order."""

    kind: ClassVar[str] = "subscale"
    height: int = 28
    width: int = 28
    channels: int = 1
    levels: int = 256
    scale: int = 4             # S: slice (a, b) holds pixels (a + S*r, b + S*c)
    context_hidden: int = 64   # conditioning network over the earlier slices
    context_blocks: int = 4
    decoder_hidden: int = 64   # masked gated PixelCNN inside one slice
    decoder_layers: int = 6    # gated layers after the first
    output_hidden: int = 256   # 1x1 layer before the softmax
    num_classes: int = 0

    def validate(self) -> None:
        self._positive("height", "width", "channels", "scale", "context_hidden",
                       "context_blocks", "decoder_hidden", "decoder_layers", "output_hidden")
        _check_image(self.levels, self.channels, self.num_classes)
        if self.decoder_hidden % self.channels:
            raise ConfigError("'decoder_hidden' must be divisible by 'channels' for channel "
                              "masking")
        for side in ("height", "width"):
            if getattr(self, side) % self.scale:
                raise ConfigError(f"'{side}' ({getattr(self, side)}) must be divisible by "
                                  f"'scale' ({self.scale})")


@dataclass(frozen=True)
class DepthUpscaleConfig(ConfigBase):
    """Depth upscaling (Menick & Kalchbrenner 2018): a Gated PixelCNN draws the `coarse_bits`
    most significant bits of every sub-pixel, then a second one draws the remaining bits,
    raster order again, seeing the whole coarse image through an unmasked encoder."""

    kind: ClassVar[str] = "depth-upscale"
    height: int = 32
    width: int = 32
    channels: int = 3
    levels: int = 256          # a power of two: the bits split into coarse + fine
    coarse_bits: int = 3
    hidden: int = 48           # feature maps per stack, in each stage
    layers: int = 6            # gated layers after the first, in each stage
    output_hidden: int = 128   # 1x1 layer before each stage's softmax
    condition_hidden: int = 48 # the encoder of the coarse image (stage two)
    condition_blocks: int = 3
    num_classes: int = 0
    position_bias: bool = True

    @property
    def fine_bits(self) -> int:
        return self.levels.bit_length() - 1 - self.coarse_bits

    def stage_config(self, stage: int) -> PixelCNNConfig:
        """The Gated PixelCNN of stage 0 (coarse bits) or 1 (fine bits)."""
        return PixelCNNConfig(height=self.height, width=self.width, channels=self.channels,
                              levels=2 ** (self.fine_bits if stage else self.coarse_bits),
                              hidden=self.hidden, layers=self.layers,
                              output_hidden=self.output_hidden, num_classes=self.num_classes,
                              position_bias=self.position_bias)

    def validate(self) -> None:
        self._positive("height", "width", "channels", "hidden", "layers", "output_hidden",
                       "condition_hidden", "condition_blocks")
        _check_image(self.levels, self.channels, self.num_classes)
        if self.levels & (self.levels - 1):
            raise ConfigError(f"'levels' ({self.levels}) must be a power of two: the bits "
                              "are split between the two stages")
        if not 1 <= self.coarse_bits < self.levels.bit_length() - 1:
            raise ConfigError(f"'coarse_bits' must leave at least one bit to each stage: "
                              f"1 to {self.levels.bit_length() - 2} for {self.levels} levels")
        self.stage_config(0).validate()


@dataclass(frozen=True)
class WaveNetConfig(ConfigBase):
    """WaveNet (van den Oord et al. 2016): gated dilated causal convolutions, mu-law softmax."""

    kind: ClassVar[str] = "wavenet"
    levels: int = 256
    residual: int = 32
    dilation_channels: int = 32
    skip: int = 64
    output_hidden: int = 128
    dilations: list[int] = field(default_factory=lambda: [2**i for i in range(10)] * 2)
    num_classes: int = 0

    def validate(self) -> None:
        self._positive("levels", "residual", "dilation_channels", "skip", "output_hidden")
        if not self.dilations or any(d <= 0 for d in self.dilations):
            raise ConfigError("'dilations' must be a non-empty list of positive integers")
        if sum(self.dilations) > MAX_RECEPTIVE_FIELD:
            # The sampler's queues hold every dilation's past: no weight bounds this.
            raise ConfigError(f"'dilations' add up to {sum(self.dilations):,} samples of past, "
                              f"at most {MAX_RECEPTIVE_FIELD:,}")

    @property
    def receptive_field(self) -> int:
        """Samples of past that reach one prediction (kernel size 2 per layer, plus the input)."""
        return sum(self.dilations) + 1


@dataclass(frozen=True)
class LSTMConfig(ConfigBase):
    """Character-level LSTM language model (char-rnn)."""

    kind: ClassVar[str] = "charlm-lstm"
    vocab_size: int = 96
    embed: int = 64
    hidden: int = 512
    layers: int = 2
    dropout: float = 0.0

    def validate(self) -> None:
        self._positive("vocab_size", "embed", "hidden", "layers")


@dataclass(frozen=True)
class GPTConfig(ConfigBase):
    """Character-level decoder-only Transformer (GPT style, causal self-attention)."""

    kind: ClassVar[str] = "charlm-gpt"
    vocab_size: int = 96
    context: int = 256
    embed: int = 256
    heads: int = 4
    layers: int = 4
    dropout: float = 0.0
    # nanoGPT's options (app/core/nanogpt.py): biases in every Linear and LayerNorm and in
    # the output head, and an output head that reuses the input embedding's weights. Absent
    # from files written before they existed, which load as chainrule's own GPT (biases,
    # separate head).
    bias: bool = True
    tied: bool = False

    def validate(self) -> None:
        self._positive("vocab_size", "context", "embed", "heads", "layers")
        if self.embed % self.heads:
            raise ConfigError("'embed' must be divisible by 'heads'")


CONFIG_CLASSES: dict[str, type[ConfigBase]] = {
    c.kind: c for c in (PixelCNNConfig, PixelRNNConfig, AnyOrderConfig, SubscaleConfig,
                        DepthUpscaleConfig, WaveNetConfig,
                        LSTMConfig, GPTConfig)
}


def config_from_dict(kind: str, data: dict[str, Any]) -> ConfigBase:
    """Parse the config of a given model kind, strictly."""
    if kind not in CONFIG_CLASSES:
        raise ConfigError(f"unknown model kind '{kind}' (known: {', '.join(CONFIG_CLASSES)})")
    return CONFIG_CLASSES[kind].from_dict(data)
