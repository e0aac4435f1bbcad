"""Real playback through PortAudio into a PulseAudio null sink, paced like a sound card.

The daemon is started by the test itself in a private runtime folder; the player runs in a
subprocess because PortAudio lists devices once, when sounddevice is first imported.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PLAY = r"""
import json, sys, threading, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from app.core.audio_out import open_output
output = open_output()
assert output.available, output.reason
rate = 8000
player = output.player(rate, lead_s=0.2, capacity_s=3)
output.start(player)
source = (np.sin(np.arange(rate) / 7) * 0.3).astype(np.float32)     # one second
started = time.perf_counter()
for i in range(0, rate, 400):          # generated 4x faster than real time
    player.feed(source[i:i + 400])
    time.sleep(0.0125)
player.end_of_input()
drained = player.wait_drained(10)
elapsed = time.perf_counter() - started
player.stop()
print(json.dumps({"device": output.name, "drained": drained, "played": player.played,
                  "underruns": player.underruns, "elapsed": elapsed}))
"""


@pytest.fixture
def pulse_null_sink(tmp_path):
    binary = shutil.which("pulseaudio")
    if binary is None:
        pytest.skip("pulseaudio not installed (packaging/setup.sh test installs it)")
    runtime = tmp_path / "pulse-runtime"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), HOME=str(tmp_path))
    subprocess.run([binary, "--daemonize=yes", "--exit-idle-time=-1", "-n",
                    "--load=module-native-protocol-unix",
                    "--load=module-null-sink sink_name=chainrule_test"],
                   env=env, check=True, capture_output=True, timeout=30)
    yield env
    subprocess.run([binary, "--kill"], env=env, capture_output=True, timeout=30)


def test_every_sample_plays_in_real_time_without_underruns(pulse_null_sink):
    import json

    result = subprocess.run([sys.executable, "-c", PLAY, str(ROOT)], env=pulse_null_sink,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["drained"] and report["played"] == 8000
    assert report["underruns"] == 0
    # Paced by the (null) device: one second of audio takes about a second to play.
    assert 0.8 < report["elapsed"] < 4.0
