"""The character Transformer's KV-cache step with preallocated caches and plain tensor ops.

One character at a time, the model's arithmetic is small (about 3.7 MFLOP for the bundled
one) and eager PyTorch's cost is per op and per module call: the generic step (CharGPT.step)
also grows its caches with torch.cat every character. Here the keys and values go into
preallocated (B, heads, context, head_dim) buffers at the current position and each block is
a dozen functional calls on weights taken once. Same arithmetic as CharGPT.step, including
its rule for a full context (rebuild the cache from the last half); the tests compare both
with the full forward pass.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..nets.charlm import bias_of


class FusedGPT:
    """Preallocated KV cache plus the net's weights; step(ids) -> logits."""

    def __init__(self, net, batch: int, device):
        cfg = net.config
        self.net, self.context, self.heads = net, cfg.context, cfg.heads
        self.head_dim = cfg.embed // cfg.heads
        # Keys and values of a layer side by side, so one copy stores both each step.
        self.kv = torch.zeros(len(net.blocks), 2, batch, cfg.heads, cfg.context, self.head_dim,
                              device=device)
        self.tokens = torch.zeros(batch, cfg.context, dtype=torch.long, device=device)
        self.length = 0
        def t(linear):      # (in, out), contiguous: addmm's fastest layout for one row
            return linear.weight.detach().T.contiguous().to(device)

        with torch.no_grad():
            self.blocks = [tuple(x.detach().to(device) for x in (
                b.ln1.weight, bias_of(b.ln1), t(b.qkv), bias_of(b.qkv), t(b.proj),
                bias_of(b.proj), b.ln2.weight, bias_of(b.ln2), t(b.mlp[0]), bias_of(b.mlp[0]),
                t(b.mlp[2]), bias_of(b.mlp[2]))) for b in net.blocks]
            self.embed = net.embed.weight.detach().to(device)
            self.position = net.position.weight.detach().to(device)
            self.ln = (net.ln.weight.detach().to(device), bias_of(net.ln).detach().to(device))
            self.head = (net.head.weight.detach().to(device),
                         bias_of(net.head).detach().to(device))
        self.eps = net.blocks[0].ln1.eps
        self.embed_dim = cfg.embed

    def step(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B,) -> logits (B, V) for the next character."""
        with torch.no_grad():
            if self.length == self.context:
                return self._restart_from_last_half(ids)
            t = self.length
            self.tokens[:, t] = ids
            self.length += 1
            x = self.embed[ids] + self.position[t]                      # (B, E)
            for i, weights in enumerate(self.blocks):
                x = self._block(i, weights, x, t)
            return F.linear(F.layer_norm(x, (self.embed_dim,), *self.ln, self.eps), *self.head)

    def _block(self, i: int, w, x: torch.Tensor, t: int) -> torch.Tensor:
        ln1_w, ln1_b, qkv_w, qkv_b, proj_w, proj_b, ln2_w, ln2_b, fc_w, fc_b, out_w, out_b = w
        b = x.shape[0]
        normed = F.layer_norm(x, (self.embed_dim,), ln1_w, ln1_b, self.eps)
        qkv = torch.addmm(qkv_b, normed, qkv_w).view(b, 3, self.heads, self.head_dim)
        self.kv[i, :, :, :, t] = qkv[:, 1:].transpose(0, 1)               # (2, B, h, d)
        keys, values = self.kv[i, :, :, :, :t + 1].unbind(0)              # (B, h, t+1, d)
        att = F.scaled_dot_product_attention(qkv[:, 0, :, None], keys, values)  # (B, h, 1, d)
        x = torch.addmm(proj_b, att.reshape(b, -1), proj_w).add_(x)
        normed = F.layer_norm(x, (self.embed_dim,), ln2_w, ln2_b, self.eps)
        hidden = F.gelu(torch.addmm(fc_b, normed, fc_w))
        return torch.addmm(out_b, hidden, out_w).add_(x)

    def _restart_from_last_half(self, ids: torch.Tensor) -> torch.Tensor:
        """As CharGPT.step: a full context restarts from its last half plus the new id."""
        keep = self.context // 2
        window = torch.cat([self.tokens[:, self.context - keep + 1:], ids[:, None]], dim=1)
        caches: list[dict[str, torch.Tensor]] = [{} for _ in self.blocks]
        logits = self.net(window, caches)[:, -1]
        n = window.shape[1]
        self.tokens[:, :n] = window
        for i, cache in enumerate(caches):
            self.kv[i, 0, :, :, :n] = cache["k"]
            self.kv[i, 1, :, :, :n] = cache["v"]
        self.length = n
        return logits
