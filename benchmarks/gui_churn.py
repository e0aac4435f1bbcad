"""The GUI under churn, with the bundled models: start and stop generation `--cycles` times
across the Image (generate and inpaint), Audio and Text tabs at random moments, switching
models now and then, then close the window while every tab generates. Prints JSON: runs per
tab, error messages (none expected), resident memory at the start, after the warm-up cycles
and at the end, and any thread left after closing.

    python benchmarks/gui_churn.py --cycles 200
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if "CHAINRULE_HOME" not in os.environ:
        import tempfile

        os.environ["CHAINRULE_HOME"] = tempfile.mkdtemp(prefix="chainrule-churn-")
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.ui.main_window import MainWindow
    from tests.ui.churn import churn

    app = QApplication([])

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    window = MainWindow()
    window.show()
    window.start_loading()             # torch and the fast samplers, in the worker pattern
    while window.loader.running:
        wait(50)
    window.audio_tab.seconds.setValue(1.0)
    result = churn(window, wait, cycles=args.cycles, seed=args.seed)
    app.processEvents()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
