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

import torch
from torch.nn import functional as F

from pocket_batch.synth.fast.internals import (can_pack_conv_weight, init_states, effective_kernel_size, pack_conv_weight, packed_conv,
                                          seanet_layer_classes)
from pocket_batch.synth.fast.activations import elu


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """[N, C, T] as [N, C, 1, T], channels innermost in memory (free if it already is)."""
    return x.unsqueeze(2).contiguous(memory_format=torch.channels_last)


class _Conv:
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

    def initial(self) -> dict:
        return {"previous": channels_last(torch.zeros(1, self.in_channels, self.history, dtype=self.dtype)),
                "first": True}

    def __call__(self, x: torch.Tensor, state: dict) -> torch.Tensor:
        if self.history:
            previous = state["previous"]
            if self.replicate and state["first"]:
                previous = x[..., :1].expand_as(previous)
            x = torch.cat([previous, x], dim=-1)
            state["previous"], state["first"] = x[..., -self.history:].clone(), False
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

    def __init__(self, layers, dtype: torch.dtype):
        self.steps = [_step(layer, dtype) for layer in layers]

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

    def __init__(self, layer, dtype: torch.dtype):
        super().__init__(layer.block, dtype)

    def pack(self, steps: int) -> int:
        super().pack(steps)
        return steps

    def __call__(self, x: torch.Tensor, state: list) -> torch.Tensor:
        return x + super().__call__(x, state)


def _step(layer, dtype: torch.dtype):
    from torch import nn

    pocket = seanet_layer_classes()
    kinds = {pocket["conv"]: _Conv, pocket["conv_transpose"]: _ConvTranspose, nn.ELU: _Elu,
             pocket["residual"]: _Residual}
    if type(layer) not in kinds:
        raise TypeError(f"no channels-last version of {type(layer).__name__} in Mimi's decoder")
    return kinds[type(layer)](layer, dtype)


class ChannelsLastDecoder(_Chain):
    """pocket-tts's SEANetDecoder, layer for layer; each row keeps its own streaming state."""

    def __init__(self, decoder, dtype: torch.dtype = torch.float32, steps: int | None = None):
        """`steps`: the latent steps of a full call, to lay the weights out for (None: F.conv2d's way)."""
        super().__init__(decoder.model, dtype)
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
