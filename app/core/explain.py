"""See the chain rule: for every element x_i of an image, a sound or a text, the distribution
p(x_i | x_<i) the model computes and the bits -log2 p(x_i | x_<i) of the actual value.

`score(bundle, data)` is the one entry point; whatever the kind, the per-element bits add up
to what `chainrule eval` reports for the same input (eval's figure is their mean):

- PixelCNN, PixelRNN, Subscale Pixel Network: one forward pass gives every conditional, the
  same pass `eval` (net.nll) takes; the order is the net's own (`chain_order`: raster for
  the first two, slice after slice for the SPN), channels R -> G -> B within a pixel.
- any-order model: its figure depends on the order the pixels are revealed in. This scores
  one order exactly (default: a random order, seed 0, one pass per sub-pixel). `eval` on
  such a model reports a stochastic estimate (one random visible set per image) of the
  average over random orders of this figure, which is an upper bound on the image's
  negative log-likelihood, not an exact one: its bits match `eval` on average over orders
  (tests/core/test_explain.py checks it exactly by enumerating every order of a tiny image),
  not for any one order.
- audio and text: the first element is given (conditioned on nothing, and not scored), as
  the first value of each of eval's windows is; every later one is conditioned on all those
  before it back to the start of its window. Windows are those of `chainrule eval --data
  FILE`: `window` targets each (EVAL_WINDOW), each window starting afresh from its first
  value, the previous window's last target. eval drops a last partial window; here it is
  scored too, so the sums match exactly when len - 1 is a multiple of the window.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import UserError
from .registry import ORDERS, kind_spec

LN2 = math.log(2.0)
# Targets per window of `chainrule eval --data FILE` (app/core/training/folders.py, _PREPARE);
# a Transformer's windows are at most its context.
EVAL_WINDOW = {"audio": 4000, "text": 256}
ANYORDER_DEFAULT = "random"
PASS_ITEMS = 32               # any-order: (image, revealed prefix) pairs in one batched pass


class ExplainError(UserError, ValueError):
    """Input that cannot be scored by this model (its shape, its values, its order)."""


@dataclass
class Score:
    """Per element: its value, its bits, the distribution it was scored under.

    Images: element arrays are (n, C, H, W). Sequences: (n, T - 1), element j being input
    position j + `offset` (offset 1: the first value is given, not scored).
    """

    kind: str
    modality: str
    unit: str                  # bits/dim, bits/sample or bits/char: the unit of mean_bits
    value: np.ndarray          # int64: each element's actual value
    bits: np.ndarray           # float64: -log2 p(x_i | x_<i)
    entropy_bits: np.ndarray   # float64: entropy of p(. | x_<i), in bits
    top_values: np.ndarray     # int64 (..., k): the k likeliest values, likeliest first
    top_probs: np.ndarray      # float32 (..., k): their probabilities
    probs: np.ndarray | None   # float32 (..., levels or vocabulary): every p(v | x_<i)
    order: str                 # "raster", the SPN's slice order, an any-order order, "time"
    steps: np.ndarray | None = None   # images: (D, 3) (row, col, channel) in chain-rule order
    offset: int = 0            # sequences: bits[:, j] is input position j + offset
    window: int | None = None  # sequences: targets per window (context restarts)

    @property
    def total_bits(self) -> float:
        return float(self.bits.sum())

    @property
    def mean_bits(self) -> float:
        """In the kind's unit; what `chainrule eval` reports for the same input."""
        return float(self.bits.mean())

    @property
    def item_bits(self) -> np.ndarray:
        """Total bits of each image, sound or text: (n,)."""
        return self.bits.reshape(self.bits.shape[0], -1).sum(1)


def score(bundle, data, labels=None, order=None, device=None, *, top: int = 10,
          window: int | None = None, seed: int = 0, keep_probs: bool = True) -> Score:
    """Score `data` element by element with `bundle` (a loaded checkpoint.Bundle).

    data: images as levels (n, C, H, W) or (C, H, W); audio as mu-law levels (n, T) or (T,);
    text as a str, a list of equally long strs, or ids (n, T). labels: class(es) of
    conditional image nets (None = 'any'). order: any-order models only: a name of
    registry.ORDERS (default "random", drawn with `seed`; channels R -> G -> B within a
    pixel), an (H*W, 2) array of (row, col) pixels or a (C*H*W, 3) array of (row, col,
    channel) sub-pixels; other image nets take their own order only. window: sequences only
    (default EVAL_WINDOW). top: candidates kept per element. keep_probs=False leaves out the
    full distributions (Score.probs None), which long audio would make large.

    Raises ExplainError (a UserError) for input the model cannot score.
    """
    import torch

    spec = kind_spec(bundle.kind)
    net = bundle.net
    device = torch.device(device or next(net.parameters()).device)
    was_training = net.training
    net.eval()                          # as eval scores: no dropout
    try:
        return _score(spec, net, bundle.codec, data, labels, order, device, top, window, seed,
                      keep_probs)
    finally:
        net.train(was_training)


