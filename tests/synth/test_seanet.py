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


def _on_int8_grid(decoder) -> None:
    """Every convolution's weights made integers times 2⁻⁷, each output (and each polyphase output of a
    transposed one) holding a ±127: rounded to int8 with a scale per output, they are the same numbers."""
    from pocket_batch.synth.fast.internals import seanet_layer_classes

    pocket = seanet_layer_classes()
    torch.manual_seed(1)
    for module in decoder.modules():
        if type(module) in (pocket["conv"], pocket["conv_transpose"]):
            weight = getattr(module, "conv", getattr(module, "convtr", None)).weight
            weight.data = torch.randint(-126, 127, weight.shape).float() / 128
            if type(module) is pocket["conv"]:
                weight.data[:, 0, 0] = 127 / 128
            else:
                weight.data[0, :, :] = -127 / 128


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_int8_convolutions_compute_the_layers_they_replace(dtype):
    """Each int8 convolution, and each transposed one as its polyphase convolution, streaming calls of different
    lengths: where weights and inputs lie on the int8 grid, the same sums as the float layer's."""
    from pocket_batch.synth.fast import seanet
    from pocket_batch.synth.fast.internals import seanet_layer_classes

    decoder = stock_decoder("replicate")
    _on_int8_grid(decoder)
    pocket = seanet_layer_classes()
    pairs = [(seanet._Int8Conv.of(m, dtype), seanet._Conv(m, torch.float32)) for m in decoder.modules()
             if type(m) is pocket["conv"]]
    pairs += [(seanet._Int8Conv.transposed(m, dtype), seanet._ConvTranspose(m, torch.float32)) for m in decoder.modules()
              if type(m) is pocket["conv_transpose"]]
    assert len(pairs) == 12 and any(ours.upsample > 1 for ours, _ in pairs) and any(ours.dilation > 1 for ours, _ in pairs)
    for ours, theirs in pairs:
        qmax, zero, step = ours.qmax, 40, 1 / 16  # inputs k·step - 40·step, k in 0..qmax: a call's scale is `step`
        our_state, their_state = ours.initial(), theirs.initial()
        for steps in (8, 6, 10, 7):
            ints = torch.randint(0, qmax + 1, (1, theirs.in_channels, 1, steps))
            ints[0, 0, 0, :2] = torch.tensor([0, qmax])  # the call's limits
            x = seanet.channels_last(((ints - zero) * step)[:, :, 0])
            expected = theirs(x, their_state)
            got = ours(x.to(dtype), our_state)
            assert got.dtype == dtype and got.shape == expected.shape
            assert got.is_contiguous(memory_format=torch.channels_last)
            tolerance = 1e-5 if dtype == torch.float32 else 1e-2  # bf16: the output's rounding alone
            assert float((got.float() - expected).abs().max()) <= tolerance * float(expected.abs().max())


def test_int8_decoder_streams_close_to_pocket_tts_decoder():
    """The whole decoder with its convolutions in int8 up to the last upsampling (the ELUs before them taken as
    their input is rounded), streaming: close to pocket-tts's own, and the layers at the audio's rate left as they were."""
    from pocket_tts.modules.stateful_module import init_states

    from pocket_batch.synth.fast import seanet

    decoder = stock_decoder("replicate")
    ours = ChannelsLastDecoder(decoder, torch.bfloat16, steps=8, int8=True)
    kinds = [type(step).__name__ for step in ours.steps]
    assert kinds[-3:] == ["_Residual", "_Elu", "_Conv"] and "_ConvTranspose" not in kinds
    assert sum(isinstance(step, seanet._Int8Conv) and step.elu is not None for step in ours.steps) == 2
    stock_state, our_state = init_states(decoder, batch_size=1, sequence_length=0), ours.initial()
    expected, got = [], []
    with torch.no_grad():
        for steps in (8, 6, 10, 7):
            z = torch.randn(1, 32, steps)
            expected.append(decoder(z, stock_state)[0, 0])
            got.append(ours(z, our_state))
    expected, got = torch.cat(expected), torch.cat(got)
    assert got.shape == expected.shape
    snr = float(10 * torch.log10(expected.pow(2).sum() / (expected - got).pow(2).sum()))
    assert snr > 30, snr
