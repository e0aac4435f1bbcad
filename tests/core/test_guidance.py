"""Classifier-free guidance (app/core/sampling/guidance.py) on every image kind and path."""
import math

import numpy as np
import pytest
import torch

from app.core.registry import KINDS
from app.core.requests import ImageRequest, ModelFacts
from app.core.sampling.budget import sample_budgeted
from app.core.sampling.events import PixelStep
from app.core.sampling.guidance import TAIL, Guidance
from app.core.sampling.image import generate_images, sample_images
from tests.conftest import make_bundle

IMAGE_KINDS = [k for k, s in KINDS.items() if s.modality == "image"]
LABELS = [0, 2, 1]


@pytest.mark.parametrize("kind", IMAGE_KINDS)
def test_scale_one_is_the_model_itself(kind):
    net, codec = make_bundle(kind)
    plain = generate_images(net, codec, 3, LABELS, 1.0, seed=4)
    assert np.array_equal(generate_images(net, codec, 3, LABELS, 1.0, seed=4,
                                          guidance=1.0).levels, plain.levels)


@pytest.mark.parametrize("kind", IMAGE_KINDS)
def test_scale_zero_ignores_the_class(kind):
    # w = 0 leaves log p(v | no class): the same draws as asking for "any class".
    net, codec = make_bundle(kind)
    anyclass = generate_images(net, codec, 3, None, 0.9, seed=5)
    unguided = generate_images(net, codec, 3, LABELS, 0.9, seed=5)
    zero = generate_images(net, codec, 3, LABELS, 0.9, seed=5, guidance=0.0)
    assert np.array_equal(zero.levels, anyclass.levels)
    assert not np.array_equal(unguided.levels, anyclass.levels)   # the class matters


@pytest.mark.parametrize("kind", IMAGE_KINDS)
def test_guidance_changes_the_draws_and_leaves_any_class_alone(kind):
    net, codec = make_bundle(kind)
    labels = [1, None]
    plain = generate_images(net, codec, 2, labels, 1.0, seed=6)
    guided = generate_images(net, codec, 2, labels, 1.0, seed=6, guidance=4.0)
    assert not np.array_equal(guided.levels[0], plain.levels[0])
    # The image that asked for any class has nothing to lean towards: drawn as without.
    assert np.array_equal(guided.levels[1], plain.levels[1])


@pytest.mark.parametrize("kind,channels", [("pixelcnn", 1), ("pixelcnn", 3), ("pixelrnn", 1)])
def test_each_step_draws_from_the_guided_distribution(kind, channels):
    """softmax((log p_free + w (log p_class - log p_free)) / T) at every sub-pixel, over the
    class-conditional distribution's nucleus (all but TAIL of its mass), checked against two
    full forward passes over the finished images."""
    net, codec = make_bundle(kind, channels=channels)
    w, temperature = 2.5, 0.8
    events = list(sample_images(net, codec, 3, LABELS, temperature, seed=2, report=True,
                                guidance=w))
    x = torch.as_tensor(events[-1].levels)
    with torch.no_grad():
        cond = net(x, torch.tensor(LABELS)).log_softmax(1)
        free = net(x, net.null_label(3, x.device)).log_softmax(1)
    guided = (free + w * (cond - free)) / temperature
    # The nucleus, by brute force: a value is cut when the values more likely than it
    # (ties: before it) hold at least 1 - TAIL of the mass.
    p = cond.exp()
    ahead = (p.unsqueeze(1) > p.unsqueeze(2)).float().mul(p.unsqueeze(1)).sum(2)
    expected = guided.masked_fill(ahead >= 1 - TAIL, float("-inf")).softmax(1)
    steps = [e for e in events if isinstance(e, PixelStep)]
    assert len(steps) == x[0].numel()
    for s in steps:
        want = expected[:, :, s.channel, s.row, s.col].numpy()
        np.testing.assert_allclose(s.probs, want, atol=2e-5)
        np.testing.assert_allclose(s.logprob, np.log(want[np.arange(3), s.values]), atol=1e-4)


