"""Character language models sharing one codec: an LSTM (char-rnn) and a small GPT.

Both map ids (B, T) to logits (B, T, V) where logits[:, t] predicts ids[:, t + 1], and both
have an explicit incremental state: (h, c) per layer for the LSTM, a KV cache for the GPT.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..config import GPTConfig, LSTMConfig


def next_char_nll(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    # logits (B, T-1, V) for ids[:, 1:] -> mean nats per character, (B,)
    return F.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none").mean(1)


@dataclass
class LSTMState:
    h: list[torch.Tensor]   # per layer (B, H)
    c: list[torch.Tensor]   # per layer (B, H)


class CharLSTM(nn.Module):
    def __init__(self, config: LSTMConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed)
        self.lstm = nn.LSTM(config.embed, config.hidden, config.layers, batch_first=True,
                            dropout=config.dropout if config.layers > 1 else 0.0)
        self.head = nn.Linear(config.hidden, config.vocab_size)

    def forward(self, ids: torch.Tensor, state: LSTMState | None = None):
        """ids (B, T) -> logits (B, T, V), final state."""
        hc = None if state is None else (torch.stack(state.h), torch.stack(state.c))
        out, (h, c) = self.lstm(self.embed(ids), hc)
        return self.head(out), LSTMState(list(h), list(c))

    def nll(self, batch: dict) -> torch.Tensor:
        ids = batch["x"]
        return next_char_nll(self(ids[:, :-1])[0], ids)

    def begin(self, batch: int, device=None) -> LSTMState:
        device = device or self.head.weight.device
        zeros = [torch.zeros(batch, self.config.hidden, device=device)
                 for _ in range(self.config.layers)]
        return LSTMState(zeros, [z.clone() for z in zeros])

    def step(self, state: LSTMState, ids: torch.Tensor) -> torch.Tensor:
        """One character per stream, ids (B,) -> logits (B, V) for the next; updates state.

        Written with fused gate matmuls rather than nn.LSTM: one-step nn.LSTM calls are slow
        and erratic on CPU (oneDNN set-up per call), see shared MEASURED.md.
        """
        x = self.embed(ids)                                         # (B, E)
        for k in range(self.config.layers):
            w_ih = getattr(self.lstm, f"weight_ih_l{k}")
            w_hh = getattr(self.lstm, f"weight_hh_l{k}")
            bias = getattr(self.lstm, f"bias_ih_l{k}") + getattr(self.lstm, f"bias_hh_l{k}")
            gates = x @ w_ih.T + state.h[k] @ w_hh.T + bias           # (B, 4H): i, f, g, o
            i, f, g, o = gates.chunk(4, dim=1)
            c = torch.sigmoid(f) * state.c[k] + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            state.h[k], state.c[k] = h, c
            x = h
        return self.head(x)


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.heads = cfg.heads
        e, bias = cfg.embed, cfg.bias
        self.ln1 = nn.LayerNorm(e, bias=bias)
        self.qkv = nn.Linear(e, 3 * e, bias=bias)
        self.proj = nn.Linear(e, e, bias=bias)
        self.ln2 = nn.LayerNorm(e, bias=bias)
        self.mlp = nn.Sequential(nn.Linear(e, 4 * e, bias=bias), nn.GELU(),
                                 nn.Linear(4 * e, e, bias=bias))
        self.dropout = cfg.dropout

    def split(self, t: torch.Tensor) -> torch.Tensor:
        b, n, e = t.shape                                           # (B, T, E) -> (B, h, T, E/h)
        return t.view(b, n, self.heads, e // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
        q, k, v = self.split(q), self.split(k), self.split(v)
        causal = True
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
                causal = q.shape[2] > 1     # one new query may look at the whole cache
            cache["k"], cache["v"] = k, v
        drop = self.dropout if self.training else 0.0
        att = F.scaled_dot_product_attention(q, k, v, is_causal=causal, dropout_p=drop)
        b, _, n, _ = att.shape
        x = x + self.proj(att.transpose(1, 2).reshape(b, n, -1))
        return x + self.mlp(self.ln2(x))


def bias_of(layer: nn.Module) -> torch.Tensor:
    """A Linear's, LayerNorm's or head's bias, zeros where it has none (bias=False): the
    fast paths' kernels always add one."""
    bias, weight = layer.bias, layer.weight
    assert isinstance(weight, torch.Tensor)
    if isinstance(bias, torch.Tensor):
        return bias
    return torch.zeros(weight.shape[0], device=weight.device)


class TiedHead(nn.Module):
    """The output head of a GPT whose logits reuse the input embedding (nanoGPT's weight
    tying): `weight` is the embedding's own, so the file holds it once (as embed.weight)."""

    def __init__(self, embed: nn.Embedding, bias: bool):
        super().__init__()
        self._embed = [embed]          # a list: not registered twice as a submodule
        self.bias = nn.Parameter(torch.zeros(embed.num_embeddings)) if bias else None

    @property
    def weight(self) -> torch.Tensor:
        return self._embed[0].weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)


@dataclass
class GPTState:
    tokens: list[torch.Tensor] = field(default_factory=list)   # ids fed so far, each (B,)
    caches: list[dict] = field(default_factory=list)           # per block {"k", "v"}


class CharGPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed)
        self.position = nn.Embedding(config.context, config.embed)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.ln = nn.LayerNorm(config.embed, bias=config.bias)
        self.head = TiedHead(self.embed, config.bias) if config.tied \
            else nn.Linear(config.embed, config.vocab_size, bias=config.bias)

    def forward(self, ids: torch.Tensor, caches: list[dict] | None = None,
                start: int = 0) -> torch.Tensor:
        """ids (B, T) at positions start..start+T-1 -> logits (B, T, V)."""
        n = ids.shape[1]
        if start + n > self.config.context:
            raise ValueError(f"sequence of {start + n} exceeds the context of "
                             f"{self.config.context}")
        pos = torch.arange(start, start + n, device=ids.device)
        x = self.embed(ids) + self.position(pos)
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i])
        return self.head(self.ln(x))

    def nll(self, batch: dict) -> torch.Tensor:
        ids = batch["x"]
        return next_char_nll(self(ids[:, :-1]), ids)

    def begin(self, batch: int, device=None) -> GPTState:
        return GPTState()

    def step(self, state: GPTState, ids: torch.Tensor) -> torch.Tensor:
        """One character per stream, ids (B,) -> logits (B, V) for the next; updates the cache.

        When the context is full, the cache is rebuilt from the last half of the context, so
        each prediction is exactly what a full forward over that window gives.
        """
        state.tokens.append(ids)
        length = len(state.tokens)
        if length > self.config.context:
            keep = self.config.context // 2
            state.tokens = state.tokens[-keep:]
            state.caches = [{} for _ in self.blocks]
            window = torch.stack(state.tokens, dim=1)                # (B, keep)
            return self(window, state.caches)[:, -1]
        if not state.caches:
            state.caches = [{} for _ in self.blocks]
        return self(ids[:, None], state.caches, start=length - 1)[:, -1]
