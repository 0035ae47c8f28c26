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
            return _elementwise(kernels().lookup, x, _bits, self.table)
        if x.dtype == torch.float32 and self.fp32 is not None:
            return _elementwise(self.fp32, x, torch.Tensor.numpy)
        return self.fn(x)


@functools.cache
def elu(alpha: float) -> Activation:
    return Activation(functools.partial(F.elu, alpha=alpha),
                      functools.partial(kernels().elu, alpha=np.float32(alpha)))


@functools.cache
def gelu_tanh() -> Activation:
    """pocket-tts's transformers' GELU (tanh approximation)."""
    return Activation(functools.partial(F.gelu, approximate="tanh"), kernels().gelu_tanh)


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


def activationkernels():
    return kernels()


@functools.cache
def kernels():
    from pocket_batch.synth.fast import activation_kernels  # numba, and its compiled loops from the cache, when first used

    return activation_kernels
