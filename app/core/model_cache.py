"""Loaded models shared by every view: each checkpoint is read once per device.

Safe to call from worker threads. Sharing one net between threads is fine because sampling
state (row caches, queues, KV caches) lives in explicit objects, never on the module.
"""
from __future__ import annotations

import threading
from pathlib import Path

from .checkpoint import Bundle, load_bundle


class ModelCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bundles: dict[tuple, Bundle] = {}

    def get(self, path, device="cpu") -> Bundle:
        path = Path(path)
        try:
            stamp = path.stat().st_mtime_ns       # a re-saved file is a new model
        except OSError:
            stamp = None                          # load_bundle gives the readable error
        key = (str(path.resolve()), stamp, str(device))
        with self._lock:
            if key not in self._bundles:
                self._bundles[key] = load_bundle(path, device)
                _keep_out_of_full_collections()
            return self._bundles[key]

    def has(self, path, device="cpu") -> bool:
        """Whether this exact file is already loaded on this device (no I/O beyond a stat)."""
        path = Path(path)
        try:
            key = (str(path.resolve()), path.stat().st_mtime_ns, str(device))
        except OSError:
            return False
        with self._lock:
            return key in self._bundles

    def clear(self) -> None:
        with self._lock:
            self._bundles.clear()


def _keep_out_of_full_collections() -> None:
    """A loaded model is tens of thousands of objects that live as long as the app. The
    garbage collector's full passes scan every tracked object, holding the GIL (and so the
    GUI) for 50-200 ms once torch, numba and a few models are in; frozen objects are not
    scanned again. Garbage is collected first, so nothing unreachable is frozen (frozen
    objects are still freed by reference counting when the last reference goes)."""
    import gc

    gc.collect()
    gc.freeze()
