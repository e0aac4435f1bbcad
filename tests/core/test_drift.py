"""Drift: a generation's bits per step against the same curve over real held-out data."""
import math

import numpy as np
import pytest

from app.core import drift
from app.core.checkpoint import Bundle, load_bundle, save_bundle
from app.core.errors import UserError
from app.core.explain import score
from app.core.sampling.events import ImageResult, PixelStep
from tests.conftest import make_bundle

LN2 = math.log(2.0)


def bundle_of(kind, **overrides):
    net, codec = make_bundle(kind, **overrides)
    return Bundle(kind, "", kind, net.config, codec, net=net)


def saved(tmp_path, kind, provenance, name="tiny"):
    net, codec = make_bundle(kind)
    return load_bundle(save_bundle(tmp_path / f"{name}.safetensors", net, codec, provenance))


def some_item(b, seed=0):
    rng = np.random.default_rng(seed)
    if hasattr(b.codec, "height"):
        return rng.integers(0, b.codec.levels, (b.codec.channels, b.codec.height, b.codec.width))
    if hasattr(b.codec, "vocab"):
        return "".join(rng.choice(list(b.codec.vocab), 40))
    return rng.integers(0, b.codec.levels, 300)


@pytest.mark.parametrize("kind", ["pixelcnn", "pixelrnn", "subscale", "anyorder", "wavenet",
                                  "charlm-lstm", "charlm-gpt"])
def test_generation_curve_sums_to_the_score_total(kind):
    b = bundle_of(kind)
    item = some_item(b)
    curve = drift.generation_curve(b, item)
    # One window over the whole item; a Transformer's is at most its context (16 here).
    window = None if hasattr(b.codec, "height") else len(item) - 1
    total = score(b, item, window=window).total_bits
    assert curve.ndim == 1 and abs(curve.sum() - total) <= 1e-6 * total
    if not hasattr(b.codec, "height"):
        assert len(curve) == len(item) - 1


@pytest.mark.parametrize("kind,how", [("pixelcnn", {}), ("pixelcnn", dict(compiled=False)),
                                      ("subscale", {}), ("anyorder", dict(order="spiral"))])
def test_image_curve_is_in_the_order_the_sampler_drew(kind, how):
    from app.core.sampling.image import sample_images

    b = bundle_of(kind)
    events = list(sample_images(b.net, b.codec, 2, [1, None], 1.0, 3, report=True, **how))
    steps = [e for e in events if isinstance(e, PixelStep)]
    levels = next(e for e in events if isinstance(e, ImageResult)).levels
    # An any-order model is scored in the order it drew, given as (row, col, channel).
    order = np.array([(s.row, s.col, s.channel) for s in steps]) if "order" in how else None
    for i, label in enumerate([1, None]):
        curve = drift.generation_curve(b, levels[i], labels=label, order=order)
        drawn = np.array([-s.logprob[i] / LN2 for s in steps])
        assert np.allclose(curve, drawn, atol=1e-4)
    if kind == "subscale":      # the reordering matters: not raster order
        assert [(s.row, s.col) for s in steps[:2]] != [(0, 0), (0, 1)]


@pytest.mark.parametrize("kind", ["pixelcnn", "wavenet", "charlm-lstm"])
def test_reference_of_copies_of_one_item_is_that_items_curve(kind):
    b = bundle_of(kind)
    item = some_item(b)
    label = 2 if kind == "pixelcnn" else None
    curve = drift.generation_curve(b, item, labels=label)
    if isinstance(item, str):
        items = np.stack([b.codec.encode(item)] * 20)
    else:
        items = np.stack([item] * 20)       # more than one scoring batch
    band = drift.reference_curve(b, items, None if label is None else [label] * 20)
    for part in band:
        assert np.allclose(part, curve, atol=1e-6)


def test_reference_band_holds_the_mean_between_its_percentiles():
    b = bundle_of("pixelcnn")
    items = np.stack([some_item(b, seed) for seed in range(6)])
    band = drift.reference_curve(b, items)
    curves = np.stack([drift.generation_curve(b, x) for x in items])
    assert np.allclose(band.mean, curves.mean(0))
    assert (band.lower <= band.mean + 1e-9).all() and (band.mean <= band.upper + 1e-9).all()


def test_smooth_keeps_length_and_averages_only_what_is_there_at_the_ends():
    ramp = np.arange(10.0)
    assert np.array_equal(drift.smooth(ramp, 1), ramp)
    smoothed = drift.smooth(ramp, 3)
    assert smoothed.shape == ramp.shape
    assert np.allclose(smoothed[1:-1], ramp[1:-1])          # a line is its own average
    assert smoothed[0] == 0.5 and smoothed[-1] == 8.5        # ends: the steps that exist
    assert np.allclose(drift.smooth(np.full(7, 3.0), 4), 3.0)
    assert np.allclose(drift.smooth(np.ones(3), 50), 1.0)


