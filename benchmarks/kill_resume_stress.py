"""Does training survive being killed? Prints JSON.

Starts `python -m app train` on a tiny text folder that it makes, kills it with SIGKILL at
random moments (`--kills` times), and after every kill checks the run folder:

- run.json parses;
- the resumable state (state.safetensors) loads into a fresh net and optimizer;
- best.safetensors, and the exported model if there is one, load with chainrule's loader;
- history.jsonl holds every step from 1 up, without gaps or repeats, and each step's loss
  equals what earlier sessions logged for it (a resumed run replays exactly).

Then it resumes the run (`chainrule train --resume RUN_DIR`), which the next kill interrupts
again; a kill before the run folder exists starts a fresh run. At the end the run is resumed
to its last step, and its weights and optimizer state are compared, bit for bit, with those
of an uninterrupted run of the same job.

Steps lost per kill: the last step the killed process reported done (`--log-every 1` prints
a line once a step, and its saves, are done) minus the step its resume starts from. By design
that is less than the checkpoint interval.

    python benchmarks/kill_resume_stress.py --kills 20
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
STEP_LINE = re.compile(r"^step (\d+)/(\d+) loss (\S+)")


def make_text(folder: Path, chars: int = 12000) -> Path:
    words = ("the cat sat on a mat and the dog ran to the log while birds sang of rain "
             "over hills").split()
    rng = random.Random(0)
    text, size = [], 0
    while size < chars:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(4, 12))) + ".\n"
        text.append(line)
        size += len(line)
    folder.mkdir(parents=True)
    (folder / "words.txt").write_text("".join(text), encoding="utf-8")
    return folder


class Session:
    """One `chainrule train` process; its stderr is read as it comes."""

    def __init__(self, command: list[str], env: dict):
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.steps: list[int] = []
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            match = STEP_LINE.match(line)
            if match:
                self.steps.append(int(match.group(1)))

    def run(self, kill_after: float | None) -> bool:
        """Wait, then SIGKILL; True if the process was still running when killed."""
        deadline = None if kill_after is None else time.monotonic() + kill_after
        while self.proc.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                self.proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
        killed = self.proc.wait() == -signal.SIGKILL
        self.proc.stdout.read()
        self.reader.join()
        return killed


def inspect_run(run_dir: Path, out_path: Path, losses: dict) -> dict:
    """Everything a kill must not break, checked with chainrule's own readers."""
    import torch

    from app.core.checkpoint import load_bundle
    from app.core.config import config_from_dict
    from app.core.registry import kind_spec
    from app.core.training.runs import BEST_FILE, HISTORY_FILE, STATE_FILE, History, read_run
    from app.core.training.state import load_state

    problems, found = [], {"state_step": 0, "torn_lines": 0, "temp_files": 0}
    try:
        info = read_run(run_dir)
    except (OSError, ValueError) as err:
        return dict(found, problems=[f"run.json: {err}"])
    state = run_dir / STATE_FILE
    if state.exists():
        try:
            net = kind_spec(info["kind"]).build(config_from_dict(info["kind"], info["config"]))
            opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
            found["state_step"] = load_state(state, net, opt)[0]
        except Exception as err:            # any failure to load is what we look for
            problems.append(f"state: {type(err).__name__}: {err}")
    for path in (run_dir / BEST_FILE, out_path):
        if path.exists():
            try:
                load_bundle(path)
            except Exception as err:
                problems.append(f"{path.name}: {type(err).__name__}: {err}")
    history = run_dir / HISTORY_FILE
    if history.exists():
        raw = history.read_text(encoding="utf-8").splitlines()
        rows = History(run_dir).read()
        found["torn_lines"] = len(raw) - len(rows)
        steps = [row["step"] for row in rows]
        if steps != list(range(1, len(steps) + 1)):
            problems.append(f"history steps not 1..n: {steps[:3]}...{steps[-3:]}")
        if len(steps) < found["state_step"]:
            problems.append(f"history ends at {len(steps)}, state at {found['state_step']}")
        for row in rows:
            seen = losses.setdefault(row["step"], row["loss"])
            if seen != row["loss"]:
                problems.append(f"step {row['step']}: loss {row['loss']} was {seen} before")
    found["temp_files"] = len(list(run_dir.glob(".*.tmp")))
    return dict(found, problems=problems)


