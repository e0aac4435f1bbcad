"""An exponential moving average of the weights, for evaluating and saving (PixelCNN++ and
most image models since sample from such an average: it smooths the last steps' noise).

Training goes on with the raw weights; the average is what is scored on the held-out set,
written as the best model, and kept in the resumable state so a resumed run continues it
exactly.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class WeightAverage:
    def __init__(self, net, decay: float):
        self.decay = decay
        self.names = [name for name, _ in net.named_parameters()]
        self.params = [p for _, p in net.named_parameters()]
        self.shadow = [p.detach().clone() for p in self.params]

    def update(self, step: int) -> None:
        """Fold the weights after `step` (1-based) in. Early on the average follows faster
        ((1 + step) / (10 + step)), so it is not dominated by the random initial weights."""
        import torch

        d = min(self.decay, (1 + step) / (10 + step))
        with torch.no_grad():
            torch._foreach_mul_(self.shadow, d)
            torch._foreach_add_(self.shadow, [p.detach() for p in self.params], alpha=1 - d)

    @contextmanager
    def applied(self) -> Iterator[None]:
        """The net holds the averaged weights inside the block, its own again after it."""
        import torch

        with torch.no_grad():
            backup = [p.detach().clone() for p in self.params]
            for p, s in zip(self.params, self.shadow):
                p.copy_(s)
        try:
            yield
        finally:
            with torch.no_grad():
                for p, b in zip(self.params, backup):
                    p.copy_(b)

    def tensors(self) -> dict:
        """For the resumable state: 'ema.<parameter name>' -> the average."""
        return {f"ema.{n}": s.detach().cpu().contiguous() for n, s in zip(self.names, self.shadow)}

    def load(self, tensors: dict) -> None:
        """Restore from a state's tensors (a state without them keeps the current weights)."""
        import torch

        with torch.no_grad():
            for name, s in zip(self.names, self.shadow):
                if f"ema.{name}" in tensors and tensors[f"ema.{name}"].shape == s.shape:
                    s.copy_(tensors[f"ema.{name}"])
