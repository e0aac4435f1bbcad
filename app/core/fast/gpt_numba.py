"""The character Transformer's KV-cache step as one compiled loop (numba), for the CPU.

One character costs the bundled model about 1.8 million multiply-adds, a few hundred
microseconds of arithmetic; in eager PyTorch the same step is ~70 small op calls whose
dispatch costs more than their arithmetic (app/core/fast/gpt_fused.py, the GPU path).
Compiled, the step is the arithmetic. Matrix-vector products run in axpy form (one input
times one weight row, added to the output), which vectorises without reordering sums;
the keys are cached transposed, (head_dim, position), so the attention scores are in
that form too.

Same arithmetic as CharGPT.step (erf GELU, biased LayerNorm variance, 1/sqrt(head_dim)
scaling, and its rule for a full context: restart from the last half); the tests compare
both with the full forward pass.
"""
from __future__ import annotations

import math

import numpy as np

from .vecmath import _jit, available, exp_inplace  # noqa: F401  (available: re-exported)


@_jit
def _affine(x, w, b, y):
    """y = x @ w + b for x (In,), w (In, Out)."""
    y[:] = b
    for i in range(w.shape[0]):
        xi = x[i]
        wi = w[i]
        for j in range(w.shape[1]):
            y[j] += xi * wi[j]


@_jit
def _layer_norm(x, weight, bias, eps, y):
    n = x.shape[0]
    mean = np.float32(0.0)
    for i in range(n):
        mean += x[i]
    mean /= n
    var = np.float32(0.0)
    for i in range(n):
        var += (x[i] - mean) * (x[i] - mean)
    inv = np.float32(1.0) / np.sqrt(var / n + eps)
    for i in range(n):
        y[i] = (x[i] - mean) * inv * weight[i] + bias[i]


@_jit
def _gpt_step(ids, t, embed, position, ln1_w, ln1_b, qkv_w, qkv_b, proj_w, proj_b, ln2_w,
              ln2_b, fc_w, fc_b, out_w, out_b, lnf_w, lnf_b, head_w, head_b, keys, values,
              eps, logits):
    """Feed ids (B,) at position t, caching their keys (L, B, h, d, C) and values
    (L, B, h, C, d); write the next-character logits (B, V)."""
    n_layers, batch, heads, head_dim = keys.shape[0], ids.shape[0], keys.shape[2], keys.shape[3]
    e = embed.shape[1]
    scale = np.float32(1.0 / math.sqrt(head_dim))
    x = np.empty(e, np.float32)
    normed = np.empty(e, np.float32)
    qkv = np.empty(3 * e, np.float32)
    att = np.empty(e, np.float32)
    projected = np.empty(e, np.float32)
    hidden = np.empty(fc_w.shape[2], np.float32)
    scores = np.empty(t + 1, np.float32)
    bits = np.empty(t + 1, np.int32)
    scales = bits.view(np.float32)
    for b in range(batch):
        for i in range(e):
            x[i] = embed[ids[b], i] + position[t, i]
        for layer in range(n_layers):
            _layer_norm(x, ln1_w[layer], ln1_b[layer], eps, normed)
            _affine(normed, qkv_w[layer], qkv_b[layer], qkv)
            for h in range(heads):
                base = h * head_dim
                k_cache, v_cache = keys[layer, b, h], values[layer, b, h]
                for d in range(head_dim):
                    k_cache[d, t] = qkv[e + base + d]
                    v_cache[t, d] = qkv[2 * e + base + d]
                scores[:] = 0.0
                for d in range(head_dim):
                    qd = qkv[base + d] * scale
                    kd = k_cache[d]
                    for s in range(t + 1):
                        scores[s] += qd * kd[s]
                top = scores.max()
                for s in range(t + 1):
                    scores[s] -= top
                exp_inplace(scores, t + 1, bits, scales)
                total = np.float32(0.0)
                for s in range(t + 1):
                    total += scores[s]
                out = att[base:base + head_dim]
                out[:] = 0.0
                for s in range(t + 1):
                    p = scores[s] / total
                    vs = v_cache[s]
                    for d in range(head_dim):
                        out[d] += p * vs[d]
            _affine(att, proj_w[layer], proj_b[layer], projected)
            for i in range(e):
                x[i] += projected[i]
            _layer_norm(x, ln2_w[layer], ln2_b[layer], eps, normed)
            _affine(normed, fc_w[layer], fc_b[layer], hidden)
            for i in range(hidden.shape[0]):
                v = hidden[i]
                hidden[i] = np.float32(0.5) * v * (np.float32(1.0) + math.erf(
                    v * np.float32(0.7071067811865476)))
            _affine(hidden, out_w[layer], out_b[layer], projected)
            for i in range(e):
                x[i] += projected[i]
        _layer_norm(x, lnf_w, lnf_b, eps, normed)
        _affine(normed, head_w, head_b, logits[b])


