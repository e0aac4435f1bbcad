"""See the chain rule (app/core/explain.py): per-element bits that add up to `chainrule eval`,
distributions that sum to 1, samplers that report what they drew from without drawing
anything else, and `chainrule explain`."""
import itertools
import json
import math

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from app.cli import main
from app.core.checkpoint import Bundle
from app.core.explain import EVAL_WINDOW, ExplainError, score
from app.core.registry import KINDS
from app.core.sampling.events import AudioChunk, ImageResult, PixelStep, TextDelta
from app.core.training.datasets import ImageData, SequenceData
from app.core.training.trainer import evaluate
from tests.conftest import make_bundle

LN2 = math.log(2.0)
FIXED_ORDER = [k for k, s in KINDS.items() if s.modality == "image" and s.fixed_order]
SEQUENCE_KINDS = [k for k, s in KINDS.items() if s.modality != "image"]
IMAGE_KINDS = [k for k, s in KINDS.items() if s.modality == "image"]
TINY_TEXT = "\nabcdefgh :!"          # tests/conftest.py's character vocabulary


def bundle_of(kind, **overrides):
    net, codec = make_bundle(kind, **overrides)
    return Bundle(kind, "", kind, net.config, codec, net=net)


def images_for(codec, n=3, seed=0):
    shape = (n, codec.channels, codec.height, codec.width)
    return np.random.default_rng(seed).integers(0, codec.levels, shape)


def close(a, b, rel=1e-4):
    return abs(a - b) <= rel * abs(b)


# ----- the bits add up to eval ---------------------------------------------------------
@pytest.mark.parametrize("kind", FIXED_ORDER)
@pytest.mark.parametrize("variant", [{}, {"num_classes": 0}, {"channels": 3}])
def test_image_bits_sum_to_the_eval_figure(kind, variant):
    if variant.get("channels") == 3 and kind != "pixelcnn":
        pytest.skip("grey-only net")
    b = bundle_of(kind, **variant)
    images = images_for(b.codec)
    result = score(b, images)
    expected = evaluate(b.net, ImageData(images.astype(np.uint8)), 2, "cpu")
    assert result.bits.shape == images.shape and result.value.tolist() == images.tolist()
    assert close(result.mean_bits, expected)
    assert close(result.total_bits, expected * images.size)
    assert np.allclose(result.item_bits.sum(), result.total_bits)


@pytest.mark.parametrize("kind", FIXED_ORDER)
def test_labelled_images_score_as_eval_scores_labelled_data(kind):
    b = bundle_of(kind)
    images, labels = images_for(b.codec), np.array([0, 2, 1])
    result = score(b, images, labels=labels.tolist())
    assert close(result.mean_bits, evaluate(b.net, ImageData(images.astype(np.uint8), labels),
                                            3, "cpu"))
    assert not close(result.mean_bits, score(b, images).mean_bits, 1e-9)


