"""Budgeted parallel decoding of the any-order model (app/core/sampling/budget.py): the
schedules, their cost, and a sampler that makes exactly as many network calls as asked."""
import itertools

import numpy as np
import pytest

from app.core.registry import KINDS
from app.core.sampling.anyorder import sample_anyorder
from app.core.sampling.budget import sample_budgeted, step_losses
from app.core.sampling.events import ImageResult, PixelStep
from app.core.sampling.schedule import loss_schedule, schedule_cost, uniform_schedule
from tests.conftest import make_bundle

ANYORDER = next(k for k, s in KINDS.items() if s.modality == "image" and s.fixed_order is None)


def compositions(total, parts):
    for cut in itertools.combinations(range(1, total), parts - 1):
        bounds = (0, *cut, total)
        yield [b - a for a, b in zip(bounds, bounds[1:])]


@pytest.mark.parametrize("total,calls", [(6, 1), (6, 3), (7, 4), (8, 8)])
def test_the_loss_schedule_is_the_cheapest_split(total, calls):
    losses = np.sort(np.random.default_rng(total + calls).random(total + 3) * 5)[::-1]
    best = min(compositions(total, calls), key=lambda s: schedule_cost(losses, 2, s))
    sizes = loss_schedule(losses, 2, total, calls)
    assert sum(sizes) == total and len(sizes) == calls and min(sizes) >= 1
    assert schedule_cost(losses, 2, sizes) == pytest.approx(schedule_cost(losses, 2, best))


def test_costs_of_schedules():
    losses = np.linspace(6, 1, 20)                     # a model surer with more visible
    assert schedule_cost(losses, 0, [1] * 20) == 0.0   # the full chain gives nothing up
    one_call = schedule_cost(losses, 0, [20])
    assert one_call == pytest.approx((6 - losses).sum())
    uniform = schedule_cost(losses, 0, uniform_schedule(20, 4))
    learned = schedule_cost(losses, 0, loss_schedule(losses, 0, 20, 4))
    assert 0 < learned <= uniform < one_call
    assert uniform_schedule(10, 3) == [4, 3, 3] and uniform_schedule(3, 10) == [1, 1, 1]


def count_calls(net):
    calls = []
    forward = net.forward

    def counted(*args, **kwargs):
        calls.append(1)
        return forward(*args, **kwargs)

    net.forward = counted
    return calls


@pytest.mark.parametrize("calls", [1, 5, 17])
def test_a_budget_makes_exactly_that_many_network_calls(calls):
    net, codec = make_bundle(ANYORDER)
    dims = codec.channels * codec.height * codec.width
    counted = count_calls(net)
    events = list(sample_budgeted(net, codec, 2, None, 1.0, 3,
                                  uniform_schedule(dims, calls), report=True))
    steps = [e for e in events if isinstance(e, PixelStep)]
    assert len(counted) == calls and len(steps) == dims
    assert [e.step for e in steps] == list(range(dims))
    assert all(abs(e.probs.sum(1) - 1).max() < 1e-5 for e in steps)
    result = events[-1]
    assert isinstance(result, ImageResult) and result.levels.shape == (2, *codec_shape(codec))


def codec_shape(codec):
    return (codec.channels, codec.height, codec.width)


def test_one_sub_pixel_per_call_is_the_sequential_sampler():
    net, codec = make_bundle(ANYORDER)
    dims = codec.channels * codec.height * codec.width
    for order in ("random", "spiral"):
        sequential = list(sample_anyorder(net, codec, 2, None, 1.0, 9, order))[-1].levels
        budgeted = list(sample_budgeted(net, codec, 2, None, 1.0, 9, [1] * dims,
                                        order=order))[-1].levels
        assert (sequential == budgeted).all()


