"""A full disk or an unwritable folder during training: one clear line, nothing lost.

Every save goes through app/core/saving.py; the `disk_full` fixture (tests/conftest.py)
makes chosen files fail there the way a full disk does, half-written.
"""
import dataclasses
import json
import re
from pathlib import Path

import pytest
import torch

from app.core.checkpoint import load_bundle, save_bundle
from app.core.saving import SaveError, append_durable, write_atomic
from app.core.training.datasets import SequenceData
from app.core.training.presets import PreparedData
from app.core.training.runner import FinalReport, TrainJob, run_job
from app.core.training.runs import History, read_run
from app.core.training.state import load_state
from app.core.training.trainer import TrainSettings
from tests.conftest import make_bundle

RUN_FILES = ("state.safetensors", "best.safetensors", "history.jsonl", "run.json")


def test_a_failed_write_or_append_leaves_the_file_as_it_was(tmp_path, disk_full):
    path = write_atomic(tmp_path / "run.json", b'{"v": 1}')
    append_durable(tmp_path / "history.jsonl", '{"step": 1}\n')
    disk_full()
    with pytest.raises(SaveError) as err:
        write_atomic(path, b'{"v": 2}')
    assert str(err.value) == f"could not save {path}: the disk is full"
    with pytest.raises(SaveError, match="history.jsonl: the disk is full$"):
        append_durable(tmp_path / "history.jsonl", '{"step": 2}\n{"step": 3}\n')
    assert path.read_bytes() == b'{"v": 1}'
    assert (tmp_path / "history.jsonl").read_text() == '{"step": 1}\n'   # cut back
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.jsonl", "run.json"]


def _job(tmp_path, steps=8) -> TrainJob:
    net, codec = make_bundle("charlm-lstm")
    data = SequenceData(codec.encode("abcab cabab c!\n" * 80), window=16)
    prepared = PreparedData(codec, data, data, data, "all", {"source": "test"})
    settings = TrainSettings(steps=steps, batch_size=4, lr=1e-2, warmup=1, eval_every=2,
                             checkpoint_every=2)
    return TrainJob(prepared, net.config, settings, str(tmp_path / "out" / "m.safetensors"),
                    name="t")


def _run_dir() -> Path:
    from app.core.training.runs import runs_dir

    return next(runs_dir().iterdir())


def _resume(job: TrainJob, run_dir: Path) -> FinalReport:
    again = dataclasses.replace(job, run_dir=run_dir, net=None)
    return list(run_job(again))[-1]


def _check_loadable(run_dir: Path, job: TrainJob) -> int:
    """Every file of the run still loads; returns the step of the resumable state."""
    net, _ = make_bundle("charlm-lstm")
    opt = torch.optim.AdamW(net.parameters())
    step = load_state(run_dir / "state.safetensors", net, opt)[0]
    load_bundle(run_dir / "best.safetensors")
    assert read_run(run_dir)["name"] == "t"
    steps = [row["step"] for row in History(run_dir).read()]
    assert steps == list(range(1, len(steps) + 1)) and len(steps) >= step
    assert not [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")]
    assert not [p.name for p in Path(job.out_path).parent.glob(".*")]
    return step


@pytest.mark.parametrize("target", RUN_FILES)
def test_a_full_disk_stops_training_cleanly_and_keeps_the_previous_file(tmp_path, disk_full,
                                                                      target):
    job = _job(tmp_path)
    events = run_job(job)
    for metrics in events:
        if metrics.step == 4:
            break
    run_dir = _run_dir()
    before = (run_dir / target).read_bytes()
    disk_full(target)
    with pytest.raises(SaveError) as err:
        for _ in events:
            pass
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"could not save {run_dir / target}")
    assert re.search(r": the disk is full; training stopped after step [56]; the files saved "
                     r"before are intact and the run can be resumed \(", message)
    assert (run_dir / target).read_bytes() == before          # the previous version, intact
    assert _check_loadable(run_dir, job) >= 4
    disk_full(None)                                           # space freed: resume finishes
    report = _resume(job, run_dir)
    assert isinstance(report, FinalReport) and read_run(run_dir)["status"] == "finished"
    assert [row["step"] for row in History(run_dir).read()] == list(range(1, 9))
    load_bundle(job.out_path)


