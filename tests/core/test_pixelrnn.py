"""PixelRNN Row LSTM: the three standard net tests, sampling through its own incremental state,
inpainting, config strictness and a short training run."""
import dataclasses

import numpy as np
import pytest
import torch

from app.core.checkpoint import load_bundle, save_bundle
from app.core.config import ConfigError, PixelRNNConfig, config_from_dict
from app.core.sampling.events import ImageResult, PixelStep
from app.core.sampling.image import generate_images, sample_images
from app.core.sampling.inpaint import inpaint_raster, inpaint_resample
from app.core.training.datasets import ImageData
from app.core.training.presets import PreparedData
from app.core.training.runner import FinalReport, TrainJob, run_job
from app.core.training.sizes import SIZES, count_parameters, fresh_config
from app.core.training.trainer import TrainSettings, evaluate
from tests.conftest import make_bundle
from tests.core.test_nets import pixel_input_grads

VARIANTS = [dict(), dict(num_classes=0), dict(position_bias=False, layers=3),
            dict(levels=2, num_classes=0)]


def busy_net(**overrides):
    """A tiny net whose position biases are not zero, so they are exercised too."""
    net, codec = make_bundle("pixelrnn", **overrides)
    with torch.no_grad():
        for layer in net.layers:
            if layer.rows is not None:
                layer.rows.normal_()
                layer.cols.normal_()
    return net, codec


@pytest.mark.parametrize("variant", VARIANTS)
def test_causal_in_raster_order_including_the_current_pixel(variant):
    net, _ = busy_net(**variant)
    cfg = net.config
    x = torch.randint(0, cfg.levels, (1, 1, cfg.height, cfg.width))
    grads = pixel_input_grads(net, x, None).abs()[0, :, :, 0]            # (H, W, H, W)
    for r in range(cfg.height):
        for c in range(cfg.width):
            later = torch.zeros(cfg.height, cfg.width, dtype=torch.bool)
            later.view(-1)[r * cfg.width + c:] = True
            assert torch.all(grads[r, c][later] == 0), f"({r},{c}) sees a later pixel"
    # The left neighbour, the pixel above, and (through the first 7x7 layer) above-right.
    assert grads[3, 2, 3, 1] > 0 and grads[3, 2, 2, 2] > 0 and grads[3, 2, 2, 4] > 0
    # Three rows up and beyond the first layer's reach: only the recurrence carries it.
    assert grads[5, 2, 0, 2] > 0


def stepped_logits(net, labels, x=None, b=3, seed=0):
    """Draw (or replay `x`) through the incremental state: (x, logits (B, L, 1, H, W))."""
    cfg = net.config
    gen = torch.Generator().manual_seed(seed)
    drawn = torch.zeros(b, 1, cfg.height, cfg.width, dtype=torch.long) if x is None else x
    stepped = torch.zeros(b, cfg.levels, 1, cfg.height, cfg.width)
    with torch.no_grad():
        cache = net.begin(b, labels)
        for r in range(cfg.height):
            for col in range(cfg.width):
                logits = net.step_logits(cache, r, col, 0)
                stepped[:, :, 0, r, col] = logits
                if x is None:
                    drawn[:, 0, r, col] = torch.multinomial(logits.softmax(-1), 1,
                                                            generator=gen)[:, 0]
                net.set_value(cache, r, col, 0, drawn[:, 0, r, col])
    return drawn, stepped


@pytest.mark.parametrize("variant", VARIANTS)
def test_incremental_step_equals_full_forward_everywhere(variant):
    net, _ = busy_net(**variant)
    classes = net.config.num_classes
    for labels in ([None, torch.tensor([0, 2, classes])] if classes else [None]):
        x, stepped = stepped_logits(net, labels)
        with torch.no_grad():
            full = net(x, labels)
        assert torch.allclose(full, stepped, atol=1e-5, rtol=0), \
            (full - stepped).abs().max().item()


