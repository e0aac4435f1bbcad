"""Model kinds: the one table that says what each kind of model is and what it can do.

A kind's row names its config, net, codec and modality, the orders it can draw in, the
inpainting methods it runs, its sampler, its training defaults and its fresh architectures.
The views, the CLI and the samplers ask this table; none of them tests a kind's name (a test
fails if a kind name appears as a literal outside this file, config.py and nets/). Adding a
net is one file in nets/ plus one row here.

Functions are named "module:function" (relative to this package) and imported on first use,
so reading the table never imports torch.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from .codecs import CharCodec, ImageCodec, MuLawCodec
from .config import CONFIG_CLASSES, ConfigBase
from .errors import UnknownNameError

# Drawing orders an image model may use (see sampling/orders.py for what each one means).
ORDERS = ("raster", "random", "spiral", "nearest", "subscale")


def load_function(path: str):
    """'module:function' (relative to app.core) -> the function, imported now."""
    module, name = path.split(":")
    return getattr(importlib.import_module(module, __package__), name)


@dataclass(frozen=True)
class InpaintMethod:
    """One way to fill a hole; which kinds run it is said by their rows (`inpaint_methods`)."""

    key: str
    title: str
    how: str               # one sentence on what it does, for tooltips and --help
    sampler: str           # "module:function" (net, codec, image, mask, request) -> events
    guided: bool = True    # takes classifier-free guidance (sampling/guidance.py)


INPAINT_METHODS: dict[str, InpaintMethod] = {m.key: m for m in (
    InpaintMethod("raster", "Raster",
                  "fills in the model's raster order, seeing only what lies above and left "
                  "of each pixel", ".sampling.inpaint:fill_raster"),
    InpaintMethod("resample", "Raster + resampling",
                  "draws K raster fills and keeps one in proportion to how well it agrees "
                  "with the known pixels after the hole", ".sampling.inpaint:fill_resample",
                  # It weighs fills by the model's own likelihood, which guided proposals
                  # would not match.
                  guided=False),
    InpaintMethod("any-order", "Any-order",
                  "sees every known pixel and fills in the order chosen",
                  ".sampling.anyorder:fill_anyorder"),
)}
# Spellings kept for command lines written before the method names were unified.
METHOD_ALIASES = {"anyorder": "any-order"}


@dataclass(frozen=True)
class TrainDefaults:
    """What a fresh or fine-tuned run of this kind starts with (Train tab and --kind)."""

    batch_size: int
    lr: float
    label_dropout: float = 0.1     # share of labels replaced by "no label" (conditional nets)


@dataclass(frozen=True)
class KindSpec:
    kind: str
    title: str             # "Gated PixelCNN"
    article: str           # "a Gated PixelCNN": how a sentence names one
    modality: str          # image | audio | text
    unit: str              # the natural unit of its loss, reported in bits
    config_class: type[ConfigBase]
    codec_class: type
    net_path: str          # "module:Class", imported on first use (torch loads lazily)
    fresh_config: str      # "module:function" (size index 0..2, codec) -> config
    parameter_count: str   # "module:function" (config) -> parameters, by arithmetic
    training: TrainDefaults
    orders: tuple[str, ...] = ()            # image kinds: the orders it can draw in
    inpaint_methods: tuple[str, ...] = ()   # keys of INPAINT_METHODS it runs
    sampler: str = ""      # images: "module:function" (net, codec, n, labels, temperature,
                           #   seed, order, device, naive, compiled, report) -> events
    preview: str = ""      # images: "module:function" (net, codec, n, labels, seed) -> a
                           #   quick ImageResult for training previews
    exact_likelihood: bool = True   # False: its figure is a bound (any-order training)
    parallel: bool = False          # draws several sub-pixels per network call on request
    why_no_inpaint: str = ""        # said when it has no inpaint method
    upscales: bool = False  # can start from a given small image and draw the full size
    stages: int = 1        # passes over the image (depth upscaling: coarse bits, then the rest);
                           #   a later pass sees all of the earlier ones, ahead of it too

    def build(self, config: ConfigBase):
        return load_function(self.net_path)(config)

    @property
    def fixed_order(self) -> str | None:
        """The one order it draws in, or None when it can draw in several."""
        return self.orders[0] if len(self.orders) == 1 else None

    def can_inpaint(self, method: str | None = None) -> bool:
        return bool(self.inpaint_methods) if method is None else method in self.inpaint_methods


def _image(kind, title, article, net, orders, methods, sampler, preview, sizes, training,
           **more) -> KindSpec:
    return KindSpec(kind, title, article, "image", "bits/dim", CONFIG_CLASSES[kind], ImageCodec,
                    net, f".training.sizes:{sizes}_config", f".training.sizes:{sizes}_parameters",
                    training, orders, methods, sampler, preview, **more)


_RASTER_METHODS = ("raster", "resample")
_IMAGE_TRAINING = TrainDefaults(batch_size=16, lr=1e-3)

KINDS: dict[str, KindSpec] = {
    spec.kind: spec for spec in (
        _image("pixelcnn", "Gated PixelCNN", "a PixelCNN", ".nets.pixelcnn:GatedPixelCNN",
               ("raster",), _RASTER_METHODS, ".sampling.image:sample_raster",
               ".sampling.image:generate_images", "pixelcnn", _IMAGE_TRAINING),
        _image("pixelrnn", "PixelRNN (Row LSTM)", "a PixelRNN", ".nets.pixelrnn:PixelRNN",
               ("raster",), _RASTER_METHODS, ".sampling.image:sample_raster",
               ".sampling.image:generate_images", "pixelrnn", _IMAGE_TRAINING),
        _image("anyorder", "Any-order image model", "an any-order model",
               ".nets.anyorder:AnyOrderNet", ORDERS, ("any-order",),
               ".sampling.anyorder:sample_in_order", ".sampling.anyorder:quick_images",
               "anyorder", _IMAGE_TRAINING, exact_likelihood=False, parallel=True),
        # Every training step scores all S*S slices of each image, so a smaller batch costs
        # about what the others' does.
        _image("subscale", "Subscale Pixel Network", "a Subscale Pixel Network",
               ".nets.subscale:SubscaleNet", ("subscale",), (),
               ".sampling.subscale:sample_in_order", ".sampling.subscale:quick_images",
               "subscale", TrainDefaults(batch_size=8, lr=1e-3),
               why_no_inpaint="it draws whole slices in a fixed order, so it cannot fill "
                              "a hole", upscales=True),
        # Two PixelCNNs, one after the other: coarse bits, then the rest over them.
        # Its raster fill runs stage by stage (sampling/depth.py:fill_depth).
        _image("depth-upscale", "Depth-upscaling PixelCNN", "a depth-upscaling PixelCNN",
               ".nets.depth_upscale:DepthUpscaleNet", ("raster",), ("raster",),
               ".sampling.depth:sample_depth", ".sampling.depth:quick_images", "depth",
               _IMAGE_TRAINING, stages=2),
        KindSpec("wavenet", "WaveNet", "a WaveNet", "audio", "bits/sample",
                 CONFIG_CLASSES["wavenet"], MuLawCodec, ".nets.wavenet:WaveNet",
                 ".training.sizes:wavenet_config", ".training.sizes:wavenet_parameters",
                 TrainDefaults(batch_size=4, lr=2e-3, label_dropout=0.0)),
        KindSpec("charlm-lstm", "LSTM language model", "an LSTM language model", "text",
                 "bits/char", CONFIG_CLASSES["charlm-lstm"], CharCodec, ".nets.charlm:CharLSTM",
                 ".training.sizes:lstm_config", ".training.sizes:lstm_parameters",
                 TrainDefaults(batch_size=32, lr=2e-3, label_dropout=0.0)),
        KindSpec("charlm-gpt", "Transformer language model", "a Transformer language model",
                 "text", "bits/char", CONFIG_CLASSES["charlm-gpt"], CharCodec,
                 ".nets.charlm:CharGPT", ".training.sizes:gpt_config",
                 ".training.sizes:gpt_parameters",
                 TrainDefaults(batch_size=32, lr=1e-3, label_dropout=0.0)),
    )
}


def kind_spec(kind: str | None) -> KindSpec:
    try:
        return KINDS[kind or ""]
    except KeyError:
        raise UnknownNameError(f"unknown model kind '{kind}' (known: {', '.join(KINDS)})") \
            from None


def kinds_of(modality: str) -> list[KindSpec]:
    return [spec for spec in KINDS.values() if spec.modality == modality]


def kinds_with_method(method: str) -> list[KindSpec]:
    return [spec for spec in KINDS.values() if method in spec.inpaint_methods]


def inpaint_method(name: str) -> InpaintMethod:
    key = METHOD_ALIASES.get(name, name)
    if key not in INPAINT_METHODS:
        raise UnknownNameError(f"unknown inpainting method '{name}' "
                               f"(known: {', '.join(INPAINT_METHODS)})")
    return INPAINT_METHODS[key]


def method_mismatch(method: str, kind: str | None) -> str | None:
    """Why `method` cannot fill with a model of `kind` (one sentence), or None if it can."""
    spec = KINDS.get(kind or "")
    m = inpaint_method(method)
    if spec is not None and m.key in spec.inpaint_methods:
        return None
    articles = [s.article for s in kinds_with_method(m.key)]
    needs = articles[0] if len(articles) == 1 else \
        ", ".join(articles[:-1]) + " or " + articles[-1]
    if spec is None:
        this = "not an image model"
    elif spec.inpaint_methods:
        this = spec.article
    else:
        this = f"{spec.article}: {spec.why_no_inpaint or 'it cannot fill a hole'}"
    return f"The {m.title.lower()} method needs {needs}; this model is {this}"
