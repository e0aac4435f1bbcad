"""What the image nets share: the input scaling, the extra 'no label' class, and the softmax
head over `levels` values per sub-pixel."""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch
import torch.nn.functional as F

from .logistic_mixture import mixture_log_probs, mixture_outputs


class ImageConfig(Protocol):
    """What every image model's config has (PixelCNNConfig, PixelRNNConfig, ...)."""

    @property
    def levels(self) -> int: ...
    @property
    def channels(self) -> int: ...
    @property
    def num_classes(self) -> int: ...


class ImageNet(Protocol):
    """What ImageNetMixin's methods need of the net they are mixed into."""

    @property
    def config(self) -> ImageConfig: ...

    def __call__(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor: ...


class ImageNetWithHead(ImageNet, Protocol):
    """An ImageNet with the two 1x1 output layers `head` runs."""

    @property
    def out1(self) -> Callable[[torch.Tensor], torch.Tensor]: ...
    @property
    def out2(self) -> Callable[[torch.Tensor], torch.Tensor]: ...


class ImageNetMixin:
    """Mixed into an image net (an nn.Module with a `config`; `head` also needs `out1` and
    `out2`, the two 1x1 output layers). The self-types say so to the type checker."""

    def scale_input(self: ImageNet, x: torch.Tensor) -> torch.Tensor:
        """Integer levels -> floats in [-1, 1]."""
        return x.float() * (2.0 / (self.config.levels - 1)) - 1.0

    def null_label(self: ImageNet, batch: int, device) -> torch.Tensor | None:
        """The 'any class' label: one past the last class (None for an unconditional net)."""
        if not self.config.num_classes:
            return None
        return torch.full((batch,), self.config.num_classes, dtype=torch.long, device=device)

    def nll(self: ImageNet, batch: dict) -> torch.Tensor:
        """Mean negative log-likelihood in nats per sub-pixel, one value per image: (B,).
        Exact for nets whose forward gives every sub-pixel's logits given its prefix."""
        x = batch["x"]
        logits = self(x, batch.get("y"))
        return F.cross_entropy(logits, x, reduction="none").flatten(1).mean(1)

    def level_log_probs(self: ImageNet, x: torch.Tensor, y: torch.Tensor | None = None
                        ) -> torch.Tensor:
        """log p of every value of every sub-pixel given what comes before it in the chain,
        (B, levels, C, H, W): what the views of the inside show. A net whose forward is not
        one softmax per sub-pixel (depth upscaling) says how it builds this."""
        return self(x, y).log_softmax(1)

    def chain_order(self: ImageNet, height: int, width: int) -> torch.Tensor:
        """(row, col) of each pixel, (H*W, 2), in the order the chain rule of `forward` runs:
        raster order here (within a pixel, channels R -> G -> B). A net whose forward
        conditions in another order says so by overriding this."""
        rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
        return torch.stack([rows.reshape(-1), cols.reshape(-1)], dim=1)

    def head(self: ImageNetWithHead, h: torch.Tensor) -> torch.Tensor:
        # (B, hidden, H', W') -> (B, levels, C, H', W')
        cfg = self.config
        if getattr(cfg, "mixture", 0):
            params = ImageNetMixin.mixture_params(self, h)
            logp = mixture_log_probs(params, cfg.levels)                   # (B, C, H', W', L)
            return logp.permute(0, 4, 1, 2, 3)
        out = self.out2(F.relu(self.out1(F.relu(h))))
        b, _, hh, ww = out.shape
        return out.view(b, cfg.channels, cfg.levels, hh, ww).transpose(1, 2)

    def mixture_params(self: ImageNetWithHead, h: torch.Tensor) -> torch.Tensor:
        """A logistic-mixture head's numbers, (B, C, H', W', 3K), from the top features."""
        out = self.out2(F.relu(self.out1(F.relu(h))))
        b, _, hh, ww = out.shape
        width = mixture_outputs(self.config.mixture)       # type: ignore[attr-defined]
        return out.view(b, self.config.channels, width, hh, ww).permute(0, 1, 3, 4, 2)
