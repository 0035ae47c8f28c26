"""Mimi's SEANet decoder with pocket-tts's own weights and streaming rule, run channels-last.

pocket-tts runs the decoder's 1-D convolutions on [B, C, T] tensors. On CPU, oneDNN wants
the channels innermost: each call reorders its input and output, and the transposed
convolutions take a slow path (one core, 16 frames: the last one, 128 to 64 channels over
7680 steps, took 33-49 ms against 16). Here the same layers run as 2-D convolutions over
[1, C, 1, T] tensors stored channels-last ([1, 1, T, C] in memory), so nothing is
reordered. The arithmetic is the same; oneDNN only sums in a different order (float
rounding). One row at a time, as BatchedGenerator decodes. In bfloat16 (`dtype`) the
weights, activations and streaming state are held in bf16: on a CPU with native bf16
(AVX512_BF16, AMX) oneDNN's convolutions run about twice as fast; elsewhere they are emulated and slow.

Given the length of a full call (`steps`), each layer's weights are laid out for oneDNN once
(`pack`): through F.conv2d oneDNN reorders every weight on every call, a tenth of SEANet's time.
A call of another length (a chunk's last) still works; oneDNN reorders for it then. bf16 weights are
laid out only where oneDNN computes in bf16 (AVX-512); elsewhere F.conv2d emulates it as before.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch.nn import functional as F

from pocket_batch.core.cpu import Cpu

from pocket_batch.synth.fast.internals import (can_pack_conv_weight, init_states, effective_kernel_size, pack_conv_weight, packed_conv,
                                          seanet_layer_classes)
from pocket_batch.synth.fast.activations import Activation, elu, kernels


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """[N, C, T] as [N, C, 1, T], channels innermost in memory (free if it already is)."""
    return x.unsqueeze(2).contiguous(memory_format=torch.channels_last)


class _Streaming:
    """What a StreamingConv1d carries from call to call: its input's last `history` steps (zeros before the
    first call, or the first step repeated where the layer pads by replication)."""

    in_channels: int
    history: int
    replicate: bool
    dtype: torch.dtype

    def initial(self) -> dict:
        return {"previous": channels_last(torch.zeros(1, self.in_channels, self.history, dtype=self.dtype)),
                "first": True}

    def _carried(self, x: torch.Tensor, state: dict) -> torch.Tensor:
        """The steps to put before `x`; `x`'s own last ones are kept for the next call."""
        previous = state["previous"]
        if self.replicate and state["first"]:
            previous = x[..., :1].expand_as(previous)
        kept = x if x.shape[-1] >= self.history else torch.cat([previous, x], dim=-1)
        state["previous"], state["first"] = kept[..., -self.history:].clone(), False
        return previous


class _Conv(_Streaming):
    """StreamingConv1d: the previous `history` steps are kept and put before the next input."""

    def __init__(self, layer, dtype: torch.dtype):
        conv = layer.conv
        self.weight = channels_last(conv.weight.detach().to(dtype))
        self.bias = None if conv.bias is None else conv.bias.detach().to(dtype)
        self.dtype = dtype
        self.stride, self.dilation, self.groups = conv.stride[0], conv.dilation[0], conv.groups
        self.history = effective_kernel_size(layer) - self.stride
        self.in_channels = conv.in_channels
        self.replicate = layer.pad_mode == "replicate"
        self.packed = None

    def pack(self, steps: int) -> int:
        """Lay the weights out for calls of `steps` input steps; the steps such a call puts out."""
        length = steps + self.history
        kernel = self.weight.shape[-1]
        self.packed = pack_conv_weight(self.weight, (1, self.in_channels, 1, length), self.stride, self.dilation,
                                       self.groups)
        self.weight = None  # oneDNN's copy is the one used
        return (length - self.dilation * (kernel - 1) - 1) // self.stride + 1

    def __call__(self, x: torch.Tensor, state: dict) -> torch.Tensor:
        if self.history:
            x = torch.cat([self._carried(x, state), x], dim=-1)
        if self.packed is not None:
            return packed_conv(x, self.packed, self.bias, self.stride, self.dilation, self.groups)
        return F.conv2d(x, self.weight, self.bias, stride=(1, self.stride), dilation=(1, self.dilation),
                        groups=self.groups)


