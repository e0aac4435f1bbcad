"""Start and stop generation many times across the tabs, then close the window mid-run.

Shared by tests/ui/test_gui_churn.py (tiny models) and benchmarks/gui_churn.py (the bundled
models): both hand in the window and a `wait(ms)` that runs the Qt event loop.
"""
from __future__ import annotations

import threading
import time

import numpy as np

WARM_UP_CYCLES = 20        # caches, compiled kernels and Qt's pools fill up during these


def resident_mb() -> float:
    """This process's resident memory now (Linux /proc), in MB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _wait_until(wait, done, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("a run did not stop within a minute")
        wait(5)


def _runs(window) -> list:
    """(tab, how to put it in its mode) for every way to generate in the window: the Image
    tab's three modes, Audio and Text."""
    image = window.image_tab

    def inpaint():
        image.set_mode("inpaint")
        codec = image.picker.current().codec
        h, w = codec["height"], codec["width"]
        if not image.inpaint.has_image():
            ramp = np.linspace(0, 255, w)[None, :] * np.ones((h, 1))
            image.load_image(image.inpaint.load_pixels, ramp.astype(np.uint8)[..., None],
                             "a churn picture")
        if not image.inpaint.editor.mask.any():
            image.inpaint.editor.rectangle(h // 4, w // 4, h // 2, w // 2)

    return [(image, lambda: image.set_mode("generate")), (image, inpaint),
            (window.audio_tab, lambda: None), (window.text_tab, lambda: None),
            (image, lambda: image.set_mode("compare"))]


def churn(window, wait, cycles: int = 200, seed: int = 0) -> dict:
    """Run the churn; return what happened (raises if a run never stops)."""
    from app.ui.workers import WorkerRunner

    rng = np.random.default_rng(seed)
    threads_before = {t.ident for t in threading.enumerate()}
    runs, counts, errors, switches, trace = _runs(window), {}, [], 0, []
    rss_start = rss_warm = resident_mb()
    started = time.perf_counter()
    for cycle in range(cycles):
        tab, enter_mode = runs[rng.integers(len(runs))]
        window.tabs.setCurrentWidget(tab)
        if rng.random() < 0.25 and tab.picker.count() > 1:     # switch models now and then
            tab.picker.setCurrentIndex((tab.picker.currentIndex() + 1) % tab.picker.count())
            switches += 1
        enter_mode()
        tab.generate()
        wait(int(rng.integers(0, 60)))      # stop at once, mid-run, or after it finished
        tab.stop()
        _wait_until(wait, lambda runner=tab.runner: not runner.running)
        if not tab.message.isHidden() and tab.message.objectName() == "message-error":
            errors.append(tab.message.text())
        name = type(tab).__name__ + (f" {tab.mode}" if hasattr(tab, "mode") else "")
        counts[name] = counts.get(name, 0) + 1
        if cycle + 1 == WARM_UP_CYCLES:
            rss_warm = resident_mb()
        if (cycle + 1) % 100 == 0:
            trace.append(round(resident_mb(), 1))
    churn_s = time.perf_counter() - started
    rss_end = resident_mb()
    # The end: every tab generating at once, and the window closed under them.
    for tab, enter_mode in runs[:1] + runs[2:4]:
        enter_mode()
        tab.generate()
    wait(50)
    running_at_close = sum(tab.runner.running for tab, _ in runs[:1] + runs[2:4])
    window.close()
    leftover = [t.name for t in threading.enumerate()
                if t.ident not in threads_before and t.is_alive() and t.name != "torch-loader"]
    return {"cycles": cycles, "runs_by_tab": counts, "model_switches": switches,
            "error_messages": sorted(set(errors)), "churn_s": round(churn_s, 1),
            "rss_start_mb": round(rss_start, 1), "rss_after_warm_up_mb": round(rss_warm, 1),
            "rss_end_mb": round(rss_end, 1),
            "growth_after_warm_up_mb": round(rss_end - rss_warm, 1),
            "rss_every_100_cycles_mb": trace,
            "running_at_close": running_at_close,
            "live_worker_threads_after_close": len(WorkerRunner.live_threads),
            "new_threads_after_close": leftover}