@pytest.mark.parametrize("kind,paths", [
    ("pixelcnn", [{}, {"compiled": False}, {"naive": True}]),
    ("pixelrnn", [{}, {"naive": True}]),
    ("depth-upscale", [{}, {"compiled": False}, {"naive": True}]),
    ("subscale", [{}, {"compiled": False}]),
])
def test_every_path_makes_the_same_guided_draws(kind, paths):
    net, codec = make_bundle(kind)
    results = [generate_images(net, codec, 4, [0, 1, 2, None], 1.0, seed=9, guidance=2.0,
                               **p).levels for p in paths]
    for other in results[1:]:
        assert np.array_equal(results[0], other)


def test_guidance_never_draws_what_the_class_model_finds_implausible():
    """Both distributions call value 3 next to impossible, the class-conditional one a little
    less so (1 in 30,000 against 1 in 10 million): w = 4 alone would multiply that small
    disagreement into 3 being the likeliest value. Constrained, 3 (outside the class model's
    nucleus) cannot be drawn, and among the plausible values guidance leans as before."""
    net, _ = make_bundle("pixelcnn")
    guide = Guidance(net, 1, torch.tensor([1]), 4.0)
    cond = torch.tensor([[8.0, 7.0, -30.0, -2.0]])
    free = torch.tensor([[8.0, 6.0, -30.0, -8.0]])
    unconstrained = free.log_softmax(-1) + 4 * (cond.log_softmax(-1) - free.log_softmax(-1))
    assert int(unconstrained.argmax()) == 3
    guided = guide.logits(torch.cat([cond, free]))
    assert torch.isinf(guided[0, 2:]).all() and torch.isfinite(guided[0, :2]).all()
    lean = guided[0, 1] - guided[0, 0]         # log-odds of 1 against 0
    assert math.isclose(float(lean), float(unconstrained[0, 1] - unconstrained[0, 0]),
                        abs_tol=1e-4)
    # A value is cut by the mass beyond it, not by its own probability: 20 values sharing
    # 0.3 of the mass all stay beside one holding 0.7 (each 1/47 as likely as it).
    assert 0.3 / 20 > TAIL
    spread = torch.cat([torch.tensor([0.7]), torch.full((20,), 0.3 / 20)]).log()[None]
    assert torch.isfinite(guide.logits(torch.cat([spread, spread]))).all()
    # At scales up to 1 nothing is cut: w = 0.5 only mixes the two distributions.
    half = Guidance(net, 1, torch.tensor([1]), 0.5).logits(torch.cat([cond, free]))
    assert torch.isfinite(half).all()


