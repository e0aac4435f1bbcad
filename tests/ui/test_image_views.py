"""Issue 14, the Image tab: the bits map, a pixel's distribution, branching, scoring shown
images and an any-order image's bits in each order, all from what the model computed."""
import math

import numpy as np
import pytest

from app.core.checkpoint import load_bundle
from app.core.explain import score
from app.core.state.pixel_trace import heat_colours
from tests.ui.test_one_path import add_model, image_tab
from tests.ui.test_tabs import wait_done


def generate(qtbot, tab, seed=5, grid=2):
    tab.set_mode("generate")
    tab.grid.setValue(grid)
    tab.seed.setValue(seed)
    tab.generate()
    wait_done(qtbot, tab)
    return tab.generate_mode


def model_of(tab):
    return load_bundle(tab.picker.current().path, "cpu")


def test_a_generated_grid_carries_every_pixels_bits_and_distribution(window, qtbot):
    tab = image_tab(window)
    mode = generate(qtbot, tab)
    trace, levels = mode.views.trace, mode.state.levels
    expected = score(model_of(tab), levels, labels=tab.label_picker.label())
    assert np.allclose(trace.bits, expected.bits, rtol=1e-4, atol=1e-5)
    mode.views.hover((1, 3, 4))
    readout = trace.readout(1, 3, 4)
    assert readout.probs.sum() == pytest.approx(1.0, abs=1e-6)
    assert readout.value == levels[1, 0, 3, 4]
    shown = mode.views.panel.readout.title.text()
    assert f"value {readout.value}" in shown and f"{readout.bits:.2f} bits" in shown
    assert "bits" in mode.views.panel.summary.text() and "edges" in \
        mode.views.panel.summary.text()
    # The bits map replaces the pixels on the canvas, and goes back.
    mode.views.panel.set_view("bits")
    assert (tab.canvas.images[0] == heat_colours(trace.pixel_bits(0), mode.views.top_bits)).all()
    mode.views.panel.set_view("pixels")
    assert (tab.canvas.images == mode.state.pixels).all()


def test_views_on_or_off_draw_the_same_images(window, qtbot):
    tab = image_tab(window)
    on = generate(qtbot, tab).state.levels.copy()
    tab.generate_mode.views.panel.enabled.setChecked(False)
    mode = generate(qtbot, tab)
    assert mode.views.trace is None and (mode.state.levels == on).all()


@pytest.mark.parametrize("value", [None, "other"])
def test_a_branch_keeps_the_prefix_and_draws_the_rest_again(window, qtbot, value):
    tab = image_tab(window)
    mode = generate(qtbot, tab)
    views, before = mode.views, mode.state.levels.copy()
    at = 100
    row, col, _ = views.trace.steps[at]
    readout = views.trace.readout(2, row, col)
    if value == "other":
        value = next(v for v, _p in readout.top(8) if v != readout.value)
    bits_before = views.trace.bits.copy()
    views.branch(2, at, value)
    wait_done(qtbot, tab)
    after = mode.state.levels
    steps = np.array(views.trace.steps)
    prefix = (slice(None), steps[:at, 2], steps[:at, 0], steps[:at, 1])
    assert (after[2][prefix[1:]] == before[2][prefix[1:]]).all()      # bit-identical
    assert (np.delete(after, 2, 0) == np.delete(before, 2, 0)).all()  # other images kept
    if value is not None:
        assert after[2, 0, row, col] == value
    assert not (after[2] == before[2]).all()
    # The trace is the model's word on the new image: prefix bits unchanged, the rest new.
    expected = score(model_of(tab), after, labels=tab.label_picker.label())
    chosen = (2, 0, row, col)
    # The chosen value's bits are read off its stored (float16) distribution.
    assert views.trace.bits[chosen] == pytest.approx(expected.bits[chosen], abs=5e-3)
    views.trace.bits[chosen] = expected.bits[chosen]
    assert np.allclose(views.trace.bits, expected.bits, rtol=1e-4, atol=1e-5)
    assert np.array_equal(views.trace.bits[2][prefix[1:]], bits_before[2][prefix[1:]])
    assert "Branched image 3" in tab.stats.text()


def test_the_branch_menu_offers_the_likeliest_values(window, qtbot):
    from PySide6.QtWidgets import QMenu

    tab = image_tab(window)
    mode = generate(qtbot, tab)
    menu = QMenu()
    mode.views.extend_menu(menu, 0, 5, 6)
    texts = [a.text() for a in menu.actions()]
    assert texts[0] == "Show what this pixel depends on"
    assert texts[1].startswith("Draw again from this pixel")
    values = menu.actions()[2].menu().actions()
    readout = mode.views.trace.readout(0, 5, 6)
    top = readout.top(8)
    assert [a.text().split(":")[0] for a in values] == [str(v) for v, _ in top]
    assert any("(drawn)" in a.text() for a in values) == (readout.value in dict(top))
    p = top[0][1]
    assert f"{-math.log2(p):.1f} bits" in values[0].text()


def test_score_fills_the_trace_of_opened_images(window, qtbot, tmp_path):
    tab = image_tab(window)
    generate(qtbot, tab)
    path = tmp_path / "grid.png"
    tab.save_result(str(path))
    levels = tab.generate_mode.state.levels.copy()
    tab.open_result(str(path))
    mode = tab.generate_mode
    assert mode.views.trace is None and mode.views.panel.score_button.isEnabled()
    mode.views.score_shown()
    wait_done(qtbot, tab)
    expected = score(model_of(tab), levels, labels=tab.label_picker.label())
    assert mode.views.trace.total_bits(0) == pytest.approx(expected.item_bits[0], rel=1e-4)
    assert "Scored 4 images" in tab.stats.text()


