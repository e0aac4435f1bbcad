"""What the compiled loops share: the optional numba, how they are compiled, a vectorisable
float32 exp, the gated activation built on it, and the inverse-CDF draw.

libm's scalar expf and tanhf cost ~10-20 ns a call, more than all the arithmetic around
them in the WaveNet gates and the attention softmax. Here e^x = 2^n * p(r), with
r = x - n ln 2 in [-ln2/2, ln2/2] (ln 2 in two parts, so r is exact to float32), p the
degree-6 Taylor polynomial of e^r (relative error < 2e-7), and 2^n built from its float32
bits. Plain arithmetic in straight loops, so the compiler runs it 16 lanes at a time.
"""
from __future__ import annotations

from types import ModuleType

import numpy as np

numba: ModuleType | None     # the module, or None where it is not installed
try:
    import numba
except ImportError:              # the samplers fall back to their PyTorch steps
    numba = None


def available() -> bool:
    return numba is not None


def jit(fn):
    """Compile `fn` (cached on disk); without numba it stays plain Python, unused."""
    # nogil: a compiled loop runs for milliseconds; holding the interpreter lock that long
    # would starve the window's thread (its timers and repaints wait for every chunk).
    return numba.njit(cache=True, fastmath=False, nogil=True)(fn) if numba is not None else fn


_jit = jit


@_jit
def exp_inplace(values, n, bits, scales):
    """values[:n] = exp(values[:n]); `bits` (int32) and `scales` (a float32 view of the same
    memory) are scratch of at least n. Inputs below -87 give ~1e-38, above 88 give ~1.7e38."""
    for k in range(n):
        x = min(max(values[k], np.float32(-87.0)), np.float32(88.0))
        m = np.floor(x * np.float32(1.4426950408889634) + np.float32(0.5))
        r = x - m * np.float32(0.693145751953125) - m * np.float32(1.4286068203094173e-06)
        values[k] = np.float32(1.0) + r * (np.float32(1.0) + r * (np.float32(0.5) + r * (
            np.float32(1 / 6) + r * (np.float32(1 / 24) + r * (np.float32(1 / 120)
                                                            + r * np.float32(1 / 720))))))
        bits[k] = (np.int32(m) + np.int32(127)) << np.int32(23)
    for k in range(n):
        values[k] *= scales[k]


@_jit
def _gates(pre, z, powers, bits, scales):
    """z = tanh(pre[:d]) * sigmoid(pre[d:]), both from one vectorised exp
    (`exp_inplace`).

    libm's scalar tanh and exp took almost half of a WaveNet sample's time. Here
    tanh(a) = (1 - e^-2a) / (1 + e^-2a) and sigmoid(g) = 1 / (1 + e^-g): absolute error
    under 2.5e-7 over all inputs (tests/core/test_fast_paths.py), float32 rounding's size.
    """
    d = z.shape[0]
    for k in range(d):
        powers[k] = pre[k] * np.float32(-2.0)
        powers[d + k] = -pre[d + k]
    exp_inplace(powers, 2 * d, bits, scales)
    for k in range(d):
        e = powers[k]
        z[k] = (np.float32(1.0) - e) / ((np.float32(1.0) + e) * (np.float32(1.0) + powers[d + k]))


@_jit
def _pick(logits, inv_temperature, u):
    """Softmax at a temperature, then the inverse-CDF draw of app/core/sampling/draw.pick."""
    v = logits.shape[0]
    top = -np.inf
    for i in range(v):
        top = max(top, logits[i] * inv_temperature)
    cdf = np.empty(v, np.float32)
    total = np.float32(0.0)
    for i in range(v):
        total += np.float32(np.exp(logits[i] * inv_temperature - top))
        cdf[i] = total
    target = min(np.float32(u) * total, np.nextafter(total, np.float32(0.0)))
    for i in range(v):
        if cdf[i] > target:
            return i
    return v - 1
