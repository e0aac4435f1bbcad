"""AudioTrace, headless: what the Audio tab's chain-rule views show, folded from events with
memory that does not grow with the length of the sound."""
import math

import numpy as np
import pytest

from app.core.sampling.events import AudioChunk
from app.core.state.audio_trace import AudioTrace, entropy_bits, score_audio
from tests.conftest import make_bundle

AUDIO_KIND = "wavenet"


def random_sound(samples: int, levels: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    probs = rng.random((samples, levels)).astype(np.float32) ** 4
    probs /= probs.sum(1, keepdims=True)
    drawn = rng.integers(0, levels, samples)
    bits = -np.log2(probs[np.arange(samples), drawn].astype(np.float64))
    return drawn, probs, bits


def fold(trace, drawn, probs, bits, start=0, seed=1):
    """Add in chunks of random sizes, as a sampler's chunks and a worker's batches come."""
    rng, i = np.random.default_rng(seed), 0
    while i < len(drawn):
        n = int(rng.integers(1, 700))
        trace.add(start + i, drawn[i:i + n], probs[i:i + n], bits[i:i + n])
        i += n


def test_columns_are_exact_distributions_of_every_step_th_sample():
    drawn, probs, bits = random_sound(10_000, 32)
    trace = AudioTrace(8000, max_columns=100)
    fold(trace, drawn, probs, bits)
    assert trace.count == 10_000 and trace.step == 128
    assert trace.columns.shape == (math.ceil(10_000 / 128), 32)
    assert np.allclose(trace.columns.sum(1), 1.0, atol=1e-5)       # each one a distribution
    assert np.array_equal(trace.columns, probs[::128])
    assert np.array_equal(trace.column_levels, drawn[::128])
    assert np.allclose(trace.column_times, np.arange(0, 10_000, 128) / 8000)
    assert trace.total_bits == pytest.approx(bits.sum(), rel=1e-12)
    assert trace.mean_bits == pytest.approx(bits.mean(), rel=1e-12)


def test_the_moment_at_a_time_is_that_sample_its_level_bits_and_entropy():
    drawn, probs, bits = random_sound(3000, 16)
    trace = AudioTrace(1000, max_columns=5000)           # room for all: one sample a column
    fold(trace, drawn, probs, bits)
    moment = trace.at(1.2345)
    assert moment.index == 1234 and moment.time == pytest.approx(1.234)
    assert moment.level == drawn[1234] and moment.bits == pytest.approx(bits[1234])
    assert moment.bits == pytest.approx(-math.log2(moment.probs[moment.level]), rel=1e-6)
    assert moment.entropy == pytest.approx(entropy_bits(probs[1234]))
    assert moment.top(3)[0] == (int(probs[1234].argmax()), pytest.approx(probs[1234].max()))
    assert trace.at(-5).index == 0 and trace.at(99).index == 2999 == trace.latest().index
    assert AudioTrace().at(0.0) is None and AudioTrace().latest() is None


def test_the_smoothed_curve_is_a_10_ms_moving_average_of_the_bits():
    drawn, probs, bits = random_sound(4000, 8)
    trace = AudioTrace(8000, max_columns=10_000)
    fold(trace, drawn, probs, bits)
    times, smooth = trace.smoothed()
    width = 80                                           # 10 ms at 8 kHz
    assert len(smooth) == 4000 - width + 1
    assert np.allclose(smooth, np.convolve(bits, np.ones(width) / width, mode="valid"))
    assert times[0] == pytest.approx(width / 2 / 8000)
    # Coarser columns than 10 ms: one point per column, its samples' mean.
    coarse = AudioTrace(8000, max_columns=10)
    fold(coarse, drawn, probs, bits)
    _, smooth = coarse.smoothed()
    assert coarse.step == 512 and smooth[0] == pytest.approx(bits[:512].mean())


def test_memory_stays_bounded_for_ten_minutes_of_sound():
    drawn, probs, bits = random_sound(8000, 256)
    trace = AudioTrace(8000)
    for second in range(600):                        # 4.8 million samples, one chunk a second
        trace.add(second * 8000, drawn, probs, bits)
    assert trace.count == 4_800_000
    assert trace.columns.shape[0] <= trace.max_columns
    assert trace.nbytes < 2.5 * 2**20                # about 2 MB, however long the sound
    assert np.allclose(trace.columns.sum(1), 1.0, atol=1e-5)
    assert trace.total_bits == pytest.approx(600 * bits.sum(), rel=1e-9)
    moment = trace.at(599.0)                         # the nearest kept sample
    assert abs(moment.index - 599 * 8000) <= trace.step / 2
    assert moment.level == drawn[moment.index % 8000]
    assert moment.probs.tolist() == probs[moment.index % 8000].tolist()


def test_chunks_must_come_in_order_and_the_first_may_start_later():
    drawn, probs, bits = random_sound(100, 8)
    trace = AudioTrace(100)
    trace.add(1, drawn[:50], probs[:50], bits[:50])       # a scored sound: sample 0 is given
    assert trace.at(0.0).index == 1
    with pytest.raises(ValueError, match="expected sample 51"):
        trace.add(60, drawn[50:], probs[50:], bits[50:])


def test_apply_folds_what_the_sampler_reports():
    from app.core.sampling.audio import sample_audio

    net, codec = make_bundle(AUDIO_KIND)
    events = list(sample_audio(net, codec, 900, seed=3, chunk=200, report=True))
    trace = AudioTrace(codec.sample_rate)
    assert trace.apply([AudioChunk(0, np.zeros((1, 1)))]) == 0      # no distributions: skipped
    assert trace.apply(events) == 900
    levels = np.concatenate([e.levels[0] for e in events])
    logprob = np.concatenate([e.logprob[0] for e in events])
    assert np.array_equal(trace.column_levels, levels[::trace.step])
    assert trace.total_bits == pytest.approx(-logprob.sum() / math.log(2), rel=1e-6)


class OneModel:
    """The models manager as the worker sees it: get(path, device) -> a bundle."""

    def __init__(self, bundle):
        self.bundle = bundle

    def get(self, path, device="cpu"):
        return self.bundle


def test_score_audio_yields_what_explain_score_says(tmp_path):
    import soundfile

    from app.core.checkpoint import load_bundle, save_bundle
    from app.core.explain import score
    from app.core.explain_report import read_input

    net, codec = make_bundle(AUDIO_KIND)
    bundle = load_bundle(save_bundle(tmp_path / "m.safetensors", net, codec, {}))
    wave = (0.5 * np.sin(np.arange(4100) / 7.0)).astype(np.float32)
    soundfile.write(tmp_path / "a.wav", wave, 8000)
    heard = read_input(bundle, tmp_path / "a.wav").data     # PCM16 in the file
    for source, values in ((str(tmp_path / "a.wav"), heard), (wave, codec.encode(wave))):
        events = list(score_audio(OneModel(bundle), "m", "cpu", source, chunk=1000))
        assert events[0].start == 0 and events[0].probs is None            # given
        assert [e.start for e in events[1:]] == [1, 1001, 2001, 3001, 4001]
        trace = AudioTrace(8000)
        trace.apply(events)
        expected = score(bundle, values, top=1)
        assert trace.count == 4099
        assert trace.total_bits == pytest.approx(expected.total_bits, rel=1e-9)
    cut = list(score_audio(OneModel(bundle), "m", "cpu", wave, seconds=0.25))
    assert sum(e.samples.shape[1] for e in cut) == 2000
