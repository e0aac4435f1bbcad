"""`chainrule eval --all-images`: every bundled image model in one table."""
import json

import numpy as np

from app.core import paths
from app.core.model_table import bundled_image_models, format_table, score_models
from app.core.training import presets
from app.core.training.datasets import ImageData
from app.core.training.presets import PreparedData, Preset
from app.core.training.trainer import TrainSettings, evaluate


def tiny_bundled(tmp_path, monkeypatch, save_tiny):
    """A bundled-models folder with two tiny image models (one with a preset) and a text one."""
    folder = tmp_path / "bundled"
    folder.mkdir()
    for kind, name in (("pixelcnn", "digits"), ("anyorder", "loose"), ("charlm-lstm", "bard")):
        save_tiny(kind, name).rename(folder / f"{name}.safetensors")
    monkeypatch.setattr(paths, "bundled_models_dir", lambda: folder)
    rng = np.random.default_rng(0)
    data = ImageData(rng.integers(0, 16, (12, 1, 6, 5)).astype(np.uint8), rng.integers(0, 3, 12))
    reads = []

    def prepare():
        reads.append(1)
        from tests.conftest import make_bundle

        codec = make_bundle("pixelcnn")[1]
        return PreparedData(codec, data, data, data, "12 test images", {})

    for name in ("digits", "loose"):
        monkeypatch.setitem(presets.PRESETS, name,
                            Preset(name, "tiny", lambda d: None, prepare, TrainSettings()))
    return folder, data, reads


def test_the_table_scores_each_image_model_on_its_presets_data(tmp_path, monkeypatch,
                                                               save_tiny):
    folder, data, reads = tiny_bundled(tmp_path, monkeypatch, save_tiny)
    models = bundled_image_models()
    assert [name for name, _ in models] == ["digits", "loose"]       # not the text model
    rows = list(score_models(models, "cpu", batch_size=5))
    assert len(reads) == 1                                           # one data set, read once
    from app.core.checkpoint import load_bundle

    digits = load_bundle(folder / "digits.safetensors")
    assert rows[0]["bits_per_dim"] == round(evaluate(digits.net, data, 5, "cpu"), 4)
    assert rows[0]["parameters"] == digits.parameters and not rows[0]["bound"]
    assert rows[1]["bound"] and rows[1]["kind"] == "anyorder"
    assert all(r["sample_16_s"] > 0 and r["data"] == "12 test images" for r in rows)
    table = format_table(rows)
    assert table.splitlines()[2].startswith(f"| digits | pixelcnn | {digits.parameters:,} |")
    assert "(bound)" in table.splitlines()[3]


def test_the_cli_prints_the_table_or_json(tmp_path, monkeypatch, save_tiny, capsys):
    from app.cli import main

    tiny_bundled(tmp_path, monkeypatch, save_tiny)
    assert main(["eval", "--all-images", "--limit", "4", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in report["models"]] == ["digits", "loose"]
    assert report["models"][0]["data"] == "first 4 of 12 test images"
    assert main(["eval", "--all-images", "--only", "loose", "--limit", "2", "--json"]) == 0
    assert [r["model"] for r in json.loads(capsys.readouterr().out)["models"]] == ["loose"]
    assert main(["eval", "--all-images", "--only", "nope"]) == 2
    assert "not a bundled image model: nope" in capsys.readouterr().err
    assert main(["eval", "--model", "digits"]) == 2
    assert "--model needs --data" in capsys.readouterr().err
