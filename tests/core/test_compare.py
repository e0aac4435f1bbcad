"""Two models side by side: each side draws what it would draw alone with the same seed; and
the table of bundled image models."""
import numpy as np

from app.core.sampling.compare import sample_side_by_side
from app.core.sampling.events import ImageResult, PixelStep
from app.core.sampling.image import generate_images, sample_images
from tests.conftest import make_bundle


def test_each_side_draws_what_it_draws_alone():
    (a, codec_a), (b, codec_b) = make_bundle("pixelcnn"), make_bundle("anyorder")
    label, seed = [1, 2], 7
    events = list(sample_side_by_side([
        sample_images(a, codec_a, 2, label, seed=seed),
        sample_images(b, codec_b, 2, label, seed=seed, order="random")]))
    results = {e.side: e.event for e in events if isinstance(e.event, ImageResult)}
    alone_a = generate_images(a, codec_a, 2, label, seed=seed)
    alone_b = generate_images(b, codec_b, 2, label, seed=seed, order="random")
    assert np.array_equal(results[0].levels, alone_a.levels)
    assert np.array_equal(results[1].levels, alone_b.levels)
    for side in (0, 1):                 # each side's steps in order, its picture last
        own = [e.event for e in events if e.side == side]
        assert isinstance(own[-1], ImageResult)
        assert all(isinstance(e, PixelStep) for e in own[:-1])
    busy = [e.busy_s for e in events if e.side == 0]
    assert busy == sorted(busy) and busy[-1] > 0
    import torch

    assert torch.is_grad_enabled()      # the sides' threads left the caller's grad mode alone


def test_a_shorter_side_drops_out_and_stopping_closes_both():
    (a, codec_a), (b, codec_b) = make_bundle("pixelcnn"), make_bundle("pixelcnn", height=3)
    closed = []

    def tracked(events, name):
        try:
            yield from events
        finally:
            closed.append(name)

    run = sample_side_by_side([tracked(sample_images(a, codec_a, 1, seed=0), "a"),
                               tracked(sample_images(b, codec_b, 1, seed=0), "b")])
    events = list(run)
    assert sum(isinstance(e.event, ImageResult) for e in events) == 2
    assert sorted(closed) == ["a", "b"]
    closed.clear()
    run = sample_side_by_side([tracked(sample_images(a, codec_a, 1, seed=0), "a"),
                               tracked(sample_images(b, codec_b, 1, seed=0), "b")])
    next(run), next(run), next(run)
    run.close()                                            # Stop
    assert sorted(closed) == ["a", "b"]
    import torch

    assert torch.is_grad_enabled()


def _slow_side(steps: int, seconds: float, name: str, log: list):
    import time

    for i in range(steps):
        time.sleep(seconds)            # stands for a step that releases the interpreter lock
        log.append(name)
        yield PixelStep(i, 40, 0, 0, 0, np.zeros(1, np.int64))


def test_each_side_runs_at_its_own_pace():
    import time

    log: list[str] = []
    start = time.perf_counter()
    events = list(sample_side_by_side([_slow_side(4, 0.1, "slow", log),
                                       _slow_side(40, 0.01, "fast", log)]))
    took = time.perf_counter() - start
    assert len(events) == 44
    # Taking turns would cost 0.4 + 0.4 s; at their own pace the sides overlap.
    assert took < 0.7
    assert log.index("slow") > 5       # the fast side did not wait for the slow one's steps
    busy_fast = [e.busy_s for e in events if e.side == 1]
    assert busy_fast[-1] < 0.8


def test_an_error_in_one_side_stops_the_other_and_is_raised():
    import pytest

    closed: list[str] = []

    def failing():
        yield PixelStep(0, 1, 0, 0, 0, np.zeros(1, np.int64))
        raise RuntimeError("side broke")

    def endless():
        try:
            while True:
                yield PixelStep(0, 1, 0, 0, 0, np.zeros(1, np.int64))
        finally:
            closed.append("endless")

    with pytest.raises(RuntimeError, match="side broke"):
        list(sample_side_by_side([failing(), endless()]))
    assert closed == ["endless"]
