"""The trained models in models/: present, small, self-describing, and they generate."""
import itertools

import pytest

from app.core.checkpoint import load_bundle, read_metadata
from app.core.paths import bundled_models_dir
from app.core.registry import KINDS
from app.core.sampling.audio import sample_audio
from app.core.sampling.image import sample_images
from app.core.sampling.text import sample_text

BUNDLED = {"mnist": "pixelcnn", "fashion": "pixelcnn", "speech": "wavenet",
           "shakespeare": "charlm-lstm", "mnist-pixelrnn": "pixelrnn",
           "fashion-subscale": "subscale", "fashion-pixelrnn": "pixelrnn", "emoji": "pixelcnn",
           "emoji-upscale": "depth-upscale"}


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_model_is_small_and_self_describing(name):
    path = bundled_models_dir() / f"{name}.safetensors"
    assert path.is_file(), f"{path} is missing"
    assert path.stat().st_size <= 10 * 1024 * 1024
    meta = read_metadata(path)
    assert meta["kind"] == BUNDLED[name]
    assert meta["name"] == name         # not the name of the run that made it
    prov = meta["provenance"]
    # The command that made it: its preset, and any setting it changed, as real flags.
    words = prov["command"].split()
    assert words[:4] == ["chainrule", "train", "--preset", name]
    from app.cli import build_parser

    assert build_parser().parse_args(words[1:]).preset == name
    for command in prov.get("commands", []):    # every step of a model trained in stages
        assert build_parser().parse_args(command.split()[1:]).preset == name
    for key in ("source", "package", "license"):
        assert prov["data"][key]
    assert prov["steps"] > 0 and prov["train_wall_time_s"] > 0 and prov["device"]
    assert prov["metrics"]["unit"] == KINDS[meta["kind"]].unit
    assert 0 < prov["metrics"]["heldout"] < 8


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_model_starts_generating(name):
    bundle = load_bundle(bundled_models_dir() / f"{name}.safetensors")
    modality = KINDS[bundle.kind].modality
    if modality == "image":
        events = sample_images(bundle.net, bundle.codec, n=2, labels=[3, None], seed=0)
    elif modality == "audio":
        events = sample_audio(bundle.net, bundle.codec, 4000, seed=0, chunk=100)
    else:
        events = sample_text(bundle.net, bundle.codec, "ROMEO:", length=40, seed=0)
    assert len(list(itertools.islice(events, 40))) == 40   # stop early: the consumer decides
