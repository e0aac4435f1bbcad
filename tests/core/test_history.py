"""The history of results (app/core/history.py): kept on disk, newest first, read back with
their parameters, within a size limit, and never broken by a damaged or half-written entry."""
import json
import os

import numpy as np
import pytest

from app.core.history import History, read_params, waveform_picture
from app.core.outputs import save_png, save_text, save_wav


def _image(params=None, size=8, seed=0):
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3)).astype(np.uint8)
    return lambda path: save_png(path, pixels, params or {"mode": "generate", "model": "mnist",
                                                          "n": 4, "label_name": "7",
                                                          "seed": 12})


def _sound(seconds=0.25):
    samples = np.sin(np.linspace(0, 200, int(8000 * seconds))).astype(np.float32) * 0.5
    return lambda path: save_wav(path, samples, 8000, {"model": "speech", "seconds": seconds,
                                                       "label_name": "any", "seed": 3})


def _text(body="\n  To be, or not to be\nthat is the question"):
    return lambda path: save_text(path, body, {"model": "shakespeare", "prompt": "To",
                                               "seed": 5})


def test_results_of_every_tab_are_kept_with_their_parameters(tmp_path):
    history = History(tmp_path / "h")
    image = history.add("image", _image())
    sound = history.add("audio", _sound())
    text = history.add("text", _text())
    assert [e.tab for e in history.entries()] == ["text", "audio", "image"]   # newest first
    assert (image.model, image.title, image.params["seed"]) == ("mnist", "4 images, 7", 12)
    assert (sound.model, sound.title, sound.params["seed"]) == ("speech", "0.25 s", 3)
    assert (text.model, text.title) == ("shakespeare",
                                        "To be, or not to be that is the question")
    assert image.path.suffix == ".png" and sound.path.suffix == ".wav"
    assert image.thumbnail is not None and sound.thumbnail is not None
    assert text.thumbnail is None
    assert read_params(text.path)["prompt"] == "To"
    # Kept across restarts: a new History over the same folder lists the same entries.
    again = History(tmp_path / "h").entries()
    assert [e.folder for e in again] == [text.folder, sound.folder, image.folder]
    assert again[2].params == image.params and again[2].when == image.when


def test_titles_of_fills_comparisons_and_single_images(tmp_path):
    history = History(tmp_path)
    long = history.add("text", _text("word " * 30))
    assert len(long.title) == 40 and long.title.endswith("\u2026")
    fill = history.add("image", _image({"mode": "inpaint", "method": "raster", "model": "m",
                                        "label_name": "any"}))
    both = history.add("image", _image({"mode": "compare", "other_model": "b", "model": "a",
                                        "label_name": "3", "n": 4}))
    one = history.add("image", _image({"mode": "generate", "model": "m", "n": 1}))
    assert fill.title == "inpainting (raster), any class"
    assert both.title == "compare with b, 3"
    assert one.title == "1 image, any class"


def test_the_oldest_go_when_the_history_passes_its_limit(tmp_path):
    history = History(tmp_path, limit_bytes=10 ** 9)
    made = [history.add("image", _image(size=64, seed=i)) for i in range(4)]
    each = made[0].size
    history.limit_bytes = 2 * each + each // 2
    removed = history.prune()
    assert [e.folder for e in removed] == [made[0].folder, made[1].folder]
    assert [e.folder for e in history.entries()] == [made[3].folder, made[2].folder]
    assert history.total_bytes() <= history.limit_bytes
    # The newest entry stays even when it alone is over the limit.
    history.limit_bytes = 10
    big = history.add("image", _image(size=64, seed=9))
    assert [e.folder for e in history.entries()] == [big.folder]


def test_damaged_and_half_written_entries_are_skipped(tmp_path):
    history = History(tmp_path)
    good = history.add("text", _text())
    bad = history.add("text", _text("second"))
    (bad.folder / "entry.json").write_text("{not json")
    gone = history.add("image", _image())
    gone.path.unlink()
    escaping = history.add("text", _text("third"))
    record = json.loads((escaping.folder / "entry.json").read_text())
    (escaping.folder / "entry.json").write_text(json.dumps({**record, "file": "../x.txt"}))
    (tmp_path / ".new-20261203-000000-abcdef").mkdir()          # a crash while writing
    (tmp_path / "stray.txt").write_text("not an entry")
    assert [e.folder for e in history.entries()] == [good.folder]
    assert sorted(history.damaged) == sorted([bad.folder, gone.folder, escaping.folder])
    # The list reads only the records (the parameters were copied there): a result whose
    # own file was damaged is still listed; a record without parameters lists with none.
    good.path.write_bytes(b"\xff\xfe not text")
    assert history.entries()[0].params["prompt"] == "To"
    record = json.loads((good.folder / "entry.json").read_text())
    del record["params"]
    (good.folder / "entry.json").write_text(json.dumps(record))
    assert history.entries()[0].params == {}


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    history = History(tmp_path)

    def disk_full(path):
        path.write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        history.add("image", disk_full)
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError):
        history.add("video", _image())


def test_delete_and_clear(tmp_path):
    history = History(tmp_path)
    first = history.add("text", _text("one"))
    second = history.add("text", _text("two"))
    history.delete(first)
    assert [e.folder for e in history.entries()] == [second.folder]
    history.clear()
    assert history.entries() == [] and os.listdir(tmp_path) == []


def test_read_params_of_any_file(tmp_path):
    png = _image()(tmp_path / "a.png")
    wav = _sound()(tmp_path / "a.wav")
    (tmp_path / "plain.txt").write_text("just words")
    assert read_params(png)["model"] == "mnist"
    assert read_params(wav)["model"] == "speech"
    assert read_params(tmp_path / "plain.txt") == {}
    assert read_params(tmp_path / "model.safetensors") == {}


def test_waveform_picture_spans_each_stretch():
    picture = waveform_picture(np.concatenate([np.zeros(100), np.ones(100)]), width=2,
                               height=9)
    assert picture.shape == (9, 2, 3)
    assert (picture[:, 0] != 255).any(axis=-1).sum() == 1          # silence: the middle row
    assert (picture[:, 1] != 255).any(axis=-1).tolist() == [True] + [False] * 8
    assert waveform_picture(np.zeros(0)).min() == 255
