"""Settings measured to look best for one model, carried in its checkpoint as
provenance["recommended"] (e.g. {"temperature": 0.9, "measured": "..."}): the Image tab
and `chainrule sample image` start from them instead of the tab's general default. Only
known settings within their range are taken, whatever the file says."""
from __future__ import annotations

import math

RANGES = {"temperature": (0.05, 5.0), "voice_temperature": (0.05, 5.0),
          "guidance": (1.0, 10.0)}


def recommended(provenance) -> dict[str, float]:
    record = provenance.get("recommended") if isinstance(provenance, dict) else None
    if not isinstance(record, dict):
        return {}
    found = {}
    for key, (low, high) in RANGES.items():
        value = record.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and \
                math.isfinite(value) and low <= value <= high:
            found[key] = float(value)
    return found


def temperature_for(asked: float | None, provenance, default: float = 1.0) -> float:
    """The temperature asked for, else the model's recommended one, else `default`."""
    if asked is not None:
        return asked
    return recommended(provenance).get("temperature", default)
