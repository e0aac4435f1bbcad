"""Out of GPU memory in the window (injected): the message says what to reduce, the failed
run's memory is let go, the tab stays usable, and a smaller retry succeeds."""
import gc

from tests.ui.test_train_tab import prepare


def test_image_generation_out_of_memory_then_a_smaller_grid(window, qtbot, small_gpu):
    tab = window.image_tab
    window.tabs.setCurrentWidget(tab)
    state = small_gpu(4)
    tab.grid.setValue(3)                        # 9 images: more than this "GPU" holds
    tab.generate()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=30000)
    text = tab.message.text()
    assert not tab.message.isHidden() and "\n" not in text
    assert text.startswith("the GPU ran out of memory") and "smaller Images grid" in text
    assert tab.generate_button.isEnabled() and tab.picker.isEnabled()
    gc.collect()
    assert state["failed"] and all(ref() is None for ref in state["failed"])

    tab.grid.setValue(2)                        # 4 images fit
    tab.generate()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=30000)
    assert tab.message.isHidden()
    assert tab.has_result() and tab.generate_mode.state.done == tab.generate_mode.state.total


def test_training_out_of_memory_names_the_batch_size_then_a_smaller_batch_trains(
        window, qtbot, tmp_path, small_gpu):
    tab = prepare(qtbot, window, tmp_path)
    tab.steps.setValue(4)
    tab.checkpoint.setValue(2)
    tab.preview_every.setValue(1000)
    tab.batch.setValue(8)
    small_gpu(4)
    tab.train()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=60000)
    text = tab.message.text()
    assert not tab.message.isHidden() and "\n" not in text
    assert "ran out of memory" in text and "lower the Batch size (now 8)" in text
    assert tab.train_button.isEnabled() and tab.job.net is None

    tab.batch.setValue(2)
    tab.train()
    qtbot.waitUntil(lambda: not tab.runner.running, timeout=60000)
    assert tab.plot.steps == [1, 2, 3, 4] and "Done" in tab.stats.text()
