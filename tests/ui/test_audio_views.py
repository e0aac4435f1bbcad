"""Issue 14, the Audio tab: under the waveform, the bits of every sample and the distribution
over the levels it was drawn from, live; the moment under the cursor; a WAV scored the same
way; a switch that hides the views and generates without them."""
import numpy as np
import pytest
import soundfile
from PySide6.QtCore import QPointF

from tests.ui.test_tabs import every_event_its_own_batch, record_updates, wait_done  # noqa: F401


def audio_tab(window, seconds=0.5, seed=3):
    tab = window.audio_tab
    window.tabs.setCurrentWidget(tab)
    tab.seconds.setValue(seconds)
    tab.seed.setValue(seed)
    return tab


def generate(qtbot, tab):
    tab.generate()
    wait_done(qtbot, tab)
    return tab.waveform.samples.copy()


def voice(tiny_models):
    from app.core.checkpoint import load_bundle

    return load_bundle(tiny_models / "voice.safetensors")


def test_the_views_fill_while_generating(window, qtbot, every_event_its_own_batch):  # noqa: F811
    tab = audio_tab(window)
    view = tab.trace_view
    seen = record_updates(tab, lambda: view.trace.count)
    generate(qtbot, tab)
    assert len(set(seen)) >= 3 and seen == sorted(seen)          # filled live
    trace = view.trace
    assert trace.count == 4000 == len(tab.waveform.samples)
    assert trace.levels == 32                                    # the tiny model's levels
    assert np.allclose(trace.columns.sum(1), 1.0, atol=1e-5)
    times, bits = view.curve.getData()
    assert len(times) > 10 and np.all(bits > 0)
    # Drawn at most MAX_IMAGE_COLUMNS wide: neighbouring columns averaged.
    from app.ui.widgets.audio_trace_view import MAX_IMAGE_COLUMNS

    group = -(-len(trace.columns) // MAX_IMAGE_COLUMNS)
    assert view.image.image.shape == (len(trace.columns) // group, trace.levels)
    assert np.allclose(10 ** view.image.image[0], np.maximum(
        trace.columns[:group].mean(0), 1e-3), rtol=1e-4)
    assert f"mean {trace.mean_bits:.2f}" in view.caption.text
    assert f"{trace.mean_bits:.2f} bits/sample" in tab.stats.text()
    # The views share the waveform's time axis, and line up with it.
    assert view.dist_plot.viewRange()[0] == pytest.approx(tab.waveform.wave_plot.viewRange()[0])
    assert view.dist_plot.getAxis("left").width() == \
        tab.waveform.wave_plot.getAxis("left").width()
    assert view.panel.moment.index == trace.latest().index      # the newest sample, unhovered


def test_hovering_shows_the_drawn_level_and_its_bits(window, qtbot, tiny_models):
    tab = audio_tab(window)
    samples = generate(qtbot, tab)
    view = tab.trace_view
    codec = voice(tiny_models).codec
    target = QPointF(0.25, 5.0)                                  # 0.25 s, over the image
    scene = view.dist_plot.vb.mapViewToScene(target)
    view._mouse_moved(scene)                     # what the scene says when the mouse moves
    moment = view.panel.moment
    assert view.hover_time == pytest.approx(0.25, abs=1e-3)
    assert abs(moment.time - 0.25) <= view.trace.step / 8000
    assert moment.level == codec.encode(samples[moment.index])  # the sample that was drawn
    assert moment.bits == pytest.approx(-np.log2(moment.probs[moment.level]), rel=1e-5)
    text = view.panel.readout.text()
    assert f"level {moment.level}" in text and f"{moment.bits:.2f} bits" in text
    assert "entropy" in text and view.cursors[0].isVisible()
    view.leaveEvent(None)
    assert view.panel.moment.index == view.trace.latest().index
    assert not view.cursors[0].isVisible()


def test_views_on_or_off_give_the_same_sound(window, qtbot):
    tab = audio_tab(window, seed=11)
    shown = generate(qtbot, tab)
    assert tab.trace_view.trace.count == 4000
    tab.explain.setChecked(False)
    assert tab.trace_view.isHidden() and tab.trace_view.panel.isHidden()
    hidden = generate(qtbot, tab)
    assert np.array_equal(shown, hidden)
    assert tab.trace_view.trace.count == 0               # the sampler reported nothing
    tab.explain.setChecked(True)
    assert not tab.trace_view.isHidden()


def test_scoring_an_opened_wav_gives_explain_scores_total(window, qtbot, tmp_path,
                                                         tiny_models):
    from app.core.explain import score
    from app.core.explain_report import read_input

    tab = audio_tab(window)
    assert not tab.score_button.isEnabled()                      # nothing to score yet
    rng = np.random.default_rng(0)
    wave = (0.4 * np.sin(np.arange(5000) / 5.0) + 0.05 * rng.standard_normal(5000))
    path = tmp_path / "heard.wav"
    soundfile.write(path, wave.astype(np.float32), 8000)
    window.open_path(str(path))
    assert tab.score_button.isEnabled() and "Score" in tab.stats.text()
    tab.explain.setChecked(False)                      # scoring shows the views regardless
    tab.score()
    wait_done(qtbot, tab)
    bundle = voice(tiny_models)
    expected = score(bundle, read_input(bundle, path).data, keep_probs=False)
    trace = tab.trace_view.trace
    assert trace.total_bits == pytest.approx(expected.total_bits, rel=1e-9)
    assert trace.count == 4999 and len(tab.waveform.samples) == 5000
    assert f"{expected.total_bits:,.0f} bits" in tab.stats.text()
    assert f"{expected.mean_bits:.2f} bits/sample" in tab.stats.text()
    assert tab.explain.isChecked() and tab.score_button.isEnabled()


def test_scoring_reads_at_most_ten_seconds_and_says_so(window, qtbot, tmp_path):
    tab = audio_tab(window)
    path = tmp_path / "long.wav"
    soundfile.write(path, np.zeros(8000 * 11, np.float32), 8000)
    window.open_path(str(path))
    tab.score()
    wait_done(qtbot, tab)
    assert tab.trace_view.trace.count == 80_000 - 1
    assert "first 10 s" in tab.stats.text()


def test_scoring_the_generated_sound(window, qtbot):
    tab = audio_tab(window, seconds=0.25)
    samples = generate(qtbot, tab)
    tab.score()
    wait_done(qtbot, tab)
    assert np.array_equal(tab.waveform.samples, samples)
    assert tab.trace_view.trace.count == 1999 and "Scored 0.25 s" in tab.stats.text()


def test_scoring_runs_in_the_worker_from_plain_values(window, qtbot, worker_watch, tmp_path):
    """The scoring run, like every run: no widget and no app/ui code in the worker thread."""
    tab = audio_tab(window)
    path = tmp_path / "a.wav"
    soundfile.write(path, np.zeros(1000, np.float32), 8000)
    window.open_path(str(path))
    tab.score()
    wait_done(qtbot, tab)
    assert tab.trace_view.trace.count == 999 and worker_watch.touched() == []
