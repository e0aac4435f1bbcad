"""The character LSTM's step in NumPy with fused gates, for CPU sampling.

One step at a time, eager PyTorch spends most of its time dispatching ~30 small ops (and
nn.LSTM re-plans oneDNN on every call); NumPy with the input and recurrent weights fused
into one matrix per layer does one matrix-vector product per layer and little else. Same
arithmetic as CharLSTM.step; the tests compare both with the full forward pass.
"""
from __future__ import annotations

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)       # = 1 / (1 + e^-x), without overflow


class NumpyLSTM:
    """Explicit state (h, c per layer) plus fused weights; step(ids) -> logits."""

    def __init__(self, net, batch: int):
        cfg = net.config
        f = lambda t: np.ascontiguousarray(t.detach().cpu().numpy(), dtype=np.float32)
        self.embed = f(net.embed.weight)                                   # (V, E)
        self.weights, self.biases = [], []
        for k in range(cfg.layers):
            w_ih = getattr(net.lstm, f"weight_ih_l{k}")
            w_hh = getattr(net.lstm, f"weight_hh_l{k}")
            self.weights.append(np.concatenate([f(w_ih).T, f(w_hh).T]))      # (In + H, 4H)
            self.biases.append(f(getattr(net.lstm, f"bias_ih_l{k}"))
                               + f(getattr(net.lstm, f"bias_hh_l{k}")))
        self.head_w, self.head_b = f(net.head.weight).T.copy(), f(net.head.bias)
        self.hidden = cfg.hidden
        self.h = [np.zeros((batch, cfg.hidden), np.float32) for _ in range(cfg.layers)]
        self.c = [np.zeros((batch, cfg.hidden), np.float32) for _ in range(cfg.layers)]

    def step(self, ids: np.ndarray) -> np.ndarray:
        """ids (B,) -> logits (B, V) for the next character."""
        x = self.embed[ids]
        n = self.hidden
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            gates = np.concatenate([x, self.h[k]], axis=1) @ w + b          # (B, 4H): i f g o
            i, f = _sigmoid(gates[:, :n]), _sigmoid(gates[:, n:2 * n])
            g, o = np.tanh(gates[:, 2 * n:3 * n]), _sigmoid(gates[:, 3 * n:])
            self.c[k] = f * self.c[k] + i * g
            self.h[k] = o * np.tanh(self.c[k])
            x = self.h[k]
        return x @ self.head_w + self.head_b
