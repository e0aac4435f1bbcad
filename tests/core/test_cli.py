"""The command line, in-process: sample, info, models, eval, train and its error contract."""
import json
import pickle

import numpy as np
import pytest
import soundfile
from PIL import Image

from app.cli import main
from app.core.outputs import read_png_params, read_wav_params
from app.core.paths import user_models_dir


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_sample_image_grid_is_reproducible_with_parameters(tmp_path, save_tiny, capsys):
    model = str(save_tiny("pixelcnn"))
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    for out in (a, b):
        code, stdout, _ = run(capsys, "sample", "image", "--model", model, "--label", "class1",
                              "--n", "4", "--seed", "1", "--scale", "1", "--out", str(out))
        assert code == 0 and "wrote" in stdout
    assert a.read_bytes() == b.read_bytes()
    grid = np.asarray(Image.open(a))
    assert grid.shape == (2 * (6 + 2) + 2, 2 * (5 + 2) + 2)
    params = read_png_params(a)
    assert params["seed"] == 1 and params["label"] == 1 and params["model"] == "pixelcnn"


def test_sample_audio_and_text(tmp_path, save_tiny, capsys):
    wav = tmp_path / "s.wav"
    code, _, _ = run(capsys, "sample", "audio", "--model", str(save_tiny("wavenet")),
                     "--seconds", "0.05", "--seed", "2", "--out", str(wav))
    assert code == 0
    data, rate = soundfile.read(wav)
    assert rate == 8000 and len(data) == 400
    assert read_wav_params(wav)["seed"] == 2
    code, out, _ = run(capsys, "sample", "text", "--model", str(save_tiny("charlm-gpt")),
                       "--prompt", "ab", "--length", "30", "--seed", "3")
    assert code == 0 and out.startswith("ab") and len(out.rstrip("\n")) >= 30


def test_sample_audio_takes_are_one_file_each_and_do_not_depend_on_threads(
        tmp_path, save_tiny, capsys):
    model = str(save_tiny("wavenet"))
    written = {}
    for threads in ("1", "2"):
        out = tmp_path / threads / "take.wav"
        out.parent.mkdir()
        code, stdout, _ = run(capsys, "sample", "audio", "--model", model, "--seconds", "0.02",
                              "--n", "3", "--seed", "5", "--threads", threads, "--out", str(out))
        assert code == 0 and "3 takes" in stdout
        written[threads] = [soundfile.read(out.parent / f"take-{i}.wav")[0] for i in (1, 2, 3)]
        assert read_wav_params(out.parent / "take-2.wav")["takes"] == 3
        assert not out.exists()
    for one, two in zip(written["1"], written["2"]):
        assert len(one) == 160 and np.array_equal(one, two)
    assert not np.array_equal(written["1"][0], written["1"][1])       # independent takes


def test_wrong_modality_and_bad_label_exit_2(save_tiny, capsys):
    code, _, err = run(capsys, "sample", "image", "--model", str(save_tiny("wavenet")))
    assert code == 2 and "cannot sample image" in err
    code, _, err = run(capsys, "sample", "image", "--model", str(save_tiny("pixelcnn")),
                       "--label", "zebra")
    assert code == 2 and "unknown label 'zebra'" in err


@pytest.mark.parametrize("content", [b"", b"\x00" * 3, pickle.dumps({"w": [1, 2]}),
                                     bytes(range(256)) * 8])
def test_broken_checkpoints_give_one_line_and_exit_2(tmp_path, content, capsys):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(content)
    for argv in (["info", str(path)], ["sample", "image", "--model", str(path)]):
        code, out, err = run(capsys, *argv)
        assert code == 2
        assert err.count("\n") == 1 and err.startswith("chainrule: error:") and str(path) in err
        assert "Traceback" not in err


def test_truncated_checkpoint_exit_2(tmp_path, save_tiny, capsys):
    good = save_tiny("charlm-lstm").read_bytes()
    path = tmp_path / "half.safetensors"
    path.write_bytes(good[:-100])
    code, _, err = run(capsys, "info", str(path))
    assert code == 2 and "truncated" in err


def test_info_and_models_list(save_tiny, capsys):
    path = save_tiny("pixelcnn", name="digits")
    code, out, _ = run(capsys, "info", str(path), "--json")
    info = json.loads(out)
    assert code == 0 and info["kind"] == "pixelcnn" and info["parameters"] > 0
    assert info["codec"]["class_names"] == ["class0", "class1", "class2"]
    code, out, _ = run(capsys, "info", str(path))
    assert "config:" in out and "codec:" in out and "provenance:" in out
    user_models_dir().mkdir(parents=True)
    (user_models_dir() / "mine.safetensors").write_bytes(path.read_bytes())
    code, out, _ = run(capsys, "models", "--json")
    names = {row["name"]: row for row in json.loads(out)}
    assert names["mine"]["origin"] == "user" and names["mine"]["kind"] == "pixelcnn"


def test_train_on_a_folder_then_eval_and_sample_it(tmp_path, capsys):
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.txt").write_text("to be or not to be\n" * 80)
    out = tmp_path / "tiny.safetensors"
    code, stdout, _ = run(capsys, "train", "--kind", "charlm-lstm", "--data", str(folder),
                          "--steps", "4", "--batch-size", "4", "--out", str(out), "--quiet")
    assert code == 0 and "held-out:" in stdout and out.exists()
    code, stdout, _ = run(capsys, "eval", "--model", str(out), "--data", str(folder), "--json")
    result = json.loads(stdout)
    assert code == 0 and result["unit"] == "bits/char" and 0 < result["nll"] < 10
    code, stdout, _ = run(capsys, "train", "--kind", "charlm-lstm", "--data", str(folder),
                          "--from", str(out), "--steps", "2", "--batch-size", "4",
                          "--out", str(tmp_path / "tuned.safetensors"), "--quiet")
    assert code == 0


