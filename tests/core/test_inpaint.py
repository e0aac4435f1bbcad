"""Inpainting with a raster PixelCNN: known pixels never change, every path agrees, masks
round-trip through PNG, and resampling weighs candidates by the known pixels' likelihood."""
import itertools

import numpy as np
import pytest
import torch

from app.core.masks import MASK_FAMILIES, MaskError, brush_strokes, read_mask_png, save_mask_png
from app.core.sampling.events import PixelStep
from app.core.sampling.inpaint import (
    InpaintResult,
    inpaint_raster,
    inpaint_resample,
    known_log_likelihood,
)
from tests.conftest import make_bundle


def picture(codec, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, codec.levels, (codec.channels, codec.height, codec.width))


def run(events):
    events = list(events)
    assert isinstance(events[-1], InpaintResult)
    return events[:-1], events[-1]


def test_known_pixels_never_change_and_only_hidden_ones_are_reported():
    net, codec = make_bundle("pixelcnn")
    image = picture(codec)
    mask = np.zeros((codec.height, codec.width), bool)
    mask[1:3, 1:4] = True
    mask[4, 0] = True
    steps, result = run(inpaint_raster(net, codec, image, mask, n=3, label=1, seed=0))
    assert all(isinstance(s, PixelStep) for s in steps)
    assert len(steps) == mask.sum() == steps[0].total
    assert {(s.row, s.col) for s in steps} == set(zip(*np.nonzero(mask)))
    assert result.levels.shape == (3, *image.shape)
    for filled in result.levels:
        assert np.array_equal(filled[:, ~mask], image[:, ~mask])
    assert not np.array_equal(result.levels[0], result.levels[1])   # really sampled


@pytest.mark.parametrize("channels", [1, 3])
def test_compiled_torch_and_naive_fills_are_identical(channels):
    net, codec = make_bundle("pixelcnn", channels=channels)
    image = picture(codec, seed=1)
    mask = MASK_FAMILIES["strokes"](codec.height, codec.width, np.random.default_rng(2))
    fills = [run(inpaint_raster(net, codec, image, mask, n=2, label=None, temperature=0.8,
                                seed=5, compiled=compiled, naive=naive))[1].levels
             for compiled, naive in ((True, False), (False, False), (False, True))]
    assert np.array_equal(fills[0], fills[1]) and np.array_equal(fills[1], fills[2])


def test_a_fill_is_what_sampling_from_scratch_draws_when_everything_is_hidden():
    from app.core.sampling.image import generate_images

    net, codec = make_bundle("pixelcnn")
    mask = np.ones((codec.height, codec.width), bool)
    _, filled = run(inpaint_raster(net, codec, picture(codec), mask, n=2, label=2, seed=3))
    fresh = generate_images(net, codec, 2, 2, seed=3)
    assert np.array_equal(filled.levels, fresh.levels)


def test_stopping_mid_fill_leaves_the_image_as_it_was():
    net, codec = make_bundle("pixelcnn")
    image = picture(codec)
    mask = MASK_FAMILIES["bottom"](codec.height, codec.width, None)
    events = inpaint_raster(net, codec, image, mask, seed=0)
    for _ in itertools.islice(events, 4):
        pass
    events.close()                       # the consumer stops pulling: nothing else happens
    assert image.shape == (1, codec.height, codec.width)


def test_known_log_likelihood_matches_the_full_log_probability_of_a_fully_known_image():
    net, codec = make_bundle("pixelcnn")
    images = np.stack([picture(codec, s) for s in range(3)])
    none_hidden = np.zeros((codec.height, codec.width), bool)
    ours = known_log_likelihood(net, images, none_hidden, None, torch.device("cpu"))
    with torch.no_grad():
        nll = net.nll({"x": torch.as_tensor(images)})                # nats per sub-pixel
    assert torch.allclose(ours, -nll * images[0].size, atol=1e-4)


def test_resampling_keeps_known_pixels_and_picks_by_weight():
    net, codec = make_bundle("pixelcnn")
    image = picture(codec)
    mask = MASK_FAMILIES["centre"](codec.height, codec.width, None)
    steps, result = run(inpaint_resample(net, codec, image, mask, n=2, candidates=5, label=0,
                                         seed=1))
    assert steps[0].values.shape == (10,)                          # all candidates are shown
    assert result.method == "resample" and result.weights.shape == (2, 5)
    assert np.allclose(result.weights.sum(1), 1.0)
    for filled in result.levels:
        assert np.array_equal(filled[:, ~mask], image[:, ~mask])
    again = run(inpaint_resample(net, codec, image, mask, n=2, candidates=5, label=0,
                                 seed=1))[1]
    assert np.array_equal(result.levels, again.levels)             # seeded: reproducible


