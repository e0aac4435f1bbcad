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
    # The two pictures grow together: the sides alternate step by step.
    sides = [e.side for e in events if isinstance(e.event, PixelStep)]
    assert sides[:6] == [0, 1, 0, 1, 0, 1]
    busy = [e.busy_s for e in events if e.side == 0]
    assert busy == sorted(busy) and busy[-1] > 0
    import torch

    assert torch.is_grad_enabled()      # interleaving left the caller's grad mode alone


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
    assert [e.side for e in events[-3:]] == [0, 0, 0]     # only the taller image goes on
    closed.clear()
    run = sample_side_by_side([tracked(sample_images(a, codec_a, 1, seed=0), "a"),
                               tracked(sample_images(b, codec_b, 1, seed=0), "b")])
    next(run), next(run), next(run)
    run.close()                                            # Stop
    assert sorted(closed) == ["a", "b"]
    import torch

    assert torch.is_grad_enabled()
