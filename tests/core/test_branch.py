"""Branching a drawn image (app/core/branch.py) and the trace of what the model computed for
every pixel (app/core/state/pixel_trace.py)."""
import math

import numpy as np
import pytest

from app.core.branch import BranchError, branch_events, branch_mask, branch_method
from app.core.checkpoint import Bundle
from app.core.explain import score
from app.core.registry import KINDS, kind_spec
from app.core.sampling.events import PixelStep
from app.core.sampling.image import sample_images
from app.core.state.pixel_trace import PixelTrace
from tests.conftest import make_bundle

IMAGE_KINDS = [k for k, s in KINDS.items() if s.modality == "image"]
BRANCHING = [k for k in IMAGE_KINDS if branch_method(k) is not None]


def bundle_of(kind, **overrides):
    net, codec = make_bundle(kind, **overrides)
    return Bundle(kind, "", kind, net.config, codec, net=net)


def drawn(bundle, seed=3, n=1, order=None):
    """(levels (n, C, H, W), trace) of a reporting run."""
    kwargs = {} if kind_spec(bundle.kind).fixed_order else {"order": order or "random"}
    events = list(sample_images(bundle.net, bundle.codec, n, None, 1.0, seed, report=True,
                                **kwargs))
    trace = PixelTrace.for_codec(bundle.codec, n)
    trace.apply(events)
    return events[-1].levels, trace


def test_every_image_kind_that_can_fill_can_branch_and_the_others_say_why():
    assert BRANCHING and set(BRANCHING) < set(IMAGE_KINDS)
    for kind in set(IMAGE_KINDS) - set(BRANCHING):
        b = bundle_of(kind)
        levels, trace = drawn(b)
        with pytest.raises(BranchError, match="cannot branch"):
            branch_events(b, levels[0], trace.steps, 3, None, None, 1.0, 0)


@pytest.mark.parametrize("kind", BRANCHING)
@pytest.mark.parametrize("value", [None, 7])
def test_a_branch_keeps_the_prefix_exactly_and_draws_the_rest_again(kind, value):
    b = bundle_of(kind)
    levels, trace = drawn(b)
    at = len(trace.steps) // 3
    events = list(branch_events(b, levels[0], trace.steps, at, value, None, 1.0, 11))
    result = events[-1].levels[0]
    steps = np.array(trace.steps)
    before = steps[:at]
    assert (result[before[:, 2], before[:, 0], before[:, 1]]
            == levels[0][before[:, 2], before[:, 0], before[:, 1]]).all()
    row, col, ch = trace.steps[at]
    if value is not None:
        assert result[ch, row, col] == value
    redrawn = [(e.row, e.col, e.channel) for e in events if isinstance(e, PixelStep)]
    # Exactly the sub-pixels after the branch point, in the order they were first drawn.
    expected = trace.steps[at + 1:] if value is not None else trace.steps[at:]
    assert redrawn == expected
    assert all(e.probs is not None for e in events if isinstance(e, PixelStep))
    assert not (result == levels[0]).all()        # something after it changed


@pytest.mark.parametrize("kind", BRANCHING)
def test_a_branch_reports_the_distributions_a_fresh_score_gives(kind):
    """The reported conditionals of the redrawn part are the model's conditionals of the
    new image (temperature 1), as explain.score computes them in the same order."""
    b = bundle_of(kind)
    levels, trace = drawn(b)
    at = 20
    events = list(branch_events(b, levels[0], trace.steps, at, 5, None, 1.0, 2))
    new = events[-1].levels
    order = None if kind_spec(kind).fixed_order else np.array(trace.steps)
    expected = score(b, new, order=order)
    for e in events:
        if isinstance(e, PixelStep):
            bits = -e.logprob[0] / math.log(2)
            assert bits == pytest.approx(expected.bits[0, e.channel, e.row, e.col], rel=1e-4,
                                         abs=1e-5)


def test_branch_mask_covers_what_comes_after():
    steps = [(0, 0, 0), (0, 1, 0), (1, 0, 0), (1, 1, 0)]
    assert branch_mask(steps, 1, 2, 2, keep_chosen=True).tolist() == [[False, False],
                                                                       [True, True]]
    assert branch_mask(steps, 1, 2, 2, keep_chosen=False).tolist() == [[False, True],
                                                                        [True, True]]