def _score(spec, net, codec, data, labels, order, device, top: int, window: int | None,
           seed: int, keep_probs: bool) -> Score:
    import torch

    with torch.no_grad():
        if spec.modality == "image":
            if window is not None:
                raise ExplainError("a window is for audio and text; an image has none")
            logp, x, name, steps = _image_logp(net, codec, data, labels, order, device, seed)
            extra: dict = {"steps": steps}
        else:
            if labels is not None or order is not None:
                raise ExplainError(f"{spec.article} takes no label and no order")
            x = _sequence(codec, data, spec.modality)
            size = _window(net, window, spec.modality)
            logp, name = _sequence_logp(net, x.to(device), size, spec.modality), "time"
            x, extra = x[:, 1:], {"offset": 1, "window": size}
        return _finish(spec, logp, x.to(logp.device), name, top, keep_probs, extra)


def _finish(spec, logp, x, order: str, top: int, keep_probs: bool, extra: dict) -> Score:
    """logp: log-probabilities with the values last, (*x.shape, V); x: the values."""
    k = max(1, min(top, logp.shape[-1]))
    logp = logp.float()
    probs = logp.exp()
    bits = -logp.gather(-1, x[..., None])[..., 0].double() / LN2
    entropy = -(probs * logp).nan_to_num().sum(-1).double() / LN2   # 0 * log 0 counts as 0
    top_p, top_v = probs.topk(k, dim=-1)
    return Score(spec.kind, spec.modality, spec.unit, x.cpu().numpy(), bits.cpu().numpy(),
                 entropy.cpu().numpy(), top_v.cpu().numpy(), top_p.cpu().numpy(),
                 probs.cpu().numpy() if keep_probs else None, order, **extra)


# ----- images ---------------------------------------------------------------------------
def _image_logp(net, codec, data, labels, order, device, seed: int):
    """(log p (n, C, H, W, L), values (n, C, H, W), order name, steps (D, 3))."""
    from .sampling.image import resolve_labels

    x = _image_levels(codec, data).to(device)
    n, channels, height, width = x.shape
    try:
        y = resolve_labels(net, n, labels, device)
    except ValueError as err:
        raise ExplainError(str(err)) from None
    spec = kind_spec(net.config.kind)
    if spec.fixed_order is None:                     # any-order: the order is an input
        steps, name = _anyorder_steps(order, (channels, height, width), seed)
        logits = _anyorder_logits(net, x, y, steps)
    else:
        if order is not None and (not isinstance(order, str)
                                  or order not in (spec.fixed_order, ORDERS[0])):
            raise ExplainError(f"{spec.article} scores in {spec.fixed_order} order only")
        steps = _with_channels(net.chain_order(height, width).numpy(), channels)
        name = spec.fixed_order
        return net.level_log_probs(x, y).movedim(1, -1), x, name, steps  # every conditional
    return logits.log_softmax(1).movedim(1, -1), x, name, steps


def _image_levels(codec, data):
    import torch

    x = torch.as_tensor(np.asarray(data))
    if x.dim() == 3:
        x = x[None]
    shape = (codec.channels, codec.height, codec.width)
    if x.dim() != 4 or tuple(x.shape[1:]) != shape or x.shape[0] == 0:
        raise ExplainError(f"expected images of shape (n, {', '.join(map(str, shape))}) as "
                           f"levels, got {tuple(x.shape)}")
    return _checked_levels(x, codec.levels)


def _checked_levels(x, levels: int):
    import torch

    if x.dtype.is_floating_point or x.dtype == torch.bool or x.dtype.is_complex:
        raise ExplainError(f"expected integer levels, got {x.dtype}")
    x = x.long()
    if x.numel() and (int(x.min()) < 0 or int(x.max()) >= levels):
        raise ExplainError(f"levels must lie in 0..{levels - 1}, got {int(x.min())}.."
                           f"{int(x.max())}")
    return x


def _anyorder_steps(order, shape: tuple[int, int, int], seed: int
                    ) -> tuple[np.ndarray, str]:
    """(row, col, channel) of every sub-pixel, (D, 3), in the order they are revealed, and
    the order's name. `order`: a name of ORDERS (channels R -> G -> B within a pixel), or an
    array of (row, col) pixels (H*W, 2) or of (row, col, channel) sub-pixels (D, 3)."""
    from .sampling.orders import fill_order

    channels, height, width = shape
    if order is None or isinstance(order, str):
        name = order or ANYORDER_DEFAULT
        if name not in ORDERS:
            raise ExplainError(f"unknown order '{name}' (known: {', '.join(ORDERS)})")
        cells = fill_order(np.ones((height, width), bool), name, np.random.default_rng(seed))
        return _with_channels(cells, channels), name
    steps = np.asarray(order, dtype=np.int64)
    if steps.ndim == 2 and steps.shape[1] == 2 and len(steps) == height * width:
        steps = _with_channels(steps, channels)
    ok = steps.ndim == 2 and steps.shape == (channels * height * width, 3) \
        and (steps >= 0).all() and (steps < np.array([height, width, channels])).all()
    if not ok or len(np.unique(steps, axis=0)) != len(steps):
        raise ExplainError(f"an order must list each of the {height}x{width} pixels once as "
                           f"(row, col), or each of the {channels * height * width} "
                           "sub-pixels once as (row, col, channel)")
    return steps, "given"