def test_a_full_disk_when_exporting_keeps_the_old_model_and_the_run_can_finish(tmp_path,
                                                                             disk_full):
    job = _job(tmp_path, steps=4)
    net, codec = make_bundle("charlm-lstm", seed=5)
    old = save_bundle(job.out_path, net, codec, {"description": "the user's earlier model"})
    before = old.read_bytes()
    disk_full("m.safetensors")
    with pytest.raises(SaveError, match=r"m.safetensors: the disk is full; training is done "
                                        r"but its model is not saved; resume the run"):
        list(run_job(job))
    run_dir = _run_dir()
    assert old.read_bytes() == before
    assert read_run(run_dir)["status"] == "running"           # not "finished": resumable
    assert _check_loadable(run_dir, job) == 4
    disk_full(None)
    _resume(job, run_dir)
    assert old.read_bytes() != before and load_bundle(old).provenance["run"] == run_dir.name
    assert read_run(run_dir)["status"] == "finished"


def _text_folder(tmp_path) -> Path:
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.txt").write_text("to be or not to be, that is the question\n" * 60)
    return folder


TRAIN = ["train", "--kind", "charlm-lstm", "--steps", "8", "--batch-size", "2",
         "--checkpoint-every", "2", "--eval-every", "2", "--quiet"]


def test_cli_full_disk_mid_run_is_one_line_and_exit_2(tmp_path, disk_full, capsys):
    from app.cli import main

    disk_full("state.safetensors", after=1)          # the state of step 2 saves, then no more
    out = tmp_path / "m.safetensors"
    assert main(TRAIN + ["--data", str(_text_folder(tmp_path)), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    last = captured.err.strip().splitlines()[-1]
    assert "Traceback" not in captured.err and captured.out == ""
    assert re.fullmatch(r"chainrule: error: could not save .*state\.safetensors: the disk is "
                        r"full; training stopped after step 3; .* can be resumed \(.*\)", last)
    run_dir = Path(re.search(r"resumed \((.*)\)$", last)[1])
    net = load_bundle(run_dir / "best.safetensors").net
    assert load_state(run_dir / "state.safetensors", net, torch.optim.AdamW(
        net.parameters()))[0] == 2
    disk_full(None)
    assert main(["train", "--resume", str(run_dir), "--quiet"]) == 0
    assert [row["step"] for row in History(run_dir).read()] == list(range(1, 9))


def test_cli_output_under_a_regular_file_fails_before_training(tmp_path, capsys):
    from app.cli import main

    (tmp_path / "notes.txt").write_text("a file, not a folder")
    out = tmp_path / "notes.txt" / "m.safetensors"
    assert main(TRAIN + ["--data", str(_text_folder(tmp_path)), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == (f"chainrule: error: could not save "
                                            f"{tmp_path / 'notes.txt'}: part of the path is "
                                            f"a file, not a folder")
    assert "Traceback" not in err
    assert (tmp_path / "notes.txt").read_text() == "a file, not a folder"


def test_cli_runs_folder_under_a_regular_file_is_one_line(tmp_path, capsys):
    from app.cli import main
    from app.core.training.runs import runs_dir

    runs_dir().parent.mkdir(parents=True)
    runs_dir().write_text("not a folder")
    out = tmp_path / "m.safetensors"
    assert main(TRAIN + ["--data", str(_text_folder(tmp_path)), "--out", str(out)]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"chainrule: error: could not save {runs_dir()}/")
    assert last.endswith(": part of the path is a file, not a folder")


def test_resume_without_a_state_starts_over_and_a_damaged_one_is_one_line(tmp_path, capsys):
    from app.cli import main

    out = tmp_path / "m.safetensors"
    assert main(TRAIN + ["--data", str(_text_folder(tmp_path)), "--out", str(out)]) == 0
    run_dir = Path(re.search(r"run folder: (.+)", capsys.readouterr().out)[1])
    # As if killed before its first checkpoint: a run record, no state, a torn history
    # line and a temporary file from a half-done save.
    (run_dir / "state.safetensors").unlink()
    (run_dir / "history.jsonl").write_text('{"step": 1, "loss": 3.0}\n{"step": 2, "lo')
    (run_dir / ".state.0123abcd.safetensors.tmp").write_bytes(b"half")
    info = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps(dict(info, status="running", step=0)))
    assert main(["train", "--resume", str(run_dir), "--quiet"]) == 0
    assert [row["step"] for row in History(run_dir).read()] == list(range(1, 9))
    assert not list(run_dir.glob(".*.tmp"))
    (run_dir / "state.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")
    capsys.readouterr()
    assert main(["train", "--resume", str(run_dir), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"chainrule: error: {run_dir / 'state.safetensors'}: ")
    assert "Traceback" not in "\n".join(err)
