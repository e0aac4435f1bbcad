import numpy as np
import pytest

from app.core.codecs import (
    CharCodec,
    CodecError,
    ImageCodec,
    MuLawCodec,
    codec_from_dict,
)
from app.core.config import (
    CONFIG_CLASSES,
    ConfigError,
    GPTConfig,
    PixelCNNConfig,
    WaveNetConfig,
    config_from_dict,
)


@pytest.mark.parametrize("kind", sorted(CONFIG_CLASSES))
def test_config_json_round_trip(kind):
    config = CONFIG_CLASSES[kind]()
    assert config_from_dict(kind, config.to_dict()) == config


def test_config_rejects_unknown_key_and_wrong_types():
    data = PixelCNNConfig().to_dict()
    with pytest.raises(ConfigError, match="unknown key.*colour"):
        PixelCNNConfig.from_dict(dict(data, colour=3))
    with pytest.raises(ConfigError, match="'hidden' must be an integer"):
        PixelCNNConfig.from_dict(dict(data, hidden="64"))
    with pytest.raises(ConfigError, match="odd"):
        PixelCNNConfig.from_dict(dict(data, kernel=4))
    with pytest.raises(ConfigError, match="divisible"):
        GPTConfig.from_dict(dict(GPTConfig().to_dict(), heads=3))
    with pytest.raises(ConfigError, match="dilations"):
        WaveNetConfig.from_dict(dict(WaveNetConfig().to_dict(), dilations=[]))
    with pytest.raises(ConfigError, match="unknown model kind"):
        config_from_dict("diffusion", {})


def test_image_codec_round_trip_and_levels():
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    full = ImageCodec(16, 16, 1, 256)
    assert np.array_equal(full.decode(full.encode(pixels)), pixels)
    binary = ImageCodec(16, 16, 1, 2)
    levels = binary.encode(pixels)
    assert set(np.unique(levels)) == {0, 1}
    assert set(np.unique(binary.decode(levels))) == {0, 255}
    with pytest.raises(CodecError, match="expected images of shape 16x16x1"):
        full.encode(np.zeros((1, 8, 8, 1), np.uint8))


def test_mulaw_round_trip_is_close_and_silence_is_zero():
    codec = MuLawCodec(8000)
    x = np.linspace(-1, 1, 1001).astype(np.float32)
    y = codec.decode(codec.encode(x))
    # mu-law steps are finest near zero and coarsest near full scale (~3% of 1.0).
    assert np.max(np.abs(y - x)) < 0.035
    assert np.max(np.abs(y - x)[np.abs(x) < 0.01]) < 1e-3
    assert abs(codec.decode(np.array([codec.silence]))[0]) < 1e-3


def test_char_codec_known_and_unknown_characters():
    codec = CharCodec.from_text("hello world")
    assert codec.decode(codec.encode("hello")) == "hello"
    with pytest.raises(CodecError, match="'z' is not in the model's vocabulary"):
        codec.encode("zoo")
    lenient = CharCodec.from_text("hello", unknown="?")
    assert lenient.decode(lenient.encode("hez")) == "he?"


@pytest.mark.parametrize("codec", [ImageCodec(4, 5, 3, 16, ["a", "b"]), MuLawCodec(16000, 256),
                                   CharCodec("abc\n")])
def test_codec_dict_round_trip(codec):
    assert codec_from_dict(codec.to_dict()) == codec


def test_codec_rejects_unknown_keys():
    data = dict(MuLawCodec(8000).to_dict(), bits=8)
    with pytest.raises(CodecError, match="unknown key.*bits"):
        codec_from_dict(data)


@pytest.mark.parametrize("kind", ["pixelcnn", "pixelrnn", "anyorder", "wavenet",
                                  "charlm-lstm", "charlm-gpt"])
@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_parameter_count_arithmetic_matches_the_built_net(kind, size):
    from app.core.codecs import CharCodec, ImageCodec, MuLawCodec
    from app.core.registry import kind_spec
    from app.core.training.sizes import count_parameters, fresh_config

    image = ImageCodec(28, 28, 3, 256, ["a", "b"])
    codec = {"pixelcnn": image, "pixelrnn": ImageCodec(28, 28, 1, 256, ["a", "b"]),
             "anyorder": image, "wavenet": MuLawCodec(8000),
             "charlm-lstm": CharCodec("abc"), "charlm-gpt": CharCodec("abcd")}[kind]
    config = fresh_config(kind, size, codec)
    net = kind_spec(kind).build(config)
    assert count_parameters(config) == sum(p.numel() for p in net.parameters())