class _ConvTranspose:
    """StreamingConvTranspose1d: the output's overlapping tail waits for the next call."""

    def __init__(self, layer, dtype: torch.dtype):
        convtr = layer.convtr
        self.weight = channels_last(convtr.weight.detach().to(dtype))
        self.bias = None if convtr.bias is None else convtr.bias.detach().to(dtype)
        self.dtype = dtype
        self.stride, self.groups = convtr.stride[0], convtr.groups
        self.tail = convtr.kernel_size[0] - self.stride
        self.in_channels, self.out_channels = convtr.in_channels, convtr.out_channels
        self.packed = None

    def pack(self, steps: int) -> int:
        self.packed = pack_conv_weight(self.weight, (1, self.in_channels, 1, steps), self.stride, 1, self.groups,
                                       transposed=True)
        self.weight = None
        return steps * self.stride

    def initial(self) -> dict:
        return {"partial": channels_last(torch.zeros(1, self.out_channels, self.tail, dtype=self.dtype))}

    def __call__(self, x: torch.Tensor, state: dict) -> torch.Tensor:
        if self.packed is not None:
            y = packed_conv(x, self.packed, self.bias, self.stride, 1, self.groups, transposed=True)
        else:
            y = F.conv_transpose2d(x, self.weight, self.bias, stride=(1, self.stride), groups=self.groups)
        if not self.tail:
            return y
        y[..., : self.tail] += state["partial"]
        partial = y[..., -self.tail:].clone()
        if self.bias is not None:
            partial -= self.bias[:, None, None]
        state["partial"] = partial
        return y[..., : -self.tail]


