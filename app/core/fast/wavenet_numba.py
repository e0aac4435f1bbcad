"""Fast WaveNet sampling as one compiled loop (numba), for the CPU.

Eager PyTorch spends ~10 us of Python and dispatch on each of the ~200 small ops one audio
sample needs, so it tops out near 2,000 samples/s; the same arithmetic compiled into one
loop runs over 10x faster (see shared MEASURED.md). The algorithm is Fast WaveNet's: each
layer keeps a queue of its last `dilation` inputs, so a sample costs O(layers).

Everything here mirrors WaveNet.step in app/core/nets/wavenet.py, except that the gates'
tanh and sigmoid come from a vectorised exp (within 2.5e-7 of exact); the tests check that
both give the full forward pass's log-probabilities. numba is optional: without it
`available()` is False and the samplers use the PyTorch step.
"""
from __future__ import annotations

import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .vecmath import _gates, _jit, _pick, available, numba  # noqa: F401  (re-exported)


@_jit
def _step(x, state_pos, embed, w_past, w_cur, bias, w_out, b_out, queue, offsets, dilations,
          out1_w, out1_b, out2_w, out2_b, logits):
    """Feed tokens x (B,) at position state_pos; write next-sample logits (B, V).

    The streams are the innermost loop but one: each weight row is loaded once per step
    for all of them, so B streams cost far less than B times one (the weights, not the
    arithmetic, are what one stream waits for). Each stream's sums run in the same order
    as with one stream, so its numbers do not depend on how many run beside it.
    """
    n_layers, residual, two_d = w_past.shape
    d = two_d // 2
    skip_n = w_out.shape[2] - residual
    batch = x.shape[0]
    n_hidden = out1_w.shape[1]
    h = np.empty((batch, residual), np.float32)
    pre = np.empty((batch, two_d), np.float32)
    z = np.empty((batch, d), np.float32)
    skips = np.zeros((batch, skip_n), np.float32)
    hidden = np.empty((batch, n_hidden), np.float32)
    out = np.empty((batch, w_out.shape[2]), np.float32)
    powers = np.empty(two_d, np.float32)
    bits = np.empty(two_d, np.int32)
    scales = bits.view(np.float32)
    for b in range(batch):
        h[b] = embed[x[b]]
    for layer in range(n_layers):
        slot = offsets[layer] + state_pos % dilations[layer]
        for b in range(batch):
            pre[b] = bias[layer, b]
        for r in range(residual):
            wp, wc = w_past[layer, r], w_cur[layer, r]
            for b in range(batch):
                pv, cv = queue[slot, b, r], h[b, r]
                pb = pre[b]
                for k in range(two_d):
                    pb[k] += pv * wp[k] + cv * wc[k]
        for b in range(batch):
            _gates(pre[b], z[b], powers, bits, scales)
            queue[slot, b, :] = h[b]       # this input is "dilation steps ago" next time
            out[b] = b_out[layer]
        # axpy form (no reductions), so the inner loops vectorise without fastmath
        for k in range(d):
            wo = w_out[layer, k]
            for b in range(batch):
                zk = z[b, k]
                ob = out[b]
                for j in range(residual + skip_n):
                    ob[j] += zk * wo[j]
        for b in range(batch):
            for r in range(residual):
                h[b, r] += out[b, r]
            for j in range(skip_n):
                skips[b, j] += out[b, residual + j]
    for b in range(batch):
        for j in range(skip_n):
            skips[b, j] = max(skips[b, j], 0.0)
        hidden[b] = out1_b
    for j in range(skip_n):
        w1 = out1_w[j]
        for b in range(batch):
            sj = skips[b, j]
            hb = hidden[b]
            for i in range(n_hidden):
                hb[i] += sj * w1[i]
    for b in range(batch):
        for i in range(n_hidden):
            hidden[b, i] = max(hidden[b, i], 0.0)
        logits[b, :] = out2_b
    for i in range(n_hidden):
        w2 = out2_w[i]
        for b in range(batch):
            hi = hidden[b, i]
            lb = logits[b]
            for v in range(logits.shape[1]):
                lb[v] += hi * w2[v]


