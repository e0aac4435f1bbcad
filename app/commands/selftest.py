"""`chainrule selftest`: does this installation work? Opens the window (on the screen there
is, or a virtual one), generates images in the Image tab with the first bundled model,
saves them, closes, and prints what it took. For a newly unpacked bundle, a pipx install,
or a bug report. Runs in a scratch data folder: the user's history and settings are left
alone."""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time


def add_parsers(sub, add_common) -> None:
    p = sub.add_parser("selftest", help="open the window, generate images, report, close",
                       description="Checks this installation end to end: starts the window, "
                                   "draws a grid in the Image tab with the first bundled image "
                                   "model, saves it, closes. Needs a screen (or xvfb-run).")
    p.add_argument("--out", help="also save the generated grid to this PNG")
    p.add_argument("--grid", type=int, default=2, choices=range(1, 9), metavar="N",
                   help="an N x N grid (1 to 8, default 2)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the "
                                                               "images (default 300)")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..core.errors import UserError
    from ..ui.app import display_problem

    problem = display_problem()
    if problem:
        raise UserError(problem)
    before = os.environ.get("CHAINRULE_HOME")
    with tempfile.TemporaryDirectory(prefix="chainrule-selftest-") as home:
        os.environ["CHAINRULE_HOME"] = home        # scratch history and settings
        try:
            report = _drive_window(args)
        finally:
            if before is None:
                os.environ.pop("CHAINRULE_HOME", None)
            else:
                os.environ["CHAINRULE_HOME"] = before
    print(json.dumps(report))
    return 0 if report["ok"] else 1


def _drive_window(args) -> dict:
    from PySide6.QtWidgets import QApplication

    from ..ui.main_window import MainWindow

    started = time.perf_counter()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow()
    window.show()
    app.processEvents()
    shown_s = time.perf_counter() - started
    tab = window.image_tab
    window.tabs.setCurrentWidget(tab)
    info = tab.picker.current()
    report: dict = {"window_s": round(shown_s, 2), "model": info.name if info else None,
                    "platform": app.platformName()}
    if info is None:
        window.close()
        return {**report, "ok": False, "problem": "no image model found"}
    tab.grid.setValue(args.grid)
    began = time.perf_counter()
    tab.generate()
    deadline = began + args.timeout
    while (tab.runner.running or not tab.has_result()) and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.01)
    report["generate_s"] = round(time.perf_counter() - began, 2)
    ok = tab.has_result() and not tab.runner.running
    if ok and args.out:
        tab.save_result(args.out)
        report["saved"] = args.out
    report["images"] = 0 if tab.canvas.images is None else len(tab.canvas.images)
    report["history"] = len(window.history_panel.history.entries())
    tab.stop()
    window.close()
    app.processEvents()
    problem = tab.message.text() if not tab.message.isHidden() else ""
    return {**report, "ok": bool(ok and report["images"] == args.grid ** 2),
            **({"problem": problem} if problem and not ok else {})}
