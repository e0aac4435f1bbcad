import math

import numpy as np
import pytest
import soundfile
from PIL import Image

from app.core.checkpoint import load_bundle
from app.core.codecs import CharCodec
from app.core.training.datasets import ImageData, SequenceData
from app.core.training.folders import DataFolderError, prepare_folder
from app.core.training.presets import PreparedData
from app.core.training.runner import FinalReport, TrainJob, run_job
from app.core.training.trainer import TrainSettings, evaluate, train
from tests.conftest import make_bundle


def test_lr_schedule_warms_up_then_decays_to_floor():
    s = TrainSettings(steps=100, lr=1.0, warmup=10, min_lr_ratio=0.1)
    assert s.lr_at(0) == pytest.approx(0.1) and s.lr_at(9) == pytest.approx(1.0)
    assert s.lr_at(55) < s.lr_at(20) and s.lr_at(99) == pytest.approx(0.1, abs=1e-3)


def test_training_lowers_the_loss_and_saves_the_best(tmp_path):
    net, codec = make_bundle("charlm-lstm")
    text = "abcabcabcabc" * 200             # trivially predictable
    ids = codec.encode(text.replace("c", "c"))
    data = SequenceData(ids, window=24)
    before = evaluate(net, data, 8, "cpu")
    settings = TrainSettings(steps=60, batch_size=8, lr=1e-2, warmup=5, eval_every=20)
    out = tmp_path / "m.safetensors"
    metrics = list(train(net, data, data, settings, out, codec, {"p": 1}))
    assert [m.step for m in metrics] == list(range(1, 61))
    assert metrics[-1].heldout_bits < before / 3
    saved = [m for m in metrics if m.saved]
    assert saved and all(m.heldout_bits is not None for m in saved)
    bundle = load_bundle(out)
    assert bundle.provenance["p"] == 1 and bundle.provenance["steps"] == saved[-1].step
    assert math.isclose(evaluate(bundle.net, data, 8, "cpu"), saved[-1].heldout_bits,
                        rel_tol=1e-4)


def test_run_job_scores_the_saved_model_and_records_metrics(tmp_path):
    net, codec = make_bundle("pixelcnn")
    rng = np.random.default_rng(0)
    images = ImageData(rng.integers(0, 16, (20, 1, 6, 5)).astype(np.uint8),
                       rng.integers(0, 3, 20))
    data = PreparedData(codec, images, images, images, "all 20", {"source": "test"})
    job = TrainJob(data, net.config, TrainSettings(steps=3, batch_size=4, eval_every=2),
                   str(tmp_path / "p.safetensors"), half=True)
    events = list(run_job(job))
    report = events[-1]
    assert isinstance(report, FinalReport) and report.unit == "bits/dim"
    bundle = load_bundle(report.path)
    assert bundle.half
    assert bundle.provenance["metrics"]["heldout"] == pytest.approx(report.heldout_bits, abs=1e-4)
    assert bundle.provenance["data"] == {"source": "test"}


def _png(path, value, size=(10, 12), mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value).save(path)


def test_image_folder_with_classes_and_bad_files(tmp_path):
    for i in range(6):
        _png(tmp_path / "cats" / f"{i}.png", 30 * i)
        _png(tmp_path / "dogs" / f"{i}.jpg", 200, mode="RGB")
    (tmp_path / "cats" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (tmp_path / "dogs" / "empty.png").write_bytes(b"")
    (tmp_path / "dogs" / "notes.txt").write_text("hello")
    data, config, settings = prepare_folder("pixelcnn", tmp_path)
    assert data.codec.class_names == ["cats", "dogs"] and config.num_classes == 2
    assert len(data.train) + len(data.heldout) == 12
    reasons = " | ".join(data.provenance["skipped"])
    assert "broken.png: corrupt image" in reasons or "broken.png: not a readable" in reasons
    assert "empty.png: empty file" in reasons and "notes.txt: wrong type" in reasons
    assert data.train.images.shape[1:] == (1, 28, 28)


def test_image_folder_without_usable_images_is_a_clear_error(tmp_path):
    (tmp_path / "a.png").write_bytes(b"junk")
    with pytest.raises(DataFolderError, match="fewer than 2 usable images"):
        prepare_folder("pixelcnn", tmp_path)
    with pytest.raises(DataFolderError, match="no such file"):
        prepare_folder("pixelcnn", tmp_path / "missing")


def test_audio_folder_resamples_and_downmixes(tmp_path):
    t = np.arange(16000 * 2) / 16000
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 440 * t)], 1) * 0.3
    soundfile.write(tmp_path / "tone.wav", stereo, 16000)
    soundfile.write(tmp_path / "tone2.flac", stereo[:, 0], 16000)
    (tmp_path / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    data, config, _ = prepare_folder("wavenet", tmp_path)
    assert data.codec.sample_rate == 8000
    total = len(data.train) + len(data.heldout)
    assert abs(total - 2 * 2 * 8000) <= 4
    assert any("broken.wav" in s for s in data.provenance["skipped"])
    decoded = data.codec.decode(data.train.values[:800])
    spectrum = np.abs(np.fft.rfft(decoded))
    assert abs(np.argmax(spectrum) * 8000 / 800 - 440) <= 10   # still a 440 Hz tone


def test_text_folder_and_vocabulary_rule_for_fine_tuning(tmp_path):
    (tmp_path / "a.txt").write_text("hello world\n" * 100, encoding="utf-8")
    (tmp_path / "odd.txt").write_bytes(b"caf\x81")     # neither UTF-8 nor Windows-1252
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02abc")
    data, config, _ = prepare_folder("charlm-lstm", tmp_path)
    assert config.vocab_size == data.codec.size == len(set("hello world\n"))
    skipped = " | ".join(data.provenance["skipped"])
    assert "odd.txt: not UTF-8" in skipped and "binary.txt: binary file" in skipped
    small = CharCodec("helo \n")
    tuned, _, _ = prepare_folder("charlm-lstm", tmp_path, codec=small)
    assert tuned.provenance["added_characters"] == "drw"
    assert tuned.codec.vocab == "helo \ndrw"          # old ids unchanged, new ones appended
