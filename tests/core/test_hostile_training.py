"""Hostile and absurd input to `chainrule train`: one line and exit 2 before any work, or a
run that stops with one line and loses nothing (issue 17, round two)."""
import json
import os
import re
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

from app.cli import main
from app.core.checkpoint import load_bundle
from app.core.training.datasets import SequenceData
from app.core.training.runs import History, new_run_dir, read_run, runs_dir
from app.core.training.state import load_state, save_state
from app.core.training.trainer import DivergedError, RunOptions, TrainSettings, train
from tests.conftest import make_bundle

TRAIN = ["train", "--kind", "charlm-lstm", "--steps", "8", "--batch-size", "2",
         "--checkpoint-every", "2", "--eval-every", "2", "--quiet"]


def _text_folder(parent: Path, name: str | bytes = "texts") -> Path:
    folder = Path(os.fsdecode(os.path.join(os.fsencode(parent), os.fsencode(name))))
    folder.mkdir()
    (folder / "a.txt").write_text("to be or not to be, that is the question\n" * 60)
    return folder


def _last_line(capsys) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return captured.err.strip().splitlines()[-1]


def _run_dir(capsys) -> Path:
    return Path(re.search(r"run folder: (.+)", capsys.readouterr().out)[1])


def _state_step(run_dir: Path) -> int:
    """The step of the run's resumable state, which must load into the run's model."""
    net = load_bundle(run_dir / "best.safetensors").net
    return load_state(run_dir / "state.safetensors", net,
                      torch.optim.AdamW(net.parameters()))[0]


@pytest.mark.parametrize("flags, message", [
    (["--seed", "-1"], "--seed must be a whole number at least 0 and at most 2,147,483,647 "
                       "(got -1)"),
    (["--batch-size", "0"], "--batch-size must be a whole number at least 1 and at most "
                            "65,536 (got 0)"),
    (["--batch-size", "-3"], "--batch-size must be a whole number at least 1"),
    (["--eval-every", "0"], "--eval-every must be a whole number at least 1"),
    (["--lr", "nan"], "--lr must be more than 0 and at most 1 (got nan)"),
    (["--lr", "inf"], "--lr must be more than 0 and at most 1 (got inf)"),
    (["--lr", "-0.1"], "--lr must be more than 0 and at most 1 (got -0.1)"),
    (["--lr", "1e30"], "--lr must be more than 0 and at most 1 (got 1e+30)"),
    (["--steps", "0"], "--steps must be a whole number at least 1 and at most 10,000,000 "
                       "(got 0)"),
    (["--checkpoint-every", "0"], "--checkpoint-every must be a whole number at least 1"),
    (["--log-every", "-5"], "--log-every must be a whole number at least 1"),
    (["--name", "../../x"], "--name must be a plain file name, without / or \\ "
                            "(got '../../x')"),
    (["--name", ".."], "--name must be a file name, not '..'"),
    (["--name", "a\nb"], "--name must be printable text (got 'a\\nb')"),
    (["--name", "x" * 101], "--name must be at most 100 characters (got 101)"),
    (["--out", "model.pt"], "--out must be a .safetensors file (got 'model.pt')"),
])
def test_a_flag_out_of_range_is_one_line_before_any_data_is_read(tmp_path, capsys, flags,
                                                                 message):
    # The data folder does not exist: a flag checked after reading it would say so instead.
    missing = tmp_path / "no-such-data"
    assert main(TRAIN + ["--data", str(missing)] + flags) == 2
    assert _last_line(capsys).startswith(f"chainrule: error: {message}")
    assert not runs_dir().exists() and not runs_dir().parent.exists()   # nothing written


def test_a_resume_refuses_the_settings_it_would_ignore(tmp_path, capsys):
    # A resumed run rebuilds its job from its own saved settings; a flag it cannot honour is
    # named before anything is read (the run folder does not even exist here).
    assert main(["train", "--resume", str(tmp_path / "run"), "--ema", "0.999",
                 "--seed", "3", "--quiet"]) == 2
    line = _last_line(capsys)
    assert line.startswith("chainrule: error: --seed and --ema: a resumed run keeps its own "
                           "settings (only --steps, --lr and --out may change)")
    assert main(["train", "--resume", str(tmp_path / "run"), "--from", "mnist",
                 "--quiet"]) == 2
    assert "--from: a resumed run keeps its own settings" in _last_line(capsys)


