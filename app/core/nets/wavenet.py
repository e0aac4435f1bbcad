"""WaveNet (van den Oord et al. 2016): gated dilated causal convolutions over mu-law audio.

Each layer: a kernel-2 dilated causal convolution, an optional global class embedding added
inside the gate, tanh x sigmoid, then a 1x1 to the residual path and a 1x1 to the skip path.
The skips are summed, passed through ReLU-1x1-ReLU-1x1 to a softmax over the mu-law levels.

Incremental sampling is the Fast WaveNet algorithm (Paine et al. 2016): each layer keeps a
queue of its last `dilation` inputs, so one new sample costs O(layers), not O(receptive field).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import WaveNetConfig


class ResidualLayer(nn.Module):
    def __init__(self, cfg: WaveNetConfig, dilation: int):
        super().__init__()
        self.dilation = dilation
        self.conv = nn.Conv1d(cfg.residual, 2 * cfg.dilation_channels, 2, dilation=dilation)
        self.res = nn.Conv1d(cfg.dilation_channels, cfg.residual, 1)
        self.skip = nn.Conv1d(cfg.dilation_channels, cfg.skip, 1)
        self.cond = nn.Embedding(cfg.num_classes + 1, 2 * cfg.dilation_channels) \
            if cfg.num_classes else None

    def gated(self, pre: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if self.cond is not None:
            pre = pre + self.cond(y)[:, :, None]
        a, b = pre.chunk(2, dim=1)
        return torch.tanh(a) * torch.sigmoid(b)

    def forward(self, x: torch.Tensor, y):
        # x: (B, R, T) -> residual (B, R, T), skip (B, S, T)
        z = self.gated(self.conv(F.pad(x, (self.dilation, 0))), y)
        return x + self.res(z), self.skip(z)


@dataclass
class StepWeights:
    """One layer's weights laid out for single-sample matmuls (taken once per sampling run)."""

    past: torch.Tensor       # (R, 2D): tap at t - dilation
    current: torch.Tensor    # (R, 2D): tap at t
    bias: torch.Tensor       # (2D,) conv bias, plus the class embedding when conditioned
    out: torch.Tensor        # (D, R + S): residual and skip 1x1s side by side
    out_bias: torch.Tensor   # (R + S,)


@dataclass
class WaveNetState:
    """Explicit Fast-WaveNet state: per layer, a ring of its last `dilation` inputs."""

    labels: torch.Tensor | None
    queues: list[torch.Tensor]          # per layer (dilation, B, R)
    weights: list[StepWeights]
    position: int = 0


class WaveNet(nn.Module):
    def __init__(self, config: WaveNetConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.levels, config.residual)
        self.layers = nn.ModuleList(ResidualLayer(config, d) for d in config.dilations)
        self.out1 = nn.Conv1d(config.skip, config.output_hidden, 1)
        self.out2 = nn.Conv1d(config.output_hidden, config.levels, 1)

    def null_label(self, batch: int, device) -> torch.Tensor | None:
        if not self.config.num_classes:
            return None
        return torch.full((batch,), self.config.num_classes, dtype=torch.long, device=device)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, T) levels -> logits (B, levels, T); logits[..., t] predicts x[t + 1]."""
        if y is None:
            y = self.null_label(x.shape[0], x.device)
        h = self.embed(x).transpose(1, 2)                 # (B, R, T)
        skips: torch.Tensor | None = None
        for layer in self.layers:
            h, s = layer(h, y)
            skips = s if skips is None else skips + s
        assert skips is not None                          # the config has at least one layer
        return self.out2(F.relu(self.out1(F.relu(skips))))

    def nll(self, batch: dict) -> torch.Tensor:
        """Mean nats per predicted sample, one value per sequence: (B,)."""
        x = batch["x"]
        logits = self(x[:, :-1], batch.get("y"))
        return F.cross_entropy(logits, x[:, 1:], reduction="none").mean(1)

    # ----- Fast WaveNet incremental step ------------------------------------------------
    def begin(self, batch: int, labels: torch.Tensor | None = None, device=None) -> WaveNetState:
        device = device or next(self.parameters()).device
        if labels is None:
            labels = self.null_label(batch, device)
        layers = [layer for layer in self.layers if isinstance(layer, ResidualLayer)]  # all
        queues = [torch.zeros(layer.dilation, batch, self.config.residual, device=device)
                  for layer in layers]
        return WaveNetState(labels, queues, [self._step_weights(layer, labels)
                                                   for layer in layers])

    @staticmethod
    def _step_weights(layer: ResidualLayer, labels) -> StepWeights:
        w = layer.conv.weight.detach()                      # (2D, R, 2)
        bias = _bias(layer.conv).detach()[None]             # (1, 2D)
        if layer.cond is not None:
            bias = bias + layer.cond(labels).detach()       # (B, 2D)
        out = torch.cat([layer.res.weight[:, :, 0], layer.skip.weight[:, :, 0]]).detach()
        out_bias = torch.cat([_bias(layer.res), _bias(layer.skip)]).detach()
        return StepWeights(w[:, :, 0].T.contiguous(), w[:, :, 1].T.contiguous(), bias,
                           out.T.contiguous(), out_bias)

    def step(self, state: WaveNetState, x: torch.Tensor) -> torch.Tensor:
        """Feed one sample per stream, x: (B,) levels -> logits (B, levels) for the next one."""
        residual = self.config.residual
        h = self.embed(x)                                   # (B, R)
        skips = None
        for queue, w in zip(state.queues, state.weights):
            slot = queue[state.position % len(queue)]       # (B, R): input from d steps ago
            pre = torch.addmm(w.bias, slot, w.past).addmm_(h, w.current)       # (B, 2D)
            a, b = pre.chunk(2, dim=1)
            z = torch.tanh(a).mul_(torch.sigmoid(b))        # (B, D)
            out = torch.addmm(w.out_bias, z, w.out)         # (B, R + S)
            slot.copy_(h)                                   # h becomes "d steps ago" later
            h = h + out[:, :residual]
            skips = out[:, residual:] if skips is None else skips.add_(out[:, residual:])
        state.position += 1
        assert skips is not None                            # the config has at least one layer
        hidden = F.relu(F.relu(skips) @ self.out1.weight[:, :, 0].T + _bias(self.out1))
        return hidden @ self.out2.weight[:, :, 0].T + _bias(self.out2)


def _bias(conv: nn.Conv1d) -> torch.Tensor:
    """A convolution's bias: every one in a WaveNet is built with one."""
    assert conv.bias is not None
    return conv.bias