def same_state(a: Path, b: Path) -> bool:
    from safetensors.torch import load_file

    ta, tb = load_file(str(a)), load_file(str(b))
    return ta.keys() == tb.keys() and all(bool((ta[k] == tb[k]).all()) for k in ta)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--steps", type=int, default=300, help="steps of the training run")
    parser.add_argument("--checkpoint-every", type=int, default=10)
    parser.add_argument("--max-delay", type=float, default=12.0,
                        help="kill at a random moment 0..this many seconds after start")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    args = parser.parse_args()
    started = time.perf_counter()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="chainrule-kill-"))
    data, out = make_text(work / "text"), work / "model.safetensors"
    env = dict(os.environ, CHAINRULE_HOME=str(work / "home"),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    train = [sys.executable, "-m", "app", "train"]
    common = ["--threads", "1", "--log-every", "1", "--device", "cpu"]
    fresh = train + ["--kind", "charlm-lstm", "--data", str(data), "--size", "small",
                     "--steps", str(args.steps), "--batch-size", "4",
                     "--checkpoint-every", str(args.checkpoint_every),
                     "--eval-every", str(args.checkpoint_every), "--seed", "0",
                     "--out", str(out)] + common
    runs_root = work / "home" / "runs"

    def run_folders() -> set[Path]:
        return {p for p in runs_root.iterdir()} if runs_root.is_dir() else set()

    report = {"kills_attempted": 0, "survived": 0, "killed_before_first_step": 0,
              "fresh_runs": 0, "finished_before_kill": 0, "steps_lost": [],
              "torn_history_lines_seen": 0, "stale_temp_files_seen": 0, "failures": [],
              # per kill: [seconds after start, last step reported, step of the saved state]
              "kills": []}
    losses: dict[int, float] = {}
    run_dir, resume_from = None, 0
    pending = None          # (kill number, step the next session must start from)
    while report["kills_attempted"] < args.kills:
        if run_dir is None:
            before = run_folders()
            command, resume_from = fresh, 0
            report["fresh_runs"] += 1
            losses = {}
        else:
            command = train + ["--resume", str(run_dir)] + common
        session = Session(command, env)
        delay = rng.uniform(0.0, args.max_delay)
        killed = session.run(delay)
        if pending and session.steps and session.steps[0] != pending[1] + 1:
            report["failures"].append(f"kill {pending[0]}: resumed at step "
                                      f"{session.steps[0]}, not {pending[1] + 1}")
            report["survived"] -= 1
        pending = None
        if run_dir is None:
            made = sorted(run_folders() - before)
            run_dir = made[0] if made else None
        if not killed:
            if session.proc.returncode != 0:
                report["failures"].append(f"exit {session.proc.returncode}: "
                                          + " | ".join(session.lines[-3:]))
                break
            report["finished_before_kill"] += 1
            run_dir = None                  # finished: the next session starts a fresh run
            continue
        report["kills_attempted"] += 1
        number = report["kills_attempted"]
        if not session.steps:
            report["killed_before_first_step"] += 1
        if run_dir is None or not (run_dir / "run.json").exists():
            run_dir = None                  # killed before the run was recorded: start again
            report["survived"] += 1
            report["kills"].append([round(delay, 2), None, None])
            continue
        found = inspect_run(run_dir, out, losses)
        report["torn_history_lines_seen"] += found["torn_lines"]
        report["stale_temp_files_seen"] += found["temp_files"]
        last_done = max(session.steps[-1] if session.steps else 0, resume_from)
        report["steps_lost"].append(max(0, last_done - found["state_step"]))
        report["kills"].append([round(delay, 2), session.steps[-1] if session.steps else None,
                                found["state_step"]])
        if found["problems"]:
            report["failures"] += [f"kill {number}: {p}" for p in found["problems"]]
        else:
            report["survived"] += 1
        resume_from = found["state_step"]
        pending = (number, resume_from)

    final = {}
    if run_dir is not None and not report["failures"]:
        session = Session(train + ["--resume", str(run_dir)] + common, env)
        session.run(None)
        if pending and session.steps and session.steps[0] != pending[1] + 1:
            report["failures"].append(f"kill {pending[0]}: resumed at step "
                                      f"{session.steps[0]}, not {pending[1] + 1}")
            report["survived"] -= 1
        found = inspect_run(run_dir, out, losses)
        final["exit_status"] = session.proc.returncode
        final["history_complete"] = (not found["problems"]
                                     and len(losses) == args.steps)
        report["failures"] += [f"final: {p}" for p in found["problems"]]
        # The same job, never interrupted, must end with the same weights, bit for bit.
        reference_env = dict(env, CHAINRULE_HOME=str(work / "reference"))
        reference = Session(fresh[:-len(common)] + ["--out", str(work / "reference.safetensors")]
                            + common, reference_env)
        reference.run(None)
        ref_run = next((work / "reference" / "runs").iterdir())
        final["identical_to_uninterrupted"] = same_state(run_dir / "state.safetensors",
                                                         ref_run / "state.safetensors")
    lost = report.pop("steps_lost")
    report.update(
        steps=args.steps, checkpoint_every=args.checkpoint_every, max_delay_s=args.max_delay,
        steps_lost_per_kill={"max": max(lost, default=0),
                             "mean": round(sum(lost) / len(lost), 2) if lost else 0.0,
                             "all": lost},
        within_checkpoint_interval=all(n <= args.checkpoint_every for n in lost),
        final=final, total_s=round(time.perf_counter() - started, 1))
    if args.keep:
        report["work_folder"] = str(work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