def test_one_candidate_resampling_is_plain_raster():
    net, codec = make_bundle("pixelcnn")
    image, mask = picture(codec), MASK_FAMILIES["right"](codec.height, codec.width, None)
    a = run(inpaint_resample(net, codec, image, mask, candidates=1, seed=4))[1]
    b = run(inpaint_raster(net, codec, image, mask, seed=4))[1]
    assert np.array_equal(a.levels, b.levels)


def test_bad_inputs_are_refused_with_a_reason():
    net, codec = make_bundle("pixelcnn")
    image = picture(codec)
    with pytest.raises(ValueError, match="hides no pixel"):
        list(inpaint_raster(net, codec, image, np.zeros((6, 5), bool)))
    with pytest.raises(ValueError, match="shape"):
        list(inpaint_raster(net, codec, image, np.ones((5, 5), bool)))
    with pytest.raises(ValueError, match="levels"):
        list(inpaint_raster(net, codec, image + 100, np.ones((6, 5), bool)))


def test_mask_families_cover_what_they_say():
    rng = np.random.default_rng(0)
    centre = MASK_FAMILIES["centre"](28, 28, rng)
    assert centre.sum() == 14 * 14 and centre[7:21, 7:21].all()
    assert MASK_FAMILIES["bottom"](28, 28, rng)[14:].all()
    assert MASK_FAMILIES["right"](28, 28, rng)[:, 14:].all()
    strokes = brush_strokes(28, 28, 0.25, rng)
    assert 0.25 <= strokes.mean() < 0.4


def test_mask_png_round_trips_and_scales_to_the_model(tmp_path):
    mask = brush_strokes(28, 28, 0.25, np.random.default_rng(1))
    path = save_mask_png(tmp_path / "mask.png", mask)
    assert np.array_equal(read_mask_png(path, 28, 28), mask)
    big = np.kron(mask, np.ones((4, 4), bool))                        # painted at 4x
    save_mask_png(tmp_path / "big.png", big)
    assert np.array_equal(read_mask_png(tmp_path / "big.png", 28, 28), mask)


def test_unusable_mask_files_give_a_clear_error(tmp_path):
    (tmp_path / "junk.png").write_bytes(b"not a png at all")
    with pytest.raises(MaskError, match="not a readable image"):
        read_mask_png(tmp_path / "junk.png", 28, 28)
    save_mask_png(tmp_path / "empty.png", np.zeros((28, 28), bool))
    with pytest.raises(MaskError, match="hides no pixel"):
        read_mask_png(tmp_path / "empty.png", 28, 28)


def test_cli_inpaint_keeps_known_pixels_and_records_its_parameters(tmp_path, save_tiny,
                                                                    capsys):
    from PIL import Image

    from app.cli import main
    from app.core.outputs import read_png_params

    model = str(save_tiny("pixelcnn"))            # 6 x 5 grey, 16 levels
    codec = make_bundle("pixelcnn")[1]
    rng = np.random.default_rng(0)
    Image.fromarray((rng.integers(0, 16, (6, 5)) * 16 + 8).astype(np.uint8)).save(
        tmp_path / "in.png")
    mask = np.zeros((6, 5), bool)
    mask[2:4, 1:4] = True
    save_mask_png(tmp_path / "mask.png", np.kron(mask, np.ones((3, 3), bool)))  # painted big
    for method in ("raster", "resample"):
        out = tmp_path / f"{method}.png"
        code = main(["inpaint", "--model", model, "--image", str(tmp_path / "in.png"),
                     "--mask", str(tmp_path / "mask.png"), "--method", method,
                     "--candidates", "3", "--label", "class2", "--seed", "7", "--scale", "1",
                     "--out", str(out)])
        assert code == 0 and "filled 6 pixels" in capsys.readouterr().out
        before = np.asarray(Image.open(tmp_path / "in.png"))[None, :, :, None]
        quantised = codec.decode(codec.encode(before))[0, :, :, 0]    # at the model's levels
        after = np.asarray(Image.open(out))
        assert np.array_equal(after[~mask], quantised[~mask])
        params = read_png_params(out)
        assert params["method"] == method and params["seed"] == 7 and params["label"] == 2


def test_cli_inpaint_bad_files_are_one_line_errors(tmp_path, save_tiny, capsys):
    from app.cli import main

    model = str(save_tiny("pixelcnn"))
    (tmp_path / "junk.png").write_bytes(b"\x89PNG broken")
    save_mask_png(tmp_path / "mask.png", np.ones((6, 5), bool))
    cases = [("missing.png", "mask.png", "no such file"),
             ("junk.png", "mask.png", "junk.png"),
             ("mask.png", "junk.png", "junk.png")]
    for image, mask, expected in cases:
        code = main(["inpaint", "--model", model, "--image", str(tmp_path / image),
                     "--mask", str(tmp_path / mask), "--out", str(tmp_path / "o.png")])
        err = capsys.readouterr().err.strip()
        assert code == 2 and expected in err and len(err.splitlines()) == 1
