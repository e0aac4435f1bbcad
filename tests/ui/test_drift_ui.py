"""Issue 14, drift in the Text and Audio tabs: a finished generation scored step by step
against held-out data, in a worker of its own; a model without data says why in one line."""
import numpy as np
import pytest

from app.core import drift
from app.core.checkpoint import load_bundle
from tests.ui.test_tabs import wait_done


@pytest.fixture
def made_up_reference(monkeypatch):
    """The held-out reference of a tiny model: the item's own curve, one bit higher."""
    def reference(bundle, length=None, n=32, label=None, order=None):
        seen.append(length)
        curve = seen_curve[0]
        return drift.Band(curve + 1, curve, curve + 2), "made up"

    seen, seen_curve = [], []
    real = drift.generation_curve

    def curve_of(bundle, data, labels=None, order=None):
        seen_curve[:] = [real(bundle, data, labels, order)]
        return seen_curve[0]

    monkeypatch.setattr(drift, "held_out_reference", reference)
    monkeypatch.setattr(drift, "generation_curve", curve_of)
    return seen


def run_drift(qtbot, tab):
    tab.drift.launch()
    qtbot.waitUntil(lambda: not tab.drift.runner.running, timeout=30000)


@pytest.mark.parametrize("which", ["text", "audio"])
def test_drift_scores_the_shown_generation_against_the_reference(window, qtbot, which,
                                                                 made_up_reference):
    tab = window.text_tab if which == "text" else window.audio_tab
    window.tabs.setCurrentWidget(tab)
    if which == "text":
        tab.prompt.setPlainText("ab")
        tab.length.setValue(40)
    else:
        tab.seconds.setValue(0.1)
    tab.generate()
    wait_done(qtbot, tab)
    run_drift(qtbot, tab)
    report = tab.drift.dialog.report
    shown = tab.trace.text if which == "text" else tab.waveform.samples
    assert made_up_reference == [len(shown)] and len(report.curve) == len(shown) - 1
    # The curve is the model's own score of what is shown.
    bundle = load_bundle(tab.picker.current().path)
    data = shown if which == "text" else bundle.codec.encode(shown)
    assert np.allclose(report.curve, drift.generation_curve(bundle, data))
    assert report.summary["reference_mean_bits"] == pytest.approx(
        report.summary["generation_mean_bits"] + 1, abs=1e-3)
    assert "Drift:" in tab.stats.text()
    tab.drift.dialog.close()


def test_drift_without_held_out_data_says_why_and_frees_the_button(window, qtbot):
    tab = window.text_tab
    window.tabs.setCurrentWidget(tab)
    tab.prompt.setPlainText("ab")
    tab.length.setValue(20)
    tab.generate()
    wait_done(qtbot, tab)
    run_drift(qtbot, tab)
    assert "records no held-out data" in tab.message.text()
    assert tab.drift.dialog is None and tab.views.drift_button.isEnabled()


def test_drift_before_anything_is_generated_asks_for_a_generation(window):
    tab = window.audio_tab
    tab.drift.launch()
    assert not tab.drift.runner.running and "Generate this sound first" in tab.message.text()


def test_the_window_joins_a_drift_run_when_it_closes(window, qtbot, monkeypatch):
    import time

    def slow(*args, **kwargs):
        time.sleep(0.3)
        raise drift.DriftError("too slow")

    monkeypatch.setattr(drift, "held_out_reference", slow)
    tab = window.text_tab
    tab.prompt.setPlainText("ab")
    tab.length.setValue(10)
    tab.generate()
    wait_done(qtbot, tab)
    tab.drift.launch()
    assert tab.drift.runner.running
    tab.shutdown()
    assert not tab.drift.runner.running


def test_a_long_generation_is_compared_over_its_first_steps(window, qtbot, made_up_reference,
                                                           monkeypatch):
    from app.core import explain_runs

    monkeypatch.setitem(explain_runs.DRIFT_LIMIT, "text", 10)
    tab = window.text_tab
    window.tabs.setCurrentWidget(tab)
    tab.prompt.setPlainText("ab")
    tab.length.setValue(40)
    tab.generate()
    wait_done(qtbot, tab)
    run_drift(qtbot, tab)
    report = tab.drift.dialog.report
    assert made_up_reference == [10] and len(report.curve) == 9
    assert report.note == "the first 10 of 42 chars compared"
    tab.drift.dialog.close()
