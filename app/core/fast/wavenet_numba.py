"""Fast WaveNet sampling as one compiled loop (numba), for the CPU.

Eager PyTorch spends ~10 us of Python and dispatch on each of the ~200 small ops one audio
sample needs, so it tops out near 2,000 samples/s; the same arithmetic compiled into one
loop runs over 10x faster (see shared MEASURED.md). The algorithm is Fast WaveNet's: each
layer keeps a queue of its last `dilation` inputs, so a sample costs O(layers).

Everything here mirrors WaveNet.step in app/core/nets/wavenet.py exactly; the tests check
that both give the full forward pass's log-probabilities. numba is optional: without it
`available()` is False and the samplers use the PyTorch step.
"""
from __future__ import annotations

from types import ModuleType

import numpy as np

numba: ModuleType | None     # the module, or None where it is not installed
try:
    import numba
except ImportError:              # the PyTorch step is the fallback
    numba = None


def available() -> bool:
    return numba is not None


def _jit(fn):
    # nogil: a compiled loop runs for milliseconds; holding the interpreter lock that long
    # would starve the window's thread (its timers and repaints wait for every chunk).
    return numba.njit(cache=True, fastmath=False, nogil=True)(fn) if numba is not None else fn


@_jit
def _step(x, state_pos, embed, w_past, w_cur, bias, w_out, b_out, queue, offsets, dilations,
          out1_w, out1_b, out2_w, out2_b, logits):
    """Feed tokens x (B,) at position state_pos; write next-sample logits (B, V)."""
    n_layers, residual, two_d = w_past.shape
    d = two_d // 2
    skip_n = w_out.shape[2] - residual
    batch = x.shape[0]
    h = np.empty(residual, np.float32)
    pre = np.empty(two_d, np.float32)
    z = np.empty(d, np.float32)
    skips = np.empty(skip_n, np.float32)
    hidden = np.empty(out1_w.shape[1], np.float32)
    out = np.empty(w_out.shape[2], np.float32)
    for b in range(batch):
        h[:] = embed[x[b]]
        skips[:] = 0.0
        for layer in range(n_layers):
            slot = offsets[layer] + state_pos % dilations[layer]
            past = queue[slot, b]
            pre[:] = bias[layer, b]
            for r in range(residual):
                pv, cv = past[r], h[r]
                for k in range(two_d):
                    pre[k] += pv * w_past[layer, r, k] + cv * w_cur[layer, r, k]
            for k in range(d):
                z[k] = np.tanh(pre[k]) * (1.0 / (1.0 + np.exp(-pre[d + k])))
            queue[slot, b, :] = h          # this input is "dilation steps ago" next time
            # axpy form (no reductions), so the inner loops vectorise without fastmath
            out[:] = b_out[layer]
            for k in range(d):
                zk = z[k]
                for j in range(residual + skip_n):
                    out[j] += zk * w_out[layer, k, j]
            for r in range(residual):
                h[r] += out[r]
            for j in range(skip_n):
                skips[j] += out[residual + j]
        for j in range(skip_n):
            skips[j] = max(skips[j], 0.0)
        hidden[:] = out1_b
        for j in range(skip_n):
            sj = skips[j]
            for i in range(hidden.shape[0]):
                hidden[i] += sj * out1_w[j, i]
        for i in range(hidden.shape[0]):
            hidden[i] = max(hidden[i], 0.0)
        logits[b, :] = out2_b
        for i in range(hidden.shape[0]):
            hi = hidden[i]
            for v in range(logits.shape[1]):
                logits[b, v] += hi * out2_w[i, v]


@_jit
def _pick(logits, inv_temperature, u):
    """Softmax at a temperature, then the inverse-CDF draw of app/core/sampling/draw.pick."""
    v = logits.shape[0]
    top = -np.inf
    for i in range(v):
        top = max(top, logits[i] * inv_temperature)
    cdf = np.empty(v, np.float32)
    total = np.float32(0.0)
    for i in range(v):
        total += np.float32(np.exp(logits[i] * inv_temperature - top))
        cdf[i] = total
    target = min(np.float32(u) * total, np.nextafter(total, np.float32(0.0)))
    for i in range(v):
        if cdf[i] > target:
            return i
    return v - 1