@_jit
def _generate(current, n, state_pos, uniforms, inv_temperature, greedy, embed, w_past, w_cur,
              bias, w_out, b_out, queue, offsets, dilations, out1_w, out1_b, out2_w, out2_b,
              tokens, record, inv_voice, power, ring, sums, ring_pos, threshold, loud):
    """Draw n samples per stream. With a voice gate (ring.shape[1] > 0: sampling/voice.py's
    VoiceGate state for these streams) a stream louder than `threshold` draws at
    1/inv_voice; loud[t, b] says which temperature each draw used."""
    batch = current.shape[0]
    logits = np.empty((batch, out2_w.shape[1]), np.float32)
    x = current.copy()
    window = ring.shape[1]
    for t in range(n):
        _step(x, state_pos + t, embed, w_past, w_cur, bias, w_out, b_out, queue, offsets,
              dilations, out1_w, out1_b, out2_w, out2_b, logits)
        if record.shape[0] > 0:
            record[t] = logits
        slot = (ring_pos + t) % window if window > 0 else 0
        for b in range(batch):
            inv_t = inv_temperature
            if window > 0:
                loud[t, b] = sums[b] > threshold
                if loud[t, b]:
                    inv_t = inv_voice
            x[b] = np.argmax(logits[b]) if greedy else _pick(logits[b], inv_t, uniforms[t, b])
            tokens[t, b] = x[b]
            if window > 0:
                entering = power[x[b]]
                sums[b] += entering - ring[b, slot]
                ring[b, slot] = entering


class CompiledWaveNet:
    """Explicit sampling state (queues, position) plus the net's weights as numpy arrays.

    With `threads` > 1 the streams are split into that many groups, each with its own
    queues, run side by side in threads: the loop releases the interpreter lock, and one
    core's arithmetic, not the weights' traffic, is what a stream waits for. A stream's
    numbers are the same in any group (its sums never mix with another stream's).
    """

    def __init__(self, net, labels, batch: int, threads: int = 1):
        import torch

        cfg = net.config
        with torch.no_grad():
            state = net.begin(batch, labels, torch.device("cpu"))
            f = lambda t: np.ascontiguousarray(t.detach().cpu().numpy(), dtype=np.float32)
            self.embed = f(net.embed.weight)
            self.w_past = np.stack([f(w.past) for w in state.weights])      # (L, R, 2D)
            self.w_cur = np.stack([f(w.current) for w in state.weights])
            bias = np.stack([f(w.bias.expand(batch, -1)) for w in state.weights])  # (L, B, 2D)
            self.w_out = np.stack([f(w.out) for w in state.weights])         # (L, D, R+S)
            self.b_out = np.stack([f(w.out_bias) for w in state.weights])
            self.out1_w = f(net.out1.weight[:, :, 0].T)                     # (S, H)
            self.out1_b = f(net.out1.bias)
            self.out2_w = f(net.out2.weight[:, :, 0].T)                     # (H, V)
            self.out2_b = f(net.out2.bias)
        self.dilations = np.array(cfg.dilations, np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.dilations)[:-1]]).astype(np.int64)
        bounds = np.linspace(0, batch, max(1, min(threads, batch)) + 1).round().astype(int)
        self.groups = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
        self.bias = [np.ascontiguousarray(bias[:, g]) for g in self.groups]
        self.queues = [np.zeros((int(self.dilations.sum()), g.stop - g.start, cfg.residual),
                                np.float32) for g in self.groups]
        self._pool: ThreadPoolExecutor | None = None
        if len(self.groups) > 1:
            self._pool = ThreadPoolExecutor(len(self.groups) - 1, "wavenet-streams")
            weakref.finalize(self, self._pool.shutdown, wait=False)
        self.position = 0
        self.batch = batch
        self.gate = None        # a VoiceGate (set_voice), whose state the loop then carries

    def set_voice(self, gate) -> None:
        """Draw loud stretches at the gate's voice temperature (sampling/voice.py); the gate's
        ring and sums become this loop's, in one contiguous block per group of streams."""
        self.gate = gate
        self.rings = [np.ascontiguousarray(gate.ring[g]) for g in self.groups]
        self.sums = [np.ascontiguousarray(gate.sums[g]) for g in self.groups]

    def _weights(self, group: int):
        return (self.embed, self.w_past, self.w_cur, self.bias[group], self.w_out, self.b_out,
                self.queues[group], self.offsets, self.dilations, self.out1_w, self.out1_b,
                self.out2_w, self.out2_b)

    def _each_group(self, run) -> None:
        """run(group index) for every group: the first here, the others in the pool."""
        pending = [self._pool.submit(run, i) for i in range(1, len(self.groups))] \
            if self._pool is not None else []
        run(0)
        for job in pending:
            job.result()

    def feed(self, tokens: np.ndarray) -> np.ndarray:
        """Teacher-force tokens (T, B); returns the logits after each one (T, B, V)."""
        tokens = np.ascontiguousarray(tokens, dtype=np.int64)
        out = np.empty((len(tokens), self.batch, self.out2_w.shape[1]), np.float32)
        for i, g in enumerate(self.groups):
            w = self._weights(i)
            group_out = np.empty((g.stop - g.start,
                                  self.out2_w.shape[1]), np.float32)
            for t in range(len(tokens)):
                _step(np.ascontiguousarray(tokens[t, g]), self.position + t, *w, group_out)
                out[t, g] = group_out
        self.position += len(tokens)
        return out

    def generate(self, current: np.ndarray, uniforms: np.ndarray, temperature: float,
                 record: bool = False):
        """Draw len(uniforms) samples per stream after feeding `current` (B,).

        Returns tokens (n, B), when `record` the logits each draw came from (n, B, V), and
        with a voice gate which draws were loud (n, B) bool (else None).
        """
        n = uniforms.shape[0]
        tokens = np.empty((n, self.batch), np.int64)
        logits = np.empty((n if record else 0, self.batch, self.out2_w.shape[1]), np.float32)
        loud = np.zeros((n, self.batch), np.bool_)
        greedy = temperature <= 0
        inv_t = np.float32(1.0 / max(temperature, 1e-8))
        gate = self.gate
        inv_voice = np.float32(1.0 / gate.voice) if gate is not None else inv_t
        no_ring, no_sums = np.zeros((0, 0), np.int64), np.zeros(0, np.int64)
        power = gate.power if gate is not None else no_sums
        ring_pos = gate.position if gate is not None else 0
        threshold = gate.threshold if gate is not None else 0
        current = np.asarray(current, dtype=np.int64)
        uniforms = np.asarray(uniforms, dtype=np.float32)

        def run(i: int) -> None:
            g = self.groups[i]
            group_tokens = np.empty((n, g.stop - g.start), np.int64)
            group_logits = np.empty((logits.shape[0], g.stop - g.start, logits.shape[2]),
                                    np.float32)
            group_loud = np.zeros((n, g.stop - g.start), np.bool_)
            _generate(np.ascontiguousarray(current[g]), n, self.position,
                      np.ascontiguousarray(uniforms[:, g]), inv_t, greedy, *self._weights(i),
                      group_tokens, group_logits, inv_voice, power,
                      self.rings[i] if gate is not None else no_ring,
                      self.sums[i] if gate is not None else no_sums, ring_pos, threshold,
                      group_loud)
            tokens[:, g] = group_tokens
            logits[:, g] = group_logits
            loud[:, g] = group_loud

        self._each_group(run)
        self.position += n
        if gate is not None:
            gate.position = (gate.position + n) % gate.window
        return tokens, (logits if record else None), (loud if gate is not None else None)


