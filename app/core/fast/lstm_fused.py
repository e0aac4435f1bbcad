"""The character LSTM's step with fused weights, for sampling one character at a time.

One step at a time, eager PyTorch's cost is per op (and nn.LSTM re-plans oneDNN on every
call, see shared MEASURED.md). Here each layer is one matrix product over [input, hidden]
with the gates reordered to (i, f, o, g), so the three sigmoids are one op: about ten ops a
layer. It runs through torch's own BLAS, whose threads follow torch.set_num_threads (NumPy's
OpenBLAS spins up its own threads, which stall badly on a busy CPU). Same arithmetic as
CharLSTM.step; the tests compare both with the full forward pass.

On the CPU the step is memory-bound: the bundled model reads 13 MB of float32 weights per
character, more than the arithmetic on them costs. With `int8` the gate weights are held as
int8 with one scale per output row (torch's weight-only int8 kernel, inputs rounded to
bfloat16), a quarter of the bytes, and the first layer's input product is looked up from a
table per character. That is reduced precision, not the same arithmetic: the tests hold it
to a stated tolerance; on the bundled model held-out bits/char moved by -0.0002 over
20,000 characters (benchmarks/lstm_int8.py).
"""
from __future__ import annotations

import numpy as np
import torch


def int8_available() -> bool:
    """Whether this torch has the weight-only int8 matrix product (CPU)."""
    return hasattr(torch.ops.aten, "_weight_int8pack_mm")


class FusedLSTM:
    """Explicit state (h, c per layer) plus fused weights; step(ids) -> logits."""

    def __init__(self, net, batch: int, device, int8: bool = False, kernels: bool = True):
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
                self.weights.append(w[order].float().T.contiguous().to(device))  # (In + H, 4H)
                self.biases.append(b[order].float().contiguous().to(device))
            self.embed = net.embed.weight.detach().float().to(device)
            self.head_w = net.head.weight.detach().float().T.contiguous().to(device)
            self.head_b = net.head.bias.detach().float().to(device)
            self.int8 = int8 and int8_available() and torch.device(device).type == "cpu"
            if self.int8:
                self._hold_int8(cfg.embed)
        self.hidden = n
        self.h = [torch.zeros(batch, n, device=device) for _ in range(cfg.layers)]
        self.c = [torch.zeros(batch, n, device=device) for _ in range(cfg.layers)]
        # The int8 path's cell as one compiled call (the nine small ops it replaces cost
        # more than their arithmetic); the state tensors share memory with the arrays.
        self.compiled_cell = None
        if self.int8 and kernels:
            from . import lstm_cell_numba

            if lstm_cell_numba.available():
                self.compiled_cell = lstm_cell_numba.cell
                self.scratch = np.empty(4 * n * batch, np.int32)

    def _hold_int8(self, embed: int) -> None:
        # Layer 0's input part, per character: its gates' bias plus embedding @ W_ih (V, 4H).
        self.first_input = torch.addmm(self.biases[0], self.embed, self.weights[0][:embed])
        rows = [self.weights[0][embed:]] + self.weights[1:]        # what multiplies per step
        self.packed = [_int8_rows(w.T) for w in rows]

    def step(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B,) -> logits (B, V) for the next character."""
        if self.int8:
            return self._step_int8(ids)
        n = self.hidden
        x = self.embed[ids]
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            gates = torch.addmm(b, torch.cat([x, self.h[k]], dim=1), w)   # (B, 4H): i f o g
            x = self._cell(k, gates, n)
        return torch.addmm(self.head_b, x, self.head_w)

    def _step_int8(self, ids: torch.Tensor) -> torch.Tensor:
        n = self.hidden
        x = self.h[0]                  # layer 0's input part comes from first_input
        for k, (rows, scales) in enumerate(self.packed):
            given = x if k == 0 else torch.cat([x, self.h[k]], dim=1)
            product = torch.ops.aten._weight_int8pack_mm(given.bfloat16(), rows, scales)
            gates = (self.first_input[ids] if k == 0 else self.biases[k]) + product
            if self.compiled_cell is not None:
                self.compiled_cell(gates.numpy(), self.c[k].numpy(), self.h[k].numpy(),
                                   self.scratch, self.scratch.view(np.float32))
                x = self.h[k]
            else:
                x = self._cell(k, gates, n)
        return torch.addmm(self.head_b, x, self.head_w)

    def _cell(self, k: int, gates: torch.Tensor, n: int) -> torch.Tensor:
        sig = torch.sigmoid(gates[:, :3 * n])
        c = torch.addcmul(sig[:, n:2 * n] * self.c[k], sig[:, :n], torch.tanh(gates[:, 3 * n:]))
        self.c[k] = c
        self.h[k] = sig[:, 2 * n:] * torch.tanh(c)
        return self.h[k]


def _int8_rows(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(Out, In) float weights -> int8 rows and one bfloat16 scale per row (symmetric)."""
    scales = w.abs().amax(dim=1).clamp_min(1e-12) / 127
    rows = (w / scales[:, None]).round().clamp(-127, 127).to(torch.int8).contiguous()
    return rows, scales.bfloat16()

