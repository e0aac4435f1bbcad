"""The int8 LSTM step's cell as one compiled call (lstm_fused.py): the nine small PyTorch
ops it replaces cost more than their arithmetic. Kept apart so that the fused LSTM loads
numba only when it is worth loading (sampling.text.kernels_worth_it)."""
from __future__ import annotations

import numpy as np

from . import vecmath
from .vecmath import available  # noqa: F401  (re-exported)


@vecmath.jit
def cell(gates, c, h, bits, scales):
    """In place, per stream: gates (B, 4H) in order i f o g -> c = f c + i g, h = o tanh(c),
    with sigmoid and tanh from vecmath's exp (within 2.5e-7 of exact)."""
    n = c.shape[1]
    for b in range(gates.shape[0]):
        g = gates[b]
        for k in range(3 * n):
            g[k] = -g[k]
        for k in range(3 * n, 4 * n):
            g[k] = np.float32(-2.0) * g[k]
        vecmath.exp_inplace(g, 4 * n, bits, scales)
        cb, hb = c[b], h[b]
        for k in range(n):
            i = np.float32(1.0) / (np.float32(1.0) + g[k])
            f = np.float32(1.0) / (np.float32(1.0) + g[n + k])
            e = g[3 * n + k]
            cb[k] = f * cb[k] + i * (np.float32(1.0) - e) / (np.float32(1.0) + e)
        for k in range(n):
            g[k] = np.float32(-2.0) * cb[k]
        vecmath.exp_inplace(g, n, bits, scales)
        for k in range(n):
            o = np.float32(1.0) / (np.float32(1.0) + g[2 * n + k])
            hb[k] = o * (np.float32(1.0) - g[k]) / (np.float32(1.0) + g[k])