def load_kernels() -> None:
    """Load (or compile) the kernels for the types sampling uses, on a two-sample dummy net.

    The first call of a cached numba kernel in a process costs ~0.3-0.5 s (LLVM and the
    cache index); `chainrule sample audio` does it before its clock starts, with the model
    load, so the rate it prints is the sampler's own from the first sample.
    """
    if numba is None:
        return
    f32 = lambda *shape: np.zeros(shape, np.float32)
    layers, residual, d, skip, hidden, levels = 1, 2, 1, 1, 1, 2
    weights = (f32(levels, residual), f32(layers, residual, 2 * d), f32(layers, residual, 2 * d),
               f32(layers, 1, 2 * d), f32(layers, d, residual + skip), f32(layers, residual + skip),
               f32(1, 1, residual), np.zeros(1, np.int64), np.ones(1, np.int64),
               f32(skip, hidden), f32(hidden), f32(hidden, levels), f32(levels))
    current = np.zeros(1, np.int64)
    _step(current, 0, *weights, f32(1, levels))
    _generate(current, 1, 0, f32(1, 1), np.float32(1.0), False, *weights,
              np.zeros((1, 1), np.int64), f32(0, 1, levels), np.float32(1.0),
              np.zeros(levels, np.int64), np.zeros((1, 1), np.int64), np.zeros(1, np.int64),
              0, 0, np.zeros((1, 1), np.bool_))
