"""The Image tab starts from a model's measured best temperature when it is chosen."""
import pytest

from tests.core.test_recommended import _model


def test_the_image_tab_takes_a_models_temperature_and_gives_it_back(window, tmp_path):
    tab = window.image_tab
    plain = tab.picker.current()
    warm = _model(tmp_path, "warm", 0.8)
    tab.open_checkpoint(str(warm))
    assert tab.temperature.value() == pytest.approx(0.8)
    assert "looks best at temperature 0.8" in tab.model_note.text()
    tab.picker.select_path(plain.path)                 # no recommendation: the default again
    assert tab.temperature.value() == pytest.approx(1.0)
    tab.picker.select_path(warm)
    tab.temperature.setValue(0.6)                      # set by hand: kept on the way back
    tab.picker.select_path(plain.path)
    assert tab.temperature.value() == pytest.approx(0.6)
