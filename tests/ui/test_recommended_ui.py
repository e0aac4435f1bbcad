"""The Image tab starts from a model's measured best temperature when it is chosen."""
import pytest

from tests.core.test_recommended import _model


def test_the_image_tab_takes_a_models_temperature_and_gives_it_back(window, tmp_path):
    tab = window.image_tab
    plain = tab.picker.current()
    warm = _model(tmp_path, "warm", 0.8)
    tab.open_checkpoint(str(warm))
    assert tab.temperature.value() == pytest.approx(0.8)
    assert "best at temperature 0.8 (measured)" in tab.model_note.text()
    tab.picker.select_path(plain.path)                 # no recommendation: the default again
    assert tab.temperature.value() == pytest.approx(1.0)
    tab.picker.select_path(warm)
    tab.temperature.setValue(0.6)                      # set by hand: kept on the way back
    tab.picker.select_path(plain.path)
    assert tab.temperature.value() == pytest.approx(0.6)


def test_the_audio_tab_takes_a_models_voice_temperature_and_records_it(window, qtbot,
                                                                        tmp_path):
    from app.core.outputs import read_wav_params
    from tests.core.test_voice_temperature import _wavenet_file
    from tests.ui.test_tabs import wait_done

    tab = window.audio_tab
    voiced = _wavenet_file(tmp_path, "voiced", 0.6)
    plain = _wavenet_file(tmp_path, "plain")
    tab.open_checkpoint(str(voiced))
    assert tab.voice_temperature.value() == pytest.approx(0.6)
    assert "best at 0.6 while loud (measured)" in tab.model_note.text()
    tab.seconds.setValue(0.25)
    tab.generate()
    wait_done(qtbot, tab)
    path = tmp_path / "a.wav"
    tab.save_result(str(path))
    assert read_wav_params(path)["voice_temperature"] == pytest.approx(0.6)
    tab.open_checkpoint(str(plain))                    # none measured: off again
    assert tab.voice_temperature.value() == 0.0 and tab.voice_temperature.text() == "off"
    assert tab.voice_temperature_value() is None
    tab.apply_params(read_wav_params(path))            # a file's parameters restore it
    assert tab.voice_temperature.value() == pytest.approx(0.6)


def test_the_image_tab_takes_a_models_guidance(window, tmp_path):
    tab = window.image_tab
    plain = tab.picker.current()
    guided = _model(tmp_path, "guided", guidance=3.0)
    tab.open_checkpoint(str(guided))
    assert tab.guidance.value() == pytest.approx(3.0)
    assert "guidance 3 (measured)" in tab.model_note.text()
    tab.picker.select_path(plain.path)
    assert tab.guidance.value() == pytest.approx(2.0)