def test_rows_recorded_without_asking_for_logits_still_carry_the_right_state():
    """Inpainting records known pixels without stepping them: the row end catches up."""
    net, _ = busy_net()
    cfg = net.config
    x = torch.randint(0, cfg.levels, (2, 1, cfg.height, cfg.width))
    labels = torch.tensor([1, 0])
    with torch.no_grad():
        full = net(x, labels)
        cache = net.begin(2, labels)
        for r in range(cfg.height):
            for col in range(cfg.width):
                if (r + col) % 3 == 0:                 # ask for only some positions
                    got = net.step_logits(cache, r, col, 0)
                    assert torch.allclose(got, full[:, :, 0, r, col], atol=1e-5, rtol=0)
                net.set_value(cache, r, col, 0, x[:, 0, r, col])
        with pytest.raises(ValueError, match="in order"):
            net.step_logits(net.begin(2, labels), 1, 0, 0)


@pytest.mark.parametrize("half", [False, True])
def test_save_load_round_trip_gives_identical_logits(half, tmp_path):
    net, codec = busy_net()
    path = save_bundle(tmp_path / "r.safetensors", net, codec, {"note": "x"}, half=half)
    bundle = load_bundle(path)
    assert bundle.kind == "pixelrnn" and bundle.config == net.config and bundle.codec == codec
    if half:
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(p.half().float())
    x = torch.randint(0, 16, (2, 1, 6, 5))
    with torch.no_grad():
        assert torch.equal(net(x), bundle.net(x))
        assert torch.equal(net(x, torch.tensor([0, 1])), bundle.net(x, torch.tensor([0, 1])))


@pytest.mark.parametrize("labels", [None, [0, 1, None]])
def test_sampling_through_the_state_and_naively_draws_the_same_images(labels):
    net, codec = busy_net()
    events = list(sample_images(net, codec, 3, labels, seed=7))
    steps = [e for e in events if isinstance(e, PixelStep)]
    assert len(steps) == 30 and (steps[4].row, steps[4].col) == (0, 4)
    fast = events[-1]
    naive = generate_images(net, codec, 3, labels, seed=7, naive=True)
    uncompiled = generate_images(net, codec, 3, labels, seed=7, compiled=False)
    assert isinstance(fast, ImageResult)
    assert np.array_equal(fast.levels, naive.levels)
    assert np.array_equal(fast.levels, uncompiled.levels)
    with pytest.raises(ValueError, match="raster order only"):
        list(sample_images(net, codec, 1, order="random"))


def test_raster_inpainting_keeps_known_pixels_and_matches_the_naive_path():
    net, codec = busy_net()
    image = np.random.default_rng(0).integers(0, 16, (1, 6, 5))
    mask = np.zeros((6, 5), bool)
    mask[2:4, 1:3] = True
    fast = list(inpaint_raster(net, codec, image, mask, n=2, label=1, seed=3))[-1]
    naive = list(inpaint_raster(net, codec, image, mask, n=2, label=1, seed=3, naive=True))[-1]
    assert np.array_equal(fast.levels, naive.levels)
    assert np.array_equal(fast.levels[:, :, ~mask], np.repeat(image[None], 2, 0)[:, :, ~mask])
    picked = list(inpaint_resample(net, codec, image, mask, n=1, candidates=3, seed=3))[-1]
    assert picked.weights.shape == (1, 3)


