"""Seeds: a new random seed each run by default, the one used shown and recorded, a lock
that keeps it, in every tab; typing a seed or restoring a result keeps that seed."""
import pytest
from PySide6.QtCore import QSettings

from tests.ui.test_tabs import wait_done


def _run(qtbot, tab):
    tab.generate()
    wait_done(qtbot, tab)
    return tab.result_params["seed"] if tab.result_params else tab.seed.value()


def _image_run(qtbot, tab):
    tab.generate()
    wait_done(qtbot, tab)
    return tab.generate_mode.params["seed"]


@pytest.mark.parametrize("name", ["image", "audio", "text"])
def test_each_run_draws_a_new_seed_shows_it_and_records_it(window, qtbot, name):
    tab = getattr(window, f"{name}_tab")
    window.tabs.setCurrentWidget(tab)
    if name == "image":
        tab.grid.setValue(1)
    elif name == "audio":
        tab.seconds.setValue(0.1)
    else:
        tab.length.setValue(20)
    assert not tab.seed.locked()                          # the default: random each run
    run = _image_run if name == "image" else _run
    seeds = [run(qtbot, tab) for _ in range(3)]
    assert len(set(seeds)) == 3                            # pressing Generate again: new draws
    assert tab.seed.value() == seeds[-1]                  # the box shows the seed used
    assert not tab.seed.locked()

    tab.seed.lock.click()                                  # keep it
    assert tab.seed.locked()
    kept = [run(qtbot, tab) for _ in range(2)]
    assert kept == [seeds[-1]] * 2
    tab.seed.lock.click()
    assert run(qtbot, tab) != seeds[-1]


def test_locked_runs_repeat_the_same_images(window, qtbot):
    tab = window.image_tab
    tab.grid.setValue(2)
    tab.seed.spin.setValue(4321)                           # as a person types it: now kept
    assert tab.seed.locked()
    _image_run(qtbot, tab)
    first = tab.generate_mode.state.levels.copy()
    _image_run(qtbot, tab)
    assert (tab.generate_mode.state.levels == first).all()
    assert tab.generate_mode.params["seed"] == 4321


def test_restoring_a_result_keeps_its_seed(window, qtbot, tmp_path):
    tab = window.image_tab
    tab.grid.setValue(1)
    used = _image_run(qtbot, tab)
    path = str(tmp_path / "r.png")
    tab.save_result(path)
    _image_run(qtbot, tab)
    assert tab.seed.value() != used
    window.open_path(path)
    assert tab.seed.value() == used and tab.seed.locked()  # Generate now draws it again
    assert _image_run(qtbot, tab) == used


def test_dice_rolls_a_seed_to_keep_and_the_mode_is_a_setting(window, tmp_path):
    tab = window.text_tab
    before = tab.seed.value()
    tab.seed.dice.click()
    assert tab.seed.locked() and tab.seed.value() != before
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    tab.save_settings(settings)
    value = tab.seed.value()
    tab.seed.lock.click()
    tab.seed.for_run()
    tab.restore_settings(settings)
    assert tab.seed.locked() and tab.seed.value() == value
    tab.seed.lock.click()
    tab.save_settings(settings)
    tab.restore_settings(settings)
    assert not tab.seed.locked()
    assert "new random seed each run" in tab.seed.lock.toolTip()
