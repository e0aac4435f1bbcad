"""Colour images: the emoji data (on a small emoji list the test writes), a user's folder of
colour images at a chosen size (`train --kind ... --image-size --colour`), and a canvas
that follows a model drawing in two passes."""
import json

import numpy as np
import pytest
from PIL import Image, ImageFont

from app.cli import main
from app.core.checkpoint import load_bundle
from app.core.codecs import ImageCodec
from app.core.sampling.events import ImageResult, PixelStep, Stage
from app.core.state import CanvasState
from app.core.training import emoji
from app.core.training.folders import DataFolderError, prepare_folder

EMOJI_TEST = """\
# group: Smileys & Emotion
# subgroup: face-smiling
0041 ; fully-qualified # A E0.6 grinning face
0042 ; fully-qualified # B E0.6 grinning face with big eyes
0043 ; minimally-qualified # C E0.6 not kept
# group: People & Body
0044 ; fully-qualified # D E0.6 waving hand
0044 1F3FB ; fully-qualified # D E1.0 waving hand: light skin tone
0045 0046 0047 0048 0049 ; fully-qualified # EFGHI E1.0 drawn as five glyphs
# group: Component
0030 ; fully-qualified # 0 E1.0 light skin tone
# group: Flags
004A ; fully-qualified # J E0.6 chequered flag
"""


@pytest.fixture
def emoji_source(tmp_path, monkeypatch):
    """The emoji loader on a short list, drawn with Pillow's own font (any font draws the
    same way; the real one is a Debian package the tests do not need)."""
    path = tmp_path / "emoji-test.txt"
    path.write_text(EMOJI_TEST, encoding="utf-8")
    font = tmp_path / "font.ttf"
    font.write_bytes(b"")
    monkeypatch.setattr(emoji, "EMOJI_TEST", path)
    monkeypatch.setattr(emoji, "EMOJI_FONT", font)
    default = ImageFont.load_default(emoji.FONT_SIZE)
    monkeypatch.setattr(ImageFont, "truetype", lambda *_args, **_kw: default)
    return path


def test_the_emoji_list_keeps_fully_qualified_emoji_without_skin_tones(emoji_source):
    rows = emoji.read_emoji_list(emoji_source)
    assert [(e, g, name) for e, g, name in rows] == [
        ("A", 0, "grinning face"), ("B", 0, "grinning face with big eyes"),
        ("D", 1, "waving hand"), ("EFGHI", 1, "drawn as five glyphs"),
        ("J", 8, "chequered flag")]


def test_emoji_are_drawn_small_on_white_and_split_per_group(emoji_source):
    images, labels, names, heldout, provenance = emoji.load_emoji()
    # Five glyphs side by side are not one emoji: left out.
    assert names == ["grinning face", "grinning face with big eyes", "waving hand",
                     "chequered flag"]
    assert images.shape == (4, 32, 32, 3) and images.dtype == np.uint8
    assert list(labels) == [0, 0, 1, 8]
    assert images[:, 0, 0].min() == 255            # corners: the white background
    assert (images.reshape(4, -1).min(1) < 128).all()     # and each has a drawing on it
    # The first emoji of every group is held out (every 10th from there).
    assert list(heldout) == [True, False, True, True]
    assert "Noto Color Emoji" in provenance["source"] and provenance["license"]


def test_a_missing_font_says_how_to_install_it(tmp_path, monkeypatch):
    from app.core.training.sources import DataSourceError

    monkeypatch.setattr(emoji, "EMOJI_FONT", tmp_path / "none.ttf")
    with pytest.raises(DataSourceError, match="apt-get install fonts-noto-color-emoji"):
        emoji.load_emoji()


@pytest.fixture
def colour_folder(tmp_path):
    rng = np.random.default_rng(0)
    for name, tint, size in (("red", (255, 30, 30), (40, 60)), ("blue", (30, 30, 255), (50, 50))):
        (tmp_path / "colours" / name).mkdir(parents=True)
        for i in range(6):
            pixels = (rng.random((*size, 3)) * tint).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "colours" / name / f"{i}.png")
    return tmp_path / "colours"


def test_a_colour_folder_becomes_rgb_images_of_the_size_asked(colour_folder):
    data, config, _ = prepare_folder("pixelcnn", colour_folder, image=(16, 12, 3))
    codec = data.codec
    assert (codec.height, codec.width, codec.channels) == (16, 12, 3)
    assert (config.height, config.width, config.channels) == (16, 12, 3)
    assert codec.class_names == ["blue", "red"]
    assert "16 x 12 colour (RGB)" in data.provenance["converted"]
    pixels = codec.decode(data.train.images)
    red = pixels[data.train.labels == 1]
    assert red[..., 0].mean() > 3 * red[..., 2].mean()     # red stayed red
    # Without a choice: MNIST's format, as before.
    data, _, _ = prepare_folder("pixelcnn", colour_folder)
    assert (data.codec.height, data.codec.channels) == (28, 1)


