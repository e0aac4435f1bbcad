"""The character LSTM's step with fused weights, for sampling one character at a time.

One step at a time, eager PyTorch's cost is per op (and nn.LSTM re-plans oneDNN on every
call, see shared MEASURED.md). Here each layer is one matrix product over [input, hidden]
with the gates reordered to (i, f, o, g), so the three sigmoids are one op: about ten ops a
layer. It runs through torch's own BLAS, whose threads follow torch.set_num_threads (NumPy's
OpenBLAS spins up its own threads, which stall badly on a busy CPU). Same arithmetic as
CharLSTM.step; the tests compare both with the full forward pass.
"""
from __future__ import annotations

import torch


class FusedLSTM:
    """Explicit state (h, c per layer) plus fused weights; step(ids) -> logits."""

    def __init__(self, net, batch: int, device):
        cfg = net.config
        n = cfg.hidden
        order = torch.cat([torch.arange(0, 2 * n), torch.arange(3 * n, 4 * n),
                           torch.arange(2 * n, 3 * n)])          # i f g o -> i f o g
        self.weights, self.biases = [], []
        with torch.no_grad():
            for k in range(cfg.layers):
                w = torch.cat([getattr(net.lstm, f"weight_ih_l{k}"),
                               getattr(net.lstm, f"weight_hh_l{k}")], dim=1)  # (4H, In + H)
                b = getattr(net.lstm, f"bias_ih_l{k}") + getattr(net.lstm, f"bias_hh_l{k}")
                self.weights.append(w[order].T.contiguous().to(device))        # (In + H, 4H)
                self.biases.append(b[order].contiguous().to(device))
            self.embed = net.embed.weight.detach().to(device)
            self.head_w = net.head.weight.detach().T.contiguous().to(device)
            self.head_b = net.head.bias.detach().to(device)
        self.hidden = n
        self.h = [torch.zeros(batch, n, device=device) for _ in range(cfg.layers)]
        self.c = [torch.zeros(batch, n, device=device) for _ in range(cfg.layers)]

    def step(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B,) -> logits (B, V) for the next character."""
        n = self.hidden
        x = self.embed[ids]
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            gates = torch.addmm(b, torch.cat([x, self.h[k]], dim=1), w)   # (B, 4H): i f o g
            sig = torch.sigmoid(gates[:, :3 * n])
            c = torch.addcmul(sig[:, n:2 * n] * self.c[k], sig[:, :n], torch.tanh(gates[:, 3 * n:]))
            self.c[k] = c
            x = self.h[k] = sig[:, 2 * n:] * torch.tanh(c)
        return torch.addmm(self.head_b, x, self.head_w)
