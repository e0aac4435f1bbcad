"""TrainSession: what the Train tab shows about a run, folded from the trainer's events."""
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.core.training.previews import TrainPreview
from app.core.training.runner import FinalReport
from app.core.training.session import TrainSession, format_duration
from app.core.training.trainer import TrainMetrics, TrainSettings

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def job(kind="charlm-lstm", init=None, steps=100):
    return SimpleNamespace(config=SimpleNamespace(kind=kind), name="poems", init_from=init,
                           out_path="/home/me/models/poems.safetensors",
                           settings=TrainSettings(steps=steps, batch_size=4, lr=2e-3))


def metrics(step, elapsed, steps=100, loss=2.0, heldout=None, best=None, rate=9.0):
    return TrainMetrics(step, steps, loss, 1e-3, rate, 0.0, elapsed, heldout, best)


@pytest.fixture
def session():
    return TrainSession.for_job(job(), clock=Clock())


def test_a_session_knows_its_job():
    s = TrainSession.for_job(job("pixelcnn", init=SimpleNamespace(path="/m/mnist.safetensors")))
    assert (s.kind, s.name, s.steps, s.start) == ("pixelcnn", "poems", 100,
                                                  "/m/mnist.safetensors")
    assert s.unit == "bits/dim" and s.settings["lr"] == 2e-3 and s.settings["batch_size"] == 4
    assert s.out == "/home/me/models/poems.safetensors"
    assert TrainSession.for_job(job()).start is None
    assert s.line() == "Starting\u2026" and s.running


def test_metrics_become_plot_rows_and_a_stats_line(session):
    rows = session.apply([metrics(1, 0.5, loss=3.0), metrics(2, 1.0, loss=2.5),
                          metrics(3, 1.5, loss=2.25, heldout=2.4, best=2.4)])
    assert rows == [{"step": 1, "loss": 3.0, "heldout": None},
                    {"step": 2, "loss": 2.5, "heldout": None},
                    {"step": 3, "loss": 2.25, "heldout": 2.4}]
    assert session.step == 3 and session.losses[-1] == (3, 2.25)
    assert session.heldout == [(3, 2.4)] and session.best == 2.4
    assert session.rate == pytest.approx(2.0)             # 2 steps in 1 s
    assert session.eta_s == pytest.approx(97 / 2.0)
    line = session.line()
    assert "loss 2.250 bits/char" in line and "best held-out 2.400" in line
    assert "2.00 steps/s" in line and "ETA 48 s" in line and "2 s elapsed" in line


def test_one_step_falls_back_to_the_trainers_rate(session):
    session.apply([metrics(1, 0.5, rate=4.0)])
    assert session.rate == 4.0 and "4.00 steps/s" in session.line()


def test_a_paused_session_shows_no_rate_and_its_pause_does_not_count(session):
    clock = session.clock
    session.apply([metrics(1, 1.0), metrics(2, 2.0)])
    session.pause()
    clock.now += 0.4
    session.apply([metrics(3, 3.0)])            # the step under way when Pause was pressed
    line = session.line()
    assert line.startswith("Paused at step 3 of 100")
    assert "steps/s" not in line and "ETA" not in line
    clock.now += 60.0                           # a minute paused
    assert session.line() == line
    session.resume()
    assert session.paused_s == pytest.approx(60.0)
    session.apply([metrics(4, 64.0), metrics(5, 65.0)])
    assert session.elapsed_s == pytest.approx(5.0)
    assert session.rate == pytest.approx(1.0)
    assert "1.00 steps/s" in session.line() and "5 s elapsed" in session.line()


def test_previews_and_the_final_report(session):
    preview = TrainPreview(2, "text", text="hello")
    assert session.apply([metrics(2, 1.0), preview]) == [{"step": 2, "loss": 2.0,
                                                          "heldout": None}]
    assert session.preview is preview
    session.apply([FinalReport("/models/poems.safetensors", 1.9876, "test", "bits/char", 3.0)])
    assert session.running
    session.finish("finished")
    assert not session.running and session.state == "finished"
    assert session.line() == "Done: held-out 1.9876 bits/char; saved as poems"


@pytest.mark.parametrize("how, state, words", [
    ("cancelled", "stopped", "Stopped: the best model so far is saved"),
    ("error", "failed", "stopped by an error"),
    ("finished", "failed", "stopped by an error"),      # finished without a report
])
def test_how_a_run_ended(session, how, state, words):
    session.apply([metrics(1, 1.0)])
    session.pause()
    session.finish(how, "the disk is full")
    assert session.state == state and words in session.line() and not session.paused
    assert session.error == "the disk is full"
    assert session.run_line() == f"poems \u2014 {state} at 1/100"


def test_a_resumed_run_continues_its_curve():
    rows = [{"step": 1, "loss": 3.0}, {"step": 2, "loss": 2.0, "heldout": 2.5},
            {"step": 3, "loss": 1.5, "heldout": 2.2}]
    s = TrainSession.for_job(job(), rows)
    assert s.step == 3 and s.best == 2.2 and len(s.losses) == 3 and len(s.heldout) == 2
    assert s.run_line() == "poems \u2014 running at 3/100, best 2.200 bits/char"
    s.apply([metrics(4, 40.0)])
    assert s.losses[-1] == (4, 2.0) and s.step == 4


def test_durations():
    assert [format_duration(s) for s in (0, 42.4, 60, 187, 3729)] == \
        ["0 s", "42 s", "1:00", "3:07", "1:02:09"]


def test_the_session_needs_neither_qt_nor_torch():
    code = ("import sys, app.core.training.session; "
            "print(any(m in sys.modules for m in ('PySide6', 'torch')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "False"
