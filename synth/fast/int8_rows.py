"""Int8 linear layers that quantize each row on its own: pocket-tts's int8 backbone on a batch, each row as a
call on that row alone would round it, and the Mimi decoder transformer's layers in int8, a time step at a time."""

from __future__ import annotations

import functools

import numpy as np
import torch

from pocket_batch.core.cpu import Cpu
from pocket_batch.synth.fast.internals import packed_weight_bias, per_tensor_quantized


def int8_per_row(module: torch.nn.Module, onednn: bool | None = None) -> None:
    """Swap every int8 Linear under `module` for an Int8PerRow with the same weights (`onednn`: see Int8PerRow).

    pocket-tts's int8 (torch.ao dynamic quantization, fbgemm) picks one activation scale per
    call: on a batch, a row's rounding would depend on the rows beside it, and called a row at
    a time it reads the layer's weights once per row (16 rows: 16 x 150 us, where one call on
    all 16 takes 900 us). The swap is for good; the new layers hold the old ones' weights.
    """
    from torch.ao.nn.quantized.dynamic import Linear as DynamicInt8Linear

    _swap(module, DynamicInt8Linear, lambda layer: Int8PerRow.of(layer, onednn))


def int8_per_step(module: torch.nn.Module) -> None:
    """Swap every float Linear under `module` for an Int8PerStep, its weights rounded to int8 as torch.ao's
    dynamic quantization rounds them (one symmetric scale per tensor)."""
    _swap(module, torch.nn.Linear, Int8PerStep.rounded)


def _swap(module: torch.nn.Module, kind: type, replacement) -> None:
    """Every submodule of exactly type `kind` under `module` replaced, in place, by `replacement(it)`."""
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is kind:
                setattr(parent, name, replacement(child))