def _every_visible_set_as_often_as_eval_draws_it(dims):
    """Each visible set S (|S| < D) repeated in proportion to eval's chance of drawing it
    (size uniform in 0..D-1, then a uniform set of that size): (N, D) bool."""
    lcm = math.lcm(*(math.comb(dims, k) for k in range(dims)))
    rows = []
    for k in range(dims):
        for shown in itertools.combinations(range(dims), k):
            row = np.zeros(dims, bool)
            row[list(shown)] = True
            rows += [row] * (lcm // math.comb(dims, k))
    return np.stack(rows)


@pytest.mark.parametrize("shape", [dict(height=2, width=3), dict(height=1, width=2, channels=3)])
def test_any_order_bits_averaged_over_every_order_are_evals_expected_figure(shape, monkeypatch):
    """eval on an any-order model is a random estimate (one random visible set per image) of
    the average over orders of the per-order figure. Averaged over every visible set with
    eval's own chances, through eval's own code, it equals the mean of score's figure over
    every order of the sub-pixels."""
    b = bundle_of("anyorder", **shape)
    net, codec = b.net, b.codec
    image = images_for(codec, 1, seed=1)
    subpixels = [(r, c, ch) for ch in range(codec.channels) for r in range(codec.height)
                 for c in range(codec.width)]
    per_order = [score(b, image, order=np.array(o)).mean_bits
                 for o in itertools.permutations(subpixels)]
    masks = torch.as_tensor(_every_visible_set_as_often_as_eval_draws_it(image.size))
    masks = masks.view(-1, *image.shape[1:])
    monkeypatch.setattr(net, "random_visible", lambda x: masks)
    expected = evaluate(net, ImageData(np.repeat(image, len(masks), 0).astype(np.uint8)),
                        len(masks), "cpu")
    assert len(per_order) == math.factorial(image.size)
    assert close(float(np.mean(per_order)), expected)
    assert np.std(per_order) > 1e-3                # one order's figure is not the average


@pytest.mark.parametrize("order", ["raster", "random", "spiral", "nearest", "subscale"])
def test_any_order_bits_are_the_exact_chain_in_that_order(order):
    from app.core.sampling.anyorder import hidden_nll

    b = bundle_of("anyorder", channels=3, num_classes=0)
    images = images_for(b.codec, 2)
    result = score(b, images, order=order, seed=4)
    reference = hidden_nll(b.net, images, np.ones(images.shape[2:], bool), order, seed=4)
    assert np.allclose(result.item_bits, reference / LN2, rtol=1e-5)
    assert result.order == order and len(result.steps) == images[0].size
    assert score(b, images).order == "random"       # the default, as eval draws orders


@pytest.mark.parametrize("kind", SEQUENCE_KINDS)
@pytest.mark.parametrize("windows", [1, 3])
def test_sequence_bits_sum_to_the_eval_figure(kind, windows):
    b = bundle_of(kind)
    levels = b.codec.levels if kind == "wavenet" else b.codec.size
    window = 12
    values = np.random.default_rng(2).integers(0, levels, (1, windows * window + 1))
    result = score(b, values, window=window)
    expected = evaluate(b.net, SequenceData(values[0], window), 2, "cpu")
    assert result.bits.shape == (1, windows * window) and result.offset == 1
    assert (result.value == values[:, 1:]).all()
    assert close(result.mean_bits, expected)
    # A last partial window is scored too (eval leaves it out).
    assert score(b, values[:, :-5], window=window).bits.shape == (1, windows * window - 5)


def test_text_scores_strings_and_the_whole_text_is_one_window_by_choice():
    b = bundle_of("charlm-lstm")
    text = "abc def!\n" * 5
    whole = score(b, text, window=len(text))
    expected = evaluate(b.net, SequenceData(b.codec.encode(text), len(text) - 1), 1, "cpu")
    assert close(whole.mean_bits, expected) and whole.window == len(text)
    assert score(b, text).window == EVAL_WINDOW["text"]
    assert score(bundle_of("charlm-gpt"), text).window == 16      # its context


def test_a_net_in_training_mode_is_scored_as_eval_scores_it_and_left_training():
    b = bundle_of("charlm-gpt", dropout=0.5)
    text = "abc def!\n" * 3
    expected = score(b, text).bits
    b.net.train()
    assert np.array_equal(score(b, text).bits, expected) and b.net.training


def test_eval_windows_are_the_ones_eval_uses_for_a_file(tmp_path):
    from app.core.training.folders import prepare_folder

    (tmp_path / "t.txt").write_text("abc " * 200)
    soundfile.write(tmp_path / "a.wav", np.zeros(16000, np.float32), 8000)
    for kind, name in (("charlm-lstm", "t.txt"), ("wavenet", "a.wav")):
        _, codec = make_bundle(kind)
        data, _, _ = prepare_folder(kind, tmp_path / name, codec=codec)
        assert data.train.window == EVAL_WINDOW[KINDS[kind].modality]


# ----- distributions ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_distribution_sums_to_one_and_tops_are_the_likeliest(kind):
    b = bundle_of(kind)
    if KINDS[kind].modality == "image":
        result = score(b, images_for(b.codec, 2), top=4)
    else:
        levels = b.codec.levels if kind == "wavenet" else b.codec.size
        result = score(b, np.random.default_rng(0).integers(0, levels, (2, 30)), top=4)
    assert result.probs is not None and result.probs.dtype == np.float32
    assert np.abs(result.probs.sum(-1) - 1).max() < 1e-5
    picked = np.take_along_axis(result.probs, result.value[..., None], -1)[..., 0]
    assert np.allclose(result.bits, -np.log2(picked), atol=1e-4)
    assert np.allclose(np.sort(result.probs, -1)[..., ::-1][..., :4], result.top_probs)
    assert (result.entropy_bits >= -1e-9).all()
    assert (result.entropy_bits <= math.log2(result.probs.shape[-1]) + 1e-6).all()
    assert score(b, result.value if KINDS[kind].modality == "image" else
                 np.concatenate([np.zeros((2, 1), int), result.value], 1),
                 keep_probs=False).probs is None


# A model drawing in passes shows each sub-pixel's last pass, which sees every earlier pass
# whole: its stages' own causality is tested in test_depth_upscale.py.
@pytest.mark.parametrize("kind", [k for k in FIXED_ORDER if KINDS[k].stages == 1])
def test_each_element_sees_only_the_elements_before_it_in_steps(kind):
    b = bundle_of(kind)
    image = images_for(b.codec, 1)
    base = score(b, image)
    for t in (0, 7, len(base.steps) - 1):
        r, c, ch = base.steps[t]
        changed = image.copy()
        changed[0, ch, r, c] = (changed[0, ch, r, c] + 5) % b.codec.levels
        after = score(b, changed)
        for r2, c2, ch2 in base.steps[:t + 1]:
            assert np.isclose(after.probs[0, ch2, r2, c2], base.probs[0, ch2, r2, c2],
                              atol=1e-6).all()
        if t + 1 < len(base.steps):
            assert not np.allclose(after.probs, base.probs)


# ----- samplers: opt-in distributions ------------------------------------------------------
def _split(events):
    steps = [e for e in events if isinstance(e, PixelStep)]
    return steps, next(e for e in events if isinstance(e, ImageResult))


IMAGE_PATHS = [("pixelcnn", dict(compiled=True)), ("pixelcnn", dict(compiled=False)),
               ("pixelcnn", dict(naive=True)), ("pixelrnn", {}), ("subscale", {}),
               ("anyorder", dict(order="spiral"))]


@pytest.mark.parametrize("kind,how", IMAGE_PATHS)
@pytest.mark.parametrize("temperature", [1.0, 0.7, 0.0])
def test_image_samplers_report_what_they_drew_from_and_draw_the_same(kind, how, temperature):
    from app.core.sampling.image import sample_images

    b = bundle_of(kind)
    args = (b.net, b.codec, 2, [0, None], temperature, 5)
    plain, plain_result = _split(list(sample_images(*args, **how)))
    told, told_result = _split(list(sample_images(*args, report=True, **how)))
    assert np.array_equal(plain_result.levels, told_result.levels)
    assert all(s.probs is None and s.logprob is None for s in plain)
    for a, s in zip(plain, told):
        assert np.array_equal(a.values, s.values) and (a.row, a.col) == (s.row, s.col)
        assert s.probs.shape == (2, b.codec.levels) and s.probs.dtype == np.float32
        assert np.abs(s.probs.sum(1) - 1).max() < 1e-5
        chosen = s.probs[np.arange(2), s.values]
        assert np.allclose(s.logprob, np.log(chosen), atol=1e-5) and (chosen > 0).all()
    if temperature == 1.0:
        # The model's own distributions: what score finds on the finished images.
        result = score(b, told_result.levels, labels=[0, None], order=how.get("order"), seed=5)
        for s in told:
            assert np.allclose(s.probs, result.probs[:, s.channel, s.row, s.col], atol=1e-4)
        assert [tuple(s[:2]) for s in result.steps] == [(s.row, s.col) for s in told]


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("temperature", [1.0, 0.8])
def test_audio_sampler_reports_what_it_drew_from_and_draws_the_same(compiled, temperature):
    from app.core.sampling.audio import sample_audio

    b = bundle_of("wavenet")
    args = (b.net, b.codec, 90, None, temperature, 3)
    plain = list(sample_audio(*args, streams=2, chunk=40, compiled=compiled))
    told = list(sample_audio(*args, streams=2, chunk=40, compiled=compiled, report=True))
    assert all(isinstance(e, AudioChunk) and e.probs is None for e in plain)
    assert [e.start for e in told] == [0, 40, 80]
    for a, e in zip(plain, told):
        assert np.array_equal(a.samples, e.samples)
        assert e.probs.shape == (2, e.samples.shape[1], b.codec.levels)
        assert np.abs(e.probs.sum(-1) - 1).max() < 1e-5
        picked = np.take_along_axis(e.probs, e.levels[..., None], -1)[..., 0]
        assert np.allclose(e.logprob, np.log(picked), atol=1e-5)
    if temperature == 1.0:
        levels = np.concatenate([e.levels for e in told], 1)
        start = np.full((2, 1), b.codec.silence)
        result = score(b, np.concatenate([start, levels], 1), window=1000)
        logprob = np.concatenate([e.logprob for e in told], 1)
        assert np.allclose(-result.bits * LN2, logprob, atol=1e-4)


@pytest.mark.parametrize("kind", ["charlm-lstm", "charlm-gpt"])
@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("shape", [dict(temperature=1.0), dict(temperature=0.9, top_k=4),
                                   dict(temperature=1.2, top_p=0.8)])
def test_text_sampler_reports_candidates_and_draws_the_same(kind, compiled, shape):
    from app.core.sampling.text import sample_text

    b = bundle_of(kind)
    run = lambda **k: list(sample_text(b.net, b.codec, "ab", 25, seed=4, n=2,  # noqa: E731
                                       compiled=compiled, **shape, **k))
    plain, told = run(), run(report=True, top=5)
    assert [(e.stream, e.text, e.logprob) if isinstance(e, TextDelta) else e.texts
            for e in plain] == [(e.stream, e.text, e.logprob) if isinstance(e, TextDelta)
                                else e.texts for e in told]
    deltas = [e for e in told if isinstance(e, TextDelta)]
    assert all(e.candidates is None for e in plain if isinstance(e, TextDelta))
    for e in deltas:
        probs = [p for _, p in e.candidates]
        assert 0 < len(probs) <= 5 and probs == sorted(probs, reverse=True)
        assert sum(probs) <= 1 + 1e-5 and (len(probs) == 5 or abs(sum(probs) - 1) < 1e-5)
        assert any(c == e.text and abs(math.log(p) - e.logprob) < 1e-4
                   for c, p in e.candidates) or e.logprob < math.log(probs[-1]) + 1e-6
    everything = run(report=True, top=len(TINY_TEXT))
    for e in everything:
        if isinstance(e, TextDelta):
            assert abs(sum(p for _, p in e.candidates) - 1) < 1e-5
    if shape == dict(temperature=1.0):
        text = "ab" + "".join(e.text for e in deltas if e.stream == 0)
        result = score(b, text, window=100)
        logprob = [e.logprob for e in deltas if e.stream == 0]
        # A Transformer's sampler and score agree while the text fits its context.
        m = getattr(b.config, "context", len(text)) - 1
        # The compiled LSTM holds int8 weights: within its stated 2e-3 (test_fast_paths).
        tolerance = 2e-3 if compiled else 1e-4
        assert np.allclose(-result.bits[0, 1:m] * LN2, logprob[:m - 1], atol=tolerance)


# ----- refusals --------------------------------------------------------------------------
def test_unusable_input_is_refused_in_one_line():
    image_b, text_b, audio_b = bundle_of("pixelcnn"), bundle_of("charlm-gpt"), bundle_of("wavenet")
    image = images_for(image_b.codec, 1)
    cases = [
        (image_b, image[:, :, :3], {}, "shape"),
        (image_b, image + 100, {}, "levels must lie"),
        (image_b, image.astype(float), {}, "integer levels"),
        (image_b, image, dict(order="spiral"), "raster order only"),
        (image_b, image, dict(labels=7), "out of range"),
        (image_b, image, dict(window=3), "window"),
        (bundle_of("anyorder"), image, dict(order="diagonal"), "unknown order"),
        (bundle_of("anyorder"), image, dict(order=np.zeros((30, 2))), "each of the"),
        (text_b, "abz", {}, "never saw: 'z'"),
        (text_b, ["ab", "abc"], {}, "equally long"),
        (text_b, "a", {}, "at least 2 characters"),
        (text_b, "abc", dict(labels=1), "no label"),
        (audio_b, "abc", {}, "integer levels, got text"),
        (audio_b, np.array([3, 99]), {}, "levels must lie"),
    ]
    for b, data, kwargs, message in cases:
        with pytest.raises(ExplainError, match=message):
            score(b, data, **kwargs)


# ----- the command ------------------------------------------------------------------------
def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _png(path, codec, seed):
    pixels = np.random.default_rng(seed).integers(0, 256, (codec.height, codec.width),
                                                  dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def test_explain_an_image_writes_a_heat_map_and_its_json(tmp_path, save_tiny, capsys):
    model = str(save_tiny("pixelcnn"))
    _, codec = make_bundle("pixelcnn")
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(2):
        _png(folder / f"{i}.png", codec, i)
    means = []
    for i in range(2):
        out = tmp_path / f"bits{i}.png"
        code, stdout, _ = run_cli(capsys, "explain", "--model", model, str(folder / f"{i}.png"),
                                  "--out", str(out), "--scale", "3", "--top", "4")
        assert code == 0 and "bits/dim" in stdout
        report = json.loads(out.with_suffix(".json").read_text())
        picture = Image.open(out)
        assert picture.size == (codec.width * 3, codec.height * 3) and picture.mode == "RGB"
        chunk = json.loads(picture.text["chainrule"])
        assert chunk["total_bits"] == report["total_bits"] and chunk["order"] == "raster"
        assert np.isclose(np.sum(report["bits"]), report["total_bits"], atol=1e-2)
        assert np.array(report["top_values"]).shape == (1, codec.height, codec.width, 4)
        assert np.array(report["pixel_bits"]).shape == (codec.height, codec.width)
        means.append(report["mean_bits"])
    code, stdout, _ = run_cli(capsys, "eval", "--model", model, "--data", str(folder), "--json")
    assert code == 0 and close(float(np.mean(means)), json.loads(stdout)["nll"])


@pytest.mark.parametrize("pad", [None, 1, 2])
def test_explain_a_saved_grid_scores_the_exact_pixels_of_the_chosen_image(pad, tmp_path,
                                                                          save_tiny, capsys):
    """A saved (upscaled, padded) grid is scored at the pixels the model drew, not at a
    resampled copy; the class it was drawn with is the default label."""
    from app.core.explain import score
    from app.core.outputs import save_png
    from app.core.sampling.image import image_grid

    model = save_tiny("pixelcnn", num_classes=3)
    net, codec = make_bundle("pixelcnn", num_classes=3)
    pixels = np.random.default_rng(5).integers(0, 256, (4, codec.height, codec.width, 1),
                                               dtype=np.uint8)
    params = {"mode": "generate", "n": 4, "label": 2, "scale": 3,
              **({"grid_pad": pad} if pad is not None else {})}
    save_png(tmp_path / "grid.png", image_grid(pixels, pad=pad or 2), params, scale=3)
    out = tmp_path / "bits.png"
    code, stdout, _ = run_cli(capsys, "explain", "--model", str(model), "--cell", "3",
                              str(tmp_path / "grid.png"), "--out", str(out))
    assert code == 0 and "image 3 of the 4" in stdout
    from app.core.checkpoint import load_bundle

    expected = score(load_bundle(model, "cpu"), codec.encode(pixels[2]), labels=2)
    report = json.loads(out.with_suffix(".json").read_text())
    assert close(report["total_bits"], expected.total_bits, rel=1e-5)
    code, _, err = run_cli(capsys, "explain", "--model", str(model), "--cell", "5",
                           str(tmp_path / "grid.png"), "--out", str(out))
    assert code == 2 and "--cell 5: the picture holds 4 images" in err


def test_explain_text_and_audio_write_json_that_adds_up_to_eval(tmp_path, save_tiny, capsys):
    text_model, audio_model = str(save_tiny("charlm-lstm")), str(save_tiny("wavenet"))
    text = "".join(np.random.default_rng(0).choice(list(TINY_TEXT), 2 * 256 + 1))
    (tmp_path / "t.txt").write_text(text)
    soundfile.write(tmp_path / "a.wav", np.sin(np.arange(2 * 4000 + 1) / 7.0) * 0.5, 8000)
    for model, name, unit in ((text_model, "t.txt", "bits/char"),
                              (audio_model, "a.wav", "bits/sample")):
        out = tmp_path / f"{name}.json"
        code, stdout, _ = run_cli(capsys, "explain", "--model", model, str(tmp_path / name),
                                  "--out", str(out))
        assert code == 0 and unit in stdout
        report = json.loads(out.read_text())
        code, stdout, _ = run_cli(capsys, "eval", "--model", model, "--data",
                                  str(tmp_path / name), "--json")
        assert code == 0 and close(report["mean_bits"], json.loads(stdout)["nll"])
        assert report["offset"] == 1 and report["window"] == EVAL_WINDOW[report["modality"]]
    chars = json.loads((tmp_path / "t.txt.json").read_text())["chars"]
    assert "".join(c["char"] for c in chars) == text[1:]
    assert all(len(c["top"]) == 10 for c in chars)


def test_explain_refuses_bad_input_with_one_line_and_exit_2(tmp_path, save_tiny, capsys):
    image_model, text_model = str(save_tiny("pixelcnn")), str(save_tiny("charlm-gpt"))
    (tmp_path / "bad.txt").write_text("abz")
    (tmp_path / "ok.txt").write_text("abc")
    (tmp_path / "noise.png").write_bytes(b"not a png at all")
    cases = [
        ((image_model, tmp_path / "missing.png", tmp_path / "o.png"), "no such file"),
        ((image_model, tmp_path / "noise.png", tmp_path / "o.png"), "not a readable image"),
        ((image_model, tmp_path / "bad.txt", tmp_path / "o.png"), "not a readable image"),
        ((image_model, tmp_path / "noise.png", tmp_path / "o.json"), "give a .png name"),
        ((text_model, tmp_path / "bad.txt", tmp_path / "o.json"), "never saw"),
        ((text_model, tmp_path / "ok.txt", tmp_path / "o.png"), "not a .png"),
        ((text_model, tmp_path / "ok.txt", tmp_path / "no" / "o.json"), "does not exist"),
    ]
    for (model, source, out), message in cases:
        code, _, err = run_cli(capsys, "explain", "--model", model, str(source), "--out",
                               str(out))
        assert code == 2 and message in err, err
        assert err.count("\n") == 1 and "Traceback" not in err
    code, _, err = run_cli(capsys, "explain", "--model", text_model, str(tmp_path / "ok.txt"),
                           "--out", str(tmp_path / "o.json"), "--order", "spiral")
    assert code == 2 and "no --label and no --order" in err
    _png(tmp_path / "ok.png", make_bundle("pixelcnn")[1], 0)
    code, _, err = run_cli(capsys, "explain", "--model", image_model, str(tmp_path / "ok.png"),
                           "--out", str(tmp_path / "o.png"), "--label", "zebra")
    assert code == 2 and "unknown label 'zebra'" in err
    assert not (tmp_path / "o.png").exists() and not (tmp_path / "o.json").exists()


def test_heat_map_runs_dark_to_bright():
    from app.core.explain_report import heat_map

    bits = np.linspace(0, 8, 12).reshape(3, 4)
    picture = heat_map(bits)
    assert picture.shape == (3, 4, 3) and picture.dtype == np.uint8
    brightness = picture.astype(int).sum(-1).ravel()
    assert brightness[0] < 20 and brightness[-1] > 600 and (np.diff(brightness) > 0).all()
    assert heat_map(np.zeros((2, 2))).max() < 10
