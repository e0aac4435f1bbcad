"""The PixelCNN's per-pixel work compiled with numba: horizontal stack, head and the draw.

With the row cache a pixel costs only ~20k multiply-adds per layer, so eager PyTorch spends
nearly all its time on per-op overhead rather than arithmetic (~3 ms a pixel for one image).
This runs the arithmetic of app/core/nets/pixelcnn_cache.py for all layers in one compiled
call per pixel, on the same memory as the PyTorch cache; for a batch of images each layer's
products are matrix products through torch's own BLAS (`sgemm_`, called from the compiled
loop), which runs them near the machine's peak where the loops reach a third of it. The
once-per-row vertical stack's
convolutions stay in PyTorch (they run as fast as the forward pass's); its elementwise rest
is one compiled call per layer (`finish_row`).
"""
from __future__ import annotations

import functools

import numpy as np

from ..nets import pixelcnn_cache
from .vecmath import _gates, _jit, _pick, available, exp_inplace  # noqa: F401  (available: re-exported)


@_jit
def _layer(h_in, col, pad, w_h, row_bias, w_out, b_out, residual, out, pre, z, powers, bits,
           scales):
    """One horizontal layer at column `col` for every image; writes (B, h) into out.
    powers, bits and scales: scratch for the gates' vectorised exp (vecmath._gates)."""
    batch, _, cin = h_in.shape
    two_h = w_h.shape[1]
    h = two_h // 2
    for b in range(batch):
        pre[b] = row_bias[b, col]
    # Four images per weight row: each row is loaded once for the four (the same sums, in
    # the same order, as one image at a time).
    quads = batch - batch % 4
    for b in range(0, quads, 4):
        p0, p1, p2, p3 = pre[b], pre[b + 1], pre[b + 2], pre[b + 3]
        for t in range(pad + 1):
            for c in range(cin):
                x0, x1 = h_in[b, col + t, c], h_in[b + 1, col + t, c]
                x2, x3 = h_in[b + 2, col + t, c], h_in[b + 3, col + t, c]
                w = w_h[t * cin + c]
                for k in range(two_h):
                    wk = w[k]
                    p0[k] += x0 * wk
                    p1[k] += x1 * wk
                    p2[k] += x2 * wk
                    p3[k] += x3 * wk
    for b in range(quads, batch):
        pb = pre[b]
        for t in range(pad + 1):
            for c in range(cin):
                x = h_in[b, col + t, c]
                w = w_h[t * cin + c]
                for k in range(two_h):
                    pb[k] += x * w[k]
    for b in range(batch):
        _gates(pre[b], z, powers, bits, scales)
        out[b, :] = b_out
        if residual:
            out[b, :] += h_in[b, col + pad]
        for k in range(h):
            zk = z[k]
            for j in range(h):
                out[b, j] += zk * w_out[k, j]


@_jit
def _pixel(col, h_in0, pad0, w_h0, h_rest, pad, w_h_rest, row_bias, w_out, b_out,
           w1, b1, w2, b2, uniforms, inv_temperature, greedy, logits, values, pick):
    """All layers, the head and (with `pick`) the draw for one sub-pixel of every image."""
    batch = h_in0.shape[0]
    hidden = w_out.shape[1]
    out = np.empty((batch, hidden), np.float32)
    pre = np.empty((batch, 2 * hidden), np.float32)
    z = np.empty(hidden, np.float32)
    powers = np.empty(2 * hidden, np.float32)
    bits = np.empty(2 * hidden, np.int32)
    scales = bits.view(np.float32)
    _layer(h_in0, col, pad0, w_h0, row_bias[0], w_out[0], b_out[0], False, out, pre, z,
           powers, bits, scales)
    for i in range(h_rest.shape[0]):
        h_rest[i, :, col + pad, :] = out          # this layer's input at the current pixel
        _layer(h_rest[i], col, pad, w_h_rest[i], row_bias[i + 1], w_out[i + 1], b_out[i + 1],
               True, out, pre, z, powers, bits, scales)
    head = np.empty(w1.shape[1], np.float32)
    for b in range(batch):
        head[:] = b1
        for k in range(hidden):
            x = max(out[b, k], 0.0)
            if x != 0.0:
                for j in range(head.shape[0]):
                    head[j] += x * w1[k, j]
        logits[b, :] = b2
        for j in range(head.shape[0]):
            x = max(head[j], 0.0)
            if x != 0.0:
                for v in range(logits.shape[1]):
                    logits[b, v] += x * w2[j, v]
        if pick:
            values[b] = np.argmax(logits[b]) if greedy else _pick(logits[b], inv_temperature,
                                                                  uniforms[b])