def test_every_bad_flag_is_named_at_once(tmp_path, capsys):
    assert main(TRAIN + ["--data", str(tmp_path), "--steps", "0", "--lr", "nan",
                         "--seed", "-1"]) == 2
    line = _last_line(capsys)
    assert line.count("must be") == 3 and "\n" not in line


def test_threads_out_of_range_is_refused_by_the_parser(tmp_path, capsys):
    for value in ("-1", "0", "many"):
        with pytest.raises(SystemExit) as info:
            main(TRAIN + ["--data", str(tmp_path), "--threads", value])
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "argument --threads: must be" in err.strip().splitlines()[-1]


def test_out_is_checked_before_training(tmp_path, capsys):
    data = _text_folder(tmp_path)
    folder = tmp_path / "looks-like.safetensors"
    folder.mkdir()
    assert main(TRAIN + ["--data", str(data), "--out", str(folder)]) == 2
    assert _last_line(capsys) == (f"chainrule: error: --out '{folder}' is a folder; give a "
                                  f"file name ending in .safetensors")
    assert not runs_dir().exists()                  # refused before any run folder was made
    assert main(TRAIN + ["--data", str(data), "--out", str(tmp_path / ("m" * 240 +
                                                                          ".safetensors"))]) == 2
    assert "file name too long" in _last_line(capsys)


