"""The decoder's ELU and tanh-GELU, faster than PyTorch's on CPU: by table in bf16, by a vector loop in fp32.

PyTorch computes expm1 or tanh for every element (one core: ELU 1.5 ns an element in bf16 on
AVX-512, 2.9 ns in fp32 on AVX2; GELU 2.1 in bf16). Mimi's decoder applies them to every sample of
every channel, an eighth of its time in fp32.

bf16: a bf16 number has 65,536 possible values, so a function of one is a 128 KB table, filled by
PyTorch's own kernel; a numba loop over the raw 16-bit values looks it up in 0.3-0.6 ns and gives
the bits PyTorch's vector loop gives. (Its scalar loop, for what is left of a tensor after whole
runs of 64 values, can round a few values otherwise; the decoder's tensors are whole runs.)

fp32: a numba loop that LLVM turns into vector code, around an exp of its own (the nearest power
of two times a degree-7 polynomial, Cephes' reduction): 0.6-0.7 ns an element. It is as close to the
exact result as PyTorch's (within 6e-8 absolute, 1e-7 relative), and rounds otherwise than
PyTorch's Sleef for about one element in 70, by one unit in the last place.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Callable

import numpy as np
import torch
from torch.nn import functional as F


class Activation:
    """`fn` by table on bf16 tensors and by `fp32` (a numba loop over dense memory) on fp32; otherwise `fn` itself."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], fp32: Callable | None = None):
        self.fn, self.fp32 = fn, fp32
        every = torch.arange(-2 ** 15, 2 ** 15, dtype=torch.int32).to(torch.int16).view(torch.bfloat16)
        values = fn(every)
        if values.dtype != torch.bfloat16 or values.shape != every.shape:
            raise ValueError("a lookup table holds a bf16 function of one bf16 argument")
        self.table = np.ascontiguousarray(_bits(values))  # indexed by the argument's bits + 2**15

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.bfloat16:
            return _elementwise(_kernels().lookup, x, _bits, self.table)
        if x.dtype == torch.float32 and self.fp32 is not None:
            return _elementwise(self.fp32, x, torch.Tensor.numpy)
        return self.fn(x)


@functools.cache
def elu(alpha: float) -> Activation:
    return Activation(functools.partial(F.elu, alpha=alpha),
                      functools.partial(_kernels().elu, alpha=np.float32(alpha)))


@functools.cache
def gelu_tanh() -> Activation:
    """pocket-tts's transformers' GELU (tanh approximation)."""
    return Activation(functools.partial(F.gelu, approximate="tanh"), _kernels().gelu_tanh)


def _elementwise(kernel: Callable, x: torch.Tensor, as_array: Callable, *args) -> torch.Tensor:
    """`kernel(source, target, *args)` over x's memory into a new tensor with x's strides."""
    if not _dense(x):
        x = x.clone()  # dense, its dimensions in the same order in memory
    out = torch.empty_like(x)  # with x's strides: the same element at the same place in memory
    kernel(as_array(_flat(x)), as_array(_flat(out)), *args)
    return out


def _dense(x: torch.Tensor) -> bool:
    """Whether the elements fill a block of memory, each once, in any order of dimensions."""
    expected = 1
    for stride, size in sorted((t, s) for s, t in zip(x.shape, x.stride()) if s != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def _flat(x: torch.Tensor) -> torch.Tensor:
    """A dense tensor's memory in storage order, as one dimension."""
    return x.as_strided((x.numel(),), (1,))


def _bits(x: torch.Tensor) -> np.ndarray:
    return x.view(torch.int16).numpy()


@functools.cache
def _kernels():
    import numba
    from llvmlite import ir
    from numba.core import types
    from numba.core.extending import intrinsic

    @intrinsic
    def float_from_bits(typingctx, bits):
        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], ir.FloatType())
        return types.float32(types.int32), codegen

    f32 = np.float32
    # Contracting a*b+c into one FMA, and min/max with no NaN to care for: vector code. Not
    # reassociation, which would undo the rounding trick below.
    fastmath = {"nnan", "ninf", "nsz", "contract"}
    jit = functools.partial(numba.njit, nogil=True, boundscheck=False, error_model="numpy", cache=True)

    @jit(fastmath=fastmath, inline="always")
    def exp_parts(x):
        """(2**n, expm1(r)) with x = n·ln2 + r, n an integer, |r| ≤ ln2/2; x in [-87, 88]."""
        n = (x * f32(1.4426950408889634) + f32(12582912.0)) - f32(12582912.0)  # nearest integer
        r = x - n * f32(0.693359375) - n * f32(-2.12194440e-4)  # ln2 in two parts: r is exact
        p = ((((f32(1 / 5040) * r + f32(1 / 720)) * r + f32(1 / 120)) * r + f32(1 / 24)) * r + f32(1 / 6)) * r
        p = p + f32(0.5)  # expm1(r) = r + r²·p: Taylor to r⁷, within 1e-8 here
        return float_from_bits((np.int32(n) + np.int32(127)) << np.int32(23)), p * r * r + r

    @jit("void(float32[::1], float32[::1], float32)", fastmath=fastmath)
    def elu(source, target, alpha):
        for i in range(source.size):
            v = source[i]
            # exp(-18) - 1 rounds to -1 in fp32; max(v, 0) + alpha·expm1(min(v, 0)) needs no branch.
            power, p = exp_parts(min(max(v, f32(-18.0)), f32(0.0)))
            target[i] = max(v, f32(0.0)) + alpha * (power * p + (power - f32(1.0)))

    @jit("void(float32[::1], float32[::1])", fastmath=fastmath)
    def gelu_tanh(source, target):
        for i in range(source.size):
            v = source[i]
            # 0.5·v·(1 + tanh(u)) = v / (1 + exp(-2u)), u = √(2/π)·(v + 0.044715·v³)
            e = f32(-1.5957691216057308) * (v + f32(0.044715) * v * v * v)
            power, p = exp_parts(min(max(e, f32(-87.0)), f32(88.0)))
            target[i] = v / (f32(1.0) + (power * p + power))

    @jit("void(int16[::1], int16[::1], int16[::1])")
    def lookup(source, target, table):
        for i in range(source.size):
            target[i] = table[source[i] + 32768]

    return SimpleNamespace(elu=elu, gelu_tanh=gelu_tanh, lookup=lookup)
