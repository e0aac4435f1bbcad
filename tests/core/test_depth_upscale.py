"""Depth upscaling (nets/depth_upscale.py, sampling/depth.py): the two stages' likelihood adds
up, is a distribution (brute force over every image of a tiny model), neither stage sees what
it predicts, and every sampling path draws what the full forward pass says."""
import itertools

import numpy as np
import pytest
import torch

from app.core.checkpoint import load_bundle, save_bundle
from app.core.config import ConfigError, DepthUpscaleConfig
from app.core.registry import kind_spec
from app.core.sampling.events import ImageResult, PixelStep, Stage
from app.core.sampling.image import sample_images
from tests.conftest import make_bundle

KIND = DepthUpscaleConfig.kind


def tiny(**overrides):
    return make_bundle(KIND, **overrides)


def test_likelihood_is_the_sum_of_the_stages():
    net, _ = tiny()
    cfg = net.config
    x = torch.randint(0, cfg.levels, (3, cfg.channels, cfg.height, cfg.width))
    y = torch.tensor([0, 2, 3])                    # 3 = "no label"
    with torch.no_grad():
        one, two = net.stage_nll(x, y)
        coarse, fine = net.split(x)
        assert torch.equal(net.join(coarse, fine), x)
        assert int(coarse.max()) < 2 ** cfg.coarse_bits and int(fine.max()) < 2 ** cfg.fine_bits
        # Each term is its stage's own cross-entropy, computed here without stage_nll.
        expect_one = torch.nn.functional.cross_entropy(
            net.coarse(coarse, y), coarse, reduction="none").flatten(1).sum(1)
        expect_two = torch.nn.functional.cross_entropy(
            net.fine(fine, y, net.fine_biases(coarse, y)), fine, reduction="none"
        ).flatten(1).sum(1)
        total = net.nll({"x": x, "y": y}) * x[0].numel()
    assert torch.allclose(one, expect_one) and torch.allclose(two, expect_two)
    assert torch.allclose(total, one + two)


@pytest.mark.parametrize("shape", [dict(channels=1, height=2, width=2, levels=4, coarse_bits=1),
                                   dict(channels=3, height=1, width=2, levels=4, coarse_bits=1)])
def test_brute_force_every_image_probabilities_sum_to_one(shape):
    # Every possible image of a tiny model: 4^4 grey 2x2 or 4^6 colour 1x2. A leak (a stage
    # seeing what it predicts) or a mismatched bit split makes the sum differ from 1.
    net, _ = tiny(hidden=3 if shape["channels"] == 3 else 4, **shape)
    cfg = net.config
    dims = cfg.channels * cfg.height * cfg.width
    images = torch.tensor(list(itertools.product(range(cfg.levels), repeat=dims)))
    x = images.view(-1, cfg.channels, cfg.height, cfg.width)
    for label in (0, None):
        y = None if label is None else torch.full((len(x),), label)
        with torch.no_grad():
            log_p = -net.nll({"x": x, "y": y}).double() * dims
        assert torch.logsumexp(log_p, 0).exp().item() == pytest.approx(1.0, abs=1e-4)


def coarse_and_fine_grads(net, x):
    """|d logits / d scaled input| for each stage's logits (stage, C, H, W) against each
    stage's input (stage, C, H, W): (2, C, H, W, 2, C, H, W)."""
    leaves = {}

    def hook(stage, original):
        def scaled(t):
            leaves[stage] = original(t).requires_grad_(True)
            return leaves[stage]
        return scaled

    net.coarse.scale_input = hook(0, net.coarse.scale_input)
    net.fine.scale_input = hook(1, net.fine.scale_input)
    encode = net.encoder.forward

    def encoder(coarse, y):
        # The encoder reads the coarse levels too: route its input through the same leaf.
        levels = 2 ** net.config.coarse_bits
        leaves[0].retain_grad()
        back = (leaves[0] + 1.0) * ((levels - 1) / 2.0)
        return encode(back, y)

    net.encoder.forward = encoder
    c, h, w = x.shape[1:]
    grads = torch.zeros(2, c, h, w, 2, c, h, w)
    logits = net(x)
    for stage in range(2):
        for ch, r, col in itertools.product(range(c), range(h), range(w)):
            gs = torch.autograd.grad(logits[stage][0, :, ch, r, col].sum(),
                                     [leaves[0], leaves[1]], retain_graph=True,
                                     allow_unused=True)
            for source, g in enumerate(gs):
                if g is not None:
                    grads[stage, ch, r, col, source] = g[0].abs()
    return grads


