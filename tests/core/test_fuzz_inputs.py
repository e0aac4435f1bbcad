"""Property-based fuzzing of what a user or a file can hand chainrule: checkpoint metadata
values and command-line flag values. Every example must end in success or a one-line
refusal (exit code 2), never a traceback (exit code 1), a hang or an unbounded allocation.

Each test keeps drawing new examples for CHAINRULE_FUZZ_SECONDS (default 35 s each, so the
two run for over a minute in CI); set it higher to explore further.
"""
import json
import math
import os
import resource
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cli import main
from app.core.checkpoint import CheckpointError, load_bundle
from tests.hostile_files import join, split, tiny_model

SECONDS = float(os.environ.get("CHAINRULE_FUZZ_SECONDS", 35))
EXAMPLE_SECONDS = 10.0          # a bound far above any example's time: a hang fails
PEAK_RSS_BYTES = 4 << 30        # the whole test process, torch included
CONTROL = "\x1b\x07\r\x9b\u202e"

# Values of every JSON type, with the edges that broke checks before: huge and negative
# integers, non-finite and fractional floats, strings with control characters, containers.
SCALARS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70), st.sampled_from([0, 1, 2, 3, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
    st.text(max_size=12), st.sampled_from(["\x1b[2J", "abc", "6.9", ""]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
CONFIG_KEYS = ["height", "width", "channels", "levels", "hidden", "layers", "first_kernel",
               "kernel", "output_hidden", "num_classes", "position_bias", "unknown_key"]
CODEC_KEYS = ["height", "width", "channels", "levels", "class_names", "modality", "extra"]


def keep_drawing(test) -> None:
    """Run a hypothesis test again and again (new examples each time) for SECONDS."""
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        test()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 < PEAK_RSS_BYTES


def test_fuzzed_metadata_loads_or_is_refused_in_one_line(tmp_path):
    source = tiny_model(tmp_path)
    header, data = split(source)

    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(field=st.sampled_from(["config", "codec"]),
           changes=st.dictionaries(st.sampled_from(CONFIG_KEYS + CODEC_KEYS), VALUES,
                                   min_size=1, max_size=3))
    def example(field, changes):
        meta = dict(header["__metadata__"])
        value = json.loads(meta[field])
        value.update(changes)
        meta[field] = json.dumps(value)
        path = join(tmp_path / "fuzzed.safetensors", dict(header, __metadata__=meta), data)
        started = time.monotonic()
        try:
            bundle = load_bundle(path)
        except CheckpointError as err:
            assert "\n" not in str(err)
        else:
            assert bundle.net is not None
        assert time.monotonic() - started < EXAMPLE_SECONDS

    keep_drawing(example)


def numbers_as_text():
    """Flag values as a user could type them: mostly out of range or not numbers at all,
    small when valid (a valid 600 s of audio would only be slow, not wrong)."""
    return st.one_of(
        st.sampled_from(["nan", "inf", "-inf", "-1", "0", "1e30", "-0", "1e-30", "",
                         str(2**63), str(-(2**63)), "1" * 60, "0x10", "3.5", "\x1b[2J",
                         "1,000", "1_0", " 2 "]),
        # Valid values stay small (above, 1-3): a valid --seconds 431 is slow, not wrong.
        st.integers(min_value=-(2**66), max_value=2**66).filter(
            lambda v: not 3 < abs(v) < 10**6).map(str),
        st.floats(allow_nan=True, allow_infinity=True).filter(
            lambda v: not 3 < abs(v) < 1e6).map(repr),
        st.integers(min_value=1, max_value=3).map(str),
        st.text(max_size=8))


@pytest.fixture
def tiny_models(save_tiny):
    return {kind: str(save_tiny(kind)) for kind in ("pixelcnn", "wavenet", "charlm-gpt")}


def test_fuzzed_flag_values_never_end_in_a_traceback(tmp_path, tiny_models, capsys):
    out_png, out_wav = str(tmp_path / "o.png"), str(tmp_path / "o.wav")
    commands = {
        "image": (["sample", "image", "--model", tiny_models["pixelcnn"], "--out", out_png,
                   "--n", "1"], ["--n", "--temperature", "--seed", "--scale", "--threads",
                                 "--label", "--calls"]),
        "audio": (["sample", "audio", "--model", tiny_models["wavenet"], "--out", out_wav,
                   "--seconds", "0.01"], ["--seconds", "--temperature", "--seed", "--n",
                                          "--label"]),
        "text": (["sample", "text", "--model", tiny_models["charlm-gpt"], "--length", "3"],
                 ["--length", "--temperature", "--top-k", "--top-p", "--seed", "--n"]),
        "train": (["train", "--kind", "pixelcnn", "--data", str(tmp_path / "none"),
                   "--steps", "1"], ["--steps", "--batch-size", "--lr", "--seed",
                                     "--eval-every", "--checkpoint-every"]),
    }

    @settings(max_examples=20, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(command=st.sampled_from(sorted(commands)), data=st.data())
    def example(command, data):
        base, flags = commands[command]
        flag = data.draw(st.sampled_from(flags))
        value = data.draw(numbers_as_text())
        started = time.monotonic()
        try:
            code = main(base + [flag, value])
        except SystemExit as stop:                     # argparse's refusals
            code = stop.code
        _, err = capsys.readouterr()
        assert code in (0, 2), (flag, value, err)
        assert code == 0 or err.count("\n") == 1, (flag, value, err)
        assert code == 0 or not any(ch in err for ch in CONTROL), (flag, value, err)
        assert time.monotonic() - started < EXAMPLE_SECONDS, (flag, value)

    keep_drawing(example)
    assert math.isfinite(SECONDS)
