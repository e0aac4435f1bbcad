"""Text sampling, character by character, for any character language model."""
from __future__ import annotations

from collections.abc import Iterator, Sequence

from .draw import distribution, draw, draw_reporting
from .events import TextDelta, TextDone


def start_ids(codec, prompt: str) -> list[int]:
    """Encode the prompt; an empty prompt starts after a newline (the start of a line)."""
    if prompt:
        return list(codec.encode(prompt))
    start = "\n" if "\n" in codec.vocab else codec.vocab[0]
    return list(codec.encode(start))


def stepper(net, batch: int, device, compiled: bool = True):
    """A function ids (B,) -> next-character logits (B, V) that carries the model's state.

    The LSTM steps with fused gate weights (app/core/fast/lstm_fused.py) and the Transformer
    with a preallocated KV cache, compiled on the CPU (app/core/fast/gpt_numba.py), in
    plain tensor ops elsewhere (app/core/fast/gpt_fused.py), unless `compiled=False`;
    otherwise the net's own step (recurrent state or KV cache) is used.
    """
    import torch

    from ..nets.charlm import CharGPT, CharLSTM

    if compiled and isinstance(net, CharLSTM):
        from ..fast.lstm_fused import FusedLSTM

        # int8 gate weights on the CPU, where reading the weights is the step's cost.
        return FusedLSTM(net, batch, device, int8=True).step
    if compiled and isinstance(net, CharGPT):
        from ..fast import gpt_numba
        from ..fast.gpt_fused import FusedGPT

        if torch.device(device).type == "cpu" and gpt_numba.available():
            return gpt_numba.CompiledGPT(net, batch).step

        return FusedGPT(net, batch, device).step
    state = net.begin(batch, device)
    return lambda ids: net.step(state, ids)


def sample_text(net, codec, prompt: str = "", length: int = 200, temperature: float = 1.0,
                top_k: int = 0, top_p: float = 1.0, seed: int | None = None, n: int = 1,
                stop: Sequence[str] = (), device=None, compiled: bool = True,
                report: bool = False, top: int = 10) -> Iterator[TextDelta | TextDone]:
    """Yield a TextDelta per new character per live stream, then TextDone.

    A stream ends when it has produced `length` characters or its text ends with a stop
    string (the stop string is kept in the text). With `report` each TextDelta also names
    the `top` likeliest characters of the distribution it was drawn from (.candidates); the
    draws are the same either way.
    """
    import torch

    from ..devices import make_generator

    device = torch.device(device or next(net.parameters()).device)
    gen = make_generator(seed, device)
    stop = [s for s in stop if s]
    texts, reasons = [""] * n, ["length"] * n
    live = [True] * n
    compiled_draw = None
    if compiled and top_k == 0 and top_p >= 1.0 and temperature > 0 and device.type == "cpu":
        from ..fast import draw_numba

        if draw_numba.available():          # one compiled call instead of ~10 small ops
            compiled_draw = draw_numba.draw
    with torch.no_grad():
        step = stepper(net, n, device, compiled)
        ids = start_ids(codec, prompt)
        for value in ids[:-1]:
            step(torch.full((n,), value, dtype=torch.long, device=device))
        current = torch.full((n,), ids[-1], dtype=torch.long, device=device)
        for _ in range(length):
            logits = step(current)
            if compiled_draw is not None:      # the same draw whether reporting or not
                current, logp = compiled_draw(logits, gen, temperature)
                probs = distribution(logits, current, temperature)[0] if report else None
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