def test_neither_stage_sees_what_it_predicts():
    net, _ = tiny(num_classes=0, height=4, width=4)
    cfg = net.config
    x = torch.randint(0, cfg.levels, (1, cfg.channels, cfg.height, cfg.width))
    grads = coarse_and_fine_grads(net, x)
    order = lambda ch, r, col: (r * cfg.width + col) * cfg.channels + ch
    cells = list(itertools.product(range(cfg.channels), range(cfg.height), range(cfg.width)))
    for a in cells:
        for b in cells:
            if order(*b) >= order(*a):
                assert grads[0, a[0], a[1], a[2], 0, b[0], b[1], b[2]] == 0, f"coarse {a} sees {b}"
                assert grads[1, a[0], a[1], a[2], 1, b[0], b[1], b[2]] == 0, f"fine {a} sees {b}"
    assert grads[0, :, :, :, 1].sum() == 0, "stage one sees fine bits"
    # Stage two sees the whole coarse image, later pixels included (that is the point).
    assert grads[1, 0, 0, 0, 0, 2, 3, 3] > 0
    assert grads[1, 1, 2, 1, 1, 0, 2, 1] > 0           # G sees R's fine bits of its pixel


@pytest.mark.parametrize("path", ["cached", "compiled"])
def test_sampling_paths_draw_what_the_full_forward_pass_says(path):
    net, codec = tiny()
    runs = {}
    for name, options in (("naive", dict(naive=True)), ("cached", dict(compiled=False)),
                          ("compiled", dict(compiled=True))):
        if name in ("naive", path):
            events = list(sample_images(net, codec, 3, [0, 1, None], 1.0, seed=5,
                                        report=True, **options))
            runs[name] = events
    naive, fast = runs["naive"], runs[path]
    assert np.array_equal(naive[-1].levels, fast[-1].levels)
    steps_a = [e for e in naive if isinstance(e, PixelStep)]
    steps_b = [e for e in fast if isinstance(e, PixelStep)]
    assert len(steps_a) == len(steps_b) == 2 * codec.channels * codec.height * codec.width
    for a, b in zip(steps_a, steps_b):
        np.testing.assert_allclose(a.probs, b.probs, atol=1e-5)
    # And the image drawn has the log-probability the steps reported, by the full pass.
    levels = torch.as_tensor(fast[-1].levels)
    with torch.no_grad():
        one, two = net.stage_nll(levels, torch.tensor([0, 1, 3]))
    # Stage two's steps report each sub-pixel's whole log-probability (coarse + fine bits).
    per_stage = len(steps_b) // 2
    reported = sum(e.logprob.astype(np.float64) for e in steps_b[per_stage:])
    np.testing.assert_allclose(-(one + two).numpy(), reported, rtol=1e-4)
    for e in steps_b:      # every distribution is over the full levels and sums to one
        assert e.probs.shape == (3, codec.levels)
        np.testing.assert_allclose(e.probs.sum(1), 1.0, atol=1e-5)
        if e.step >= per_stage:     # the drawn value's entry is its whole probability
            chosen = e.probs[np.arange(3), e.values]
            np.testing.assert_allclose(np.log(chosen), e.logprob, rtol=1e-4, atol=1e-5)


def test_stages_are_announced_and_steps_show_full_levels():
    net, codec = tiny()
    events = list(sample_images(net, codec, 2, [0, 1], 1.0, seed=1))
    stages = [e for e in events if isinstance(e, Stage)]
    assert [s.index for s in stages] == [0, 1]
    assert "2-bit colour" in stages[0].title and "refine" in stages[1].title
    per_stage = codec.channels * codec.height * codec.width
    at = {id(e): i for i, e in enumerate(events)}
    steps = [e for e in events if isinstance(e, PixelStep)]
    assert at[id(stages[1])] == at[id(steps[per_stage])] - 1
    final = events[-1]
    assert isinstance(final, ImageResult)
    f = net.config.fine_bits
    # The last step of each sub-pixel in stage two is its final value; stage one's share
    # its coarse bits, shown at the middle of the bin.
    for early, late in zip(steps[:per_stage], steps[per_stage:]):
        assert np.array_equal(early.values >> f, late.values >> f)
        assert np.all(early.values & ((1 << f) - 1) == 1 << (f - 1))
        assert np.array_equal(late.values, final.levels[:, late.channel, late.row, late.col])


