"""The Network calls box: each budget labelled with its cost, read from the model's cache
(never planned in the window's thread)."""
import numpy as np
import pytest


def test_the_calls_box_shows_each_budgets_cost_without_planning(qtbot, save_tiny,
                                                                monkeypatch):
    from app.core.checkpoint import load_bundle
    from app.core.sampling import schedule
    from app.core.step_losses import cache_path, cached_costs, measured
    from app.ui.widgets.controls import CallsBox

    bundle = load_bundle(save_tiny("anyorder", height=16, width=16))
    dims = 16 * 16
    box = CallsBox()
    qtbot.addWidget(box)
    box.fit(bundle.path, dims, True)
    assert [box.itemText(i) for i in range(box.count())] == [
        "All (one per sub-pixel)", "200", "100", "50", "20"]      # not measured yet
    path = cache_path(bundle.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.linspace(4.0, 1.0, dims))
    measured(bundle)                                  # in a worker, in the app
    costs = cached_costs(bundle.path)
    monkeypatch.setattr(schedule, "loss_schedule", lambda *a: pytest.fail("planned"))
    box.setCurrentIndex(box.findData(50))
    box.fit(bundle.path, dims, True)
    assert box.itemText(box.findData(20)) == f"20 (+{costs[20]:.3f} bits/dim)"
    assert box.calls() == 50                          # the choice is kept
