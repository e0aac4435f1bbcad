"""The voice temperature: audio drawn at a second temperature while it is loud
(app/core/sampling/voice.py), the same choice at every sample in the compiled loop and the
PyTorch step."""
import numpy as np
import pytest
import torch

from app.core.codecs import MuLawCodec
from app.core.fast import wavenet_numba
from app.core.fast.vecmath import _pick
from app.core.sampling.audio import _torch_steps, generate_audio, sample_audio
from app.core.sampling.voice import VOICE_DB, VOICE_WINDOW_S, VoiceGate
from tests.conftest import make_bundle

CODEC = MuLawCodec(8000, 256)


def loud_by_definition(levels: np.ndarray, history) -> list[bool]:
    """Before each sample: is the RMS of the window before it above VOICE_DB? In floats,
    from the decoded audio, with the history (then silence) before the first sample."""
    window = int(round(VOICE_WINDOW_S * CODEC.sample_rate))
    past = np.concatenate([np.full(window, CODEC.silence), history, levels]).astype(np.int64)
    audio = CODEC.decode(past).astype(np.float64)
    start = window + len(history)
    return [20 * np.log10(np.sqrt((audio[i - window:i] ** 2).mean()) + 1e-12) > VOICE_DB
            for i in range(start, start + len(levels))]


def test_the_gate_says_loud_exactly_when_the_last_20_ms_are_louder_than_the_threshold():
    rng = np.random.default_rng(0)
    # Stretches of silence, hiss and tone, so the window crosses the threshold many times
    # (amplitudes kept away from it: integer sums and float RMS may differ at a tie).
    parts = [np.zeros(300), rng.normal(0, 0.003, 250), 0.4 * np.sin(np.arange(400) * 0.2),
             np.zeros(170), 0.2 * np.sin(np.arange(90) * 0.5), rng.normal(0, 0.002, 300)]
    levels = CODEC.encode(np.concatenate(parts))
    for history in ([CODEC.silence], CODEC.encode(0.5 * np.sin(np.arange(50) * 0.3))):
        gate = VoiceGate(CODEC, 2, history, plain=1.0, voice=0.5)
        seen = []
        for value in levels:
            loud = gate.loud()
            assert loud[0] == loud[1]
            seen.append(bool(loud[0]))
            np.testing.assert_array_equal(gate.temperatures(), np.where(loud, 0.5, 1.0))
            gate.push(np.array([value, value]))
        assert seen == loud_by_definition(levels, history)
        assert 0.2 < np.mean(seen) < 0.8


def switching_net():
    """A tiny WaveNet whose every draw is silence with p = 0.61 at temperature 1 and 0.998 at
    0.5, else any level: loud at 1, quiet again at 0.5, so the gate keeps switching."""
    net, _ = make_bundle("wavenet", levels=256)
    with torch.no_grad():
        net.out2.weight.zero_()
        net.out2.bias.zero_()
        net.out2.bias[CODEC.silence] = 6.0
    return net


def replay(tokens: np.ndarray, history, streams: int) -> np.ndarray:
    """(n, B) tokens -> (n, B) which draws a fresh gate calls loud."""
    gate = VoiceGate(CODEC, streams, history, plain=1.0, voice=0.5)
    out = []
    for row in tokens:
        out.append(gate.loud().copy())
        gate.push(row)
    return np.array(out)


@pytest.mark.skipif(not wavenet_numba.available(), reason="numba not installed")
@pytest.mark.parametrize("threads", [1, 2])
def test_the_compiled_loop_draws_each_sample_at_the_temperature_the_gate_gives(threads):
    net = switching_net()
    history = list(CODEC.encode(0.6 * np.sin(np.arange(40) * 0.4)))
    compiled = wavenet_numba.CompiledWaveNet(net, None, 3, threads)
    gate = VoiceGate(CODEC, 3, history, plain=1.0, voice=0.5)
    compiled.set_voice(gate)
    compiled.feed(np.repeat(np.array(history[:-1])[:, None], 3, axis=1))
    uniforms = torch.rand(400, 3, generator=torch.Generator().manual_seed(2)).numpy()
    current = np.full(3, history[-1])
    tokens, logits, loud = [], [], []
    for part in np.split(uniforms, [7, 100, 250]):          # chunks: the gate carries over
        t, lg, ld = compiled.generate(current, part, 1.0, record=True)
        tokens.append(t), logits.append(lg), loud.append(ld)
        current = t[-1]
    tokens, logits, loud = map(np.concatenate, (tokens, logits, loud))
    assert loud.any() and not loud.all()
    np.testing.assert_array_equal(loud, replay(tokens, history, 3))
    for t in range(len(tokens)):
        for b in range(3):
            inv_t = np.float32(2.0 if loud[t, b] else 1.0)
            assert tokens[t, b] == _pick(logits[t, b], inv_t, uniforms[t, b])


