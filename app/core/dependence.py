"""Which earlier pixels one pixel's distribution depends on: the size of the gradient of
log p(x_i | x_<i) (the actual value's) with respect to every input pixel.

Only pixels before x_i in the drawing order can have any (the model is causal in its
order); within those, the gradient shows how far the model actually looks: a PixelCNN's
receptive field with its blind spots, an any-order model reaching across the image. Nets
that see the image through `scale_input` (PixelCNN, PixelRNN, both stages of depth
upscaling) or an input layer over the whole image (any-order) are covered; the Subscale
Pixel Network sees slices and is not. A depth-upscaling net's fine bits see the whole coarse
image, so there a pixel's value depends on pixels after it too (through their coarse bits).
"""
from __future__ import annotations

import numpy as np

from .errors import UserError
from .registry import kind_spec


class DependenceError(UserError, ValueError):
    """A model or pixel whose dependence cannot be shown."""


def supports_dependence(kind: str) -> bool:
    spec = kind_spec(kind)
    return spec.modality == "image" and spec.fixed_order in (None, "raster")


def dependence(bundle, levels: np.ndarray, label, row: int, col: int, channel: int = 0,
               steps=None, device=None) -> np.ndarray:
    """(H, W) float64: per pixel, the summed |d log p(x[channel,row,col] | its past) / d
    input|, its channels added; 0 outside the pixel's past. levels (C, H, W); `steps` (D, 3)
    is an any-order model's drawing order (ignored by the others)."""
    import torch

    from .sampling.image import resolve_labels

    if not supports_dependence(bundle.kind):
        raise DependenceError(f"{kind_spec(bundle.kind).article} sees the image in slices; "
                              "its dependence is not shown")
    net = bundle.net
    device = torch.device(device or next(net.parameters()).device)
    x = torch.as_tensor(np.asarray(levels, np.int64)[None], device=device)
    value = int(levels[channel, row, col])
    y = resolve_labels(net, 1, label, device)
    was_training = net.training
    net.eval()
    try:
        with torch.enable_grad():
            if kind_spec(bundle.kind).fixed_order is None:
                grad = _anyorder_grad(net, x, y, row, col, channel, value, steps)
            else:
                grad = _raster_grad(net, x, y, row, col, channel, value)
    finally:
        net.train(was_training)
    return grad


def _raster_grad(net, x, y, row: int, col: int, channel: int, value: int) -> np.ndarray:
    leaves = []

    def as_leaf(scale):
        def scaled(values):
            # The module's own scaling, as a leaf the gradient stops at (levels are integers).
            leaves.append(scale(values).detach().requires_grad_(True))
            return leaves[-1]
        return scaled

    # Every part that reads the image scales it first: one part for most nets; a depth-
    # upscaling net's two stages and its encoder of the coarse image each do.
    readers = [m for m in net.modules() if callable(getattr(m, "scale_input", None))]
    for module in readers:
        module.scale_input = as_leaf(module.scale_input)  # an instance attribute shadows it
    try:
        logp = net.level_log_probs(x, y)
    finally:
        for module in readers:
            del module.scale_input
    logp[0, value, channel, row, col].backward()
    grads = [leaf.grad[0].abs().sum(0) for leaf in leaves if leaf.grad is not None]
    return sum(grads).double().cpu().numpy()


def _anyorder_grad(net, x, y, row: int, col: int, channel: int, value: int,
                   steps) -> np.ndarray:
    import torch

    channels, height, width = x.shape[1:]
    if steps is None:
        raise DependenceError("an any-order model's dependence needs the drawing order")
    steps = np.asarray(steps, np.int64).reshape(-1, 3)
    rank = np.empty((channels, height, width), np.int64)
    rank[steps[:, 2], steps[:, 0], steps[:, 1]] = np.arange(len(steps))
    visible = torch.as_tensor(rank < rank[channel, row, col], device=x.device)[None]
    leaf = {}

    def take(_module, args):
        leaf["x"] = args[0].detach().requires_grad_(True)
        return (leaf["x"],)

    hook = net.inp.register_forward_pre_hook(take)
    try:
        logits = net.logits_at(x, visible, y, row, col, channel)
    finally:
        hook.remove()
    logits.log_softmax(-1)[0, value].backward()
    # The first C input channels are the revealed values; hidden ones were zeroed before.
    grad = leaf["x"].grad[0, :channels].abs() * visible[0]
    return grad.sum(0).double().cpu().numpy()
