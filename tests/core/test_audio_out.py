"""Ring buffer and stream player: every sample played once, in order; no device is fine."""
import threading

import numpy as np

from app.core.audio_out import NullOutput, RingBuffer, StreamPlayer, open_output


def test_ring_buffer_wraps_and_keeps_order():
    ring = RingBuffer(10)
    out = np.zeros(4, np.float32)
    for start in range(0, 40, 3):
        assert ring.write(np.arange(start, start + 3)) == 3
        n = ring.read_into(out[:3])
        assert list(out[:n]) == list(range(start, start + 3))
    assert ring.write(np.arange(12)) == 10        # only what fits
    assert ring.available() == 10


def test_player_plays_every_sample_once_in_order_despite_underruns():
    player = StreamPlayer(8000, lead_s=0.01, capacity_s=3.0)
    source = np.random.default_rng(0).uniform(-1, 1, 20000).astype(np.float32)
    played = []

    def produce():
        for i in range(0, len(source), 333):
            player.feed(source[i:i + 333])
            if i % 3000 == 0:
                threading.Event().wait(0.002)      # fall behind now and then
        player.end_of_input()

    def consume():
        block = np.zeros(256, np.float32)
        while not player.drained:
            got = player.fill(block)
            played.append(block[:got].copy())
            assert np.all(block[got:] == 0)

    threads = [threading.Thread(target=produce, daemon=True),
               threading.Thread(target=consume, daemon=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert np.array_equal(np.concatenate(played), source)
    assert player.played == len(source)


def test_player_waits_for_the_lead_before_playing():
    player = StreamPlayer(1000, lead_s=0.1)
    block = np.ones(50, np.float32)
    player.feed(np.full(60, 0.5))
    assert player.fill(block) == 0 and np.all(block == 0)
    player.feed(np.full(60, 0.5))
    assert player.fill(block) == 50 and np.all(block == 0.5)


def test_open_output_never_raises_and_null_output_explains():
    output = open_output()
    assert output.available in (True, False)
    if not output.available:
        assert output.reason
    null = NullOutput("no sound card")
    player = null.player(8000)
    null.start(player)
    player.feed(np.zeros(100))
    assert player.drained and null.reason == "no sound card"


class _FakeSounddevice:
    """Stands in for the sounddevice module; each case breaks it a different way."""

    class PortAudioError(Exception):
        pass

    def __init__(self, devices_error=None, stream_error=None):
        self.devices_error, self.stream_error = devices_error, stream_error

    def query_devices(self, kind=None):
        if self.devices_error:
            raise self.devices_error
        return {"name": "Fake output"}

    def OutputStream(self, **kwargs):      # noqa: N802 (sounddevice's name)
        raise self.stream_error


def test_forced_no_portaudio_library_gives_a_null_output(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_portaudio(name, *args, **kwargs):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(__import__("sys").modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_portaudio)
    output = open_output()
    assert not output.available and "install libportaudio2" in output.reason


def test_forced_no_output_device_gives_a_null_output(monkeypatch):
    import sys

    fake = _FakeSounddevice(devices_error=_FakeSounddevice.PortAudioError(
        "Error querying device -1"))
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    output = open_output()
    assert not output.available
    assert output.reason == "no sound output device found (Error querying device -1)"


def test_a_device_that_refuses_to_open_is_an_error_not_a_crash(monkeypatch):
    import sys

    import pytest

    from app.core.audio_out import AudioOutputError

    fake = _FakeSounddevice(stream_error=_FakeSounddevice.PortAudioError(
        "Device unavailable [PaErrorCode -9985]"))
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    output = open_output()
    assert output.available and output.name == "Fake output"
    player = output.player(8000)
    with pytest.raises(AudioOutputError, match="cannot open the sound output: Device unavail"):
        output.start(player)
    assert player.drained                  # nobody waits for audio that will never play
