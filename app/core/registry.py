"""Model kinds: kind -> (config class, net class, codec class, modality, unit of the loss).

Views and the CLI list and build models through this table, never by importing a net directly.
"""
from __future__ import annotations

from dataclasses import dataclass

from .codecs import CharCodec, ImageCodec, MuLawCodec
from .config import CONFIG_CLASSES, ConfigBase


@dataclass(frozen=True)
class KindSpec:
    kind: str
    title: str
    modality: str          # image | audio | text
    unit: str              # the natural unit of its loss, reported in bits
    config_class: type
    codec_class: type
    net_path: str          # "module:Class", imported on first use (torch loads lazily)

    def build(self, config: ConfigBase):
        import importlib

        module, name = self.net_path.split(":")
        net_class = getattr(importlib.import_module(module, __package__), name)
        return net_class(config)


KINDS: dict[str, KindSpec] = {
    spec.kind: spec for spec in (
        KindSpec("pixelcnn", "Gated PixelCNN", "image", "bits/dim",
                 CONFIG_CLASSES["pixelcnn"], ImageCodec, ".nets.pixelcnn:GatedPixelCNN"),
        KindSpec("pixelrnn", "PixelRNN (Row LSTM)", "image", "bits/dim",
                 CONFIG_CLASSES["pixelrnn"], ImageCodec, ".nets.pixelrnn:PixelRNN"),
        KindSpec("anyorder", "Any-order image model", "image", "bits/dim",
                 CONFIG_CLASSES["anyorder"], ImageCodec, ".nets.anyorder:AnyOrderNet"),
        KindSpec("subscale", "Subscale Pixel Network", "image", "bits/dim",
                 CONFIG_CLASSES["subscale"], ImageCodec, ".nets.subscale:SubscaleNet"),
        KindSpec("wavenet", "WaveNet", "audio", "bits/sample",
                 CONFIG_CLASSES["wavenet"], MuLawCodec, ".nets.wavenet:WaveNet"),
        KindSpec("charlm-lstm", "LSTM language model", "text", "bits/char",
                 CONFIG_CLASSES["charlm-lstm"], CharCodec, ".nets.charlm:CharLSTM"),
        KindSpec("charlm-gpt", "Transformer language model", "text", "bits/char",
                 CONFIG_CLASSES["charlm-gpt"], CharCodec, ".nets.charlm:CharGPT"),
    )
}


def kind_spec(kind: str) -> KindSpec:
    try:
        return KINDS[kind]
    except KeyError:
        raise KeyError(f"unknown model kind '{kind}' (known: {', '.join(KINDS)})") from None
