"""Text sampling, character by character, for any character language model."""
from __future__ import annotations

from collections.abc import Iterator, Sequence

from .draw import draw, draw_reporting
from .events import TextDelta, TextDone


def start_ids(codec, prompt: str) -> list[int]:
    """Encode the prompt; an empty prompt starts after a newline (the start of a line)."""
    if prompt:
        return list(codec.encode(prompt))
    start = "\n" if "\n" in codec.vocab else codec.vocab[0]
    return list(codec.encode(start))


# Loading numba and its compiled loops costs a process about half a second, once; below
# this many characters a run is over sooner in plain tensor ops (unless they are loaded).
KERNELS_WORTH_CHARS = 1500


def kernels_worth_it(chars: int) -> bool:
    """Whether to use the numba loops for a run of `chars` characters: when numba is loaded
    already (the window loads it at start) or the run is long enough to repay loading it."""
    import sys

    return "numba" in sys.modules or chars >= KERNELS_WORTH_CHARS


def stepper(net, batch: int, device, compiled: bool = True, kernels: bool = True):
    """A function ids (B,) -> next-character logits (B, V) that carries the model's state.

    The LSTM steps with fused gate weights (app/core/fast/lstm_fused.py; int8 on the CPU)
    and the Transformer with a preallocated KV cache (app/core/fast/gpt_numba.py, compiled,
    on the CPU with `kernels`; app/core/fast/gpt_fused.py, plain tensor ops, otherwise),
    unless `compiled=False`: then the net's own step (recurrent state or KV cache).
    """
    import torch

    from ..nets.charlm import CharGPT, CharLSTM

    cpu = torch.device(device).type == "cpu"
    if compiled and isinstance(net, CharLSTM):
        from ..fast.lstm_fused import FusedLSTM

        # int8 gate weights on the CPU, where reading the weights is the step's cost.
        return FusedLSTM(net, batch, device, int8=True, kernels=kernels).step
    if compiled and isinstance(net, CharGPT):
        from ..fast.gpt_fused import FusedGPT

        if cpu and kernels:
            from ..fast import gpt_numba

            if gpt_numba.available():
                return gpt_numba.CompiledGPT(net, batch).step
        return FusedGPT(net, batch, device).step
    state = net.begin(batch, device)
    return lambda ids: net.step(state, ids)


def sample_text(net, codec, prompt: str = "", length: int = 200, temperature: float = 1.0,
                top_k: int = 0, top_p: float = 1.0, seed: int | None = None, n: int = 1,
                stop: Sequence[str] = (), device=None, compiled: bool = True,
                report: bool = False, top: int = 10, kernels: bool | None = None
                ) -> Iterator[TextDelta | TextDone]:
    """Yield a TextDelta per new character per live stream, then TextDone.

    A stream ends when it has produced `length` characters or its text ends with a stop
    string (the stop string is kept in the text). With `report` each TextDelta also names
    the `top` likeliest characters of the distribution it was drawn from (.candidates); the
    draws are the same either way.

    `kernels` (default: kernels_worth_it) picks the numba loops on the CPU, or plain tensor
    ops for a short run in a process that has not loaded numba. The two compute the same
    distributions to float rounding (~1e-6), so a seed draws the same text on either path
    except where a uniform falls within that rounding of a boundary (about once in 10^5
    characters).
    """
    import torch

    from ..devices import make_generator

    device = torch.device(device or next(net.parameters()).device)
    gen = make_generator(seed, device)
    stop = [s for s in stop if s]
    texts, reasons = [""] * n, ["length"] * n
    live = [True] * n
    kernels = kernels_worth_it(n * length) if kernels is None else kernels
    compiled_draw = None
    if compiled and kernels and top_k == 0 and top_p >= 1.0 and temperature > 0 \
            and device.type == "cpu":
        from ..fast import draw_numba

        if draw_numba.available():          # one compiled call instead of ~10 small ops
            compiled_draw = draw_numba.draw
    with torch.no_grad():
        step = stepper(net, n, device, compiled, kernels)
        ids = start_ids(codec, prompt)
        for value in ids[:-1]:
            step(torch.full((n,), value, dtype=torch.long, device=device))
        current = torch.full((n,), ids[-1], dtype=torch.long, device=device)
        for _ in range(length):
            logits = step(current)
            if compiled_draw is not None and report:   # the same draw either way
                current, logp, probs = compiled_draw(logits, gen, temperature, report=True)
            elif compiled_draw is not None:
                current, logp = compiled_draw(logits, gen, temperature)
                probs = None
            elif report:
                current, logp, probs = draw_reporting(logits, gen, temperature, top_k, top_p)
            else:
                current, logp = draw(logits, gen, temperature, top_k, top_p)
                probs = None
            best = None if probs is None else _candidates(codec, probs, top)
            values, logps = current.tolist(), logp.tolist()
            for i in range(n):
                if not live[i]:
                    continue
                char = codec.vocab[values[i]]
                texts[i] += char
                yield TextDelta(i, char, logps[i], None if best is None else best[i])
                if any(texts[i].endswith(s) for s in stop):
                    live[i], reasons[i] = False, "stop"
            if not any(live):
                break
    yield TextDone(texts, reasons)


def _candidates(codec, probs, top: int) -> list[list[tuple[str, float]]]:
    """Per stream, the `top` likeliest (character, probability) of the distribution the
    values were drawn from (probs (B, V)); characters it excludes (probability 0) are left
    out."""
    p, index = probs.topk(max(1, min(top, probs.shape[-1])), dim=-1)
    return [[(codec.vocab[i], q) for i, q in zip(row_i, row_p) if q > 0]
            for row_i, row_p in zip(index.tolist(), p.tolist())]
