"""200 starts and stops across the tabs, switching models, then closing the window mid-run:
no crash, no error, no thread left, and memory that stops growing once warm."""
from tests.conftest import make_bundle
from tests.ui.churn import churn

# Measured: about 1-3 MB after warm-up on the development machine (see docs/reliability.md).
GROWTH_BOUND_MB = 40


def test_gui_churn(qtbot, tiny_models):
    from app.core.checkpoint import save_bundle
    from app.ui.main_window import MainWindow

    # A second model for every tab, so switching models is part of the churn.
    for name, kind, overrides in (("digits2", "pixelcnn", dict(height=16, width=16)),
                                  ("voice2", "wavenet", {}), ("bard2", "charlm-gpt", {})):
        net, codec = make_bundle(kind, seed=1, **overrides)
        save_bundle(tiny_models / f"{name}.safetensors", net, codec, {"description": "tiny"})
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.audio_tab.seconds.setValue(0.5)
    window.text_tab.length.setValue(200)
    window.text_tab.prompt.setPlainText("a bad cafe")     # in the tiny vocabulary
    result = churn(window, qtbot.wait, cycles=200)
    assert sum(result["runs_by_tab"].values()) == 200 and len(result["runs_by_tab"]) == 5
    assert result["model_switches"] > 20 and result["error_messages"] == []
    assert result["running_at_close"] >= 1
    assert result["live_worker_threads_after_close"] == 0
    assert result["new_threads_after_close"] == []
    assert result["growth_after_warm_up_mb"] < GROWTH_BOUND_MB, result