def test_compare_names_where_the_generation_differs_most():
    reference = drift.Band(np.ones(100), np.full(100, 0.5), np.full(100, 1.5))
    curve = np.ones(100)
    curve[60:70] = 4.0
    summary = drift.compare(curve, reference, width=5)
    assert 60 <= summary["largest_gap_step"] < 70 and summary["largest_gap_bits"] > 2
    assert summary["above_band_share"] == pytest.approx(0.1)
    with pytest.raises(UserError):
        drift.compare(curve[:50], reference)


# ----- held-out data and the cache ------------------------------------------------------
def text_model_with_folder(tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    rng = np.random.default_rng(0)
    (folder / "a.txt").write_text("".join(rng.choice(list("abcdefgh :!\n"), 3000)))
    return saved(tmp_path, "charlm-lstm", {"data": {"source": str(folder)}}), folder


def test_held_out_windows_come_from_the_held_out_part_of_the_training_folder(tmp_path):
    b, folder = text_model_with_folder(tmp_path)
    held = drift.held_out_items(b, 5, length=40)
    text = (folder / "a.txt").read_text()
    tail = b.codec.encode(text[int(len(text) * 0.9):])     # folders hold out the last 10%
    assert held.items.shape == (5, 40) and held.labels is None and str(folder) in held.source
    for row in held.items:
        assert any(np.array_equal(row, tail[s:s + 40]) for s in range(len(tail) - 39))
    with pytest.raises(UserError, match="shorter than the generation"):
        drift.held_out_items(b, 5, length=10_000)


def test_reference_is_cached_per_model_file_and_length(tmp_path, monkeypatch):
    from app.core.paths import user_data_dir

    b, _ = text_model_with_folder(tmp_path)
    band, source = drift.held_out_reference(b, length=30, n=4)
    assert band.mean.shape == (29,) and len(list((user_data_dir() / "cache").rglob("*.npz"))) == 1

    def no_scoring(*args, **kwargs):
        raise AssertionError("scored again instead of reading the cache")

    monkeypatch.setattr(drift, "reference_curve", no_scoring)
    again, again_source = drift.held_out_reference(b, length=30, n=4)
    assert again_source == source
    for a, c in zip(band, again):
        assert np.array_equal(a, c)
    with pytest.raises(AssertionError):                      # another length: not cached
        drift.held_out_reference(b, length=31, n=4)


def test_damaged_cache_is_computed_again(tmp_path):
    from app.core.paths import user_data_dir

    b, _ = text_model_with_folder(tmp_path)
    band, _ = drift.held_out_reference(b, length=30, n=4)
    (cached,) = (user_data_dir() / "cache").rglob("*.npz")
    cached.write_bytes(b"not an npz")
    again, _ = drift.held_out_reference(b, length=30, n=4)
    assert np.array_equal(band.mean, again.mean)


def test_held_out_images_of_a_preset_follow_the_label(monkeypatch, tmp_path):
    from app.core.training import presets
    from app.core.training.datasets import ImageData

    b = saved(tmp_path, "pixelcnn", {"preset": "tiny-images"})
    images = np.random.default_rng(0).integers(0, 16, (30, 1, 6, 5)).astype(np.uint8)
    labels = np.repeat(np.arange(3), 10)                     # sorted by class, like MNIST
    data = presets.PreparedData(b.codec, None, None, ImageData(images, labels), "tiny", {})
    monkeypatch.setitem(presets.PRESETS, "tiny-images",
                        presets.Preset("tiny-images", "", None, lambda: data, None))
    every = drift.held_out_items(b, 6, label=None)
    assert len(every.items) == 6 and set(every.labels) == {0, 1, 2}   # spread over classes
    twos = drift.held_out_items(b, 4, label=2)
    assert len(twos.items) == 4 and (twos.labels == 2).all()
    band, _ = drift.held_out_reference(b, n=4, label=2)
    assert band.mean.shape == (30,)


def test_model_without_held_out_data_is_a_one_line_user_error(tmp_path):
    b = saved(tmp_path, "pixelcnn", {"description": "imported weights"})
    with pytest.raises(UserError) as info:
        drift.held_out_reference(b, n=4)
    assert "no held-out data" in str(info.value) and "\n" not in str(info.value)
    gone = saved(tmp_path, "charlm-lstm", {"data": {"source": str(tmp_path / "gone")}}, "gone")
    with pytest.raises(UserError, match="not there any more"):
        drift.held_out_items(gone, 4, length=20)