def _with_channels(cells, channels: int) -> np.ndarray:
    """(row, col) pixels (N, 2) -> (row, col, channel) sub-pixels (N*C, 3), R -> G -> B."""
    cells = np.asarray(cells, dtype=np.int64)
    return np.array([(r, c, ch) for r, c in cells.tolist() for ch in range(channels)],
                    np.int64).reshape(-1, 3)


def _anyorder_logits(net, x, y, steps: np.ndarray):
    """Logits (n, L, C, H, W) of each sub-pixel given those revealed before it in the order
    of `steps` (D, 3). The revealed prefixes of many steps go through one batched pass
    (about PASS_ITEMS images x prefixes at a time)."""
    import torch

    n, channels, height, width = x.shape
    dims = channels * height * width
    rank = torch.empty(channels, height, width, dtype=torch.long)
    rows, cols, chans = (torch.as_tensor(steps[:, i]) for i in range(3))
    rank[chans, rows, cols] = torch.arange(dims)
    rank = rank.to(x.device)
    where = rank.reshape(-1).argsort()              # flat sub-pixel index of each step
    out = torch.empty(n, net.config.levels, dims, device=x.device)
    per_pass = max(1, PASS_ITEMS // n)
    for start in range(0, dims, per_pass):
        t = torch.arange(start, min(start + per_pass, dims), device=x.device)
        visible = (rank[None] < t[:, None, None, None])                    # (m, C, H, W)
        m = len(t)
        xs = x.repeat_interleave(m, 0)                                     # (n*m, C, H, W)
        vs = visible.repeat(n, 1, 1, 1)
        ys = None if y is None else y.repeat_interleave(m, 0)
        logits = net(xs, vs, ys).reshape(n, m, net.config.levels, dims)
        pos = where[t]                                                     # (m,)
        index = pos.view(1, m, 1, 1).expand(n, m, net.config.levels, 1)
        out[:, :, pos] = logits.gather(3, index)[..., 0].transpose(1, 2)  # step j at pos[j]
    return out.reshape(n, net.config.levels, channels, height, width)


# ----- sequences ------------------------------------------------------------------------
def _sequence(codec, data, modality: str):
    """Values (n, T) as a long tensor, T >= 2."""
    import torch

    if isinstance(data, str):
        data = [data]
    texts = isinstance(data, (list, tuple)) and data and all(isinstance(t, str) for t in data)
    if texts and modality != "text":
        raise ExplainError(f"expected {modality} as integer levels, got text")
    if texts:
        unknown = set().union(*(codec.unknown_chars(t) for t in data))
        if unknown and not codec.unknown:
            raise ExplainError(f"the text has characters this model never saw: "
                               f"{''.join(sorted(unknown))!r}")
        if len({len(t) for t in data}) != 1:
            raise ExplainError("texts scored together must be equally long")
        data = np.stack([codec.encode(t) for t in data])
    x = torch.as_tensor(np.asarray(data))
    if x.dim() == 1:
        x = x[None]
    if x.dim() != 2 or x.shape[0] == 0 or x.shape[1] < 2:
        what = "characters" if modality == "text" else "samples"
        raise ExplainError(f"need at least 2 {what} (the first is given, the rest scored), "
                           f"got shape {tuple(x.shape)}")
    levels = codec.size if modality == "text" else codec.levels
    return _checked_levels(x, levels)


def _window(net, window: int | None, modality: str) -> int:
    size = EVAL_WINDOW[modality] if window is None else int(window)
    if size < 1:
        raise ExplainError(f"a window must be 1 or more targets, got {size}")
    context = getattr(net.config, "context", None)      # a Transformer sees no further
    return min(size, context) if context else size


def _sequence_logp(net, x, window: int, modality: str):
    """log p of every value after the first, (n, T - 1, V), each window on its own."""
    import torch

    n, length = x.shape
    full = (length - 1) // window                       # windows of `window` targets
    parts = []
    if full:                                            # all at once, as one batch
        rows = x[:, :full * window + 1].unfold(1, window + 1, window)   # (n, full, w + 1)
        logp = _next_logp(net, rows.reshape(n * full, window + 1), modality)
        parts.append(logp.reshape(n, full * window, -1))
    if full * window < length - 1:                      # the rest: one shorter window
        parts.append(_next_logp(net, x[:, full * window:], modality))
    return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]


def _next_logp(net, span, modality: str):
    """log p (B, T - 1, V) of span[:, 1:] given the values before each, from span[:, 0]."""
    out = net(span[:, :-1])
    logits = out[0] if isinstance(out, tuple) else out        # the LSTM also gives its state
    if modality == "audio":
        logits = logits.transpose(1, 2)                        # WaveNet: (B, levels, T)
    return logits.log_softmax(-1)
