"""The any-order image model: hidden values never leak, the one-pixel head is the full head,
files round-trip, every order visits each hidden pixel once, known pixels never change."""
import numpy as np
import pytest
import torch

from app.core.checkpoint import load_bundle, save_bundle
from app.core.masks import MASK_FAMILIES
from app.core.sampling.anyorder import hidden_nll, sample_anyorder
from app.core.sampling.events import ImageResult, PixelStep
from app.core.sampling.image import generate_images
from app.core.sampling.inpaint import InpaintResult
from app.core.sampling.orders import ORDERS, fill_order
from tests.conftest import make_bundle


def random_case(codec, seed=0):
    rng = np.random.default_rng(seed)
    x = torch.as_tensor(rng.integers(0, codec.levels, (2, 1, codec.height, codec.width)))
    visible = torch.as_tensor(rng.random((2, 1, codec.height, codec.width)) < 0.5)
    return x, visible


def test_hidden_values_have_no_influence_on_any_output():
    """The any-order analogue of causality: only visible values are seen."""
    net, codec = make_bundle("anyorder")
    x, visible = random_case(codec)
    other = torch.where(visible, x, (x + 7) % codec.levels)           # change hidden only
    with torch.no_grad():
        assert torch.equal(net(x, visible), net(other, visible))
        changed = torch.where(visible, (x + 7) % codec.levels, x)      # change visible only
        assert not torch.equal(net(x, visible), net(changed, visible))


def test_one_position_head_matches_the_full_forward():
    net, codec = make_bundle("anyorder", channels=3)
    x, _ = random_case(codec)
    x = x.repeat(1, 3, 1, 1)
    visible = torch.rand(x.shape, generator=torch.Generator().manual_seed(0)) < 0.5
    y = torch.tensor([0, 3])                                            # a class, "no label"
    with torch.no_grad():
        full = net(x, visible, y)
        for row, col, ch in ((0, 0, 0), (3, 2, 1), (5, 4, 2)):
            assert torch.allclose(net.logits_at(x, visible, y, row, col, ch),
                                  full[:, :, ch, row, col], atol=1e-5)


@pytest.mark.parametrize("half", [False, True])
def test_save_load_round_trip_gives_identical_logits(tmp_path, half):
    net, codec = make_bundle("anyorder")
    bundle = load_bundle(save_bundle(tmp_path / "a.safetensors", net, codec, {}, half=half))
    if half:
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(p.half().float())
    x, visible = random_case(codec)
    with torch.no_grad():
        assert torch.equal(net(x, visible), bundle.net(x, visible))


def test_training_loss_is_the_mean_over_hidden_pixels_and_learns():
    net, codec = make_bundle("anyorder")
    images = np.tile(np.arange(30).reshape(1, 1, 6, 5) % 16, (8, 1, 1, 1)).astype(np.uint8)
    batch = {"x": torch.as_tensor(images, dtype=torch.long), "y": torch.zeros(8, dtype=int)}
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    torch.manual_seed(0)
    first = net.nll(batch).mean().item()
    for _ in range(60):
        loss = net.nll(batch).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert 0 < loss.item() < first / 2


@pytest.mark.parametrize("order", ORDERS)
def test_every_order_visits_each_hidden_pixel_once(order):
    mask = MASK_FAMILIES["strokes"](12, 10, np.random.default_rng(0))
    cells = fill_order(mask, order, np.random.default_rng(1))
    assert sorted(map(tuple, cells)) == sorted(map(tuple, np.argwhere(mask)))


def test_spiral_starts_at_the_border_and_nearest_follows_the_evidence():
    mask = MASK_FAMILIES["centre"](12, 12, None)                       # rows/cols 3..8
    spiral = fill_order(mask, "spiral", None)
    ring = {(r, c) for r, c in np.argwhere(mask) if min(r, c) == 3 or max(r, c) == 8}
    assert set(map(tuple, spiral[:len(ring)])) == ring                 # outer ring first
    assert tuple(spiral[-1]) in {(5, 5), (5, 6), (6, 5), (6, 6)}       # centre last
    nearest = fill_order(mask, "nearest", None)
    assert tuple(nearest[0]) in {(3, 3), (3, 8), (8, 3), (8, 8)}      # a corner: 5 known
    everything = fill_order(np.ones((6, 6), bool), "spiral", None)
    assert {tuple(everything[0])} <= {(r, c) for r in range(6) for c in range(6)
                                      if min(r, c) == 0 or max(r, c) == 5}


