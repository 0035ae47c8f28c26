"""Attention for one new position of one row, over its cached past, in fp32: the backbone's every step.

PyTorch's CPU attention takes such a query through its general kernel: a matrix product for the
scores, and for the values one that first copies them into a packed buffer. The past is a few MB a
row (keys and values of 16 heads by some hundreds of positions), read from memory at each step, so
the copy is what costs: here each key and each value is read once, in place (one core, 300
positions, cold caches: 144 µs a call against 218). The result is the same attention summed in
another order: it differs from PyTorch's by a few units in the last place.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch


def attend(q: torch.Tensor, cache: torch.Tensor, start: int, end: int, out: torch.Tensor) -> None:
    """Into `out` [H, D]: softmax(q·kᵀ/√D)·v for the query `q` [H, D] over positions [start, end) of `cache`,
    a row's keys and values ([2, 1, Hkv, T, D], contiguous).

    The heads share their key-value head in groups of H/Hkv, as `repeat_interleave` shares them.
    """
    _kernel()(q.contiguous().numpy(), cache.numpy(), start, end, 1 / math.sqrt(q.shape[-1]), out.numpy())


@functools.cache
def _kernel():
    import numba

    @numba.njit("void(float32[:, ::1], float32[:, :, :, :, ::1], int64, int64, float64, float32[:, ::1])",
                nogil=True, fastmath=True, boundscheck=False, cache=True)
    def kernel(q, cache, start, end, scale, out):
        heads, dim = q.shape
        group = heads // cache.shape[2]
        scores = np.empty(end - start, np.float32)
        for h in range(heads):
            k, v = cache[0, 0, h // group], cache[1, 0, h // group]
            top = np.float32(-np.inf)
            for t in range(start, end):
                dot = np.float32(0.0)
                for d in range(dim):
                    dot += q[h, d] * k[t, d]
                scores[t - start] = dot * np.float32(scale)
                top = max(top, scores[t - start])
            total = np.float32(0.0)
            for d in range(dim):
                out[h, d] = 0.0
            for t in range(start, end):
                weight = np.exp(scores[t - start] - top)
                total += weight
                for d in range(dim):
                    out[h, d] += weight * v[t, d]
            for d in range(dim):
                out[h, d] /= total

    return kernel
