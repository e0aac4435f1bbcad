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


class WorkerWatch:
    """What the worker threads call while watched: functions of app/core (by name), and
    functions of app/ui or Qt methods, which a worker must not call."""

    def __init__(self):
        self.core_calls: list[str] = []
        self.calls: list[str] = []          # "file:function" of app/ui, "Qt: method"

    def touched(self, allowed=()) -> list[str]:
        """The app/ui functions (but `allowed` ones) and Qt methods called, other than
        emitting signals (Qt's own queued calls to the GUI thread)."""
        return [c for c in self.calls if not c.startswith("Qt: SignalInstance.emit")
                and c.rsplit(":", 1)[-1] not in allowed]


@pytest.fixture
def worker_watch(monkeypatch):
    """Watch every run's worker thread: the profile hook goes on inside the thread, around
    the factory given to WorkerRunner.start (the worker's own run() is a Qt slot: patching
    it would move it to the GUI thread, where nothing would be watched)."""
    import sys

    from app.ui.workers import WorkerRunner

    seen = WorkerWatch()
    main = threading.get_ident()     # (current_thread() would leave a dummy Thread behind)

    def watch(frame, event, arg):
        if threading.get_ident() == main:
            return
        name = frame.f_code.co_filename
        if event == "call" and "/app/core/" in name:
            seen.core_calls.append(frame.f_code.co_name)
        if event == "call" and "/app/ui/" in name and not name.endswith("/workers.py"):
            seen.calls.append(f"{name}:{frame.f_code.co_name}")
        if event == "c_call" and type(getattr(arg, "__self__", None)).__module__.startswith(
                "PySide6"):
            seen.calls.append(f"Qt: {arg.__qualname__}")

    def watched(factory):
        def run():
            sys.setprofile(watch)
            try:
                yield from factory()
            finally:
                sys.setprofile(None)
        return run

    start = WorkerRunner.start
    monkeypatch.setattr(WorkerRunner, "start", lambda self, factory, *rest:
                        start(self, watched(factory), *rest))
    return seen