@pytest.mark.parametrize("order", ORDERS)
def test_filling_keeps_known_pixels_and_is_reproducible(order):
    net, codec = make_bundle("anyorder")
    image = np.random.default_rng(0).integers(0, 16, (1, 6, 5))
    mask = MASK_FAMILIES["bottom"](6, 5, None)
    runs = [list(sample_anyorder(net, codec, 2, 1, 1.0, seed=3, order=order, image=image,
                                 mask=mask)) for _ in range(2)]
    steps, result = runs[0][:-1], runs[0][-1]
    assert isinstance(result, InpaintResult) and all(isinstance(s, PixelStep) for s in steps)
    assert len(steps) == mask.sum() and {(s.row, s.col) for s in steps} == \
        set(zip(*np.nonzero(mask)))
    for filled in result.levels:
        assert np.array_equal(filled[:, ~mask], image[:, ~mask])
    assert np.array_equal(result.levels, runs[1][-1].levels)


def test_generating_from_nothing_goes_through_the_image_sampler():
    net, codec = make_bundle("anyorder")
    result = generate_images(net, codec, 3, [0, 1, None], seed=2, order="spiral")
    assert isinstance(result, ImageResult) and not isinstance(result, InpaintResult)
    assert result.levels.shape == (3, 1, 6, 5) and result.pixels.dtype == np.uint8
    pixelcnn, pcodec = make_bundle("pixelcnn")
    with pytest.raises(ValueError, match="raster order only"):
        generate_images(pixelcnn, pcodec, 1, seed=0, order="spiral")


def test_hidden_nll_is_the_chain_of_one_pixel_predictions():
    net, codec = make_bundle("anyorder")
    image = np.random.default_rng(4).integers(0, 16, (1, 1, 6, 5))
    mask = np.zeros((6, 5), bool)
    mask[2, 1] = mask[4, 3] = True
    ours = hidden_nll(net, image, mask, "raster")
    x = torch.as_tensor(image)
    visible = torch.as_tensor(~mask)[None, None].clone()
    expected = 0.0
    with torch.no_grad():
        for r, c in ((2, 1), (4, 3)):
            logp = torch.log_softmax(net.logits_at(x, visible, None, r, c, 0), 1)
            expected -= logp[0, image[0, 0, r, c]].item()
            visible[0, 0, r, c] = True
    assert ours.shape == (1,) and ours[0] == pytest.approx(expected, abs=1e-5)


def test_cli_samples_and_inpaints_with_an_any_order_model(tmp_path, save_tiny, capsys):
    from PIL import Image

    from app.cli import main
    from app.core.masks import save_mask_png
    from app.core.outputs import read_png_params

    anyorder, pixelcnn = str(save_tiny("anyorder")), str(save_tiny("pixelcnn"))
    assert main(["sample", "image", "--model", anyorder, "--n", "2", "--order", "spiral",
                 "--seed", "1", "--out", str(tmp_path / "s.png")]) == 0
    assert read_png_params(tmp_path / "s.png")["order"] == "spiral"
    Image.fromarray(np.full((6, 5), 200, np.uint8)).save(tmp_path / "in.png")
    mask = np.zeros((6, 5), bool)
    mask[3:, 2:] = True
    save_mask_png(tmp_path / "mask.png", mask)
    common = ["--image", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"),
              "--scale", "1", "--seed", "2"]
    assert main(["inpaint", "--model", anyorder, "--method", "anyorder", "--order", "nearest",
                 "--out", str(tmp_path / "f.png"), *common]) == 0
    filled = np.asarray(Image.open(tmp_path / "f.png"))
    assert (filled[~mask] == filled[0, 0]).all()
    assert read_png_params(tmp_path / "f.png")["order"] == "nearest"
    capsys.readouterr()
    for model, method, expected in ((pixelcnn, "anyorder", "needs an any-order model"),
                                    (anyorder, "resample", "needs a PixelCNN")):
        code = main(["inpaint", "--model", model, "--method", method,
                     "--out", str(tmp_path / "x.png"), *common])
        assert code == 2 and expected in capsys.readouterr().err
    assert main(["sample", "image", "--model", pixelcnn, "--order", "random",
                 "--out", str(tmp_path / "x.png")]) == 2


def test_training_previews_of_any_order_models_take_a_bounded_number_of_passes(monkeypatch):
    from app.core.sampling.anyorder import quick_images
    from app.core.training.previews import make_preview

    net, codec = make_bundle("anyorder")
    calls = []
    forward = type(net).forward
    monkeypatch.setattr(type(net), "forward",
                        lambda self, *a, **k: calls.append(1) or forward(self, *a, **k))
    preview = make_preview(net, codec, "image", step=10, seed=3)
    assert preview.images.shape == (4, codec.height, codec.width, codec.channels)
    assert 0 < len(calls) <= 30                      # 6 x 5 pixels: one per pass at most
    first = quick_images(net, codec, 2, [0, 1], seed=5, passes=7)
    again = quick_images(net, codec, 2, [0, 1], seed=5, passes=7)
    assert np.array_equal(first.levels, again.levels)
    assert ((first.levels >= 0) & (first.levels < codec.levels)).all()
    assert len(calls) == 30 + 14