@_jit
def _finish_layer(v_pre, link, h_static, cond_h, row_bias, cond_v, pos_v, next_v_in, next_row,
                  q, powers, bits):
    """The vertical stack's per-row work after its convolutions, in one call (it was a dozen
    small PyTorch ops per layer and row): v_pre, link (B, 2h, W); the biases h_static
    (1 or B, W, 2h), cond_h, cond_v (B, 2h), pos_v (1 or B, 2h, W) (the Subscale Pixel
    Network's differ per image). Writes the next row's horizontal biases into row_bias
    (B, W, 2h), and the gated output into
    next_v_in[:, :, next_row, q:q+W] unless next_v_in is empty. Every loop runs along
    contiguous memory, and the gates' exp is one call over the whole row (powers and bits:
    scratch of B*2h*W), so it vectorises: the same arithmetic per element as `_gates`."""
    batch, two_h, width = v_pre.shape
    h = two_h // 2
    for b in range(batch):
        hs = h_static[b if h_static.shape[0] > 1 else 0]
        for w in range(width):
            for k in range(two_h):
                row_bias[b, w, k] = link[b, k, w] + hs[w, k] + cond_h[b, k]
    if next_v_in.shape[0] == 0:
        return
    for b in range(batch):
        pv = pos_v[b if pos_v.shape[0] > 1 else 0]
        for k in range(two_h):
            scale = np.float32(-2.0) if k < h else np.float32(-1.0)
            o = (b * two_h + k) * width
            c = cond_v[b, k]
            for w in range(width):
                powers[o + w] = (v_pre[b, k, w] + c + pv[k, w]) * scale
    exp_inplace(powers, batch * two_h * width, bits, bits.view(np.float32))
    for b in range(batch):
        for k in range(h):
            o, g = (b * two_h + k) * width, (b * two_h + h + k) * width
            out = next_v_in[b, k, next_row]
            for w in range(width):
                e = powers[o + w]
                out[q + w] = (np.float32(1.0) - e) / ((np.float32(1.0) + e)
                                                      * (np.float32(1.0) + powers[g + w]))


def finish_row(net, cache, row: int) -> None:
    """pixelcnn_cache.finish_row with its elementwise work compiled: the convolutions stay
    in PyTorch (they run at the forward pass's speed); the rest is `_finish_layer`."""
    width = net.config.width
    layers = cache.layers
    if row + 1 >= net.config.height:       # no row below reads it (as pixelcnn_cache's)
        for lc in layers:
            lc.h_in.zero_()
        return
    powers = bits = None
    for i, (layer, lc) in enumerate(zip(net.layers, layers)):
        v_pre = layer.v_conv(lc.v_in[:, :, row:row + lc.pad + 1])         # (B, 2h, 1, W)
        batch, two_h = v_pre.shape[:2]
        if powers is None:
            powers = np.empty(batch * two_h * width, np.float32)         # scratch for the gates
            bits = np.empty(batch * two_h * width, np.int32)
        pre = v_pre.numpy().reshape(batch, two_h, width)
        link = layer.v_to_h(v_pre).numpy().reshape(batch, two_h, width)
        h_static = lc.h_static[row + 1].numpy()
        pos_v = lc.pos_v[row].numpy()
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        _finish_layer(
            pre, link, h_static.reshape(-1, width, two_h), lc.cond_h.numpy().reshape(-1, two_h),
            cache.row_bias[i].numpy(), lc.cond_v.numpy().reshape(-1, two_h),
            pos_v.reshape(-1, two_h, width),
            np.empty((0, 0, 0, 0), np.float32) if nxt is None else nxt.v_in.numpy(),
            row + (nxt.pad if nxt else 0), nxt.pad if nxt else 0, powers, bits)
        lc.h_in.zero_()