class CompiledGPT:
    """The compiled step's state: the net's weights as numpy, the KV cache, the tokens fed;
    step(ids) -> logits, as FusedGPT.step."""

    def __init__(self, net, batch: int):
        import torch

        from ..nets.charlm import bias_of

        cfg = net.config
        self.net, self.context = net, cfg.context
        f = lambda t: np.ascontiguousarray(t.detach().cpu().float().numpy())
        stack = lambda get: np.stack([f(get(b)) for b in net.blocks])
        with torch.no_grad():
            self.weights = (
                f(net.embed.weight), f(net.position.weight),
                stack(lambda b: b.ln1.weight), stack(lambda b: bias_of(b.ln1)),
                stack(lambda b: b.qkv.weight.T), stack(lambda b: bias_of(b.qkv)),
                stack(lambda b: b.proj.weight.T), stack(lambda b: bias_of(b.proj)),
                stack(lambda b: b.ln2.weight), stack(lambda b: bias_of(b.ln2)),
                stack(lambda b: b.mlp[0].weight.T), stack(lambda b: bias_of(b.mlp[0])),
                stack(lambda b: b.mlp[2].weight.T), stack(lambda b: bias_of(b.mlp[2])),
                f(net.ln.weight), f(bias_of(net.ln)), f(net.head.weight.T), f(bias_of(net.head)))
        head_dim = cfg.embed // cfg.heads
        self.keys = np.zeros((cfg.layers, batch, cfg.heads, head_dim, cfg.context), np.float32)
        self.values = np.zeros((cfg.layers, batch, cfg.heads, cfg.context, head_dim), np.float32)
        self.eps = np.float32(net.blocks[0].ln1.eps)
        self.tokens = np.zeros((batch, cfg.context), np.int64)
        self.length = 0
        self.vocab = cfg.vocab_size

    def step(self, ids):
        """ids (B,) tensor -> logits (B, V) tensor for the next character."""
        import torch

        if self.length == self.context:
            return self._restart_from_last_half(ids)
        ids_np = np.ascontiguousarray(ids.cpu().numpy(), dtype=np.int64)
        t = self.length
        self.tokens[:, t] = ids_np
        self.length += 1
        logits = np.empty((len(ids_np), self.vocab), np.float32)
        _gpt_step(ids_np, t, *self.weights, self.keys, self.values, self.eps, logits)
        return torch.from_numpy(logits)

    def _restart_from_last_half(self, ids):
        """As CharGPT.step: a full context restarts from its last half plus the new id, in
        one full forward pass whose keys and values refill the cache."""
        import torch

        keep = self.context // 2
        window = torch.cat([torch.from_numpy(self.tokens[:, self.context - keep + 1:]),
                            ids.cpu()[:, None]], dim=1)
        caches: list[dict[str, torch.Tensor]] = [{} for _ in self.net.blocks]
        with torch.no_grad():
            logits = self.net(window, caches)[:, -1]
        n = window.shape[1]
        self.tokens[:, :n] = window.numpy()
        for i, cache in enumerate(caches):                # (B, h, n, d) each
            self.keys[i, :, :, :, :n] = cache["k"].transpose(2, 3).numpy()
            self.values[i, :, :, :n] = cache["v"].numpy()
        self.length = n
        return logits