def test_the_pytorch_step_uses_the_same_gate():
    net = switching_net()
    history = list(CODEC.encode(0.6 * np.sin(np.arange(40) * 0.4)))
    gate = VoiceGate(CODEC, 2, history, plain=1.0, voice=0.5)
    with torch.no_grad():
        steps = _torch_steps(net, None, 2, history, torch.Generator().manual_seed(0), 1.0,
                             100, torch.device("cpu"), report=True, gate=gate)
        levels, _, temps = steps(500)
    loud = replay(levels.T, history, 2).T
    assert loud.any() and not loud.all()
    np.testing.assert_array_equal(temps, np.where(loud, 0.5, 1.0))


@pytest.mark.parametrize("compiled", [True, False])
def test_a_voice_temperature_equal_to_the_temperature_changes_nothing(compiled):
    net, _ = make_bundle("wavenet", levels=256)
    kw = dict(seed=3, temperature=0.8, streams=2, compiled=compiled)
    plain = generate_audio(net, CODEC, 500, **kw)
    same = generate_audio(net, CODEC, 500, voice_temperature=0.8, **kw)
    if compiled:
        np.testing.assert_array_equal(plain, same)
    else:       # logits / T at 1 against logits at T: the same draws but for float rounding
        assert (plain == same).mean() > 0.99


def test_the_reported_distributions_are_at_each_samples_own_temperature():
    net = switching_net()
    prime = 0.6 * np.sin(np.arange(80) * 0.4)
    events = list(sample_audio(net, CODEC, 600, seed=1, prime=prime, report=True,
                               voice_temperature=0.25, chunk=64))
    probs = np.concatenate([e.probs for e in events], axis=1)[0]          # (n, V)
    levels = np.concatenate([e.levels for e in events], axis=1)[0]
    loud = replay(levels[:, None], list(CODEC.encode(prime)), 1)[:, 0]
    assert loud[0] and not loud.all()                   # a loud prime: the first draw is loud
    # Silence's probability: 0.61 at temperature 1, about 1 at a quarter of it.
    np.testing.assert_allclose(probs[~loud, CODEC.silence], np.e ** 6 / (np.e ** 6 + 255),
                               rtol=1e-4)
    assert (probs[loud, CODEC.silence] > 0.999).all()


def test_greedy_sampling_ignores_the_voice_temperature():
    net, _ = make_bundle("wavenet", levels=256)
    a = generate_audio(net, CODEC, 200, seed=0, temperature=0.0)
    b = generate_audio(net, CODEC, 200, seed=0, temperature=0.0, voice_temperature=0.5)
    np.testing.assert_array_equal(a, b)


def test_saved_parameters_give_the_voice_temperature_back():
    from app.core.requests import AudioRequest, RequestError

    assert AudioRequest.from_params({"voice_temperature": 0.6}).voice_temperature == 0.6
    assert AudioRequest.from_params({"voice_temperature": None}).voice_temperature is None
    assert AudioRequest.from_params({}).voice_temperature is None     # files before it
    with pytest.raises(RequestError, match="voice_temperature"):
        AudioRequest.from_params({"voice_temperature": "warm"})


def _wavenet_file(tmp_path, name, voice=None):
    from app.core.checkpoint import save_bundle

    net, codec = make_bundle("wavenet")
    provenance = {"description": "tiny"}
    if voice is not None:
        provenance["recommended"] = {"voice_temperature": voice}
    return save_bundle(tmp_path / f"{name}.safetensors", net, codec, provenance)


def test_sample_audio_takes_the_models_voice_temperature_unless_told(tmp_path, capsys):
    from app.cli import main
    from app.core.outputs import read_wav_params

    model = str(_wavenet_file(tmp_path, "voiced", 0.6))
    out = tmp_path / "a.wav"
    base = ["sample", "audio", "--model", model, "--seconds", "0.05", "--out", str(out)]
    assert main(base) == 0
    assert read_wav_params(out)["voice_temperature"] == 0.6
    assert "voice temperature" in capsys.readouterr().out
    assert main(base + ["--voice-temperature", "0.4"]) == 0
    assert read_wav_params(out)["voice_temperature"] == 0.4
    assert main(base + ["--voice-temperature", "off"]) == 0
    assert read_wav_params(out)["voice_temperature"] is None
    capsys.readouterr()
    assert main(base + ["--voice-temperature", "soft"]) == 2
    assert "--voice-temperature must be a number or 'off'" in capsys.readouterr().err
    assert main(base + ["--voice-temperature", "0"]) == 2
    assert "voice temperature must be at least 0.01" in capsys.readouterr().err
    plain = str(_wavenet_file(tmp_path, "plain"))
    assert main(["sample", "audio", "--model", plain, "--seconds", "0.05", "--out",
                 str(out)]) == 0
    assert read_wav_params(out)["voice_temperature"] is None