@_jit
def _gemm(sgemm, a, lda, b, c, beta, work_i, work_f, no_transpose):
    """c (m, n) = a (m, k; row stride lda) @ b (k, n) + beta * c, through BLAS sgemm_
    (column-major: c^T = b^T a^T). a may be a strided view (rows lda floats apart)."""
    m, n = c.shape
    k = b.shape[0]
    work_i[0], work_i[1], work_i[2] = n, m, k
    work_i[3], work_i[4], work_i[5] = n, lda, c.strides[0] // 4
    work_f[0], work_f[1] = 1.0, beta
    sgemm(no_transpose.ctypes.data, no_transpose.ctypes.data, work_i[0:].ctypes.data,
          work_i[1:].ctypes.data, work_i[2:].ctypes.data, work_f[0:].ctypes.data,
          b.ctypes.data, work_i[3:].ctypes.data, a.ctypes.data, work_i[4:].ctypes.data,
          work_f[1:].ctypes.data, c.ctypes.data, work_i[5:].ctypes.data)


@_jit
def _pixel_blas(sgemm, col, h_in0, pad0, w_h0, h_rest, pad, w_h_rest, row_bias, w_out, b_out,
                w1, b1, w2, b2, uniforms, inv_temperature, greedy, logits, values, pick):
    """_pixel with each layer's products as matrix products over all images (BLAS): the
    same arithmetic, summed in BLAS's order."""
    batch = h_in0.shape[0]
    hidden = w_out.shape[1]
    work_i = np.empty(6, np.int32)
    work_f = np.empty(2, np.float32)
    no_transpose = np.full(1, 78, np.uint8)            # "N"
    pre = np.empty((batch, 2 * hidden), np.float32)
    z = np.empty((batch, hidden), np.float32)
    out = np.empty((batch, hidden), np.float32)
    powers = np.empty(2 * hidden, np.float32)
    bits = np.empty(2 * hidden, np.int32)
    scales = bits.view(np.float32)
    for layer in range(w_out.shape[0]):
        if layer == 0:
            source, p = h_in0, pad0
            weights = w_h0
        else:
            source, p = h_rest[layer - 1], pad
            weights = w_h_rest[layer - 1]
            source[:, col + p, :] = out               # this layer's input at the pixel
        for b in range(batch):
            pre[b] = row_bias[layer, b, col]
        _gemm(sgemm, source[:, col:, :], source.shape[1] * source.shape[2], weights, pre,
              1.0, work_i, work_f, no_transpose)
        for b in range(batch):
            _gates(pre[b], z[b], powers, bits, scales)
        for b in range(batch):
            out[b] = b_out[layer]
            if layer > 0:
                out[b] += source[b, col + p]
        _gemm(sgemm, z, hidden, w_out[layer], out, 1.0, work_i, work_f, no_transpose)
    for b in range(batch):
        for k in range(hidden):
            out[b, k] = max(out[b, k], 0.0)
    head = np.empty((batch, w1.shape[1]), np.float32)
    for b in range(batch):
        head[b] = b1
    _gemm(sgemm, out, hidden, w1, head, 1.0, work_i, work_f, no_transpose)
    for b in range(batch):
        for j in range(head.shape[1]):
            head[b, j] = max(head[b, j], 0.0)
        logits[b] = b2
    _gemm(sgemm, head, head.shape[1], w2, logits, 1.0, work_i, work_f, no_transpose)
    if pick:
        for b in range(batch):
            values[b] = np.argmax(logits[b]) if greedy else _pick(logits[b], inv_temperature,
                                                                  uniforms[b])


@functools.cache
def load_sgemm():
    """torch's own BLAS sgemm_ (MKL in the CPU wheels), for the compiled loops to call; None
    where this torch does not export it (the loops then do their own products)."""
    import ctypes
    import os

    import torch

    path = os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so")
    try:
        sgemm = ctypes.CDLL(path).sgemm_
    except (OSError, AttributeError):
        return None
    sgemm.restype = None
    sgemm.argtypes = [ctypes.c_void_p] * 13
    return sgemm


def compiles(net) -> bool:
    """Whether these kernels implement `net`'s layers: the Gated PixelCNN's only."""
    from ..nets.pixelcnn import GatedPixelCNN

    return isinstance(net, GatedPixelCNN)