def test_an_any_order_image_is_scored_in_each_order(window, qtbot, tiny_models):
    from app.core.registry import KINDS

    kind = next(k for k, s in KINDS.items() if s.modality == "image" and s.fixed_order is None)
    add_model(tiny_models, "free", kind)
    tab = image_tab(window, "free")
    mode = generate(qtbot, tab, grid=1)
    assert mode.views.panel.orders_button.isVisibleTo(tab)
    opened = []
    from app.ui.tabs import image_views

    real = image_views.OrdersDialog
    image_views.OrdersDialog = lambda *args: opened.append(real(*args)) or opened[-1]
    try:
        mode.views.compare_orders()
        wait_done(qtbot, tab)
    finally:
        image_views.OrdersDialog = real
    dialog = opened[0]
    assert set(dialog.totals) == set(image_views.COMPARED_ORDERS)
    bundle = model_of(tab)
    for name, total in dialog.totals.items():
        expected = score(bundle, mode.state.levels, order=name,
                         labels=tab.label_picker.label()).total_bits
        assert total == pytest.approx(expected, rel=1e-4)
    dialog.close()


def test_a_model_that_cannot_fill_offers_no_branch(window, qtbot, tiny_models):
    from PySide6.QtWidgets import QMenu

    from app.core.branch import branch_method
    from app.core.registry import KINDS

    kind = next(k for k, s in KINDS.items() if s.modality == "image" and
                branch_method(k) is None)
    add_model(tiny_models, "spn", kind)
    tab = image_tab(window, "spn")
    mode = generate(qtbot, tab, grid=1)
    assert mode.views.trace.drawn_count(0) == mode.views.trace.bits[0].size
    menu = QMenu()
    mode.views.extend_menu(menu, 0, 1, 1)
    assert menu.actions() == []


def test_drift_compares_with_held_out_data_or_says_why_not(window, qtbot, monkeypatch):
    from app.core import drift
    from app.ui.tabs import image_views

    tab = image_tab(window)
    mode = generate(qtbot, tab)
    mode.views.show_drift()             # a tiny model records no training data
    wait_done(qtbot, tab)
    assert "records no held-out data" in tab.message.text()
    assert "\n" not in tab.message.text() and "Failed" in tab.stats.text()

    def reference(bundle, length=None, n=32, label=None, order=None):
        curve = drift.generation_curve(bundle, mode.state.levels[1], label, order)
        return drift.Band(curve + 1, curve, curve + 2), "made up"

    monkeypatch.setattr(drift, "held_out_reference", reference)
    opened = []
    real = image_views.DriftDialog
    monkeypatch.setattr(image_views, "DriftDialog",
                        lambda *args: opened.append(real(*args)) or opened[-1])
    tab.canvas.selected = 1
    mode.views.show_drift()
    wait_done(qtbot, tab)
    summary = opened[0].report.summary
    assert summary["reference_mean_bits"] == pytest.approx(summary["generation_mean_bits"] + 1,
                                                           abs=1e-3)
    assert "Compared with held-out data" in tab.stats.text()
    opened[0].close()


def test_a_pixels_dependence_lights_only_pixels_drawn_before_it(window, qtbot):
    tab = image_tab(window)
    mode = generate(qtbot, tab)
    mode.views.show_dependence(0, 6, 5)
    wait_done(qtbot, tab)
    grad = mode.views.dependence.grad
    steps = mode.views.trace.steps
    before = np.zeros(grad.shape, bool)
    for r, c, _ in steps[:mode.views.trace.step_index(6, 5)]:
        before[r, c] = True
    assert grad[before].sum() > 0 and (grad[~before] == 0).all()
    shown = tab.canvas.images[0]
    assert tuple(shown[6, 5]) == (255, 176, 32)          # the pixel itself, marked
    assert "depends on" in tab.stats.text()
    mode.views.hide_dependence()
    assert tab.canvas.images.shape[-1] == mode.state.pixels.shape[-1]


def test_network_calls_are_offered_for_an_any_order_model_only(window, qtbot, tiny_models,
                                                               monkeypatch):
    from app.core.registry import KINDS

    kind = next(k for k, s in KINDS.items() if s.modality == "image" and s.parallel)
    add_model(tiny_models, "free", kind)
    tab = image_tab(window, "free")
    assert tab.calls.isEnabled() and tab.calls.isVisibleTo(tab)
    tab.calls.setCurrentIndex(tab.calls.findData(20))
    request = tab.generate_mode.request(tab.picker.current())
    assert request.calls == 20
    calls = []
    from app.core.sampling import budget

    real = budget.sample_budgeted
    monkeypatch.setattr(budget, "sample_budgeted",
                        lambda *a, **k: calls.append(len(a[6])) or real(*a, **k))
    generate(qtbot, tab, grid=1)
    assert calls == [20] and tab.generate_mode.state.finished
    assert tab.generate_mode.params["calls"] == 20
    tab.picker.select_name("digits")                  # a PixelCNN: one pixel per call
    assert not tab.calls.isEnabled() and tab.calls.calls() == 0
