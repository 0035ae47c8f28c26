"""bf16 functions by table give exactly PyTorch's bits, in every layout the decoder uses."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from pocket_batch.synth.lookup import Bf16Lookup, elu, gelu_tanh

FUNCTIONS = {"elu": (elu(1.0), F.elu), "gelu": (gelu_tanh(), lambda x: F.gelu(x, approximate="tanh"))}


def bits(x: torch.Tensor) -> torch.Tensor:
    return x.view(torch.int16)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_bf16_value_looks_up_pytorchs_own_result(name):
    lookup, fn = FUNCTIONS[name]
    every = torch.arange(-2 ** 15, 2 ** 15, dtype=torch.int32).to(torch.int16).view(torch.bfloat16)
    shuffled = every[torch.randperm(every.numel(), generator=torch.Generator().manual_seed(0))]
    assert torch.equal(bits(lookup(shuffled)), bits(fn(shuffled)))  # NaNs, infinities and -0 included


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "transposed", "sliced"])
def test_layouts_keep_their_strides_and_bits(name, layout):
    lookup, fn = FUNCTIONS[name]
    x = (torch.randn(2, 32, 1, 48, generator=torch.Generator().manual_seed(1)) * 4).to(torch.bfloat16)
    x = {"contiguous": x, "channels_last": x.contiguous(memory_format=torch.channels_last),
         "transposed": x.transpose(1, 3), "sliced": x[:, 8:24, :, 16:]}[layout]
    got = lookup(x)
    # Against PyTorch's vector loop: 2048 values, a multiple of the 64 it takes at a time.
    assert torch.equal(bits(got), bits(fn(x.contiguous())))
    if layout != "sliced":  # dense: looked up in place of memory, strides kept
        assert got.stride() == x.stride()
    else:
        assert got.is_contiguous()


def test_a_value_gives_the_same_bits_wherever_it_sits():
    """PyTorch's GELU gives -5.09 as -0.0 in its vector loop (64 bf16 values at a time) and as -1.5e-7
    in its scalar loop for the rest; the table holds the vector loop's result, for every element."""
    x = torch.tensor([-5.09375] * 64, dtype=torch.bfloat16)
    assert torch.equal(bits(gelu_tanh()(x)), bits(F.gelu(x, approximate="tanh")))
    assert torch.equal(bits(gelu_tanh()(x[:1])), bits(F.gelu(x, approximate="tanh")[:1]))


def test_other_dtypes_go_to_the_function_itself():
    x = torch.randn(5, 7, dtype=torch.float32)
    assert torch.equal(elu(1.0)(x), F.elu(x))


def test_refuses_a_function_that_does_not_stay_bf16():
    with pytest.raises(ValueError, match="bf16"):
        Bf16Lookup(lambda x: x.float())


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_the_decoders_feed_forward_with_the_table_is_pocket_tts_own(small_model, dtype):
    """feed_forward rewrites pocket-tts's _ff_block to take the looked-up GELU: the same bits."""
    import copy

    from pocket_tts import TTSModel

    from pocket_batch.synth.internals import feed_forward

    model = TTSModel.load_model(config=str(small_model))
    layer = copy.deepcopy(model.mimi.decoder_transformer.transformer.layers[0]).to(dtype)
    x = torch.randn(1, 32, layer.linear1.in_features, generator=torch.Generator().manual_seed(2)).to(dtype)
    with torch.no_grad():
        assert torch.equal(feed_forward(layer, x, gelu_tanh()), layer._ff_block(x))