def test_a_budgeted_fill_keeps_every_known_pixel():
    net, codec = make_bundle(ANYORDER)
    image = np.random.default_rng(1).integers(0, codec.levels, codec_shape(codec))
    mask = np.zeros((codec.height, codec.width), bool)
    mask[codec.height // 2:] = True
    hidden = int(mask.sum()) * codec.channels
    counted = count_calls(net)
    result = list(sample_budgeted(net, codec, 3, None, 1.0, 0, uniform_schedule(hidden, 4),
                                  order="nearest", image=image, mask=mask))[-1]
    assert len(counted) == 4
    assert (result.levels[:, :, ~mask] == image[:, ~mask]).all()
    with pytest.raises(ValueError, match="must reveal"):
        list(sample_budgeted(net, codec, 1, None, 1.0, 0, [1, 2], image=image, mask=mask))


def test_step_losses_are_measured_for_every_step():
    net, codec = make_bundle(ANYORDER)
    images = np.random.default_rng(2).integers(0, codec.levels, (4, *codec_shape(codec)))
    losses = step_losses(net, images, points=6)
    dims = images[0].size
    assert losses.shape == (dims,) and np.isfinite(losses).all() and (losses > 0).all()


# ----- requests, command line, cost ------------------------------------------------------
def test_requests_take_calls_for_any_order_models_only(save_tiny, tmp_path):
    from app.core.checkpoint import load_bundle
    from app.core.requests import ImageRequest, InpaintRequest, ModelFacts

    free = load_bundle(save_tiny(ANYORDER), "cpu")
    fixed_kind = next(k for k, s in KINDS.items() if s.modality == "image" and s.fixed_order)
    fixed = load_bundle(save_tiny(fixed_kind), "cpu")
    request = ImageRequest(model="m", n=2, calls=7, order="spiral")
    assert request.problems(ModelFacts.of(free)) == []
    assert any("only an any-order model" in p for p in request.problems(ModelFacts.of(fixed)))
    assert ImageRequest.from_params(request.to_params(free)).calls == 7
    assert "calls" not in ImageRequest(model="m").to_params(free)
    calls = count_calls(free.net)
    events = list(request.events(free))
    assert len(calls) == 7 and events[-1].levels.shape[0] == 2
    c = free.codec
    image = np.zeros((c.channels, c.height, c.width), np.int64)
    mask = np.zeros((c.height, c.width), bool)
    mask[:2] = True
    fill = InpaintRequest(model="m", method="any-order", calls=3, n=2, image=image,
                          mask=mask)
    del calls[:]
    result = list(fill.events(free))[-1]
    assert len(calls) == 3 and (result.levels[:, :, 2:] == 0).all()
    raster = InpaintRequest(model="m", method="raster", calls=3, image=image, mask=mask)
    assert any("any-order method" in p for p in raster.problems(ModelFacts.of(free)))


def test_the_command_line_draws_in_the_calls_asked(save_tiny, tmp_path, capsys):
    from app.cli import main

    model = str(save_tiny(ANYORDER))
    assert main(["sample", "image", "--model", model, "--n", "2", "--calls", "5",
                 "--out", str(tmp_path / "a.png")]) == 0
    from app.core.outputs import read_png_params

    assert read_png_params(tmp_path / "a.png")["calls"] == 5
    fixed = str(save_tiny(next(k for k, s in KINDS.items() if s.fixed_order == "raster")))
    assert main(["sample", "image", "--model", fixed, "--calls", "5",
                 "--out", str(tmp_path / "b.png")]) == 2
    assert "only an any-order model" in capsys.readouterr().err


def test_a_budget_costs_what_its_schedule_gives_up():
    from app.core.step_losses import budget_cost

    curve = np.linspace(3, 1, 100)
    assert budget_cost(None, 100, 10) is None
    assert budget_cost(curve, 100, 100) == 0.0
    costs = [budget_cost(curve, 100, k) for k in (50, 20, 5)]
    assert 0 < costs[0] < costs[1] < costs[2]


def test_what_each_budget_costs_is_kept_with_the_curve_for_the_window(save_tiny, monkeypatch):
    """The window lists each budget's cost from a file (planning a schedule is ~0.1 s of
    dynamic programming per budget: not for the GUI thread); a curve measured before the
    costs were kept gets them the next time it is read in a worker."""
    from app.core import step_losses
    from app.core.checkpoint import load_bundle
    from app.core.sampling import schedule
    from app.core.step_losses import BUDGETS, budget_cost, cache_path, cached_costs, measured

    bundle = load_bundle(save_tiny(ANYORDER))
    dims = bundle.codec.channels * bundle.codec.height * bundle.codec.width
    curve = np.linspace(4.0, 1.0, dims)
    path = cache_path(bundle.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, curve)
    assert cached_costs(bundle.path) is None
    assert np.array_equal(measured(bundle), curve)
    costs = cached_costs(bundle.path)
    assert costs == {calls: pytest.approx(budget_cost(curve, dims, calls) or 0.0)
                     for calls in BUDGETS}
    # Reading them plans nothing.
    monkeypatch.setattr(schedule, "loss_schedule", lambda *a: pytest.fail("planned"))
    assert step_losses.cached_costs(bundle.path) == costs


def test_compare_draws_its_any_order_side_in_the_calls_asked(save_tiny):
    from app.core.checkpoint import load_bundle
    from app.core.requests import CompareRequest, ImageRequest, ModelFacts
    from app.core.sampling.compare import SideEvent

    fixed_kind = next(k for k, s in KINDS.items() if s.modality == "image" and s.fixed_order
                      == "raster")
    fixed = load_bundle(save_tiny(fixed_kind, num_classes=0), "cpu")
    free = load_bundle(save_tiny(ANYORDER, num_classes=0), "cpu")
    request = CompareRequest(left=ImageRequest(model="a", n=2, calls=4), other_model="b")
    assert request.problems(ModelFacts.of(fixed), ModelFacts.of(free)) == []
    calls = count_calls(free.net)
    events = list(request.events([fixed, free]))
    assert len(calls) == 4
    done = [e for e in events if isinstance(e, SideEvent) and isinstance(e.event, ImageResult)]
    assert len(done) == 2
    assert CompareRequest.from_params(request.to_params(fixed, free)).left.calls == 4
    both_fixed = request.problems(ModelFacts.of(fixed), ModelFacts.of(fixed))
    assert any("only an any-order model" in p for p in both_fixed)