def test_budgeted_any_order_drawing_is_guided_too():
    net, codec = make_bundle("anyorder")
    dims = codec.height * codec.width
    sizes = [5] * (dims // 5)
    def run(labels, w):
        return list(sample_budgeted(net, codec, 3, labels, 1.0, 3, sizes, "random",
                                    guidance=w))[-1].levels
    assert np.array_equal(run(LABELS, 0.0), run(None, 1.0))
    assert not np.array_equal(run(LABELS, 3.0), run(LABELS, 1.0))


def test_inactive_guidance_keeps_the_batch():
    net, _ = make_bundle("pixelcnn")
    y = torch.tensor([0, 1])
    assert Guidance(net, 2, y, 1.0).batch == 2
    assert Guidance(net, 2, net.null_label(2, y.device), 3.0).batch == 2   # all "any"
    assert Guidance(net, 2, y, 3.0).batch == 4
    plain, _ = make_bundle("pixelcnn", num_classes=0)
    assert Guidance(plain, 2, None, 3.0).batch == 2


def test_the_request_checks_and_records_guidance(save_tiny):
    from app.core.checkpoint import load_bundle

    bundle = load_bundle(save_tiny("pixelcnn"))
    facts = ModelFacts.of(bundle)
    assert any("guidance must be between 0 and 10" in p
               for p in ImageRequest(guidance=11.0).problems(facts))
    assert not ImageRequest(guidance=2.0).problems(facts)
    params = ImageRequest(model=bundle.name, label=1, guidance=2.5).to_params(bundle)
    assert params["guidance"] == 2.5
    assert ImageRequest.from_params(params).guidance == 2.5
    # A result saved before guidance existed was drawn without it.
    assert ImageRequest.from_params({k: v for k, v in params.items()
                                     if k != "guidance"}).guidance == 1.0
    plain = load_bundle(save_tiny("pixelcnn", num_classes=0))
    problems = ImageRequest(guidance=2.0).problems(ModelFacts.of(plain))
    assert any("trained without classes" in p for p in problems)
    assert "guidance" not in ImageRequest(model=plain.name).to_params(plain)


def test_raster_inpainting_is_guided_on_every_path():
    from app.core.sampling.inpaint import inpaint_raster

    net, codec = make_bundle("pixelcnn")
    image = np.random.default_rng(0).integers(0, 16, (1, 6, 5))
    mask = np.zeros((6, 5), bool)
    mask[2:5, 1:4] = True

    def fill(labels, w, **path):
        return list(inpaint_raster(net, codec, image, mask, 3, labels, 1.0, 4, guidance=w,
                                   **path))[-1].levels
    guided = fill(LABELS, 2.0)
    assert np.array_equal(guided, fill(LABELS, 2.0, compiled=False))
    assert np.array_equal(guided, fill(LABELS, 2.0, naive=True))
    assert np.array_equal(guided[:, :, ~mask], np.broadcast_to(image[:, ~mask], (3, 1, 21)))
    assert np.array_equal(fill(LABELS, 0.0), fill(None, 1.0))
    assert not np.array_equal(guided, fill(LABELS, 1.0))
    steps = [e for e in inpaint_raster(net, codec, image, mask, 3, LABELS, 1.0, 4,
                                       guidance=2.0) if isinstance(e, PixelStep)]
    assert [e.step for e in steps] == list(range(mask.sum())) == list(range(steps[0].total))


def test_any_order_inpainting_and_branching_are_guided():
    from app.core.branch import branch_events
    from app.core.sampling.anyorder import fill_anyorder

    net, codec = make_bundle("anyorder")
    image = np.random.default_rng(1).integers(0, 16, (1, 6, 5))
    mask = np.zeros((6, 5), bool)
    mask[:3] = True

    def fill(labels, w):
        return list(fill_anyorder(net, codec, image, mask, 2, labels, 1.0, 2,
                                  guidance=w))[-1].levels
    assert np.array_equal(fill([1, 2], 0.0), fill(None, 1.0))
    assert not np.array_equal(fill([1, 2], 3.0), fill([1, 2], 1.0))

    class Bundle:
        kind, net, codec = "pixelcnn", None, None
    pixel, pixel_codec = make_bundle("pixelcnn")
    bundle = Bundle()
    bundle.net, bundle.codec = pixel, pixel_codec
    drawn = generate_images(pixel, pixel_codec, 1, [1], 1.0, seed=3, guidance=2.0).levels[0]
    steps = [(r, c, 0) for r in range(6) for c in range(5)]

    def branch(label, w):
        return list(branch_events(bundle, drawn, steps, 7, None, label, 1.0, 5,
                                  guidance=w))[-1].levels
    assert np.array_equal(branch(1, 0.0), branch(None, 1.0))
    assert not np.array_equal(branch(1, 3.0), branch(1, 1.0))


def test_the_inpaint_request_guides_all_but_resampling(save_tiny):
    from app.core.checkpoint import load_bundle
    from app.core.requests import InpaintRequest

    bundle = load_bundle(save_tiny("pixelcnn"))
    facts = ModelFacts.of(bundle)
    image, mask = np.zeros((1, 6, 5), np.int64), np.ones((6, 5), bool)
    raster = InpaintRequest(model=bundle.name, label=1, guidance=2.0, image=image, mask=mask)
    assert not raster.problems(facts)
    params = raster.to_params(bundle)
    assert params["guidance"] == 2.0 and InpaintRequest.from_params(params).guidance == 2.0
    resample = InpaintRequest(model=bundle.name, method="resample", label=1, guidance=2.0,
                              image=image, mask=mask)
    assert any("resampling is not guided" in p for p in resample.problems(facts))
