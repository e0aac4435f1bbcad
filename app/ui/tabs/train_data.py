"""What the Train tab says about a prepared data set before training."""
from __future__ import annotations

import numpy as np


def data_summary_text(job) -> str:
    data, prov = job.data, job.data.provenance
    modality = data.codec.modality
    lines = []
    if modality == "image":
        n = len(data.train) + len(data.heldout)
        c = data.codec
        lines.append(f"{n:,} images \u2192 {c.height}\u00d7{c.width}"
                     f"{' grey' if c.channels == 1 else ' RGB'}, "
                     f"{n * c.dims:,} sub-pixels")
        if prov.get("classes"):
            lines.append(f"{len(prov['classes'])} classes: {', '.join(prov['classes'][:8])}"
                         + ("\u2026" if len(prov["classes"]) > 8 else ""))
        else:
            lines.append("no class folders: the model will be unconditional")
    elif modality == "audio":
        seconds = (len(data.train) + len(data.heldout)) / data.codec.sample_rate
        lines.append(f"{prov.get('files_used', 0)} audio files, {seconds:,.1f} s at "
                     f"{data.codec.sample_rate:,} Hz mono")
    else:
        chars = len(data.train) + len(data.heldout)
        lines.append(f"{prov.get('files_used', 0)} text files, {chars:,} characters, "
                     f"{data.codec.size} distinct")
        if prov.get("added_characters"):
            lines.append(f"new characters added to the vocabulary: "
                         f"{prov['added_characters']!r}")
    lines.append(f"split: {prov.get('split', '')}")
    skipped = prov.get("skipped", [])
    if skipped:
        lines.append(f"skipped {prov.get('files_skipped', len(skipped))} file(s):")
        lines += [f"  \u2022 {line}" for line in skipped[:6]]
        if len(skipped) > 6:
            lines.append(f"  \u2026 and {len(skipped) - 6} more")
    notes = prov.get("notes", [])
    if notes:
        lines.append("read with a guess:")
        lines += [f"  \u2022 {line}" for line in notes[:3]]
        if len(notes) > 3:
            lines.append(f"  \u2026 and {len(notes) - 3} more")
    return "\n".join(lines)


def example_images(job, count: int) -> np.ndarray:
    """The first training images, decoded back to pixels: what the model will learn from."""
    data = job.data
    levels = np.concatenate([data.train.images[:count],
                             data.heldout.images[:max(0, count - len(data.train))]])
    return data.codec.decode(levels)
