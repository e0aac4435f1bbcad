"""In-memory training data, already encoded by a codec, with seeded batch sampling.

Two shapes cover every kind: a stack of images (with optional labels) and one long
sequence of integers (audio samples or characters) from which windows are cut.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class ImageData:
    """Encoded images (N, C, H, W) as uint8 levels, labels (N,) or None."""

    images: np.ndarray
    labels: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.images)

    @property
    def dims(self) -> int:
        return int(np.prod(self.images.shape[1:]))

    def _batch(self, index: np.ndarray, device) -> dict:
        batch = {"x": torch.from_numpy(self.images[index].astype(np.int64)).to(device)}
        if self.labels is not None:
            batch["y"] = torch.from_numpy(self.labels[index]).to(device)
        return batch

    def sample_batch(self, rng: np.random.Generator, size: int, device="cpu",
                     null_label: int | None = None, label_dropout: float = 0.0) -> dict:
        batch = self._batch(rng.integers(0, len(self), size), device)
        # Some labels become "no label", so the same net also samples unconditionally.
        if "y" in batch and null_label is not None and label_dropout > 0:
            drop = torch.from_numpy(rng.random(size) < label_dropout).to(device)
            batch["y"] = torch.where(drop, torch.full_like(batch["y"], null_label), batch["y"])
        return batch

    def eval_batches(self, size: int, device="cpu", limit: int | None = None):
        """Every image once, in order (the first `limit` images only, if given)."""
        n = len(self) if limit is None else min(limit, len(self))
        for start in range(0, n, size):
            yield self._batch(np.arange(start, min(start + size, n)), device)

    def split(self, heldout: int, seed: int) -> tuple[ImageData, ImageData]:
        """A seeded random split into (train, held-out)."""
        order = np.random.default_rng(seed).permutation(len(self))
        take = lambda idx: ImageData(self.images[idx],
                                     None if self.labels is None else self.labels[idx])
        return take(np.sort(order[heldout:])), take(np.sort(order[:heldout]))


@dataclass
class SequenceData:
    """One long encoded sequence (audio samples or characters); windows are cut from it."""

    values: np.ndarray     # (N,) int
    window: int            # targets per training window (the model sees window + 1 values)

    def __len__(self) -> int:
        return len(self.values)

    @property
    def dims(self) -> int:
        return len(self.values)

    def sample_batch(self, rng: np.random.Generator, size: int, device="cpu", **_) -> dict:
        span = self.window + 1
        if len(self.values) < span:
            raise ValueError(f"sequence of {len(self.values)} is shorter than a window of {span}")
        starts = rng.integers(0, len(self.values) - span + 1, size)
        rows = np.stack([self.values[s:s + span] for s in starts])
        return {"x": torch.from_numpy(rows.astype(np.int64)).to(device)}

    def eval_batches(self, size: int, device="cpu", limit: int | None = None):
        """Consecutive non-overlapping windows covering the sequence (up to `limit` windows)."""
        span = self.window + 1
        starts = list(range(0, max(len(self.values) - span + 1, 0), self.window))
        if limit is not None:
            starts = starts[:limit]
        for i in range(0, len(starts), size):
            rows = np.stack([self.values[s:s + span] for s in starts[i:i + size]])
            yield {"x": torch.from_numpy(rows.astype(np.int64)).to(device)}