def test_a_run_whose_output_became_a_folder_resumes_with_another_out(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    assert main(TRAIN + ["--data", str(_text_folder(tmp_path)), "--out", str(out),
                         "--steps", "4"]) == 0
    run_dir = _run_dir(capsys)
    out.unlink()
    out.mkdir()                                     # as an older version let a run start
    assert main(["train", "--resume", str(run_dir), "--steps", "6", "--quiet"]) == 2
    line = _last_line(capsys)
    assert f"'{out}' is a folder" in line and "resume with --out FILE.safetensors" in line
    assert read_run(run_dir)["step"] == 4           # nothing was trained or lost
    other = tmp_path / "other.safetensors"
    assert main(["train", "--resume", str(run_dir), "--steps", "6", "--out", str(other),
                 "--quiet"]) == 0
    assert load_bundle(other).name == "other" and read_run(run_dir)["out"] == str(other)


def test_a_data_folder_named_with_bytes_that_are_not_utf8_trains_saves_and_resumes(
        tmp_path, capsys):
    try:
        data = _text_folder(tmp_path, b"caf\xe9\nnotes")
    except (OSError, UnicodeError):
        pytest.skip("this file system takes only UTF-8 names")
    assert main(TRAIN + ["--data", str(data), "--steps", "4"]) == 0
    run_dir = _run_dir(capsys)
    info = read_run(run_dir)
    assert info["name"] == "caf__notes-charlm-lstm"          # printable: it names a file
    assert Path(info["source"]["data"]) == data.resolve()     # exact, to find it again
    assert load_bundle(info["out"]).name == "caf__notes-charlm-lstm"
    assert main(["train", "--resume", str(run_dir), "--steps", "6", "--quiet"]) == 0
    assert [row["step"] for row in History(run_dir).read()] == list(range(1, 7))


def _poison_loss_from(monkeypatch, step: int) -> None:
    """The training loss becomes NaN from the step-th step on (held-out scoring untouched)."""
    from app.core.training import trainer

    real = trainer._objective
    calls = []

    def objective(net):
        inner = real(net)

        class Poisoned(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = inner

            def forward(self, batch):
                calls.append(1)
                nll = self.inner(batch)
                return nll * float("nan") if len(calls) >= step else nll

        return Poisoned()

    monkeypatch.setattr(trainer, "_objective", objective)


def test_a_diverged_run_stops_with_one_line_and_keeps_its_last_good_state(tmp_path, capsys,
                                                                          monkeypatch):
    out = tmp_path / "m.safetensors"
    _poison_loss_from(monkeypatch, 5)
    assert main(TRAIN + ["--data", str(_text_folder(tmp_path)), "--out", str(out)]) == 2
    line = _last_line(capsys)
    run_dir = Path(re.search(r"\((/[^()]*)\); resume", line)[1])
    assert line.startswith("chainrule: error: training diverged at step 5: the training loss "
                           "is nan")
    assert "keeps its resumable state of step 4 and its best model" in line
    info = read_run(run_dir)
    assert f"(--lr {info['settings']['lr'] / 10:g})" in line    # a tenth of the run's
    assert info["status"] == "diverged" and "step 5" in info["stopped_because"]
    assert _state_step(run_dir) == 4                # the last good state, not a NaN one
    best = load_bundle(run_dir / "best.safetensors")
    assert all(torch.isfinite(t).all() for t in best.net.state_dict().values())
    assert not out.exists()                         # a diverged run publishes no model
    monkeypatch.undo()
    assert main(["train", "--resume", str(run_dir), "--lr", "1e-4", "--quiet"]) == 0
    assert read_run(run_dir)["status"] == "finished" and \
        "stopped_because" not in read_run(run_dir)
    assert read_run(run_dir)["settings"]["lr"] == 1e-4
    assert [row["step"] for row in History(run_dir).read()] == list(range(1, 9))


def test_a_state_with_nan_weights_is_refused_on_resume(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    assert main(TRAIN + ["--data", str(_text_folder(tmp_path)), "--out", str(out),
                         "--steps", "4"]) == 0
    run_dir = _run_dir(capsys)
    net = load_bundle(run_dir / "best.safetensors").net
    with torch.no_grad():
        next(net.parameters())[0] = float("nan")    # as an older version could save it
    save_state(run_dir / "state.safetensors", net, torch.optim.AdamW(net.parameters()), 4,
               np.random.default_rng(0))
    assert main(["train", "--resume", str(run_dir), "--steps", "6", "--quiet"]) == 2
    line = _last_line(capsys)
    assert line.startswith(f"chainrule: error: {run_dir / 'state.safetensors'}: weight ")
    assert line.endswith("is not a finite number (the run diverged before this state was "
                         "saved); start the run again")


def test_a_nan_weight_is_never_saved(tmp_path):
    net, codec = make_bundle("charlm-lstm")
    net.unused = torch.nn.Parameter(torch.tensor([float("nan")]))   # no loss ever sees it
    data = SequenceData(codec.encode("abcab cabab c!\n" * 80), window=16)
    run_dir = new_run_dir("r", tmp_path)
    settings = TrainSettings(steps=6, batch_size=4, lr=5e-3, warmup=2, eval_every=3)
    with pytest.raises(DivergedError, match="at step 3: weight 'unused' is not a finite"):
        list(train(net, data, data, settings, run_dir / "best.safetensors", codec, {},
                   options=RunOptions(run_dir)))
    assert not (run_dir / "best.safetensors").exists()
    assert not (run_dir / "state.safetensors").exists()


def _interrupt_at(monkeypatch, step: int, how) -> None:
    real, calls = SequenceData.sample_batch, []

    def sample_batch(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == step:
            how()
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SequenceData, "sample_batch", sample_batch)


def test_ctrl_c_stops_after_the_step_saves_and_resumes(tmp_path, capsys, monkeypatch):
    out = tmp_path / "m.safetensors"
    # Whatever handled SIGINT before (Python's default; SIG_IGN when the tests run as a
    # background job of a shell) is what the command puts back.
    before = signal.getsignal(signal.SIGINT)
    _interrupt_at(monkeypatch, 3, lambda: os.kill(os.getpid(), signal.SIGINT))
    assert main(TRAIN + ["--data", str(_text_folder(tmp_path)), "--out", str(out)]) == 130
    line = _last_line(capsys)
    assert line.startswith("chainrule: stopped after step 3; the best model so far is saved "
                           f"as {out}; continue with: chainrule train --resume ")
    run_dir = Path(line.rsplit(" ", 1)[1])
    assert read_run(run_dir)["status"] == "stopped" and _state_step(run_dir) == 3
    assert signal.getsignal(signal.SIGINT) is before                        # put back
    monkeypatch.undo()
    assert main(["train", "--resume", str(run_dir), "--quiet"]) == 0
    assert [row["step"] for row in History(run_dir).read()] == list(range(1, 9))


def test_an_interrupt_mid_step_records_a_stopped_run_that_resumes(tmp_path, capsys,
                                                                  monkeypatch):
    def interrupt():
        raise KeyboardInterrupt

    out = tmp_path / "m.safetensors"
    _interrupt_at(monkeypatch, 5, interrupt)
    assert main(TRAIN + ["--data", str(_text_folder(tmp_path)), "--out", str(out)]) == 130
    assert _last_line(capsys) == "chainrule: interrupted"
    run_dir = next(runs_dir().iterdir())
    info = read_run(run_dir)
    assert info["status"] == "stopped" and info["stopped_because"] == "interrupted"
    assert _state_step(run_dir) == 4                # step 5 was cut short: not saved
    monkeypatch.undo()
    assert main(["train", "--resume", str(run_dir), "--quiet"]) == 0
    assert [row["step"] for row in History(run_dir).read()] == list(range(1, 9))


DAMAGE = [
    (b"{\"name\": ", "damaged (not valid JSON)"),
    (b"\xff\xfe{}", "damaged (not valid JSON)"),
    (b"[1, 2]", "damaged (not a JSON object but list)"),
    ({"settings": []}, "damaged ('settings' must be an object (got [])"),
    ({"settings": {"steps": "ten"}}, "damaged (settings.steps must be a whole number at least "
                                     "1 and at most 10,000,000 (got 'ten'))"),
    ({"settings": {"steps": 8.0}}, "(got 8.0)"),
    ({"settings": {"lr": -1}}, "settings.lr must be more than 0 and at most 1 (got -1)"),
    ({"settings": {"wobble": 1}}, "settings has an unknown key 'wobble'"),
    ({"source": "texts"}, "'source' must be an object (got 'texts')"),
    ({"source": {}}, "'source' names neither a preset nor a data folder"),
    ({"name": 5}, "'name' must be text (got 5)"),
    ({"kind": "pixelgan"}, "unknown kind 'pixelgan'"),
    ({"out": None}, "'out' must be text (got None)"),
    ({"step": True}, "'step' must be a whole number (got True)"),
    (None, "no 'settings'"),
]


def test_a_damaged_run_json_is_one_line_naming_it(tmp_path, capsys):
    assert main(TRAIN + ["--data", str(_text_folder(tmp_path)), "--steps", "4"]) == 0
    good = _run_dir(capsys)
    info = json.loads((good / "run.json").read_text())
    for n, (damage, message) in enumerate(DAMAGE):
        run_dir = shutil.copytree(good, tmp_path / f"run-{n}")
        if isinstance(damage, bytes):
            (run_dir / "run.json").write_bytes(damage)
        else:
            changed = {k: v for k, v in info.items() if k != "settings"} if damage is None \
                else dict(info, **damage)
            (run_dir / "run.json").write_text(json.dumps(changed))
        assert main(["train", "--resume", str(run_dir), "--quiet"]) == 2, damage
        line = _last_line(capsys)
        assert line.startswith(f"chainrule: error: {run_dir / 'run.json'}: "), line
        assert message in line, line
    (run_dir / "run.json").unlink()
    assert main(["train", "--resume", str(run_dir), "--quiet"]) == 2
    assert _last_line(capsys) == f"chainrule: error: {run_dir}: not a training run (no run.json)"
    assert main(["train", "--resume", str(tmp_path / "nowhere"), "--quiet"]) == 2
    assert _last_line(capsys) == f"chainrule: error: {tmp_path / 'nowhere'}: no such folder"


def test_damaged_history_lines_are_skipped_with_a_note(tmp_path, capsys):
    assert main(TRAIN + ["--data", str(_text_folder(tmp_path)), "--steps", "4"]) == 0
    run_dir = _run_dir(capsys)
    lines = (run_dir / "history.jsonl").read_bytes().splitlines(keepends=True)
    damaged = [b"\xff\xfe not text\n", b"[1, 2]\n", b'{"step": "two", "loss": 1}\n',
               b'{"step": 3}\n']
    (run_dir / "history.jsonl").write_bytes(b"".join(lines[:2] + damaged + lines[2:]))
    assert main(["train", "--resume", str(run_dir), "--steps", "6", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"{run_dir / 'history.jsonl'}: skipped 4 damaged line(s) (line 3, 4, 5, 6)" in err
    assert [row["step"] for row in History(run_dir).read()] == list(range(1, 7))


def test_resuming_with_fewer_steps_than_done_and_no_model_yet_is_refused(tmp_path, capsys,
                                                                         monkeypatch):
    _interrupt_at(monkeypatch, 3, lambda: os.kill(os.getpid(), signal.SIGINT))
    assert main(TRAIN + ["--data", str(_text_folder(tmp_path)), "--eval-every", "8"]) == 130
    run_dir = Path(_last_line(capsys).rsplit(" ", 1)[1])
    monkeypatch.undo()
    assert main(["train", "--resume", str(run_dir), "--steps", "2", "--quiet"]) == 2
    assert _last_line(capsys) == (f"chainrule: error: {run_dir}: the run is at step 3 and "
                                  f"has no held-out model yet; --steps must be more than 3")
    assert read_run(run_dir)["steps"] == 8          # refused before anything was recorded
    assert main(["train", "--resume", str(run_dir), "--quiet"]) == 0