def test_config_is_strict():
    cfg = PixelRNNConfig(hidden=16, layers=2, num_classes=10, position_bias=True)
    assert config_from_dict("pixelrnn", cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown key"):
        config_from_dict("pixelrnn", {**cfg.to_dict(), "kernel": 3})
    with pytest.raises(ConfigError, match="'hidden' must be an integer"):
        config_from_dict("pixelrnn", {**cfg.to_dict(), "hidden": 16.0})
    with pytest.raises(ConfigError, match="grey images only"):
        config_from_dict("pixelrnn", {**cfg.to_dict(), "channels": 3})
    with pytest.raises(ConfigError, match="odd"):
        config_from_dict("pixelrnn", {**cfg.to_dict(), "first_kernel": 4})
    with pytest.raises(ConfigError, match="'layers' must be positive"):
        config_from_dict("pixelrnn", {**cfg.to_dict(), "layers": 0})


@pytest.mark.parametrize("size", SIZES)
def test_fresh_sizes_and_parameter_estimate(size):
    from app.core.codecs import ImageCodec
    from app.core.registry import kind_spec

    config = fresh_config("pixelrnn", size, ImageCodec(28, 28, 1, 256, ["a", "b"]))
    net = kind_spec("pixelrnn").build(config)
    assert count_parameters(config) == sum(p.numel() for p in net.parameters())
    small = dataclasses.replace(config, num_classes=0, position_bias=False)
    assert count_parameters(small) == sum(p.numel() for p in kind_spec("pixelrnn")
                                          .build(small).parameters())


def test_a_short_training_job_lowers_the_held_out_loss(tmp_path):
    net, codec = make_bundle("pixelrnn")
    rng = np.random.default_rng(0)
    # Easy data: each class is a constant image, so there is a lot to learn quickly.
    labels = rng.integers(0, 3, 24)
    images = ImageData((np.repeat(labels, 30).reshape(24, 1, 6, 5) * 5).astype(np.uint8),
                       labels)
    data = PreparedData(codec, images, images, images, "all 24", {"source": "test"})
    before = evaluate(net, images, 8, "cpu")
    job = TrainJob(data, net.config, TrainSettings(steps=40, batch_size=8, lr=1e-2, warmup=5,
                                                   eval_every=20),
                   str(tmp_path / "t.safetensors"))
    report = list(run_job(job))[-1]
    assert isinstance(report, FinalReport) and report.unit == "bits/dim"
    assert report.heldout_bits < before / 2
    assert load_bundle(report.path).kind == "pixelrnn"


def test_cli_inpaints_with_a_pixelrnn_and_refuses_the_any_order_method(save_tiny, tmp_path,
                                                                       capsys):
    from PIL import Image

    from app.cli import main
    from app.core.masks import save_mask_png

    model = str(save_tiny("pixelrnn"))
    Image.fromarray(np.full((6, 5), 200, np.uint8)).save(tmp_path / "in.png")
    mask = np.zeros((6, 5), bool)
    mask[3:, 2:] = True
    save_mask_png(tmp_path / "mask.png", mask)
    common = ["--model", model, "--image", str(tmp_path / "in.png"), "--mask",
              str(tmp_path / "mask.png"), "--scale", "1", "--seed", "2", "--n", "2"]
    for method in ("raster", "resample"):
        assert main(["inpaint", "--method", method, "--out", str(tmp_path / "f.png"),
                     *common]) == 0
        filled = np.asarray(Image.open(tmp_path / "f.png"))
        assert filled.shape[:2] == (6 + 4, 2 * 5 + 6)          # a 1 x 2 grid, padded
    capsys.readouterr()
    assert main(["inpaint", "--method", "anyorder", "--out", str(tmp_path / "x.png"),
                 *common]) == 2
    assert "needs an any-order model" in capsys.readouterr().err


def test_cli_trains_a_fresh_pixelrnn_on_an_image_folder(tmp_path, capsys):
    from PIL import Image

    from app.cli import main

    for name, value in (("zero", 0), ("one", 255)):
        (tmp_path / "digits" / name).mkdir(parents=True)
        for i in range(4):
            Image.new("L", (28, 28), value).save(tmp_path / "digits" / name / f"{i}.png")
    out = tmp_path / "mine.safetensors"
    assert main(["train", "--kind", "pixelrnn", "--data", str(tmp_path / "digits"), "--steps",
                 "2", "--batch-size", "2", "--out", str(out), "--quiet"]) == 0
    bundle = load_bundle(out)
    assert bundle.kind == "pixelrnn" and bundle.codec.class_names == ["one", "zero"]
    assert bundle.config == fresh_config("pixelrnn", "small", bundle.codec)


def test_a_colour_codec_gets_a_clear_error_for_a_fresh_pixelrnn():
    from app.core.codecs import ImageCodec

    with pytest.raises(ConfigError, match="grey images only"):
        fresh_config("pixelrnn", "small", ImageCodec(28, 28, 3, 256))