# From this many images on, each layer's products go through BLAS as matrix products (the
# weights then serve all images at once); a few images are quicker in the loops above.
BLAS_BATCH = 4


class CompiledPixelCNN:
    """The PyTorch row cache's state, with the per-pixel part run by `_pixel`."""

    def __init__(self, net, batch: int, labels):
        import torch

        with torch.no_grad():
            self.cache = pixelcnn_cache.begin(net, batch, labels, torch.device("cpu"))
        self.net = net
        layers = self.cache.layers
        f = lambda t: np.ascontiguousarray(t.detach().numpy(), dtype=np.float32)
        self.w_h0 = f(layers[0].w_h)
        self.w_h_rest = np.stack([f(lc.w_h) for lc in layers[1:]])
        self.w_out = np.stack([f(lc.w_out) for lc in layers])
        self.b_out = np.stack([f(lc.b_out) for lc in layers])
        self.head = [tuple(f(t) for t in h) for h in self.cache.head]
        # Views of the cache's own buffers: PyTorch (rows) and numba (pixels) share them.
        self.h_in0 = layers[0].h_in.numpy()
        self.h_rest = self.cache.rest.numpy()
        self.row_bias = self.cache.row_bias.numpy()
        self.pad0, self.pad = layers[0].pad, layers[1].pad if len(layers) > 1 else 0
        self.logits = np.empty((batch, net.config.levels), np.float32)
        # A logistic-mixture head: the kernel writes each sub-pixel's 3K numbers here, and
        # PyTorch turns them into the levels' log-probabilities (vectorised over the batch,
        # far quicker than per-level loops of exp and log) before the draw.
        self.mixture_levels = net.config.levels if getattr(net.config, "mixture", 0) else 0
        self.raw = np.empty((batch, self.head[0][2].shape[1]), np.float32) \
            if self.mixture_levels else self.logits
        self.values = np.empty(batch, np.int64)
        self.sgemm = load_sgemm() if batch >= BLAS_BATCH else None

    def draw(self, col: int, channel: int, uniforms: np.ndarray, temperature: float):
        """Draw sub-pixel (current row, col, channel) for every image -> (values, logits)."""
        w1, b1, w2, b2 = self.head[channel]
        uniforms = np.ascontiguousarray(uniforms, dtype=np.float32)
        inv_t, greedy, pick = np.float32(1.0 / max(temperature, 1e-8)), temperature <= 0, \
            not self.mixture_levels
        if self.sgemm is not None:
            _pixel_blas(self.sgemm, col, self.h_in0, self.pad0, self.w_h0, self.h_rest,
                        self.pad, self.w_h_rest, self.row_bias, self.w_out, self.b_out,
                        w1, b1, w2, b2, uniforms, inv_t, greedy, self.raw, self.values, pick)
        else:
            _pixel(col, self.h_in0, self.pad0, self.w_h0, self.h_rest, self.pad,
                   self.w_h_rest, self.row_bias, self.w_out, self.b_out, w1, b1, w2, b2,
                   uniforms, inv_t, greedy, self.raw, self.values, pick)
        if self.mixture_levels:
            self._draw_from_mixture(uniforms, temperature)
        return self.values, self.logits

    def _draw_from_mixture(self, uniforms: np.ndarray, temperature: float) -> None:
        """The levels' log-probabilities from the kernel's mixture numbers, then the draw
        the PyTorch path makes (sampling/draw.py: the same uniforms, the same choice)."""
        import torch

        from ..nets.logistic_mixture import mixture_log_probs
        from ..sampling.draw import pick, shape_logits

        logp = mixture_log_probs(torch.from_numpy(self.raw), self.mixture_levels)
        self.logits[:] = logp.numpy()
        if temperature <= 0:
            chosen = logp.argmax(-1)
        else:
            chosen = pick(shape_logits(logp, temperature).log_softmax(-1).exp(),
                          torch.from_numpy(uniforms))
        self.values[:] = chosen.numpy()

    def set_value(self, row: int, col: int, channel: int, values) -> None:
        import torch

        with torch.no_grad():
            pixelcnn_cache.set_value(self.net, self.cache, row, col, channel,
                                     torch.as_tensor(values), finish=finish_row)
