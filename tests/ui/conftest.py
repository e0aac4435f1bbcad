"""pytest-qt fixtures for the desktop app: offscreen Qt, tiny models, no leftover threads."""
import os
import threading

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest

from tests.conftest import make_bundle


@pytest.fixture(autouse=True)
def no_dangling_threads(qtbot):
    """Fail any test that leaves a worker thread running."""
    from app.ui.workers import WorkerRunner

    before = {t.ident for t in threading.enumerate()}
    yield
    qtbot.waitUntil(lambda: not WorkerRunner.live_threads, timeout=10000)
    leftover = [t.name for t in threading.enumerate()
                if t.ident not in before and t.is_alive() and t.name != "torch-loader"]
    assert not leftover, f"threads left running: {leftover}"


@pytest.fixture
def tiny_models(tmp_path, monkeypatch):
    """A models folder with one tiny model per tab, used as the user's models.

    The bundled models are hidden from the window, so every tab starts on a tiny model
    whatever ships in models/ (tests that need a bundled file use its path directly).
    """
    from app.core import paths
    from app.core.checkpoint import save_bundle
    from app.core.paths import user_models_dir

    monkeypatch.setattr(paths, "bundled_models_dir", lambda: tmp_path / "no-bundled-models")

    folder = user_models_dir()
    folder.mkdir(parents=True)
    specs = {"digits": ("pixelcnn", dict(height=16, width=16, num_classes=3)),
             "voice": ("wavenet", {}), "bard": ("charlm-lstm", {})}
    for name, (kind, overrides) in specs.items():
        net, codec = make_bundle(kind, **overrides)
        save_bundle(folder / f"{name}.safetensors", net, codec, {"description": "tiny"})
    return folder


@pytest.fixture
def window(qtbot, tiny_models):
    from app.ui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
