"""Unprimed audio starts with sound: the leading silence a WaveNet often draws first is
generated but not emitted (up to an allowance), and the events say how much."""
import numpy as np

from app.core.codecs import MuLawCodec
from app.core.sampling.audio import LeadingSilence, sample_audio
from tests.conftest import make_bundle

CODEC = MuLawCodec(8000)


def fake_steps(chunks):
    it = iter(chunks)
    return lambda n: (next(it)[None, :n], None, None)


def silence(n):
    return CODEC.encode(np.random.default_rng(0).normal(0, 0.002, n))   # a faint hiss


def tone(n):
    return CODEC.encode(0.5 * np.sin(np.arange(n) * 0.3))


def test_chunks_before_the_first_sound_are_dropped_and_counted():
    chunks = [silence(400)] * 3 + [np.concatenate([silence(320), tone(80)])] + [tone(400)]
    steps = LeadingSilence(fake_steps(chunks), CODEC, allowance=8000)
    first = steps(400)[0]
    # The sound starts with the fifth 10 ms frame of the fourth chunk (sample 320); 20 ms
    # (160 samples) before it are kept.
    assert steps.skipped == 3 * 400 + 160 and first.shape == (1, 240)
    assert np.array_equal(steps(400)[0][0], tone(400))          # then unchanged
    assert steps.skipped == 1360


def test_no_more_than_the_allowance_is_dropped():
    steps = LeadingSilence(fake_steps([silence(400)] * 5), CODEC, allowance=500)
    out = steps(400)[0]
    assert steps.skipped == 500 and out.shape == (1, 300)
    assert steps(400)[0].shape == (1, 400) and steps.skipped == 500


def test_sample_audio_gives_the_length_asked_for_and_never_skips_a_prime():
    net, codec = make_bundle("wavenet")
    events = list(sample_audio(net, codec, 1000, seed=3, skip_silence=3.0))
    assert sum(e.samples.shape[1] for e in events) == 1000
    assert [e.start for e in events] == list(np.cumsum([0] + [e.samples.shape[1]
                                                              for e in events])[:-1])
    primed = list(sample_audio(net, codec, 500, seed=3, skip_silence=3.0,
                               prime=np.zeros(100, np.float32)))
    assert all(e.skipped == 0 for e in primed)
