"""The decoder's activations: by table in bf16, PyTorch's bits exactly; by a vector loop in fp32, as
close to the exact result as PyTorch's; in every layout the decoder uses."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from pocket_batch.synth.fast.activations import Activation, elu, gelu_tanh

pytestmark = pytest.mark.slow  # numba compiles its loops

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
    x = torch.randn(5, 7, dtype=torch.float64)
    assert torch.equal(elu(1.0)(x), F.elu(x))
    assert torch.equal(Activation(F.elu)(x.float()), F.elu(x.float()))  # no fp32 loop given


def test_refuses_a_function_that_does_not_stay_bf16():
    with pytest.raises(ValueError, match="bf16"):
        Activation(lambda x: x.float())


def test_fp32_elu_is_within_an_ulp_of_the_exact_result():
    x = torch.linspace(-30, 30, 600_001)
    for alpha in (1.0, 0.5):
        exact = F.elu(x.double(), alpha=alpha)
        got = elu(alpha)(x)
        ulp = (torch.nextafter(exact.float().abs(), torch.tensor(float("inf"))) - exact.float().abs()).double()
        assert ((got.double() - exact).abs() <= ulp).all()
        assert ((F.elu(x, alpha=alpha).double() - exact).abs() <= ulp).all()  # as PyTorch's own is
    assert torch.equal(elu(1.0)(torch.tensor([float("inf"), -float("inf"), -100.0, 1e-30, -1e-30])),
                       torch.tensor([float("inf"), -1.0, -1.0, 1e-30, -1e-30]))


def test_fp32_gelu_is_as_close_to_the_exact_result_as_pytorchs():
    x = torch.linspace(-30, 30, 600_001)
    exact = F.gelu(x.double(), approximate="tanh")
    got = gelu_tanh()(x)
    torch.testing.assert_close(got.double(), exact, rtol=4e-6, atol=1e-7)
    # PyTorch's own, 0.5·x·(1 + tanh(u)), loses all its digits where tanh(u) nears -1: only absolutely close.
    pytorch = F.gelu(x, approximate="tanh").double()
    assert (got.double() - exact).abs().max() <= 1.5 * (pytorch - exact).abs().max()
    assert torch.equal(gelu_tanh()(torch.tensor([float("inf"), 0.0, 100.0])), torch.tensor([float("inf"), 0.0, 100.0]))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_fp32_a_value_gives_the_same_bits_wherever_it_sits(name):
    """The loop runs 8 values at a time and the rest one by one: both ways round alike."""
    activation = FUNCTIONS[name][0]
    x = torch.randn(203, generator=torch.Generator().manual_seed(3)) * 4
    whole = activation(x)
    for start in range(17):
        assert torch.equal(activation(x[start:]), whole[start:])
        assert torch.equal(activation(x[start: start + 3]), whole[start: start + 3])


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "transposed", "sliced"])
def test_fp32_layouts_keep_their_strides(name, layout):
    activation, fn = FUNCTIONS[name]
    x = torch.randn(2, 32, 1, 48, generator=torch.Generator().manual_seed(1)) * 4
    x = {"contiguous": x, "channels_last": x.contiguous(memory_format=torch.channels_last),
         "transposed": x.transpose(1, 3), "sliced": x[:, 8:24, :, 16:]}[layout]
    got = activation(x)
    torch.testing.assert_close(got, fn(x), rtol=4e-6, atol=1e-6)  # PyTorch's GELU is off by up to 4e-7 itself
    assert torch.equal(got, activation(x.contiguous()))
    assert got.stride() == x.stride() if layout != "sliced" else got.is_contiguous()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_the_decoders_feed_forward_with_our_gelu_is_pocket_tts_own(small_model, dtype):
    """feed_forward rewrites pocket-tts's _ff_block to take our GELU: the same bits in bf16, within float
    rounding in fp32."""
    import copy

    from pocket_tts import TTSModel

    from pocket_batch.synth.fast.internals import feed_forward

    model = TTSModel.load_model(config=str(small_model))
    layer = copy.deepcopy(model.mimi.decoder_transformer.transformer.layers[0]).to(dtype)
    x = torch.randn(1, 32, layer.linear1.in_features, generator=torch.Generator().manual_seed(2)).to(dtype)
    with torch.no_grad():
        ours, theirs = feed_forward(layer, x, gelu_tanh()), layer._ff_block(x)
    if dtype == torch.bfloat16:
        assert torch.equal(ours, theirs)
    else:
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
