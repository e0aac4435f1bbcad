"""The Subscale Pixel Network: causal in subscale order, sampling sees exactly what training
sees, files round-trip, seeded sampling repeats and starts on the coarse grid, the config is
strict, training learns; and the any-order model's "subscale" order."""
import dataclasses

import numpy as np
import pytest
import torch

from app.core.checkpoint import load_bundle, save_bundle
from app.core.codecs import ImageCodec
from app.core.config import ConfigError, SubscaleConfig, config_from_dict
from app.core.nets.subscale import (
    SubscaleNet,
    from_slices,
    image_slices,
    slices_image,
    to_slices,
)
from app.core.sampling.events import ImageResult, PixelStep, Stage
from app.core.sampling.image import sample_images
from app.core.sampling.orders import fill_order, subscale_order
from app.core.sampling.subscale import pixel_logits
from app.core.training.datasets import ImageData
from app.core.training.sizes import count_parameters, fresh_config
from app.core.training.trainer import TrainSettings, train


def tiny(scale=2, size=8, classes=3, channels=1, **overrides):
    config = SubscaleConfig(height=size, width=size, channels=channels, levels=16, scale=scale,
                            context_hidden=8, context_blocks=2, decoder_hidden=6 * channels,
                            decoder_layers=2, output_hidden=16, num_classes=classes)
    config = dataclasses.replace(config, **overrides)
    torch.manual_seed(0)
    net = SubscaleNet(config).eval()
    codec = ImageCodec(config.height, config.width, channels, config.levels,
                       [f"c{i}" for i in range(classes)])
    return net, codec


SHAPES = [(2, 1), (4, 1), (2, 3)]           # (scale, channels): grey at both scales, colour


def subscale_positions(size, scale):
    """(row, col) of every pixel, in the order the net generates them."""
    cells = np.argwhere(np.ones((size, size), bool))
    return [tuple(map(int, rc)) for rc in subscale_order(cells, scale)]


def test_slices_are_the_interleaved_grids():
    colour = torch.arange(2 * 3 * 64).view(2, 3, 8, 8)
    assert image_slices(colour, 2)[1, 3, 2, 1, 0] == colour[1, 2, 1 + 2 * 1, 1 + 2 * 0]
    x = torch.arange(64).view(1, 8, 8)
    slices = to_slices(x, 4)                                           # (1, 16, 2, 2)
    assert slices[0, 1 * 4 + 3, 1, 0] == x[0, 1 + 4, 3]
    assert torch.equal(from_slices(slices, 4), x)


