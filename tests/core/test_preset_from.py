"""`chainrule train --preset P --from CKPT`: a preset's recipe continuing a checkpoint, not a
fresh net (the flag was once ignored for presets without a word)."""
import json

import numpy as np
import pytest
import torch

from app.core.checkpoint import load_bundle, save_bundle
from tests.conftest import make_bundle, tiny_config


@pytest.fixture
def tiny_preset(monkeypatch):
    """A preset 'tiny-images' that trains a tiny PixelCNN on random 6 x 5 images."""
    from app.core.training import presets
    from app.core.training.datasets import ImageData
    from app.core.training.trainer import TrainSettings

    _, codec = make_bundle("pixelcnn")
    rng = np.random.default_rng(0)
    images = rng.integers(0, codec.levels, (24, codec.channels, codec.height, codec.width))
    data = ImageData(images.astype(np.uint8), np.arange(24) % len(codec.class_names))
    prepared = presets.PreparedData(codec, data, data, data, "the training images", {})
    settings = TrainSettings(steps=3, batch_size=4, lr=1e-3, warmup=1, eval_every=3)
    monkeypatch.setitem(presets.PRESETS, "tiny-images", presets.Preset(
        "tiny-images", "tiny test preset", lambda _: tiny_config("pixelcnn"),
        lambda: prepared, settings))
    return codec


def _weights(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def test_a_preset_run_from_a_checkpoint_starts_from_its_weights(tiny_preset, tmp_path):
    from app.core.training.jobs import job_for_preset
    from app.core.training.runner import build_net

    net, codec = make_bundle("pixelcnn", seed=7)
    base = save_bundle(tmp_path / "base.safetensors", net, codec, {"description": "base"})
    fresh = build_net(job_for_preset("tiny-images"))
    job = job_for_preset("tiny-images", init_from=str(base))
    start = build_net(job)
    assert all(torch.equal(start.state_dict()[k], v) for k, v in _weights(net).items())
    assert not all(torch.equal(fresh.state_dict()[k], v) for k, v in _weights(net).items())
    assert job.provenance["fine_tuned_from"]["path"] == load_bundle(base).path
    assert job.provenance["command"] == f"chainrule train --preset tiny-images --from {base}"
    assert job.source == {"preset": "tiny-images", "from": str(base)}


def test_cli_preset_from_trains_on_and_resume_keeps_it(tiny_preset, tmp_path, capsys):
    from app.cli import main
    from app.core.training.runs import runs_dir

    net, codec = make_bundle("pixelcnn", seed=7)
    base = save_bundle(tmp_path / "base.safetensors", net, codec, {"description": "base"})
    out = tmp_path / "longer.safetensors"
    assert main(["train", "--preset", "tiny-images", "--from", str(base), "--out", str(out),
                 "--quiet"]) == 0
    trained = load_bundle(out)
    assert trained.provenance["fine_tuned_from"]["name"] == "base"
    assert "--from" in trained.provenance["command"]
    (run_dir,) = [p.parent for p in runs_dir().glob("*/run.json")]
    info = json.loads((run_dir / "run.json").read_text())
    assert info["source"]["from"] == str(base)
    # Resuming rebuilds the job from the run folder: the same base, the same command.
    again = tmp_path / "again.safetensors"
    assert main(["train", "--resume", str(run_dir), "--steps", "4", "--out", str(again),
                 "--quiet"]) == 0
    assert "--from" in load_bundle(again).provenance["command"]


@pytest.mark.parametrize("other, words", [("charlm-lstm", "a charlm-lstm model"),
                                          ("pixelcnn-wide", "encoded differently")])
def test_a_checkpoint_of_another_kind_or_data_is_refused_in_one_line(
        tiny_preset, tmp_path, capsys, other, words):
    from app.cli import main

    if other == "pixelcnn-wide":
        net, codec = make_bundle("pixelcnn", width=7)      # another image size
    else:
        net, codec = make_bundle(other)
    base = save_bundle(tmp_path / "other.safetensors", net, codec, {"description": "other"})
    out = tmp_path / "never.safetensors"
    assert main(["train", "--preset", "tiny-images", "--from", str(base), "--out", str(out),
                 "--quiet"]) != 0
    err = capsys.readouterr().err.strip()
    assert words in err and "--from" in err and len(err.splitlines()) == 1
    assert not out.exists()
