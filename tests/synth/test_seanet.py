"""The channels-last SEANet decoder streams exactly what pocket-tts's own decoder streams."""

from __future__ import annotations

import pytest
import torch

from pocket_batch.synth.fast.seanet import ChannelsLastDecoder

pytestmark = pytest.mark.model  # Mimi's decoder, layer for layer


def stock_decoder(pad_mode: str):
    """pocket-tts's SEANetDecoder, small, random weights (random biases too: zeros hide tail bugs)."""
    from pocket_tts.modules.seanet import SEANetDecoder
    from pocket_tts.modules.stateful_module import StatefulModule

    torch.manual_seed(0)
    decoder = SEANetDecoder(channels=1, dimension=32, n_filters=8, n_residual_layers=2, ratios=[4, 3],
                            kernel_size=7, last_kernel_size=3, residual_kernel_size=3, dilation_base=2,
                            pad_mode=pad_mode)
    for name, module in decoder.named_modules():
        if isinstance(module, StatefulModule):
            module._module_absolute_name = name
        bias = getattr(getattr(module, "conv", getattr(module, "convtr", None)), "bias", None)
        if bias is not None:
            torch.nn.init.normal_(bias, std=0.1)
    return decoder


# pocket-tts's replicate padding needs every call at least as long as the first layer's history (6).
@pytest.mark.parametrize("pad_mode,calls", [("constant", (1, 5, 2, 8)), ("replicate", (8, 6, 10, 7))])
def test_streams_like_pocket_tts_decoder(pad_mode, calls):
    """Calls of different lengths, each carrying convolution history and transposed-convolution tails over."""
    from pocket_tts.modules.stateful_module import init_states

    decoder = stock_decoder(pad_mode)
    ours = ChannelsLastDecoder(decoder)
    stock_state, our_state = init_states(decoder, batch_size=1, sequence_length=0), ours.initial()
    with torch.no_grad():
        for steps in calls:
            z = torch.randn(1, 32, steps)
            expected = decoder(z, stock_state)[0, 0]
            got = ours(z, our_state)
            assert got.shape == expected.shape == (steps * 12,)
            assert float((got - expected).abs().max()) < 1e-5 * float(expected.abs().max())


def test_refuses_a_layer_it_does_not_know():
    decoder = stock_decoder("constant")
    decoder.model.append(torch.nn.Tanh())
    with pytest.raises(TypeError, match="Tanh"):
        ChannelsLastDecoder(decoder)


def test_weights_laid_out_once_give_what_f_conv2d_gives():
    """Packed for calls of 8 steps; calls of that length and others (a chunk's last call is shorter)."""
    decoder = stock_decoder("constant")
    plain, packed = ChannelsLastDecoder(decoder), ChannelsLastDecoder(decoder, steps=8)
    assert all(layer.packed is not None for layer in _convolutions(packed))
    assert ChannelsLastDecoder(decoder).pack(8) == 8 * 12  # each layer's length worked out as it streams
    plain_state, packed_state = plain.initial(), packed.initial()
    with torch.no_grad():
        for steps in (8, 8, 3, 8, 1):
            z = torch.randn(1, 32, steps)
            expected, got = plain(z, plain_state), packed(z, packed_state)
            assert got.shape == expected.shape == (steps * 12,)
            assert float((got - expected).abs().max()) < 1e-6 * float(expected.abs().max())


def _convolutions(chain):
    for step in chain.steps:
        yield from _convolutions(step) if hasattr(step, "steps") else ([step] if hasattr(step, "packed") else [])
