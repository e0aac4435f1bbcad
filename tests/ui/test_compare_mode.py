"""Compare mode: two models draw side by side, live, with the same seed and class."""
import dataclasses

import numpy as np

from app.core.outputs import read_png_params
from tests.conftest import make_bundle


def compare_tab(window, qtbot, tiny_models):
    from app.core.checkpoint import save_bundle

    net, codec = make_bundle("anyorder", height=16, width=16, seed=3)
    save_bundle(tiny_models / "loose.safetensors", net, codec, {"description": "tiny"})
    tab = window.image_tab
    window.tabs.setCurrentWidget(tab)
    tab.picker.refresh()
    tab.compare.other.refresh()
    tab.picker.select_name("digits")
    tab.set_mode("compare")
    tab.compare.other.select_name("loose")
    return tab


def test_both_models_draw_side_by_side_what_they_draw_alone(window, qtbot, tiny_models, tmp_path):
    from app.core.checkpoint import load_bundle
    from app.core.sampling.image import generate_images

    tab = compare_tab(window, qtbot, tiny_models)
    assert tab.use_button.isHidden()
    assert "digits" in tab.compare.titles[0].text() and "loose" in tab.compare.titles[1].text()
    assert tab.order.isEnabled()                      # the right side is an any-order model
    tab.order.setCurrentIndex(tab.order.findData("spiral"))
    tab.grid.setValue(2)
    tab.label_picker.setCurrentIndex(2)               # class 1 for both
    tab.seed.setValue(5)
    tab.generate()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=60000)
    sides = tab.compare.sides
    assert [s.done for s in sides] == [256, 256] and all(s.drawn.all() for s in sides)
    guidance = tab.guidance.value()                   # both sides are guided alike
    alone = [generate_images(load_bundle(tiny_models / "digits.safetensors").net,
                             sides[0].codec, 4, 1, seed=5, guidance=guidance),
             generate_images(load_bundle(tiny_models / "loose.safetensors").net,
                             sides[1].codec, 4, 1, seed=5, order="spiral",
                             guidance=guidance)]
    for side, result in zip(sides, alone):
        assert np.array_equal(side.levels, result.levels)
    assert "Done" in tab.stats.text() and "digits" in tab.stats.text()
    assert "s of compute" in tab.compare.lines[1].text()

    path = tmp_path / "pair.png"
    assert tab.default_save_name() == "digits-vs-loose-class1-seed5.png"
    tab.save_result(str(path))
    params = read_png_params(path)
    assert params["mode"] == "compare" and params["models"] == ["digits", "loose"]
    assert params["orders"] == ["raster", "spiral"] and params["label"] == 1


def test_stop_keeps_both_halves_and_other_classes_are_explained(window, qtbot, tiny_models):
    from app.core.checkpoint import save_bundle

    tab = compare_tab(window, qtbot, tiny_models)
    tab.grid.setValue(6)
    tab.generate()
    qtbot.waitUntil(lambda: tab.compare.done > 20, timeout=30000)
    tab.stop()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=30000)
    done = [s.done for s in tab.compare.sides]
    assert 0 < done[0] and 0 < done[1] and sum(done) < tab.compare.total  # both halves kept
    assert "Stopped" in tab.stats.text() and tab.has_result()

    net, codec = make_bundle("pixelcnn", height=16, width=16, num_classes=2)
    codec = dataclasses.replace(codec, class_names=["cat", "dog"])
    save_bundle(tiny_models / "pets.safetensors", net, codec, {"description": "tiny"})
    tab.compare.other.refresh()
    tab.compare.other.select_name("pets")
    tab.label_picker.setCurrentIndex(1)
    tab.generate()
    assert not tab.runner.running
    assert "trained on other classes" in tab.message.text()
    tab.label_picker.setCurrentIndex(0)                           # any class: fine
    tab.generate()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=60000)
    assert all(s.drawn.all() for s in tab.compare.sides)