class Int8PerRow(torch.nn.Module):
    """An int8 Linear for a batch in one call, each row quantized on its own.

    A row gets the scale and zero point fbgemm would choose for that row alone
    (ChooseQuantizationParams over [min, max] widened to 0, onto 0..127 as pocket-tts's
    reduce_range asks) and is rounded to those integers. fbgemm then multiplies all rows by
    the weights in one call: an anchor row holding 0 and 127 makes the call's own scale
    exactly 1 and zero point 0, so the integers go through unchanged, and the weights are
    packed again at scale 1, so fbgemm returns each output's integer sum itself (a 7-bit
    input times int8 weights, summed exactly in int32; exact in float32 below 2^24). Each row's
    zero point is then taken off those sums and the row scaled back with its own scale, in
    float32 as fbgemm does: its result depends on that row alone, and matches a single-row
    call up to float rounding. The rows are rounded by one compiled loop (`_quantize_kernel`).

    Where the CPU has AMX's int8 tiles, oneDNN computes the same integer sums instead (`onednn`),
    exactly as well, so the audio is the same bytes either way. Its product is 1.4-1.8x faster
    than fbgemm's at a step's 16 rows and 3x at a prompt's 64 (the whole layer 0.9-1.3x and
    1.5-1.9x; the pipeline 5%); without AMX it is no faster (docs/performance.md).
    """

    QMAX = 127  # reduce_range: 7-bit activations, so fbgemm's int16 pair sums cannot saturate

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, onednn: bool | None = None):
        """`weight`: int8, one scale per tensor; `onednn`: sum with oneDNN rather than fbgemm (None: where the
        CPU has int8 tiles)."""
        super().__init__()
        if weight.qscheme() != torch.per_tensor_affine:
            raise TypeError(f"int8 weights quantized {weight.qscheme()}; pocket-tts uses one scale per tensor")
        self.out_features, self.in_features = weight.shape
        self.weight_scale, self.weight_zero = weight.q_scale(), weight.q_zero_point()
        ints = weight.int_repr()
        self.bias = None if bias is None else bias.detach()
        # per output, the sum of its weights around their zero point (summed as integers: no wide copy)
        self.weight_sums = (ints.sum(1, dtype=torch.int64) - self.in_features * self.weight_zero).float()
        # The weights packed once, for one engine only (a second copy would cost a worker 72 MB).
        self.onednn = None  # oneDNN's packed weights, their scales (1) and zero points (0)
        self.packed = None  # fbgemm's: the same integers at scale 1, so its output is the integer sums
        if (Cpu.this().int8_tiles if onednn is None else onednn) and self.weight_zero == 0:
            out = self.out_features
            self.onednn = (torch.ops.onednn.qlinear_prepack(ints, None), torch.ones(out), torch.zeros(out, dtype=torch.long))
        else:
            self.packed = torch.ops.quantized.linear_prepack(per_tensor_quantized(ints, 1.0, self.weight_zero), None)
        self.inputs: torch.Tensor | None = None  # the rows' integers, then fbgemm's anchor

    @classmethod
    def of(cls, layer, onednn: bool | None = None):
        """The same weights as a torch.ao dynamic int8 Linear (pocket-tts's int8)."""
        return cls(*packed_weight_bias(layer), onednn)

    @classmethod
    def rounded(cls, linear: torch.nn.Linear, onednn: bool | None = None):
        """A float Linear's weights rounded to int8 as torch.ao's dynamic quantization rounds them, to the
        same integers: one symmetric scale per tensor (the largest magnitude over 127.5, in float32), each
        weight times its inverse, rounded half to even."""
        weight = linear.weight.detach().float()
        scale = (weight.abs().max() / 127.5).clamp(min=torch.finfo(torch.float32).eps)
        ints = torch.round(weight * (1 / scale)).clamp_(-128, 127).to(torch.int8)
        bias = None if linear.bias is None else linear.bias.detach().float()
        return cls(per_tensor_quantized(ints, float(scale), 0), bias, onednn)

    def weight(self) -> torch.Tensor:
        """The int8 weights at their scale, as torch.ao's Linear.weight() (pocket-tts reads its device)."""
        if self.onednn is None:
            ints = torch.ops.quantized.linear_unpack(self.packed)[0].int_repr()
        else:
            ints = self.onednn[0].to_dense().t()  # oneDNN packs them transposed
        return per_tensor_quantized(ints, self.weight_scale, self.weight_zero)

    def extra_repr(self) -> str:
        engine = "fbgemm" if self.onednn is None else "onednn"
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 per row ({engine})"

    def _input(self, batch: int, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
        """fbgemm's input for `rows` rows (the rows' integers, then the anchor), and the rows' part as [batch, -1].
        One kept, for the last size asked: a step's, every step; a prefill's differs with each prompt."""
        if self.inputs is None or self.inputs.shape[0] != rows + 1:
            self.inputs = torch.zeros(rows + 1, self.in_features)
            self.inputs[rows, 0] = self.QMAX
        return self.inputs, self.inputs[:-1].view(batch, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, k = x.shape[0], x.shape[-1]
        flat = x.reshape(batch, -1).float().contiguous()  # a row's scale covers all its positions, as one stock call's
        inputs, q = self._input(batch, flat.numel() // k)
        low, high = flat.amin(1), flat.amax(1)  # (torch.aminmax: the same, 8x slower here)
        zero, scale = torch.empty(batch, 1), torch.empty(batch, 1)
        _quantize_kernel()(flat.numpy(), low.numpy(), high.numpy(), self.QMAX, np.float32(self.weight_scale),
                           q.numpy(), zero.numpy()[:, 0], scale.numpy()[:, 0])
        sums = self._sums(inputs).view(batch, -1, self.out_features)
        out = sums.addcmul_(zero[:, :, None], self.weight_sums, value=-1).mul_(scale[:, :, None])
        if self.bias is not None:
            out += self.bias
        return out.view(*x.shape[:-1], self.out_features)

    def _sums(self, inputs: torch.Tensor) -> torch.Tensor:
        """Each row's integer sums with the weights (as float32), the anchor row left out."""
        if self.onednn is None:
            return torch.ops.quantized.linear_dynamic(inputs, self.packed, True)[:-1]
        weights, scales, zeros = self.onednn
        rows = inputs[:-1].to(torch.uint8)  # 0..127: no anchor needed, the scale is given
        return torch.ops.onednn.qlinear_pointwise(rows, 1.0, 0, weights, scales, zeros, None, 1.0, 0,
                                                  torch.float32, "none", [], "")


class Int8PerStep(Int8PerRow):
    """Int8PerRow with each time step of a sequence quantized on its own, for Mimi's decoder transformer.

    The decoder decodes one chunk at a time, many steps a call: a scale per step, rather than one per call,
    keeps a step's result the same whatever the call's length, and follows the signal's level step by
    step. Its input may be bf16 (the bf16 decoder): the products run in int8 all the same, and the result
    comes back in the input's type."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = super().forward(x.reshape(-1, 1, x.shape[-1]))
        return steps.view(*x.shape[:-1], self.out_features).to(x.dtype)


@functools.cache
def _quantize_kernel():
    """Each row onto 0..QMAX with its own scale and zero point, by a compiled loop.

    fbgemm's ChooseQuantizationParams over the row's [min, max] (`lows`, `highs`) widened to 0, in
    double as it computes them; then each value times 1 / scale, plus the zero point, rounded half to
    even and clamped, each step in float32 as PyTorch's operations, one after another, round them (no
    fused multiply-add): the same integers. As a dozen small tensor and numpy operations this took
    about a third of an int8 layer's time at a step's 16 rows.
    """
    import numba

    @numba.njit("void(float32[:, ::1], float32[::1], float32[::1], int64, float32, float32[:, ::1], float32[::1], "
                "float32[::1])", nogil=True, cache=True, error_model="numpy")
    def kernel(rows, lows, highs, qmax, weight_scale, q, zero_out, scale_out):
        for r in range(rows.shape[0]):
            row = rows[r]
            lo, hi = np.float64(lows[r]), np.float64(highs[r])  # widened to 0 (NaN stays NaN)
            lo = 0.0 if lo > 0 else lo
            hi = 0.0 if hi < 0 else hi
            scale = np.float32((hi - lo) / qmax)
            if scale == 0 or np.isinf(np.float32(1) / scale):
                scale = np.float32(0.1)
            wide = np.float64(scale)
            # the zero point from whichever end of the range rounds with the smaller error, as fbgemm
            zero = -lo / wide if abs(lo / wide) < qmax + abs(hi / wide) else qmax - hi / wide
            if zero < 0:
                zero = 0.0
            elif zero > qmax:
                zero = np.float64(qmax)
            point = np.float32(np.rint(zero))
            inverse = np.float32(1) / scale
            for i in range(row.shape[0]):
                v = np.rint(np.float32(row[i] * inverse) + point)
                if v < 0:
                    v = np.float32(0.0)
                elif v > qmax:
                    v = np.float32(qmax)
                q[r, i] = v
            zero_out[r] = point
            scale_out[r] = scale * weight_scale

    return kernel
