"""The Image tab's Guidance row: on for a class, off where there is nothing to guide by, in
the request, the saved file and the settings."""
from PySide6.QtCore import QSettings

from app.core.sampling.guidance import DEFAULT_SCALE


def test_guidance_needs_a_class_and_a_model_with_classes(window, save_tiny):
    tab = window.image_tab
    window.tabs.setCurrentWidget(tab)
    assert tab.guidance.value() == DEFAULT_SCALE
    assert tab.form.isRowVisible(tab.guidance)
    tab.label_picker.set_label("any")
    assert not tab.guidance.isEnabled() and "Choose a class" in tab.guidance.toolTip()
    tab.label_picker.set_label(1)
    assert tab.guidance.isEnabled()
    tab.guidance.setValue(3.0)
    info = tab.picker.current()
    request = tab.generate_mode.request(info)
    assert request.guidance == 3.0 and request.label == 1
    tab.set_mode("inpaint")
    assert tab.form.isRowVisible(tab.guidance) and tab.guidance.isEnabled()
    assert tab.inpaint_mode.guidance(info) == 3.0
    controls = tab.fill_controls
    controls.method.setCurrentIndex(controls.method.findData("resample"))
    # Resampling weighs fills by the model's own likelihood: never guided.
    assert not tab.guidance.isEnabled() and "not guided" in tab.guidance.toolTip()
    assert tab.inpaint_mode.guidance(info) == 1.0
    controls.method.setCurrentIndex(controls.method.findData("raster"))
    assert tab.guidance.isEnabled()
    tab.set_mode("compare")
    assert tab.form.isRowVisible(tab.guidance)
    tab.set_mode("generate")
    tab.open_checkpoint(save_tiny("pixelcnn", name="plain", num_classes=0))
    assert not tab.guidance.isEnabled() and "without classes" in tab.guidance.toolTip()
    # A model without classes is drawn as it is, whatever the box says.
    assert tab.generate_mode.request(tab.picker.current()).guidance == 1.0


def test_a_guided_grid_records_its_scale_and_opens_with_it(window, qtbot, tmp_path):
    from app.core.saved_images import saved_params

    tab = window.image_tab
    window.tabs.setCurrentWidget(tab)
    tab.grid.setValue(1)
    tab.label_picker.set_label(2)
    tab.guidance.setValue(2.5)
    tab.generate()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=60000)
    path = str(tmp_path / "guided.png")
    tab.save_result(path)
    assert saved_params(path)["guidance"] == 2.5
    tab.guidance.setValue(1.0)
    tab.open_result(path)
    assert tab.guidance.value() == 2.5


def test_the_guidance_setting_is_kept(window, tmp_path):
    tab = window.image_tab
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    tab.guidance.setValue(4.0)
    tab.save_settings(settings)
    tab.guidance.setValue(1.0)
    tab.restore_settings(settings)
    assert tab.guidance.value() == 4.0
