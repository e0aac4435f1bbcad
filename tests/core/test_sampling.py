import numpy as np
import pytest
import torch

from app.core.sampling.audio import generate_audio, sample_audio
from app.core.sampling.draw import draw, shape_logits
from app.core.sampling.events import ImageResult, PixelStep, TextDelta, TextDone
from app.core.sampling.image import generate_images, image_grid, sample_images
from app.core.sampling.text import sample_text
from tests.conftest import make_bundle


def test_image_sampler_streams_every_subpixel_in_raster_order():
    net, codec = make_bundle("pixelcnn", channels=3, num_classes=2)
    events = list(sample_images(net, codec, n=2, labels=[0, None], seed=3))
    steps = [e for e in events if isinstance(e, PixelStep)]
    assert len(steps) == 6 * 5 * 3
    assert [(s.row, s.col, s.channel) for s in steps[:4]] == [(0, 0, 0), (0, 0, 1), (0, 0, 2),
                                                              (0, 1, 0)]
    result = events[-1]
    assert isinstance(result, ImageResult)
    assert result.pixels.shape == (2, 6, 5, 3) and result.pixels.dtype == np.uint8
    # Each streamed value is the one in the final image.
    assert all(result.levels[0, s.channel, s.row, s.col] == s.values[0] for s in steps)


def test_image_sampling_is_reproducible_and_fast_equals_naive():
    net, codec = make_bundle("pixelcnn")
    a = generate_images(net, codec, 3, labels=1, seed=7)
    b = generate_images(net, codec, 3, labels=1, seed=7)
    c = generate_images(net, codec, 3, labels=1, seed=8)
    naive = generate_images(net, codec, 3, labels=1, seed=7, naive=True)
    assert np.array_equal(a.levels, b.levels) and not np.array_equal(a.levels, c.levels)
    # Same seed, same distributions (to 1e-6) -> the same draws.
    assert np.array_equal(a.levels, naive.levels)


def test_image_labels_are_checked():
    net, codec = make_bundle("pixelcnn")
    with pytest.raises(ValueError, match="out of range"):
        generate_images(net, codec, 1, labels=7, seed=0)
    plain, plain_codec = make_bundle("pixelcnn", num_classes=0)
    with pytest.raises(ValueError, match="not class-conditional"):
        generate_images(plain, plain_codec, 1, labels=1, seed=0)


def test_image_grid_layout():
    pixels = np.zeros((5, 4, 3, 1), np.uint8)
    grid = image_grid(pixels, pad=1)
    assert grid.shape == (2 * 5 + 1, 3 * 4 + 1, 1)


def test_audio_sampler_chunks_reproducibility_and_prime():
    net, codec = make_bundle("wavenet", num_classes=2)
    chunks = list(sample_audio(net, codec, 1000, label=1, seed=1, chunk=300, streams=2))
    assert [c.start for c in chunks] == [0, 300, 600, 900]
    audio = np.concatenate([c.samples for c in chunks], axis=1)
    assert audio.shape == (2, 1000) and audio.dtype == np.float32
    assert np.abs(audio).max() <= 1.0
    again = generate_audio(net, codec, 1000, label=1, seed=1, chunk=500, streams=2)
    assert np.array_equal(audio, again)
    primed = generate_audio(net, codec, 200, seed=1, prime=np.sin(np.arange(400) / 5) * 0.5)
    assert primed.shape == (1, 200)


def test_text_sampler_prompt_stop_strings_and_streams():
    net, codec = make_bundle("charlm-lstm")
    events = list(sample_text(net, codec, "ab", length=50, seed=2, n=3, stop=["a"]))
    done = events[-1]
    assert isinstance(done, TextDone) and len(done.texts) == 3
    for i, text in enumerate(done.texts):
        streamed = "".join(e.text for e in events if isinstance(e, TextDelta) and e.stream == i)
        assert streamed == text
        assert (done.reasons[i] == "stop") == text.endswith("a")
        assert "a" not in text[:-1]
    same = list(sample_text(net, codec, "ab", length=50, seed=2, n=3, stop=["a"]))[-1]
    assert same.texts == done.texts


def test_text_sampler_runs_past_gpt_context():
    net, codec = make_bundle("charlm-gpt")          # context 16
    done = list(sample_text(net, codec, "", length=40, seed=0))[-1]
    assert len(done.texts[0]) == 40


def test_top_k_top_p_and_greedy():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isinf(shape_logits(logits, top_k=2)[0, 2:]).all()
    nucleus = shape_logits(logits, top_p=0.7)
    assert torch.isfinite(nucleus[0, :2]).all() and torch.isinf(nucleus[0, 2:]).all()
    assert torch.isfinite(shape_logits(logits, top_p=0.1)[0, 0])
    gen = torch.Generator().manual_seed(0)
    values, _ = draw(logits.repeat(100, 1), gen, temperature=1.0, top_k=2)
    assert set(values.tolist()) <= {0, 1}
    greedy, _ = draw(logits, gen, temperature=0)
    assert greedy.item() == 0
    low, _ = draw(logits.repeat(200, 1), gen, temperature=0.05)
    assert (low == 0).float().mean() > 0.95


def test_inverse_cdf_pick_never_chooses_an_excluded_value():
    from app.core.sampling.draw import pick

    probs = torch.tensor([[0.0, 0.5, 0.0, 0.5, 0.0]] * 4)
    uniform = torch.tensor([0.0, 0.49, 0.5, 1.0 - 1e-9])
    assert pick(probs, uniform).tolist() == [1, 1, 3, 3]
    counts = torch.bincount(pick(torch.tensor([[0.2, 0.8]]).repeat(20000, 1),
                                 torch.rand(20000, generator=torch.Generator().manual_seed(0))))
    assert abs(counts[1].item() / 20000 - 0.8) < 0.01
