"""Run folders: exact resume, history, atomic state; DDP with two CPU processes."""
import collections
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import torch

from app.core.training.datasets import SequenceData
from app.core.training.runs import History, list_runs, new_run_dir, read_run
from app.core.training.trainer import RunOptions, TrainSettings, train
from tests.conftest import make_bundle

ROOT = Path(__file__).resolve().parents[2]


def _data(codec):
    ids = codec.encode("abcab cabab c!\n" * 80)
    return SequenceData(ids, window=16)


def test_stopped_then_resumed_run_equals_an_uninterrupted_one(tmp_path):
    settings = TrainSettings(steps=10, batch_size=4, lr=5e-3, warmup=2, eval_every=5,
                             checkpoint_every=3)
    weights = []
    for stop_after in (None, 6):
        net, codec = make_bundle("charlm-lstm")
        data = _data(codec)
        run_dir = new_run_dir("r", tmp_path)
        loop = train(net, data, data, settings, run_dir / "best.safetensors", codec, {},
                     options=RunOptions(run_dir))
        for metrics in loop:
            if metrics.step == stop_after:
                loop.close()               # like pressing Stop: saves state at step 6
                break
        if stop_after:
            net, codec = make_bundle("charlm-lstm", seed=123)     # different fresh weights
            list(train(net, data, data, settings, run_dir / "best.safetensors", codec, {},
                       options=RunOptions(run_dir, resume=True)))
        weights.append({k: v.clone() for k, v in net.state_dict().items()})
        steps = [row["step"] for row in History(run_dir).read()]
        assert steps == list(range(1, 11))          # the curve continues, no gaps or repeats
        times = [row["time"] for row in History(run_dir).read()]
        assert times == sorted(times)               # and so does the clock
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_cli_resume_continues_a_run_and_lists_it(tmp_path, capsys):
    from app.cli import main

    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.txt").write_text("to be or not to be, that is the question\n" * 60)
    out = tmp_path / "m.safetensors"
    assert main(["train", "--kind", "charlm-lstm", "--data", str(folder), "--steps", "4",
                 "--batch-size", "4", "--out", str(out), "--quiet"]) == 0
    run_dir = Path(re.search(r"run folder: (.+)", capsys.readouterr().out).group(1))
    assert read_run(run_dir)["status"] == "finished" and read_run(run_dir)["step"] == 4
    assert main(["train", "--resume", str(run_dir), "--steps", "7", "--quiet"]) == 0
    info = read_run(run_dir)
    assert info["step"] == 7 and info["steps"] == 7
    assert [r["step"] for r in History(run_dir).read()] == list(range(1, 8))
    runs = list_runs()
    assert runs[0].path == run_dir and runs[0].kind == "charlm-lstm"


def test_text_model_from_scratch_beats_the_unigram_entropy(tmp_path, capsys):
    from app.cli import main
    from app.core.checkpoint import load_bundle

    text = ("the cat sat on the mat. the dog sat on the log. " * 40)
    (tmp_path / "t.txt").write_text(text)
    counts = collections.Counter(text)
    unigram = -sum(c / len(text) * math.log2(c / len(text)) for c in counts.values())
    out = tmp_path / "scratch.safetensors"
    assert main(["train", "--kind", "charlm-lstm", "--data", str(tmp_path / "t.txt"),
                 "--steps", "150", "--batch-size", "16", "--lr", "0.01", "--out", str(out),
                 "--quiet"]) == 0
    heldout = load_bundle(out).provenance["metrics"]["heldout"]
    assert heldout < unigram - 1.0, (heldout, unigram)


def test_torchrun_two_cpu_processes_keep_identical_weights(tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.txt").write_text("all the world's a stage\n" * 60)
    env = dict(os.environ, CHAINRULE_HOME=str(tmp_path / "home"), OMP_NUM_THREADS="1",
               PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
         "--standalone", "-m", "app", "train",
         "--kind", "charlm-lstm", "--data", str(folder), "--steps", "5", "--batch-size", "4",
         "--out", str(tmp_path / "ddp.safetensors"), "--quiet"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    digests = re.findall(r"rank (\d)/2 weights sha256 (\w+)", result.stderr)
    assert sorted(rank for rank, _ in digests) == ["0", "1"]
    assert digests[0][1] == digests[1][1]
    runs = list((tmp_path / "home" / "runs").iterdir())
    assert len(runs) == 1                                   # only rank 0 wrote a run folder
    assert json.loads((runs[0] / "run.json").read_text())["status"] == "finished"


def test_a_presets_card_command_names_every_setting_changed():
    import dataclasses

    from app.core.training.jobs import preset_command
    from app.core.training.presets import get_preset

    preset = get_preset("mnist")
    assert preset_command(preset, preset.settings) == "chainrule train --preset mnist"
    longer = dataclasses.replace(preset.settings, steps=16000, checkpoint_every=100)
    assert preset_command(preset, longer) == \
        "chainrule train --preset mnist --steps 16000 --checkpoint-every 100"
    # --steps below the preset's evaluation interval lowers it by itself: no flag for that.
    short = dataclasses.replace(preset.settings, steps=50, eval_every=50, lr=5e-4)
    assert preset_command(preset, short) == "chainrule train --preset mnist --steps 50 --lr 0.0005"