class _Int8Conv(_Streaming):
    """A StreamingConv1d, or a transposed one as its polyphase convolution, in int8 through oneDNN, with
    the ELU before it (if any) applied as its input is rounded.

    The weights are rounded to int8 with a scale per output channel. Each call's input, history
    included, is rounded with one scale and zero point for the call onto 0..255 where the CPU sums
    int8 products straight into int32 (VNNI), else 0..127 (a pair sum in int16 cannot saturate);
    oneDNN sums the products in int32 and returns them scaled, in the decoder's type. In bf16 the
    rounding is a table: each of the 65,536 bf16 values, through the ELU's own table, to its byte.

    The convolution is one matrix product, each output step's input steps side by side in a row (oneDNN's
    int8 product ran at 380-450 GFLOP/s on these shapes, its int8 convolution at 300-390). A transposed
    convolution of stride s and kernel 2s is the convolution of kernel 2 over [x[t-1], x[t]] whose
    s·C outputs at step t are the outputs at t·s .. t·s+s-1: channels-last, that output already is the
    upsampled sequence in memory, and the previous call's last step is the history that stands for
    the overlapping tail the transposed form carries over.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, stride: int, dilation: int,
                 history: int, replicate: bool, dtype: torch.dtype, upsample: int = 1):
        """`weight` [C out, C in, 1, K]; `upsample`: s for a transposed convolution's polyphase form."""
        weight = weight.detach().float()
        scales = (weight.abs().amax(dim=(1, 2, 3)) / 127).clamp(min=torch.finfo(torch.float32).eps)
        ints = torch.round(weight / scales[:, None, None, None]).clamp_(-127, 127).to(torch.int8)
        # as one product: each output step's K input steps side by side ([T, K·C in], tap by tap) times [K·C in, C out]
        self.packed = torch.ops.onednn.qlinear_prepack(ints[:, :, 0].permute(0, 2, 1).reshape(ints.shape[0], -1), None)
        self.scales, self.zeros = scales, torch.zeros(scales.numel(), dtype=torch.long)
        self.bias = None if bias is None else bias.detach().float()
        self.kernel, self.stride, self.dilation = weight.shape[-1], stride, dilation
        self.history, self.replicate = history, replicate
        self.in_channels, self.dtype, self.upsample = weight.shape[1], dtype, upsample
        self.qmax = 255 if Cpu.this().int8_dot else 127
        self.elu: Activation | None = None  # the ELU before this convolution, applied as the input is rounded
        self.table = np.empty(1 << 16, np.uint8)

    @classmethod
    def of(cls, layer, dtype: torch.dtype):
        conv = layer.conv
        if conv.groups != 1:
            raise TypeError("int8 convolutions here have one group")
        return cls(conv.weight[:, :, None], conv.bias, conv.stride[0], conv.dilation[0],
                   effective_kernel_size(layer) - conv.stride[0], layer.pad_mode == "replicate", dtype)

    @classmethod
    def transposed(cls, layer, dtype: torch.dtype):
        convtr = layer.convtr
        weight, s = convtr.weight.detach(), convtr.stride[0]  # [C in, C out, 2s]
        if convtr.groups != 1 or weight.shape[-1] != 2 * s:
            raise TypeError("int8 transposed convolutions here have one group and a kernel of twice the stride")
        c_in, c_out = weight.shape[:2]
        # output (m, c) at step t: weight[:, c, m] times x[t], plus weight[:, c, m + s] times x[t-1]
        taps = torch.stack([weight[:, :, s:], weight[:, :, :s]], dim=-1)  # [C in, C out, s, (x[t-1], x[t])]
        polyphase = taps.permute(2, 1, 0, 3).reshape(s * c_out, c_in, 1, 2)
        bias = None if convtr.bias is None else convtr.bias.detach().repeat(s)
        return cls(polyphase, bias, 1, 1, 1, False, dtype, upsample=s)

    def pack(self, steps: int) -> int:
        return steps * self.upsample

    def __call__(self, x: torch.Tensor, state: dict) -> torch.Tensor:
        previous = self._carried(x, state) if self.history else x[..., :0]
        q, scale, zero = self._rounded(previous, x)  # [T, C in]
        span = self.dilation * (self.kernel - 1) + 1
        windows = q.unfold(0, span, self.stride)[:, :, :: self.dilation]  # [T out, C in, K]
        y = torch.ops.onednn.qlinear_pointwise(windows.transpose(1, 2).reshape(windows.shape[0], -1), scale, zero,
                                               self.packed, self.scales, self.zeros, self.bias, 1.0, 0, self.dtype,
                                               "none", [], "")
        # [T out, s·C out] is [T out·s, C out]: channels-last [1, C out, 1, T out·s]
        return y.view(1, 1, -1, y.shape[1] // self.upsample).permute(0, 3, 1, 2)

    def _rounded(self, previous: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, float, int]:
        """[previous, x] after the ELU (if any) as bytes [T, C], with their scale and zero point."""
        if self.dtype != torch.bfloat16:
            whole = torch.cat([previous, x], dim=-1).float()
            if self.elu is not None:
                whole = self.elu(whole)
            low, high = (float(v) for v in torch.aminmax(whole))
            scale, zero = self._range(low, high)
            q = torch.clamp(torch.round(whole / scale) + zero, 0, self.qmax).to(torch.uint8)
            return q[0, :, 0].t().contiguous(), scale, zero
        loops = kernels()
        first, second = _bits(previous), _bits(x)
        values = _identity_table() if self.elu is None else self.elu.table
        # the limits after the ELU: ELU is monotonic, so they are the limits' images
        limits = torch.from_numpy(values[np.array(loops.bf16_limits(first, second), np.int32) + 2 ** 15])
        scale, zero = self._range(*(float(v) for v in limits.view(torch.bfloat16)))
        loops.u8_table(values, np.float32(1 / scale), zero, self.qmax, self.table)
        q = torch.empty((previous.shape[-1] + x.shape[-1], self.in_channels), dtype=torch.uint8)
        loops.u8_lookup(first, second, self.table, q.view(-1).numpy())
        return q, scale, zero

    def _range(self, low: float, high: float) -> tuple[float, int]:
        """The scale and zero point putting [low, high], widened to 0, onto 0..qmax."""
        low, high = min(low, 0.0), max(high, 0.0)
        scale = max(high - low, 1e-20) / self.qmax
        return scale, int(min(self.qmax, max(0, round(-low / scale))))


def _bits(x: torch.Tensor) -> np.ndarray:
    """A channels-last bf16 [1, C, 1, T] tensor's memory as int16."""
    return x.permute(0, 2, 3, 1).contiguous().view(torch.int16).view(-1).numpy()


@functools.cache
def _identity_table() -> np.ndarray:
    """The bf16 values' bits, each at its own index: the table of no function."""
    return np.arange(-2 ** 15, 2 ** 15, dtype=np.int32).astype(np.int16)


class _Elu:
    def __init__(self, layer, dtype: torch.dtype):
        self.elu = elu(layer.alpha)  # by table in bf16, a vector loop in fp32 (synth/fast/activations.py)

    def initial(self) -> dict:
        return {}

    def pack(self, steps: int) -> int:
        return steps

    def __call__(self, x: torch.Tensor, state: dict) -> torch.Tensor:
        return self.elu(x)


class _Chain:
    """Layers one after the other, each with its own streaming state."""

    def __init__(self, layers, dtype: torch.dtype, int8: bool = False):
        self.steps = _fused([_step(layer, dtype, int8) for layer in layers])

    def initial(self) -> list:
        """Every layer's state before the first call (zeros, as pocket-tts starts)."""
        return [step.initial() for step in self.steps]

    def pack(self, steps: int) -> int:
        for step in self.steps:
            steps = step.pack(steps)
        return steps

    def __call__(self, x: torch.Tensor, state: list) -> torch.Tensor:
        for step, inner in zip(self.steps, state):
            x = step(x, inner)
        return x


class _Residual(_Chain):
    """SEANetResnetBlock: x plus its block of ELUs and convolutions."""

    def __init__(self, layer, dtype: torch.dtype, int8: bool = False):
        super().__init__(layer.block, dtype, int8)

    def pack(self, steps: int) -> int:
        super().pack(steps)
        return steps

    def __call__(self, x: torch.Tensor, state: list) -> torch.Tensor:
        return x + super().__call__(x, state)


def _fused(steps: list) -> list:
    """The steps with each ELU that feeds an int8 convolution done by that convolution, as it rounds its input."""
    out = []
    for step in steps:
        if isinstance(step, _Int8Conv) and out and isinstance(out[-1], _Elu):
            step.elu = out.pop().elu
        out.append(step)
    return out


def _step(layer, dtype: torch.dtype, int8: bool = False):
    from torch import nn

    pocket = seanet_layer_classes()
    kinds = {pocket["conv"]: _Int8Conv.of if int8 else _Conv,
             pocket["conv_transpose"]: _Int8Conv.transposed if int8 else _ConvTranspose, nn.ELU: _Elu}
    if type(layer) is pocket["residual"]:
        return _Residual(layer, dtype, int8)
    if type(layer) not in kinds:
        raise TypeError(f"no channels-last version of {type(layer).__name__} in Mimi's decoder")
    return kinds[type(layer)](layer, dtype)


class ChannelsLastDecoder(_Chain):
    """pocket-tts's SEANetDecoder, layer for layer; each row keeps its own streaming state."""

    def __init__(self, decoder, dtype: torch.dtype = torch.float32, steps: int | None = None, int8: bool = False):
        """`steps`: the latent steps of a full call, to lay the weights out for (None: F.conv2d's way).
        `int8`: the convolutions in int8 (_Int8Conv)."""
        layers = list(decoder.model)
        # int8 up to the last upsampling; the layers at the audio's own rate (the last residual block and
        # convolution) stay in `dtype`: a tenth of the work, and most of what rounding would do to the audio
        upsampling = [n for n, layer in enumerate(layers) if type(layer) is seanet_layer_classes()["conv_transpose"]]
        cut = upsampling[-1] + 1 if int8 and upsampling else 0
        self.steps = _Chain(layers[:cut], dtype, int8=True).steps + _Chain(layers[cut:], dtype).steps
        self.dtype = dtype
        if steps is not None and can_pack_conv_weight(dtype):
            self.pack(steps)

    def __call__(self, z: torch.Tensor, state: list) -> torch.Tensor:
        """[1, C, T] latents at the decoder's input rate to [samples] of float32 audio."""
        return super().__call__(channels_last(z.to(self.dtype)), state)[0, 0, 0].float()


def stock_decode(mimi, z: torch.Tensor) -> torch.Tensor:
    """pocket-tts's own SEANet decoder (Mimi's) on `z` from a fresh streaming state: the convolutions
    ChannelsLastDecoder computes, laid out as pocket-tts lays them (what `bench parts` counts the FLOPs of)."""
    return mimi.decoder(z, init_states(mimi, batch_size=1, sequence_length=0))