def test_a_value_outside_the_levels_is_refused():
    b = bundle_of(BRANCHING[0])
    levels, trace = drawn(b)
    with pytest.raises(BranchError, match="outside the model's"):
        branch_events(b, levels[0], trace.steps, 0, b.codec.levels, None, 1.0, 0)


# ----- the trace ----------------------------------------------------------------------
@pytest.mark.parametrize("kind", IMAGE_KINDS)
def test_the_trace_of_a_run_is_what_the_model_says_of_the_result(kind):
    b = bundle_of(kind)
    levels, trace = drawn(b, n=2)
    order = None if kind_spec(kind).fixed_order else np.array(trace.steps)
    expected = score(b, levels, order=order)
    assert np.allclose(trace.bits, expected.bits, rtol=1e-4, atol=1e-5)
    assert (trace.values == levels).all()
    assert trace.total_bits(1) == pytest.approx(expected.item_bits[1], rel=1e-4)
    readout = trace.readout(1, 2, 3)
    assert readout.probs.sum() == pytest.approx(1.0, abs=1e-6)
    assert readout.value == levels[1, 0, 2, 3] and readout.top(3)[0][1] == readout.probs.max()
    assert readout.bits == pytest.approx(-math.log2(readout.probs[readout.value]), abs=2e-3)


def test_an_opened_image_fills_the_trace_from_its_score():
    b = bundle_of(IMAGE_KINDS[0])
    c = b.codec
    images = np.random.default_rng(0).integers(0, c.levels, (1, c.channels, c.height, c.width))
    trace = PixelTrace.for_codec(b.codec, 1)
    result = score(b, images)
    trace.apply_score(result, 0, 0)
    assert trace.total_bits(0) == pytest.approx(result.total_bits, rel=1e-5)
    assert trace.steps[:2] == [(0, 0, 0), (0, 1, 0)] and trace.drawn_count(0) == images.size


def test_the_breakdown_splits_bits_into_background_edges_and_strokes():
    trace = PixelTrace(1, 1, 8, 8, 4)
    trace.bits[:] = 1.0
    luma = np.zeros((8, 8))
    luma[2:6, 2:6] = 1.0       # a 4x4 square of ink: its 2x2 core is stroke, its rim and
    shares = trace.breakdown(0, luma)       # the dark ring around it are edge
    assert shares == {"background": pytest.approx(28 / 64), "edges": pytest.approx(32 / 64),
                      "strokes": pytest.approx(4 / 64)}


def test_a_grid_too_large_keeps_bits_but_not_distributions():
    trace = PixelTrace(64, 3, 256, 256, 256)
    assert not trace.keeps_probs and trace.probs is None
    trace.bits[0, 0, 0, 0] = 2.0
    readout = trace.readout(0, 0, 0)
    assert readout.bits == 2.0 and readout.probs is None and readout.top() == []


# ----- dependence ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", IMAGE_KINDS)
def test_a_pixel_depends_only_on_pixels_before_it(kind):
    from app.core.dependence import DependenceError, dependence, supports_dependence

    b = bundle_of(kind)
    levels, trace = drawn(b)
    # The middle of the (first) pass over the image.
    row, col, _ = trace.steps[len(trace.steps) // (2 * kind_spec(kind).stages)]
    if not supports_dependence(kind):
        with pytest.raises(DependenceError):
            dependence(b, levels[0], None, row, col, steps=trace.steps)
        return
    grad = dependence(b, levels[0], None, row, col, steps=trace.steps)
    at = trace.step_index(row, col, 0)
    before = np.zeros(grad.shape, bool)
    for r, c, _ in trace.steps[:at]:
        before[r, c] = True
    if kind_spec(kind).stages > 1:
        # The last pass sees the earlier passes' whole image: later pixels count too.
        assert grad[before].sum() > 0 and grad[~before].sum() > 0
        return
    assert (grad[~before] == 0).all() and grad[before].sum() > 0
