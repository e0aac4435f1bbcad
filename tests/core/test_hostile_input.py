"""Hostile and absurd input, round two: files that never end, pickles built against the
reader, metadata values that walk around checks, terminal escapes, flags out of range. Each
ends in one line and exit code 2 (or a refused entry), quickly, with nothing lost."""
import json
import os
import time

import numpy as np
import pytest
import soundfile
import torch

from app.cli import main
from app.core import torch_reader
from app.core.checkpoint import CheckpointError, load_bundle, read_metadata
from app.core.errors import visible
from app.core.paths import user_models_dir
from tests.hostile_files import _edited, _meta_json, tiny_model


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_exit_2(capsys, *argv) -> str:
    started = time.monotonic()
    try:
        code, _, err = run(capsys, *argv)
    except SystemExit as stop:            # argparse's own refusals
        code, err = stop.code, capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1, err
    assert time.monotonic() - started < 10
    return err


# ----- files that never end ---------------------------------------------------------------
@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "model.safetensors"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("argv", [["info", "{f}"], ["sample", "image", "--model", "{f}"],
                                  ["import", "{f}", "--like", "mnist"],
                                  ["eval", "--model", "{f}", "--data", "x"]])
def test_a_fifo_given_as_a_model_is_refused_at_once(fifo, capsys, argv):
    err = one_line_exit_2(capsys, *[a.format(f=fifo) for a in argv])
    assert "named pipe" in err


def test_a_fifo_in_the_models_folder_is_listed_as_unusable(tmp_path, capsys):
    folder = user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "stuck.safetensors")
    code, out, _ = run(capsys, "models")
    assert code == 0 and "stuck" in out and "named pipe" in out


def test_a_fifo_as_prime_or_vocabulary_is_refused(fifo, tmp_path, capsys, save_tiny):
    err = one_line_exit_2(capsys, "sample", "audio", "--model", save_tiny("wavenet"),
                          "--prime", fifo, "--out", tmp_path / "a.wav")
    assert "named pipe" in err or "regular file" in err


# ----- pickles built against the reader -----------------------------------------------------
def test_a_view_claiming_more_values_than_its_file_holds_is_refused(tmp_path, capsys):
    source = tmp_path / "claims.pt"
    torch.save({"w": torch.zeros(1).expand(2**40)}, source)       # 1.5 KB, "4 TB" of zeros
    assert source.stat().st_size < 10_000
    err = one_line_exit_2(capsys, "import", source, "--kind", "pixelcnn", "--config", "{}",
                          "--out", tmp_path / "o.safetensors")
    assert "claims 1,099,511,627,776 values" in err


@pytest.mark.parametrize("name,blob", [
    ("deep", b"\x80\x02" + b"]" * 200_000 + b"a" * 199_999 + b"."),
    ("shared", b"\x80\x02]q\x00" + b"".join(b"(h" + bytes([i]) + b"h" + bytes([i]) + b"lq"
                                            + bytes([i + 1]) for i in range(60)) + b".")])
def test_pickles_built_to_exhaust_the_reader_end_in_one_line(tmp_path, capsys, name, blob):
    source = tmp_path / f"{name}.pt"
    source.write_bytes(blob)
    one_line_exit_2(capsys, "import", source, "--kind", "pixelcnn", "--config", "{}",
                    "--out", tmp_path / "o.safetensors")
    assert not (tmp_path / "o.safetensors").exists()


def test_the_reader_child_is_stopped_by_its_time_and_memory_limits(tmp_path, monkeypatch):
    source = tmp_path / "w.pt"
    torch.save({"w": torch.ones(3)}, source)
    assert torch.equal(torch_reader.load_isolated(source)["w"], torch.ones(3))
    monkeypatch.setattr(torch_reader, "TIME_LIMIT_S", 0.01)
    with pytest.raises(torch_reader.ReadFailure, match="took more than"):
        torch_reader.load_isolated(source)
    monkeypatch.setattr(torch_reader, "TIME_LIMIT_S", 60)
    monkeypatch.setattr(torch_reader, "MEMORY_BASE", 64 << 20)    # torch cannot even load
    with pytest.raises(torch_reader.ReadFailure) as failure:
        torch_reader.load_isolated(source)
    assert "\n" not in str(failure.value)


def test_training_state_in_a_checkpoint_is_not_copied(tmp_path):
    source = tmp_path / "ckpt.pt"
    torch.save({"model": {"w": torch.ones(2)}, "optimizer": {"state": {0: torch.ones(10)}}},
               source)
    loaded = torch_reader.load_isolated(source)
    assert set(loaded) == {"model"} and torch.equal(loaded["model"]["w"], torch.ones(2))


# ----- metadata values ------------------------------------------------------------------
@pytest.mark.parametrize("edit,words", [
    (_meta_json("config", hidden=10**30), "beyond any real model"),
    (_meta_json("config", height=float("inf")), "'height' must be an integer"),
    (_meta_json("codec", height=float("inf")), "'height' must be a whole number"),
    (_meta_json("codec", height=6.9), "'height' must be a whole number, got 6.9"),
    (_meta_json("codec", class_names=[1, 2, 3]), "'class_names' entry 0 must be a string"),
    (_meta_json("codec", class_names="abc"), "'class_names' must be a list of strings"),
    (_meta_json("codec", class_names=[f"c{i}" for i in range(50)]),
     "number of classes 50 vs 3"),
    (_meta_json("codec", class_names=["a\x1b[2Jb", "x", "y"]), "printable"),
    (_meta_json("codec", levels=2**40), "'levels' must be from 2 to 65,536"),
])
def test_metadata_values_must_be_exact_or_are_refused(tmp_path, capsys, edit, words):
    path = _edited(tmp_path, "m.safetensors", edit)
    for argv in (["info", path], ["sample", "image", "--model", path, "--label", "1",
                                  "--out", tmp_path / "o.png"]):
        assert words in one_line_exit_2(capsys, *argv)