@pytest.mark.parametrize("scale, channels", SHAPES)
def test_each_pixel_depends_only_on_pixels_before_it_in_subscale_order(scale, channels):
    net, codec = tiny(scale, channels=channels)
    order = subscale_positions(8, scale)
    # Sub-pixels in the chain's order: pixels in subscale order, R -> G -> B in each.
    chain = [(r, c, ch) for r, c in order for ch in range(channels)]
    x = torch.randint(0, 16, (1, channels, 8, 8), generator=torch.Generator().manual_seed(1))
    y = torch.tensor([1])
    for t in (0, 1, 5, len(chain) // 2, len(chain) - 1):
        row, col, channel = chain[t]
        scaled = x.float().requires_grad_()
        # The net takes integer levels; feed it a differentiable stand-in for them.
        logits = _logits_from_float(net, scaled, y)[0, :, channel, row, col]
        (grad,) = torch.autograd.grad(logits.square().sum(), scaled)
        assert all(grad[0, ch, r, c] == 0 for r, c, ch in chain[t:]), t
        if t:
            assert grad[0].abs().sum() > 0
    if channels == 3:       # B sees R and G of its own pixel
        row, col = order[len(order) // 2]
        scaled = x.float().requires_grad_()
        logits = _logits_from_float(net, scaled, y)[0, :, 2, row, col]
        (grad,) = torch.autograd.grad(logits.square().sum(), scaled)
        assert grad[0, 0, row, col] != 0 and grad[0, 1, row, col] != 0


def _logits_from_float(net, x, y):
    """net.forward with `scale_input` applied to a float tensor, so gradients reach x."""
    original = net.scale_input
    net.scale_input = lambda v: v * (2.0 / (net.config.levels - 1)) - 1.0
    try:
        return net(x, y)
    finally:
        net.scale_input = original


@pytest.mark.parametrize("scale, channels", SHAPES)
def test_sampler_logits_equal_the_training_forward(scale, channels):
    net, codec = tiny(scale, channels=channels)
    x = torch.randint(0, 16, (2, channels, 8, 8), generator=torch.Generator().manual_seed(2))
    y = torch.tensor([0, 3])                                            # a class, "no label"
    with torch.no_grad():
        full = net(x, y)                                                # (2, L, C, 8, 8)
        slices = image_slices(x, scale)                                 # (2, K, C, h, w)
        assert torch.equal(slices_image(slices, scale), x)
        for k in range(scale * scale):
            bias = net.decode_bias(net.context(slices, k, y), y)
            a, b = divmod(k, scale)
            for r in range(8 // scale):
                for c in range(8 // scale):
                    for ch in range(channels):
                        got = pixel_logits(net, slices, k, bias, r, c, ch)
                        want = full[:, :, ch, a + scale * r, b + scale * c]
                        assert torch.allclose(got, want, atol=1e-5), (k, r, c, ch)


@pytest.mark.parametrize("scale, channels", SHAPES)
def test_row_cached_decoder_draws_what_the_plain_decoder_draws(scale, channels, monkeypatch):
    """The compiled row cache, the PyTorch row cache and one plain decoder pass per pixel:
    the same distributions at every step (so the same draws) and the same images."""
    from app.core.fast import pixelcnn_numba
    from app.core.sampling.subscale import sample_subscale

    net, codec = tiny(scale, channels=channels)
    run = lambda compiled: list(sample_subscale(net, codec, 3, [0, None, 2], 0.9, seed=4,
                                                report=True, compiled=compiled))
    compiled, plain = run(True), run(False)
    monkeypatch.setattr(pixelcnn_numba, "available", lambda: False)
    cached = run(True)
    steps = lambda events: [e for e in events if isinstance(e, PixelStep)]
    assert len(steps(plain)) == channels * 64
    for fast in (compiled, cached):
        assert np.array_equal(fast[-1].levels, plain[-1].levels)
        for a, b in zip(steps(fast), steps(plain)):
            assert (a.row, a.col, a.channel) == (b.row, b.col, b.channel)
            assert np.array_equal(a.values, b.values)
            assert np.allclose(a.probs, b.probs, atol=1e-5)


@pytest.mark.parametrize("scale, channels", SHAPES)
def test_the_small_image_is_a_stage_of_its_own_and_can_be_given(scale, channels):
    from app.core.sampling.subscale import sample_subscale

    net, codec = tiny(scale, channels=channels)
    events = list(sample_subscale(net, codec, 2, [1, 2], 1.0, seed=3, report=True))
    stages = [e for e in events if isinstance(e, Stage)]
    assert [(s.index, s.block) for s in stages] == [(0, scale), (1, 1)]
    per_slice = channels * (8 // scale) ** 2
    assert events.index(stages[1]) == 1 + per_slice
    # Upscale a given small image: the first slice is it, and only the rest is drawn.
    small = np.random.default_rng(0).integers(0, 16, (2, channels, 8 // scale, 8 // scale))
    events = list(sample_subscale(net, codec, 2, [1, 2], 1.0, seed=3, report=True,
                                  small=small))
    result, steps = events[-1], [e for e in events if isinstance(e, PixelStep)]
    assert np.array_equal(result.levels[:, :, ::scale, ::scale], small)
    given, steps = steps[:per_slice], steps[per_slice:]
    assert all(e.logprob is None and e.probs is None for e in given)   # shown, not drawn
    assert all(np.array_equal(e.values, small[:, e.channel, e.row // scale, e.col // scale])
               for e in given)
    assert len(steps) == channels * 64 - per_slice and steps[0].step == per_slice
    assert [(s.index, s.block) for s in events if isinstance(s, Stage)] == [(0, scale), (1, 1)]
    # Each step's log-probability is the training forward pass's for that sub-pixel.
    with torch.no_grad():
        logp = net(torch.as_tensor(result.levels), torch.tensor([1, 2])).log_softmax(1)
    for e in steps[::7]:
        want = logp[np.arange(2), e.values, e.channel, e.row, e.col].numpy()
        np.testing.assert_allclose(e.logprob, want, atol=1e-4)
    with pytest.raises(ValueError, match="small image must be"):
        list(sample_subscale(net, codec, 2, None, 1.0, small=small[:, :, :1]))


@pytest.mark.parametrize("half", [False, True])
def test_save_load_round_trip_gives_identical_logits(tmp_path, half):
    net, codec = tiny(4)
    bundle = load_bundle(save_bundle(tmp_path / "s.safetensors", net, codec, {}, half=half))
    assert bundle.kind == "subscale" and bundle.config == net.config
    if half:
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(p.half().float())
    x = torch.randint(0, 16, (2, 1, 8, 8))
    with torch.no_grad():
        assert torch.equal(net(x, torch.tensor([1, 2])), bundle.net(x, torch.tensor([1, 2])))


@pytest.mark.parametrize("scale", [2, 4])
def test_seeded_sampling_repeats_and_starts_on_the_coarse_grid(scale):
    net, codec = tiny(scale)
    runs = [list(sample_images(net, codec, 2, [0, None], 0.9, seed=5)) for _ in range(2)]
    steps, result = [e for e in runs[0] if isinstance(e, PixelStep)], runs[0][-1]
    assert isinstance(result, ImageResult)
    assert len(steps) + 3 == len(runs[0])            # two Stage events and the result
    assert result.levels.shape == (2, 1, 8, 8) and result.pixels.shape == (2, 8, 8, 1)
    assert np.array_equal(result.levels, runs[1][-1].levels)
    assert [(s.row, s.col) for s in steps] == subscale_positions(8, scale)
    first = steps[:len(steps) // scale ** 2]
    assert all(s.row % scale == 0 and s.col % scale == 0 for s in first)
    for s in steps:                                   # every event's values are in the image
        assert np.array_equal(result.levels[:, 0, s.row, s.col], s.values)
    other = list(sample_images(net, codec, 2, [0, None], 0.9, seed=6))[-1]
    assert not np.array_equal(other.levels, result.levels)


def test_sampler_refuses_other_orders():
    net, codec = tiny(2)
    with pytest.raises(ValueError, match="subscale order"):
        next(sample_images(net, codec, 1, order="spiral"))


def test_config_is_strict():
    good = SubscaleConfig(height=8, width=8, scale=4).to_dict()
    assert config_from_dict("subscale", good) == SubscaleConfig(height=8, width=8, scale=4)
    with pytest.raises(ConfigError, match="divisible by 'scale'"):
        config_from_dict("subscale", dict(good, width=10))
    with pytest.raises(ConfigError, match="divisible by 'channels'"):
        config_from_dict("subscale", dict(good, channels=3))
    assert config_from_dict("subscale", dict(good, channels=3, decoder_hidden=63)).channels == 3
    with pytest.raises(ConfigError, match="unknown key"):
        config_from_dict("subscale", dict(good, kernel=3))
    with pytest.raises(ConfigError, match="'scale' must be positive"):
        config_from_dict("subscale", dict(good, scale=0))


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_parameter_count_by_arithmetic_matches_the_net(size):
    config = fresh_config("subscale", size, ImageCodec(28, 28, 1, 256, ["a", "b"]))
    net = SubscaleNet(config)
    assert count_parameters(config) == sum(p.numel() for p in net.parameters())


def test_training_through_the_trainer_lowers_the_loss(tmp_path):
    net, codec = tiny(2, classes=2)
    rng = np.random.default_rng(0)
    # Two classes of striped images: easy to learn, far from uniform.
    images = np.zeros((32, 1, 8, 8), np.uint8)
    images[:16, :, ::2] = 15
    images[16:, :, :, ::2] = 15
    images = np.where(rng.random(images.shape) < 0.05, 7, images).astype(np.uint8)
    data = ImageData(images, np.repeat([0, 1], 16))
    settings = TrainSettings(steps=60, batch_size=8, lr=1e-2, warmup=5, eval_every=30)
    metrics = list(train(net.train(), data, data, settings, tmp_path / "m.safetensors", codec,
                         {"source": "test"}))
    assert metrics[-1].heldout_bits is not None
    assert metrics[-1].heldout_bits < 0.5 * metrics[0].loss_bits
    assert load_bundle(tmp_path / "m.safetensors").kind == "subscale"


@pytest.mark.parametrize("shape", [(8, 8), (6, 5), (28, 28), (3, 9)])
def test_anyorder_subscale_order_is_a_slice_by_slice_permutation(shape):
    mask = np.ones(shape, bool)
    cells = fill_order(mask, "subscale", np.random.default_rng(0))
    assert sorted(map(tuple, cells)) == sorted(map(tuple, np.argwhere(mask)))
    slice_ids = [(r % 4) * 4 + c % 4 for r, c in cells]
    assert slice_ids == sorted(slice_ids)                     # slices one after another
    for k in set(slice_ids):                                  # raster order inside a slice
        inside = [tuple(rc) for rc, s in zip(cells, slice_ids) if s == k]
        assert inside == sorted(inside)
    if shape == (28, 28):
        assert {(r % 4, c % 4) for r, c in cells[:49]} == {(0, 0)}


def test_cli_samples_in_subscale_order_and_refuses_inpainting(tmp_path, save_tiny, capsys):
    from PIL import Image

    from app.cli import main
    from app.core.masks import save_mask_png
    from app.core.outputs import read_png_params

    spn, anyorder = str(save_tiny("subscale")), str(save_tiny("anyorder"))
    for model in (spn, anyorder):
        assert main(["sample", "image", "--model", model, "--n", "2", "--order", "subscale",
                     "--seed", "1", "--out", str(tmp_path / "s.png")]) == 0
        assert read_png_params(tmp_path / "s.png")["order"] == "subscale"
    assert main(["sample", "image", "--model", spn, "--n", "1", "--seed", "1",
                 "--out", str(tmp_path / "d.png")]) == 0
    assert read_png_params(tmp_path / "d.png")["order"] == "subscale"
    capsys.readouterr()
    assert main(["sample", "image", "--model", spn, "--order", "spiral",
                 "--out", str(tmp_path / "x.png")]) == 2
    assert "subscale order only" in capsys.readouterr().err
    Image.fromarray(np.full((6, 4), 200, np.uint8)).save(tmp_path / "in.png")
    mask = np.zeros((6, 4), bool)
    mask[3:, 2:] = True
    save_mask_png(tmp_path / "mask.png", mask)
    for method, expected in (("raster", "needs a PixelCNN"),
                             ("anyorder", "needs an any-order model")):
        code = main(["inpaint", "--model", spn, "--method", method, "--image",
                     str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"),
                     "--out", str(tmp_path / "f.png")])
        err = capsys.readouterr().err
        assert code == 2 and expected in err and "subscale" in err and "Traceback" not in err


def test_inpaint_mode_names_what_a_subscale_model_cannot_do():
    from app.core.registry import INPAINT_METHODS, method_mismatch

    for method in INPAINT_METHODS:
        message = method_mismatch(method, "subscale")
        assert message and "Subscale Pixel Network" in message


def test_folder_training_picks_a_slice_factor_or_says_why(tmp_path):
    from PIL import Image

    from app.core.training.folders import DataFolderError, prepare_folder

    for i in range(4):
        Image.fromarray(np.full((28, 28), 40 * i, np.uint8)).save(tmp_path / f"{i}.png")
    data, config, settings = prepare_folder("subscale", tmp_path)
    assert config.kind == "subscale" and config.scale == 4 and settings.batch_size == 8
    odd = ImageCodec(30, 30, 1, 256)
    assert fresh_config("subscale", "small", odd).scale == 2
    with pytest.raises(DataFolderError, match="divisible by 2 or 4"):
        prepare_folder("subscale", tmp_path, codec=ImageCodec(7, 9, 1, 256))
    with pytest.raises(ConfigError, match="divisible by 2 or 4"):
        fresh_config("subscale", "small", ImageCodec(7, 9, 1, 256))


def test_training_previews_take_one_pass_per_slice_row_and_repeat(monkeypatch):
    from app.core.training.previews import make_preview

    net, codec = tiny(2, classes=3)
    calls = []
    decode = SubscaleNet.decode_logits
    monkeypatch.setattr(SubscaleNet, "decode_logits",
                        lambda self, *a, **k: calls.append(1) or decode(self, *a, **k))
    first = make_preview(net, codec, "image", step=10, seed=3)
    again = make_preview(net, codec, "image", step=10, seed=3)
    assert first.images.shape == (4, 8, 8, 1)
    assert np.array_equal(first.images, again.images)
    assert len(calls) == 2 * 4 * 4                   # twice: 4 slices x 4 rows each
    net, codec = tiny(2, classes=3, channels=3)
    calls.clear()
    assert make_preview(net, codec, "image", step=10, seed=3).images.shape == (4, 8, 8, 3)
    assert len(calls) == 4 * 4 * 3                   # and in colour once per channel


def test_cli_trains_a_fresh_spn_on_a_folder(tmp_path, capsys):
    from PIL import Image

    from app.cli import main

    folder = tmp_path / "pics"
    folder.mkdir()
    for i in range(10):
        Image.fromarray(np.full((28, 28), 25 * i, np.uint8)).save(folder / f"{i}.png")
    out = tmp_path / "spn.safetensors"
    assert main(["train", "--kind", "subscale", "--data", str(folder), "--steps", "2",
                 "--batch-size", "2", "--quiet", "--out", str(out)]) == 0
    bundle = load_bundle(out)
    assert bundle.kind == "subscale" and bundle.config.scale == 4


def test_cli_upscales_a_given_small_image(tmp_path, save_tiny, capsys):
    from PIL import Image

    from app.cli import main
    from app.core.saved_images import read_png_params

    spn, pixelcnn = str(save_tiny("subscale")), str(save_tiny("pixelcnn"))
    small = tmp_path / "small.png"
    Image.fromarray(np.full((3, 2), 200, np.uint8)).save(small)    # the first slice's size
    out = tmp_path / "up.png"
    assert main(["sample", "image", "--model", spn, "--small", str(small), "--n", "2",
                 "--seed", "1", "--out", str(out)]) == 0, capsys.readouterr().err
    assert read_png_params(out)["upscaled_from"] == str(small)
    grid = np.asarray(Image.open(out))
    assert grid.ndim == 2 or grid.shape[-1] in (1, 3, 4)
    for model, file, expected in ((pixelcnn, small, "only a Subscale Pixel Network"),
                                  (spn, tmp_path / "none.png", "none.png")):
        assert main(["sample", "image", "--model", model, "--small", str(file),
                     "--out", str(tmp_path / "x.png")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert expected in err[-1] and "Traceback" not in "".join(err)


def test_an_upscaled_grid_starts_from_the_small_image(tmp_path, save_tiny):
    from PIL import Image

    from app.core.requests import ImageRequest
    from app.core.sampling.events import final_event

    bundle = load_bundle(save_tiny("subscale"))
    net = bundle.net
    small = tmp_path / "small.png"
    Image.fromarray(np.arange(6, dtype=np.uint8).reshape(3, 2) * 40).save(small)
    request = ImageRequest(model=bundle.name, n=2, seed=3, small=str(small))
    expected = request.small_levels(bundle)
    result = final_event(request.events(bundle))
    s = net.config.scale
    assert np.array_equal(result.levels[0, :, ::s, ::s], expected)
    assert np.array_equal(result.levels[1, :, ::s, ::s], expected)
