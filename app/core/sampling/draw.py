"""Drawing one value per stream from logits: temperature, top-k, top-p (nucleus), greedy."""
from __future__ import annotations

import torch


def shape_logits(logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0,
                 top_p: float = 1.0) -> torch.Tensor:
    """(B, V) raw logits -> logits of the distribution actually sampled (-inf = excluded)."""
    logits = logits.float() / max(temperature, 1e-8)
    if top_k and 0 < top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if 0.0 < top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = sorted_logits.softmax(-1)
        # Keep the smallest prefix whose mass reaches top_p (the first token always stays).
        drop_sorted = probs.cumsum(-1) - probs >= top_p
        drop_sorted[..., 0] = False     # also when top_p is below float32's range (it is 0)
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def draw(logits: torch.Tensor, generator: torch.Generator, temperature: float = 1.0,
         top_k: int = 0, top_p: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample one index per row of (B, V) logits -> (values (B,), log-probabilities (B,)).

    Temperature 0 means greedy (argmax). The log-probability is under the shaped distribution.
    """
    values, logp, _ = draw_reporting(logits, generator, temperature, top_k, top_p)
    return values, logp


def draw_reporting(logits: torch.Tensor, generator: torch.Generator, temperature: float = 1.0,
                   top_k: int = 0, top_p: float = 1.0
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`draw`, also returning the probabilities (B, V) it drew from (what `distribution`
    computes afterwards, here without computing it twice)."""
    if temperature <= 0:
        values = logits.argmax(-1)
        probs = torch.zeros(logits.shape, device=logits.device)
        probs.scatter_(-1, values[:, None], 1.0)
        return values, torch.zeros(values.shape, device=logits.device), probs
    shaped = shape_logits(logits, temperature, top_k, top_p)
    logp = shaped.log_softmax(-1)
    probs = logp.exp()
    uniform = torch.rand(logits.shape[0], generator=generator, device=logits.device)
    values = pick(probs, uniform)
    return values, logp.gather(-1, values[:, None])[:, 0], probs


def distribution(logits: torch.Tensor, values: torch.Tensor, temperature: float = 1.0,
                 top_k: int = 0, top_p: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """What `draw` drew `values` (B,) from: probabilities (B, V) of the shaped distribution
    and each value's natural log-probability under it (B,), computed as `draw` does.

    Temperature 0 (greedy) draws from the point mass on the argmax (log-probability 0).
    Samplers call this only when asked to report their distributions: it draws nothing,
    so the samples are the same either way.
    """
    if temperature <= 0:
        probs = torch.zeros(logits.shape, device=logits.device)
        probs.scatter_(-1, values[:, None].to(logits.device), 1.0)
        return probs, torch.zeros(values.shape, device=logits.device)
    logp = shape_logits(logits, temperature, top_k, top_p).log_softmax(-1)
    return logp.exp(), logp.gather(-1, values[:, None].to(logits.device))[:, 0]


def pick(probs: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF draw: the first index whose cumulative probability exceeds u.

    Used instead of torch.multinomial so that compiled samplers, given the same uniforms,
    make exactly the same choices as this reference path.
    """
    cdf = probs.cumsum(-1)                                      # (B, V)
    total = cdf[:, -1:]
    # Strictly below the total, so rounding can never land past the last allowed index.
    below_total = torch.nextafter(total, torch.zeros_like(total))
    target = torch.minimum(uniform[:, None] * total, below_total)
    return torch.searchsorted(cdf, target, right=True)[:, 0]