def test_round_trip_and_config_checks(tmp_path):
    net, codec = tiny()
    bundle = load_bundle(save_bundle(tmp_path / "d.safetensors", net, codec, {}))
    x = torch.randint(0, 16, (2, 3, 6, 5))
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(net(x), bundle.net(x)))
    with pytest.raises(ConfigError, match="power of two"):
        DepthUpscaleConfig(levels=100).validate()
    with pytest.raises(ConfigError, match="coarse_bits"):
        DepthUpscaleConfig(levels=16, coarse_bits=4).validate()
    assert kind_spec(KIND).build(DepthUpscaleConfig()).config.fine_bits == 5


def _hole():
    mask = np.zeros((6, 5), bool)
    mask[2:5, 1:4] = True                          # a 3 x 3 hole, known pixels on every side
    return mask


def test_a_fill_keeps_the_known_pixels_and_draws_the_hole_in_two_stages():
    from app.core.sampling.depth import fill_depth
    from app.core.sampling.inpaint import InpaintResult

    net, codec = tiny()
    image = np.random.default_rng(0).integers(0, codec.levels, (3, 6, 5))
    mask = _hole()
    events = list(fill_depth(net, codec, image, mask, 2, [0, 1], 1.0, seed=3))
    stages = [e for e in events if isinstance(e, Stage)]
    steps = [e for e in events if isinstance(e, PixelStep)]
    result = events[-1]
    assert isinstance(result, InpaintResult) and result.method == "raster"
    hidden = 3 * int(mask.sum())
    assert [s.index for s in stages] == [0, 1] and stages[0].total == 2 * hidden
    assert len(steps) == 2 * hidden and all(mask[s.row, s.col] for s in steps)
    assert [s.step for s in steps] == list(range(2 * hidden))
    for k in range(2):
        assert np.array_equal(result.levels[k][:, ~mask], image[:, ~mask])
    assert not np.array_equal(result.levels[0][:, mask], result.levels[1][:, mask])


def test_a_fill_of_the_whole_image_is_a_sample_and_every_path_fills_alike():
    from app.core.sampling.depth import fill_depth

    net, codec = tiny()
    image = np.zeros((3, 6, 5), np.int64)
    everything = np.ones((6, 5), bool)
    filled = list(fill_depth(net, codec, image, everything, 2, [0, 1], 0.9, seed=5))[-1]
    drawn = list(sample_images(net, codec, 2, [0, 1], 0.9, seed=5))[-1]
    assert np.array_equal(filled.levels, drawn.levels)
    runs = [list(fill_depth(net, codec, image, _hole(), 2, [0, None], 0.9, seed=2,
                            guidance=2.0, **kw))[-1].levels
            for kw in ({}, {"compiled": False}, {"naive": True})]
    assert np.array_equal(runs[0], runs[1]) and np.array_equal(runs[0], runs[2])


def test_stage_two_of_a_fill_sees_the_coarse_picture_below_the_hole():
    """The coarse bits of the known pixels after the hole reach the fine bits of the hole
    (through the encoder of the whole coarse image): a raster fill of one PixelCNN cannot."""
    from app.core.sampling.depth import fill_depth

    net, codec = tiny()
    mask = _hole()
    a = np.random.default_rng(1).integers(0, codec.levels, (3, 6, 5))
    b = a.copy()
    b[:, 5, :] = codec.levels - 1 - a[:, 5, :]            # only the last row differs
    fills = [list(fill_depth(net, codec, x, mask, 1, [0], 1.0, seed=4, report=True))
             for x in (a, b)]
    first = [[e for e in f if isinstance(e, PixelStep)] for f in fills]
    hidden = 3 * int(mask.sum())
    # Stage one draws alike (it sees only what comes before), stage two does not.
    assert all(np.array_equal(x.probs, y.probs) for x, y in zip(first[0][:hidden],
                                                                first[1][:hidden]))
    assert not np.allclose(first[0][hidden].probs, first[1][hidden].probs)


def test_the_command_line_fills_a_hole_with_a_depth_upscaling_model(tmp_path, save_tiny, capsys):
    from PIL import Image

    from app.cli import main

    model = save_tiny(KIND)
    Image.new("RGB", (5, 6), (200, 30, 30)).save(tmp_path / "in.png")
    hole = np.zeros((6, 5), np.uint8)
    hole[2:4, 1:4] = 255
    Image.fromarray(hole).save(tmp_path / "mask.png")
    out = tmp_path / "out.png"
    assert main(["inpaint", "--model", str(model), "--image", str(tmp_path / "in.png"),
                 "--mask", str(tmp_path / "mask.png"), "--seed", "1", "--out", str(out)]) == 0
    assert out.is_file()
