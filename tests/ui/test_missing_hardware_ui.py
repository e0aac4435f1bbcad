"""No sound device, or one that refuses to open (both forced): audio is still generated,
shown and saved, playback is reported unavailable, and nothing raises."""
import sys

import pytest

from app.core.audio_out import NullOutput, open_output
from app.ui.tabs import audio_tab
from tests.core.test_audio_out import _FakeSounddevice
from tests.ui.test_tabs import wait_done


def generate_half_a_second(window, qtbot, tmp_path):
    tab = window.audio_tab
    window.tabs.setCurrentWidget(tab)
    tab.seconds.setValue(0.5)
    tab.generate()
    wait_done(qtbot, tab)
    assert len(tab.waveform.samples) == 4000
    tab.play_again()                       # must not raise either
    tab.save_result(str(tmp_path / "a.wav"))
    assert (tmp_path / "a.wav").stat().st_size > 8000
    return tab


def test_no_sound_device_generation_works_and_says_playback_is_unavailable(
        window, qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(audio_tab, "open_output",
                        lambda: NullOutput("no sound output device found (forced by a test)"))
    tab = generate_half_a_second(window, qtbot, tmp_path)
    text = tab.message.text()
    assert not tab.message.isHidden()
    assert text.startswith("Playback unavailable: no sound output device found (forced")
    assert "still generated" in text
    # Play again is off, and says why, rather than doing nothing without a word.
    assert not tab.play_button.isEnabled()
    assert "No sound to play on: no sound output device found" in tab.play_button.toolTip()
    window.open_path(str(tmp_path / "a.wav"))
    assert not tab.play_button.isEnabled()


@pytest.mark.parametrize("broken", ["no device", "refuses to open"])
def test_a_broken_portaudio_never_stops_generation(window, qtbot, tmp_path, monkeypatch,
                                                   broken):
    error = _FakeSounddevice.PortAudioError("Device unavailable [PaErrorCode -9985]")
    fake = _FakeSounddevice(devices_error=error) if broken == "no device" else \
        _FakeSounddevice(stream_error=error)
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    monkeypatch.setattr(audio_tab, "open_output", open_output)
    tab = generate_half_a_second(window, qtbot, tmp_path)
    assert "Device unavailable" in tab.message.text()
