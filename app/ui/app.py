"""Starting the desktop app: window first, torch afterwards in the background."""
from __future__ import annotations

import os
import sys
import time

STARTED = time.perf_counter()


def display_problem() -> str | None:
    """Why Qt could not open a window here, or None. (Qt aborts the process otherwise.)"""
    if sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM"):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return ("no graphical display (DISPLAY is not set). Run chainrule on a desktop, "
                    "under xvfb-run, or use the command line: chainrule --help")
    return None


def run_gui(argv: list[str]) -> int:
    problem = display_problem()
    if problem:
        print(f"chainrule: {problem}", file=sys.stderr)
        return 2
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName("chainrule")
    app.setDesktopFileName("org.chainrule.Chainrule")
    # Samplers are Python loops in a worker thread; a short switch interval hands the
    # GIL back to the event loop often, so the window stays smooth while they run.
    sys.setswitchinterval(0.001)
    window = MainWindow()
    window.restore()
    window.show()
    for path in argv[1:]:          # `chainrule result.png`: open it in its tab
        QTimer.singleShot(0, lambda p=path: window.open_path(p))
    if os.environ.get("CHAINRULE_REPORT_STARTUP"):
        QTimer.singleShot(0, lambda: print(f"window shown after "
                                           f"{time.perf_counter() - STARTED:.2f} s", flush=True))
    QTimer.singleShot(0, window.start_loading)
    return app.exec()
