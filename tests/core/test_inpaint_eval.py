"""`chainrule eval-inpaint` and what it stands on: batched fills of different images, the
raster model's hidden-pixel NLL, the judge classifier kept out of the model list, and a
report with every figure the issue asks for, on tiny models and data made here."""
import math

import numpy as np
import pytest
import torch

from app.core.inpaint_eval import (
    METHODS,
    InpaintEvalSetup,
    batch_masks,
    evaluate,
    fill,
    fixed_subset,
)
from app.core.masks import MASK_FAMILIES
from app.core.sampling.anyorder import hidden_nll
from app.core.sampling.inpaint import known_log_likelihood, raster_hidden_nll
from tests.conftest import make_bundle


class Bundle:
    def __init__(self, kind, seed=0):
        self.net, self.codec = make_bundle(kind, seed)
        self.name, self.kind = kind, kind


def images_and_labels(count, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 16, (count, 1, 6, 5)), rng.integers(0, 3, count)


def tiny_setup(**overrides):
    from app.core.judge import classifier

    torch.manual_seed(0)
    judge = classifier(3, 1, 6, 5).eval()
    values = dict(raster=Bundle("pixelcnn"), anyorder=Bundle("anyorder"), judge=judge,
                  grey_level=5, candidates=3, order="nearest", batch=4, seed=0)
    values.update(overrides)
    return InpaintEvalSetup(**values)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_fills_a_batch_of_different_images_keeping_each_ones_known_pixels(method):
    setup = tiny_setup()
    images, _ = images_and_labels(5)
    mask = MASK_FAMILIES["strokes"](6, 5, np.random.default_rng(1))
    done = fill(setup, method, images, mask, seed=3)
    assert done.shape == images.shape
    assert np.array_equal(done[:, :, ~mask], images[:, :, ~mask])
    assert ((done >= 0) & (done < 16)).all()
    if method == "grey":
        assert (done[:, :, mask] == 5).all()


def test_raster_hidden_and_known_likelihoods_add_up_to_the_whole_image():
    net, codec = make_bundle("pixelcnn")
    images, _ = images_and_labels(4, seed=2)
    mask = MASK_FAMILIES["centre"](6, 5, None)
    hidden = raster_hidden_nll(net, images, mask)
    known = -known_log_likelihood(net, images, mask, None, torch.device("cpu")).numpy()
    everything = raster_hidden_nll(net, images, np.ones((6, 5), bool))
    assert np.allclose(hidden + known, everything, rtol=1e-5)
    assert (hidden > 0).all()


def test_any_order_nll_of_a_whole_image_in_raster_order_is_a_proper_likelihood():
    # Summed over all 16 values of one hidden pixel, exp(-NLL) must be 1.
    net, _ = make_bundle("anyorder")
    image, _ = images_and_labels(1, seed=4)
    mask = np.zeros((6, 5), bool)
    mask[2, 3] = True
    candidates = np.repeat(image, 16, axis=0)
    candidates[:, 0, 2, 3] = np.arange(16)
    total = np.exp(-hidden_nll(net, candidates, mask, "raster")).sum()
    assert math.isclose(total, 1.0, rel_tol=1e-4)


def test_the_subset_and_the_stroke_masks_are_fixed_by_the_seed():
    first = fixed_subset(10_000, 1000, seed=0)
    assert len(first) == len(set(first)) == 1000 and (np.diff(first) > 0).all()
    assert np.array_equal(first, fixed_subset(10_000, 1000, seed=0))
    assert not np.array_equal(first, fixed_subset(10_000, 1000, seed=1))
    assert len(fixed_subset(50, 1000)) == 50
    strokes = batch_masks("strokes", 28, 28, 10, 4, seed=0)
    assert [p for p, _ in strokes] == [slice(0, 4), slice(4, 8), slice(8, 10)]
    assert not np.array_equal(strokes[0][1], strokes[1][1])
    again = batch_masks("strokes", 28, 28, 10, 4, seed=0)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(strokes, again))
    assert all(0.2 < m.mean() < 0.35 for _, m in strokes)
    centre = batch_masks("centre", 28, 28, 10, 4, seed=0)
    assert all(m.sum() == 14 * 14 for _, m in centre)