def test_audio_sample_rate_from_a_file_is_bounded(tmp_path, capsys, save_tiny):
    path = save_tiny("wavenet")
    from tests.hostile_files import join, split

    header, data = split(path)
    codec = json.loads(header["__metadata__"]["codec"])
    codec["sample_rate"] = 2**40
    header["__metadata__"]["codec"] = json.dumps(codec)
    bad = join(tmp_path / "fast.safetensors", header, data)
    assert "'sample_rate' must be from 1,000 to 384,000" in one_line_exit_2(capsys, "info", bad)


def test_zero_size_tensors_do_not_make_a_config_deep(tmp_path, capsys):
    from safetensors.torch import save_file

    from tests.hostile_files import split

    header, _ = split(tiny_model(tmp_path))
    meta = header["__metadata__"]
    config = json.loads(meta["config"])
    config["layers"] = 10_000
    meta["config"] = json.dumps(config)
    save_file({f"t{i}": torch.zeros(0) for i in range(10_001)}, str(tmp_path / "deep.safetensors"),
              metadata=meta)
    err = one_line_exit_2(capsys, "info", tmp_path / "deep.safetensors")
    assert "it has 10000 layers, the file 0 non-empty tensors" in err


# ----- terminal escapes -----------------------------------------------------------------
def test_info_models_and_errors_never_print_control_characters(tmp_path, capsys):
    evil = "\x1b]0;pwned\x07\x1b[2J\r\x9b31m\u202e"
    path = _edited(tmp_path, "evil.safetensors", lambda h, _d: h["__metadata__"].update(
        name=evil, provenance=json.dumps({"description": evil, "command": evil})))
    assert read_metadata(path)["name"] == evil
    code, out, _ = run(capsys, "info", path)
    assert code == 0 and visible(evil) in out
    assert not any(ch in out for ch in "\x1b\x07\r\x9b\u202e")
    folder = user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"bad{evil}.safetensors").write_bytes(b"junk" * 10)
    code, out, _ = run(capsys, "models")
    assert code == 0 and not any(ch in out for ch in "\x1b\x07\r\x9b\u202e")
    err = one_line_exit_2(capsys, "info", tmp_path / f"missing{evil}.safetensors")
    assert not any(ch in err for ch in "\x1b\x07\r\x9b\u202e")


# ----- flags ------------------------------------------------------------------------------
@pytest.mark.parametrize("argv,words", [
    (["sample", "image", "--threads", "-1"], "--threads: must be from 1 to 1024"),
    (["sample", "image", "--scale", "2000"], "--scale 2000 would make a PNG"),
    (["sample", "image", "--n", "0"], "must be 1 or more"),
    (["sample", "image", "--n", "2000"], "at most 256"),
    (["sample", "image", "--seed", str(2**63)], "seed must be"),
    (["sample", "image", "--temperature", "nan"], "temperature must be"),
    (["sample", "text", "--temperature", "nan"], "temperature must be"),
    (["sample", "audio", "--temperature", "nan"], "temperature must be"),
    (["sample", "audio", "--seconds", "inf"], "seconds must be"),
    (["sample", "audio", "--seconds", "1e30"], "seconds must be"),
    (["sample", "text", "--top-p", "2"], "top-p must be"),
    (["sample", "text", "--top-k", "-5"], "top-k must be"),
    (["eval", "--model", "mnist", "--data", ".", "--batch-size", "0"], "must be 1 or more"),
    (["bogus-command"], "invalid choice"),
])
def test_flags_out_of_range_end_in_one_line(capsys, tmp_path, argv, words):
    if argv[0] == "sample" and "--out" not in argv:
        argv = argv + ["--out", str(tmp_path / ("o.wav" if argv[1] == "audio" else "o.png"))] \
            if argv[1] != "text" else argv
    assert words in one_line_exit_2(capsys, *argv)


def test_a_long_generation_stopped_keeps_what_was_made(tmp_path, capsys, save_tiny,
                                                        monkeypatch):
    from app.core.requests import audio as audio_requests

    real = audio_requests.AudioRequest.events

    def interrupted(self, *args, **kwargs):
        for i, event in enumerate(real(self, *args, **kwargs)):
            if i == 3:
                raise KeyboardInterrupt
            yield event

    monkeypatch.setattr(audio_requests.AudioRequest, "events", interrupted)
    out = tmp_path / "long.wav"
    code, stdout, _ = run(capsys, "sample", "audio", "--model", save_tiny("wavenet"),
                          "--seconds", "600", "--out", out)
    assert code == 130 and "stopped: kept" in stdout
    data, rate = soundfile.read(out)
    assert rate == 8000 and len(data) == 3 * 400 and np.isfinite(data).all()


def test_load_bundle_refuses_a_fifo_without_blocking(fifo):
    with pytest.raises(CheckpointError, match="named pipe"):
        load_bundle(fifo)