def test_image_choices_that_cannot_apply_are_refused(colour_folder):
    with pytest.raises(DataFolderError, match="grey"):       # a PixelRNN here is grey only
        prepare_folder("pixelrnn", colour_folder, image=(32, 32, 3))
    with pytest.raises(DataFolderError, match="4 to 256"):
        prepare_folder("pixelcnn", colour_folder, image=(2, 32, 3))
    with pytest.raises(DataFolderError, match="not images"):
        prepare_folder("wavenet", colour_folder, image=(32, 32, 3))
    with pytest.raises(DataFolderError, match="fine-tuning keeps that"):
        prepare_folder("pixelcnn", colour_folder, codec=ImageCodec(28, 28, 1, 256, []),
                       image=(32, 32, 3))


def test_train_kind_on_a_colour_folder_and_resume_keeps_the_format(colour_folder, tmp_path,
                                                                   capsys):
    out = tmp_path / "c.safetensors"
    code = main(["train", "--kind", "depth-upscale", "--data", str(colour_folder), "--colour",
                 "--image-size", "8x12", "--steps", "2", "--quiet", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "images: 8 x 12 colour (RGB)" in err
    bundle = load_bundle(out)
    assert (bundle.codec.height, bundle.codec.width, bundle.codec.channels) == (8, 12, 3)
    run_dir = next((tmp_path / "chainrule-home" / "runs").iterdir())
    assert json.loads((run_dir / "run.json").read_text())["source"]["image"] == [8, 12, 3]
    code = main(["train", "--resume", str(run_dir), "--steps", "3", "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert load_bundle(out).codec.channels == 3


@pytest.mark.parametrize("flags, message", [
    (["--image-size", "big"], "expected N or HEIGHTxWIDTH"),
    (["--image-size", "2"], "4 to 256"),
    (["--image-size", "300x32"], "4 to 256"),
])
def test_bad_image_flags_are_one_line_before_any_data_is_read(flags, message, tmp_path,
                                                              capsys):
    code = main(["train", "--kind", "pixelcnn", "--data", str(tmp_path / "nowhere"), *flags])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0]


def test_image_flags_apply_to_a_fresh_kind_only(capsys):
    assert main(["train", "--preset", "emoji", "--colour"]) == 2
    assert "fresh --kind model" in capsys.readouterr().err


def test_a_small_first_stage_shows_each_pixel_as_a_block():
    codec = ImageCodec(4, 4, 1, 256, [])
    state = CanvasState(codec, 1)
    state.apply([Stage(0, 2, "small: 2 x 2", 16, block=2),
                 PixelStep(0, 16, 0, 2, 0, np.array([200]))])
    assert (state.pixels[0, :2, 2:, 0] == 200).all() and state.drawn[:2, 2:].all()
    assert state.levels[0, 0, 0, 3] == 0 and state.drawn.sum() == 4
    state.apply([Stage(1, 2, "full size", 16), PixelStep(1, 16, 1, 3, 0, np.array([7]))])
    assert state.pixels[0, 1, 3, 0] == 7 and state.pixels[0, 0, 3, 0] == 200


def test_a_canvas_follows_a_model_drawing_in_two_passes():
    codec = ImageCodec(2, 2, 3, 256, [])
    state = CanvasState(codec, 1, stages=2)
    assert state.total == 2 * 12
    steps = [(r, c, ch) for r in range(2) for c in range(2) for ch in range(3)]
    state.apply([Stage(0, 2, "coarse: 3-bit colour", 24)])
    state.apply([PixelStep(i, 24, r, c, ch, np.array([16])) for i, (r, c, ch)
                 in enumerate(steps)])
    assert state.drawn.all() and not state.finished          # one pass of two
    assert state.stage == "stage 1 of 2: coarse: 3-bit colour"
    assert state.take_changed().all() and not state.take_changed().any()
    state.apply([Stage(1, 2, "refine", 24)])
    assert state.drawn.all() and state.stage.startswith("stage 2 of 2")   # still shown
    state.apply([PixelStep(12 + i, 24, r, c, ch, np.array([20])) for i, (r, c, ch)
                 in enumerate(steps[:3])])
    assert state.done == 15 and state.cursor == (0, 0)
    assert state.pixels[0, 0, 0, 0] == 20 and state.pixels[0, 0, 1, 0] == 16
    changed = state.take_changed()       # what the canvas repaints: the redrawn pixel
    assert changed[0, 0] and changed.sum() == 1
    levels = np.full((1, 3, 2, 2), 20)
    state.apply([ImageResult(levels, codec.decode(levels))])
    assert state.finished and state.done == state.total