def test_train_errors_are_one_line(tmp_path, capsys):
    code, _, err = run(capsys, "train", "--kind", "pixelcnn", "--data", str(tmp_path / "none"))
    assert code == 2 and "no such file or folder" in err
    code, _, err = run(capsys, "train", "--preset", "imagenet")
    assert code == 2 and "unknown preset 'imagenet'" in err
    code, _, err = run(capsys, "sample", "image", "--device", "cuda:7", "--model", "x")
    assert code == 2


def test_unknown_model_name_lists_the_known_ones(capsys):
    code, _, err = run(capsys, "info", "nosuchmodel")
    assert code == 2 and "no model of this name" in err


def test_argument_ranges_are_checked(capsys, save_tiny):
    with pytest.raises(SystemExit) as info:
        main(["sample", "image", "--model", str(save_tiny("pixelcnn")), "--n", "0"])
    assert info.value.code == 2
    assert "must be 1 or more" in capsys.readouterr().err


def test_bench_reports_every_modality_as_json(tmp_path, capsys):
    from app.core.checkpoint import save_bundle
    from tests.conftest import make_bundle

    for name, kind in (("mnist", "pixelcnn"), ("speech", "wavenet"),
                       ("shakespeare", "charlm-lstm"), ("shakespeare-gpt", "charlm-gpt"),
                       ("mnist-anyorder", "anyorder"), ("fashion", "pixelcnn"),
                       ("fashion-subscale", "subscale")):
        net, codec = make_bundle(kind)
        save_bundle(tmp_path / f"{name}.safetensors", net, codec, {})
    code, out, _ = run(capsys, "bench", "--json", "--models", str(tmp_path))
    report = json.loads(out)
    assert code == 0
    # Budgeted parallel decoding: every budget timed; no held-out data here, so no cost.
    anyorder = report["budgeted"]
    assert [b["calls"] for b in anyorder["budgets"]] == [100, 50, 20]
    assert all(b["images16_s"] > 0 and b["fill_half_4_s"] > 0 and
               b["bits_per_dim_cost"] is None for b in anyorder["budgets"])
    image_keys = {"model", "batch", "fast_s", "naive_s", "speedup", "fast_s_batch1",
                  "forward_pass_s", "fast_over_forward"}
    assert image_keys <= set(report["image"])
    assert report["image"]["model"] == "mnist" and report["image"]["speedup"] > 1
    assert report["image"]["guided_s"] > 0 and report["image"]["guidance"] > 1
    # (a tiny model's forward pass takes well under a millisecond: the rounded seconds
    # cannot be divided back into the ratio)
    assert report["image"]["fast_over_forward"] > 0 and report["image"]["forward_pass_s"] >= 0
    # One model of each other image kind (a second PixelCNN is not timed again).
    assert [(r["model"], r["kind"]) for r in report["images16"]] == [
        ("fashion-subscale", "subscale")]
    assert report["images16"][0]["images16_s"] > 0
    assert {"model", "samples_per_s", "realtime_factor", "streams_speedup",
            "streams_speedup_all_cores", "cores"} <= set(report["audio"])
    assert report["text"]["model"] == "shakespeare" and report["text"]["chars_per_s"] > 0
    gpt = [m for m in report["text"]["models"] if m["kind"] == "charlm-gpt"][0]
    assert gpt["kv_cache_speedup"] > 0 and gpt["context"] == 16
    # Generation timed with the explain views' reporting on and off, drawing the same samples.
    views = {"views_on_s", "views_off_s", "views_overhead", "views_overhead_min",
             "same_samples"}
    for r in (report["image"], report["audio"], *report["text"]["models"]):
        assert views <= set(r) and r["same_samples"] is True
        assert r["views_on_s"] > 0 and r["views_off_s"] > 0
        # (the seconds are rounded, and tiny models run for milliseconds)
        assert 1 + r["views_overhead"] == pytest.approx(r["views_on_s"] / r["views_off_s"],
                                                        rel=0.02)
    assert report["audio"]["views_on_samples_per_s"] > 0
    assert report["text"]["views_on_chars_per_s"] > 0
    code, out, _ = run(capsys, "bench", "--models", str(tmp_path))
    assert code == 0
    lines = [line for line in out.splitlines() if line.startswith("views")]
    assert [line.split()[1] for line in lines] == ["image", "audio", "text"]


def test_bench_calls_different_samples_a_bug(monkeypatch):
    from app.core import benchmark

    draws = iter(range(100))
    with pytest.raises(RuntimeError, match="a bug"):
        benchmark._views_timing(lambda report: next(draws) if report else 0, repeats=1)


def test_training_log_shows_each_scored_held_out_figure_beside_the_best():
    from app.commands.train import _log_line
    from app.core.training.trainer import TrainMetrics

    def metrics(step, held=None, best=None):
        return TrainMetrics(step=step, steps=100, loss_bits=2.5, lr=1e-3, steps_per_s=1.0,
                           eta_s=1.0, elapsed_s=1.0, heldout_bits=held, best_bits=best)

    assert _log_line(metrics(10), "bits/dim") == "step 10/100 loss 2.5000 bits/dim"
    # A later scoring worse than the best: both figures, so the log cannot hide it.
    assert _log_line(metrics(20, held=2.4571, best=2.218), "bits/dim").endswith(
        "held-out 2.4571 (best 2.2180)")
    assert _log_line(metrics(30, held=2.1, best=2.1), "bits/dim").endswith("held-out 2.1000")
    assert _log_line(metrics(31, best=2.1), "bits/dim").endswith("best held-out 2.1000")