def test_the_report_has_every_figure_for_every_family():
    setup = tiny_setup()
    images, labels = images_and_labels(6)
    lines = []
    report = evaluate(setup, images, labels, progress=lines.append)
    assert set(report["families"]) == set(MASK_FAMILIES)
    for family, figures in report["families"].items():
        nll = figures["nll_bits_per_dim"]
        assert set(nll) == {"raster", "anyorder"}
        # Untrained 16-level models: about log2(16) = 4 bits per hidden value.
        assert all(2.0 < v < 8.0 for v in nll.values()), (family, nll)
        assert set(figures["class_accuracy"]) == set(METHODS)
        assert all(0.0 <= a <= 1.0 for a in figures["class_accuracy"].values())
        assert 0 < figures["hidden_fraction"] < 1
    assert set(report["fill_10x10_seconds"]) == {"raster", "resample", "anyorder"}
    assert all(t > 0 for t in report["fill_10x10_seconds"].values())
    assert any("centre: 6/6 images" in line for line in lines)


def test_the_judge_is_saved_outside_the_model_folders_and_reloaded(tmp_path):
    from app.core.judge import accuracy, judge_path, load_or_train_judge
    from app.core.paths import list_models

    images, labels = images_and_labels(64)
    first = load_or_train_judge("tiny", images, labels, 3, 15, epochs=1)
    assert judge_path("tiny").is_file()
    again = load_or_train_judge("tiny", images, labels, 3, 15, epochs=1)
    for a, b in zip(first.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)
    assert 0.0 <= accuracy(again, images, labels, 15) <= 1.0
    assert all("classifier" not in name for name, _, _ in list_models())
    judge_path("tiny").write_bytes(b"damaged")                 # retrained, not a crash
    assert load_or_train_judge("tiny", images, labels, 3, 15, epochs=1) is not None


@pytest.fixture
def tiny_data(monkeypatch):
    """`--data fashion` answered by 6 x 5 random images so the CLI runs on tiny models."""
    from app.core.codecs import ImageCodec
    from app.core.training import presets
    from app.core.training.datasets import ImageData

    codec = ImageCodec(6, 5, 1, 16, ["class0", "class1", "class2"])
    (train_x, train_y), (test_x, test_y) = images_and_labels(64, 1), images_and_labels(12, 2)
    train = ImageData(train_x.astype(np.uint8), train_y)
    test = ImageData(test_x.astype(np.uint8), test_y)
    data = presets.PreparedData(codec, train, test, test, "tiny test set", {})
    real = presets.get_preset

    def fake(name):
        preset = real(name)
        return presets.Preset(preset.name, preset.description, preset.make_config,
                              lambda: data, preset.settings)

    monkeypatch.setattr(presets, "get_preset", fake)


def test_cli_eval_inpaint_prints_and_writes_the_report(tmp_path, save_tiny, tiny_data, capsys):
    import json

    from app.cli import main

    out = tmp_path / "report.json"
    code = main(["eval-inpaint", "--raster-model", str(save_tiny("pixelcnn")),
                 "--anyorder-model", str(save_tiny("anyorder")), "--images", "8",
                 "--families", "centre,bottom", "--candidates", "2", "--batch", "4",
                 "--out", str(out)])
    printed = json.loads(capsys.readouterr().out)
    assert code == 0 and printed == json.loads(out.read_text())
    assert printed["images"] == 8 and "fixed subset" in printed["data"]
    assert set(printed["families"]) == {"centre", "bottom"}


@pytest.mark.parametrize("args, expected", [
    (["--raster-model", "ANY"], "needs one of kind 'pixelcnn' or 'pixelrnn'"),
    (["--families", "centre,moon"], "unknown mask family moon"),
])
def test_cli_eval_inpaint_refuses_bad_arguments_in_one_line(args, expected, tmp_path, save_tiny,
                                                            tiny_data, capsys):
    from app.cli import main

    anyorder = str(save_tiny("anyorder"))
    args = [anyorder if a == "ANY" else a for a in args]
    code = main(["eval-inpaint", "--anyorder-model", anyorder,
                 "--raster-model", str(save_tiny("pixelcnn")), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and expected in err[-1] and err[-1].startswith("chainrule: error:")
