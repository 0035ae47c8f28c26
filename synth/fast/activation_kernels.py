"""The numba loops behind synth/fast/activations.py, at module level so that numba's cache finds them again
in the next process (a loop that closes over another compiled function is compiled anew in each)."""

from __future__ import annotations

import functools

import numba
import numpy as np
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
FASTMATH = {"nnan", "ninf", "nsz", "contract"}
jit = functools.partial(numba.njit, nogil=True, boundscheck=False, error_model="numpy", cache=True)


@jit(fastmath=FASTMATH, inline="always")
def exp_parts(x):
    """(2**n, expm1(r)) with x = n·ln2 + r, n an integer, |r| ≤ ln2/2; x in [-87, 88]."""
    n = (x * f32(1.4426950408889634) + f32(12582912.0)) - f32(12582912.0)  # nearest integer
    r = x - n * f32(0.693359375) - n * f32(-2.12194440e-4)  # ln2 in two parts: r is exact
    p = ((((f32(1 / 5040) * r + f32(1 / 720)) * r + f32(1 / 120)) * r + f32(1 / 24)) * r + f32(1 / 6)) * r
    p = p + f32(0.5)  # expm1(r) = r + r²·p: Taylor to r⁷, within 1e-8 here
    return float_from_bits((np.int32(n) + np.int32(127)) << np.int32(23)), p * r * r + r


@jit("void(float32[::1], float32[::1], float32)", fastmath=FASTMATH)
def elu(source, target, alpha):
    for i in range(source.size):
        v = source[i]
        # exp(-18) - 1 rounds to -1 in fp32; max(v, 0) + alpha·expm1(min(v, 0)) needs no branch.
        power, p = exp_parts(min(max(v, f32(-18.0)), f32(0.0)))
        target[i] = max(v, f32(0.0)) + alpha * (power * p + (power - f32(1.0)))


@jit("void(float32[::1], float32[::1])", fastmath=FASTMATH)
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


@jit("int16(int16)", inline="always")
def _ordered(bits):
    """A bf16 value's bits as an int16 that orders as the values do (negative values' magnitude bits flipped)."""
    return bits ^ ((bits >> np.int16(15)) & np.int16(0x7FFF))


@jit("UniTuple(int16, 2)(int16[::1], int16[::1])")
def bf16_limits(first, second):
    """The bits of the smallest and largest value of two runs of bf16 values (NaN-free), by integer
    comparisons, which vectorize."""
    low, high = np.int16(32767), np.int16(-32768)
    for i in range(first.size):
        key = _ordered(first[i])
        low, high = min(low, key), max(high, key)
    for i in range(second.size):
        key = _ordered(second[i])
        low, high = min(low, key), max(high, key)
    return _ordered(low), _ordered(high)  # the mapping is its own inverse


@jit("void(int16[::1], float32, int32, int32, uint8[::1])")
def u8_table(values, inverse, zero, qmax, table):
    """table[bits + 2**15]: the bf16 value values[bits + 2**15] rounded onto 0..qmax (x·inverse, half to even, + zero)."""
    for i in range(table.size):
        v = float_from_bits((np.int32(values[i]) & np.int32(0xFFFF)) << np.int32(16))
        q = np.int32(np.rint(v * inverse)) + zero
        table[i] = min(max(q, np.int32(0)), qmax)


@jit("void(int16[::1], int16[::1], uint8[::1], uint8[::1])")
def u8_lookup(first, second, table, out):
    """Two runs of bf16 values, one after the other, through a 65,536-entry table into bytes."""
    n = first.size
    for i in range(n):
        out[i] = table[first[i] + 32768]
    for i in range(second.size):
        out[n + i] = table[second[i] + 32768]