@_jit
def _generate(current, n, state_pos, uniforms, inv_temperature, greedy, embed, w_past, w_cur,
              bias, w_out, b_out, queue, offsets, dilations, out1_w, out1_b, out2_w, out2_b,
              tokens, record):
    batch = current.shape[0]
    logits = np.empty((batch, out2_w.shape[1]), np.float32)
    x = current.copy()
    for t in range(n):
        _step(x, state_pos + t, embed, w_past, w_cur, bias, w_out, b_out, queue, offsets,
              dilations, out1_w, out1_b, out2_w, out2_b, logits)
        if record.shape[0] > 0:
            record[t] = logits
        for b in range(batch):
            x[b] = np.argmax(logits[b]) if greedy else _pick(logits[b], inv_temperature,
                                                             uniforms[t, b])
            tokens[t, b] = x[b]


class CompiledWaveNet:
    """Explicit sampling state (queues, position) plus the net's weights as numpy arrays."""

    def __init__(self, net, labels, batch: int):
        import torch

        cfg = net.config
        with torch.no_grad():
            state = net.begin(batch, labels, torch.device("cpu"))
            f = lambda t: np.ascontiguousarray(t.detach().cpu().numpy(), dtype=np.float32)
            self.embed = f(net.embed.weight)
            self.w_past = np.stack([f(w.past) for w in state.weights])      # (L, R, 2D)
            self.w_cur = np.stack([f(w.current) for w in state.weights])
            self.bias = np.stack([f(w.bias.expand(batch, -1)) for w in state.weights])
            self.w_out = np.stack([f(w.out) for w in state.weights])         # (L, D, R+S)
            self.b_out = np.stack([f(w.out_bias) for w in state.weights])
            self.out1_w = f(net.out1.weight[:, :, 0].T)                     # (S, H)
            self.out1_b = f(net.out1.bias)
            self.out2_w = f(net.out2.weight[:, :, 0].T)                     # (H, V)
            self.out2_b = f(net.out2.bias)
        self.dilations = np.array(cfg.dilations, np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.dilations)[:-1]]).astype(np.int64)
        self.queue = np.zeros((int(self.dilations.sum()), batch, cfg.residual), np.float32)
        self.position = 0
        self.batch = batch

    def _weights(self):
        return (self.embed, self.w_past, self.w_cur, self.bias, self.w_out, self.b_out,
                self.queue, self.offsets, self.dilations, self.out1_w, self.out1_b,
                self.out2_w, self.out2_b)

    def feed(self, tokens: np.ndarray) -> np.ndarray:
        """Teacher-force tokens (T, B); returns the logits after each one (T, B, V)."""
        tokens = np.ascontiguousarray(tokens, dtype=np.int64)
        out = np.empty((len(tokens), self.batch, self.out2_w.shape[1]), np.float32)
        w = self._weights()
        for t in range(len(tokens)):
            _step(tokens[t], self.position, w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7],
                  w[8], w[9], w[10], w[11], w[12], out[t])
            self.position += 1
        return out

    def generate(self, current: np.ndarray, uniforms: np.ndarray, temperature: float,
                 record: bool = False):
        """Draw len(uniforms) samples per stream after feeding `current` (B,).

        Returns tokens (n, B) and, when `record`, the logits each draw came from (n, B, V).
        """
        n = uniforms.shape[0]
        tokens = np.empty((n, self.batch), np.int64)
        logits = np.empty((n if record else 0, self.batch, self.out2_w.shape[1]), np.float32)
        greedy = temperature <= 0
        inv_t = np.float32(1.0 / max(temperature, 1e-8))
        _generate(np.ascontiguousarray(current, dtype=np.int64), n, self.position,
                  np.ascontiguousarray(uniforms, dtype=np.float32), inv_t, greedy,
                  *self._weights(), tokens, logits)
        self.position += n
        return tokens, (logits if record else None)
