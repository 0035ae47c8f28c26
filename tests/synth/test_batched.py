"""Batched generation reproduces pocket-tts's own single-chunk path, row by row.

The model is the small random architecture (noise, not speech) loaded through the real
`TTSModel.load_model(config=...)`; the reference is `generate_audio` itself, seeded the
way the worker seeds it.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from pocket_batch.core.config import ModelOptions
from pocket_batch.synth.fast.batched import BatchedGenerator, Request
from pocket_batch.synth.model.source import quiet_int8_load
from pocket_batch.synth.pool.worker import SynthTask, SynthWorker

pytestmark = pytest.mark.model  # pocket-tts's model code, batched

TEXTS = [
    "It was a dark night.",
    "The rain fell on the roofs of the town, and nobody went out.",
    "Yes.",
    "She opened the letter and read it twice before she understood what it meant.",
    "Morning came at last.",
]
TOLERANCE = 1e-5  # float rounding of wider matrix products; audio itself spans about +-1
# int8: a 1e-7 difference can push an activation across a quantization step, and later frames
# carry it on (seen: 1.1e-5 at the end of a 10 s chunk; 1e-4 is still -80 dB below full scale).
INT8_TOLERANCE = 1e-4


def load(small_model, temperature: float, eos_threshold: float | None = None, quantize: bool = False):
    from pocket_tts import TTSModel

    kwargs = {} if eos_threshold is None else {"eos_threshold": eos_threshold}
    model = TTSModel.load_model(config=str(small_model), temp=temperature, quantize=quantize, **kwargs)
    model.max_decoder_frames_per_call = 1  # as the worker decodes: frame by frame
    logging.getLogger("pocket_tts").setLevel(logging.ERROR)
    return model


def requests(model, small_model) -> list[Request]:
    voices = {name: model.get_state_for_audio_prompt(str(small_model.parent / "voices" / f"{name}.safetensors"))
              for name in ("alba", "marius")}
    return [Request(f"k{n}", text, voices["alba" if n % 2 else "marius"], 1000 + n) for n, text in enumerate(TEXTS)]


def single(model, request: Request) -> torch.Tensor:
    torch.manual_seed(request.seed)
    return model.generate_audio(request.state, request.text, copy_state=True)


def batched(model, reqs: list[Request], batch: int) -> dict[str, tuple[torch.Tensor, bool]]:
    return {r.key: (audio, max_length) for r, audio, max_length, _ in BatchedGenerator(model, batch).generate(reqs)}


@pytest.mark.parametrize("temperature,quantize", [(0.0, False), (0.7, False), (0.7, True)])
def test_each_row_matches_the_single_chunk_path(small_model, temperature, quantize):
    """Two voices, five lengths, batch of 3: rows leave and new ones are admitted mid-batch.

    int8 too: each row is quantized on its own, as the single path quantizes it.
    """
    model = load(small_model, temperature, quantize=quantize)
    stock = load(small_model, temperature, quantize=quantize)  # batching swaps the int8 layers for good
    reqs = requests(model, small_model)
    got = batched(model, reqs, batch=3)
    for r in reqs:
        expected = single(stock, r)
        audio, _ = got[r.key]
        assert audio.shape == expected.shape, r.text
        assert float((audio - expected).abs().max()) < (INT8_TOLERANCE if quantize else TOLERANCE), r.text
    lengths = {got[r.key][0].numel() for r in reqs}
    assert len(lengths) > 2  # different lengths really were in flight together


def test_a_chunk_pocket_tts_would_split_runs_its_pieces_in_one_row_and_matches_it(small_model):
    """generate_audio splits a text over `max_tokens` into generations run one after the other, its
    noise going on from one global generator: a row runs the pieces in turn, beside other rows."""
    from pocket_batch.synth.fast.internals import split_into_best_sentences

    model = load(small_model, 0.7)
    stock = load(small_model, 0.7)
    reqs = requests(model, small_model)
    text = TEXTS[1] + " " + TEXTS[3]
    first, *then = split_into_best_sentences(model, text, 16)
    assert len(then) >= 1
    split = Request("split", first, reqs[0].state, 77, tuple(then))
    got = batched(model, [reqs[1], split, reqs[3]], batch=2)
    torch.manual_seed(77)
    expected = stock.generate_audio(split.state, text, max_tokens=16, copy_state=True)
    audio, _ = got["split"]
    assert audio.shape == expected.shape and float((audio - expected).abs().max()) < TOLERANCE
    alone = single(stock, Request("first", first, reqs[0].state, 77))
    assert expected.numel() > alone.numel()  # the later pieces really are in it


def test_per_row_eos_and_frames_after_eos_match(small_model):
    """With an EOS threshold the random weights cross now and then, rows stop at their own steps."""
    model = load(small_model, 0.7, eos_threshold=-2.0)
    reqs = requests(model, small_model)
    got = batched(model, reqs, batch=4)
    limits = {r.key: model._estimate_max_gen_len(model.flow_lm.conditioner.prepare(r.text).shape[1]) for r in reqs}
    stopped_early = 0
    for r in reqs:
        expected = single(model, r)
        audio, max_length = got[r.key]
        assert audio.shape == expected.shape and float((audio - expected).abs().max()) < TOLERANCE
        frames = audio.numel() // 1920
        assert max_length == (frames >= limits[r.key])
        stopped_early += frames < limits[r.key]
    assert stopped_early >= 2


@pytest.mark.parametrize("quantize", [False, True])
def test_a_rows_audio_does_not_depend_on_its_batch_companions(small_model, quantize):
    """Bit for bit: what keeps resumed runs and any worker count byte-identical."""
    model = load(small_model, 0.7, quantize=quantize)
    reqs = requests(model, small_model)
    alone = batched(model, [reqs[1]], batch=4)["k1"][0]
    crowded = batched(model, [reqs[3], reqs[0], reqs[1], reqs[4], reqs[2]], batch=4)["k1"][0]
    assert torch.equal(alone, crowded)


@pytest.mark.parametrize("quantize", [False, True])
def test_a_step_shrinks_as_rows_drain_and_a_rows_audio_stays_the_same(small_model, quantize):
    """Batch 8, five chunks: the steps run 8 rows wide, then narrower as rows leave; alone, a chunk runs
    narrow throughout. Its audio is the same bit for bit."""
    model = load(small_model, 0.7, quantize=quantize)
    reqs = requests(model, small_model)
    sizes = BatchedGenerator(model, 8).sizes
    if sizes == [8]:
        pytest.skip("no narrower step rounds as a full one on this CPU: every step runs all 8 rows")
    alone = batched(model, [reqs[1]], batch=8)["k1"][0]
    crowded = batched(model, [reqs[3], reqs[0], reqs[1], reqs[4], reqs[2]], batch=8)["k1"][0]
    assert sizes[0] < 5 and torch.equal(alone, crowded)


def test_only_step_sizes_that_round_as_a_full_one_are_used():
    """A layer whose rows round alike at every size allows them all; MKL's fp32 product of one output
    per row (the EOS head's shape) is tried as well, and a full step is always allowed."""
    from pocket_batch.synth.fast.batched import exact_sizes

    torch.manual_seed(0)
    assert exact_sizes(torch.nn.Sequential(torch.nn.Identity()), 6) == [1, 2, 3, 4, 5, 6]
    head = torch.nn.Linear(1024, 1)
    sizes = exact_sizes(head, 16)
    assert sizes[-1] == 16
    x = torch.randn(64, 16, 1024)  # other inputs than the ones it tried
    for n in sizes:
        assert all(torch.equal(head(x[k, :n]), head(x[k])[:n]) for k in range(64))


def test_each_row_holds_a_cache_sized_for_itself_alone(small_model):
    """KV memory is the sum of the rows in flight, each its own length; a finished row's goes at once."""
    from pocket_batch.synth.model.source import ModelSource

    model = load(small_model, 0.7)
    source = ModelSource(ModelOptions(config=small_model))
    reqs = requests(model, small_model)
    own = set()  # prompt (voice + text) + the most frames pocket-tts would generate for it
    for r in reqs:
        tokens = model.flow_lm.conditioner.prepare(source.prepare(r.text)).shape[1]
        own.add(model._flow_lm_current_end(r.state) + tokens + model._estimate_max_gen_len(tokens))
    generator = BatchedGenerator(model, 3)
    seen = []
    for done, _ in enumerate(generator.generate(reqs), 1):
        live = [caches for caches in generator.flow.caches if caches is not None]
        assert len(live) <= min(3, len(reqs) - done)
        seen.append({caches[0].shape[3] for caches in live})
    assert set().union(*seen) <= own
    assert any(len(sizes) > 1 for sizes in seen)  # rows of different lengths in flight, each at its own size
    assert seen[-1] == set()


def test_rows_wait_for_cache_memory_and_their_audio_stays_the_same(small_model):
    """A budget of the two largest rows' caches: never more in flight, however many rows the batch has;
    a budget smaller than any row runs them one at a time. A row's estimate is the bytes it holds."""
    model = load(small_model, 0.7, quantize=True)
    reqs = requests(model, small_model)
    free = BatchedGenerator(model, 4)
    expected = {r.key: audio for r, audio, *_ in free.generate(reqs)}
    sizes = sorted(free._cache_size(r) for r in reqs)
    assert free.peak_cache_bytes > sizes[-1] + sizes[-2]  # unbounded, more than two rows ran at once

    with torch.no_grad():
        free._admit(0, reqs[3], 0)
    assert sum(c.nbytes for c in free.flow.caches[0]) == free._cache_size(reqs[3])

    for budget in (sizes[-1] + sizes[-2], 1):
        generator = BatchedGenerator(model, 4, cache_bytes=budget)
        got = {r.key: audio for r, audio, *_ in generator.generate(reqs)}
        assert got.keys() == expected.keys() and all(torch.equal(got[k], expected[k]) for k in got)
        if budget > 1:
            assert sizes[-1] < generator.peak_cache_bytes <= budget  # two rows at once, never three
        else:
            assert generator.peak_cache_bytes == sizes[-1]  # one at a time, the largest alone


def test_decoder_cache_holds_only_its_window_and_gives_the_same_audio(small_model):
    """Mimi's transformer reads 250 steps back: its cache slides instead of growing with the chunk."""
    from pocket_batch.synth.fast.row_attention import RowAttention

    layers = load(small_model, 0.7).mimi.decoder_transformer.transformer
    steps, step = 3 * layers.context, 16
    x = torch.randn(1, steps, layers.layers[0].self_attn.embed_dim)
    sliding, whole = RowAttention(layers.layers, 1, layers.context), RowAttention(layers.layers, 1, layers.context)
    sliding.new_row(0, steps, step)
    whole.new_row(0, steps, steps)
    assert sliding.caches[0][0].shape[3] == layers.context + step < whole.caches[0][0].shape[3] == steps
    with torch.no_grad():
        for start in range(0, steps, step):
            assert torch.equal(sliding.forward(x[:, start: start + step], [0]), whole.forward(x[:, start: start + step], [0]))
    assert sliding.bases[0] > 0


def test_worker_batches_and_keeps_task_order(small_model):
    from pocket_batch.synth.model.source import ModelSource
    from pocket_batch.synth.model.voices import resolve_voice

    options = ModelOptions(config=small_model, decoder="fp32", decoder_int8=False, seanet_int8=False)  # an int8 backbone, the default
    voice = resolve_voice("alba", ModelSource(options))
    worker = SynthWorker(options, temperature=0.7, batch_size=2)
    worker.add_voice(voice)
    tasks = [SynthTask(f"t{n}", text, voice.fingerprint, n, 50) for n, text in enumerate(TEXTS)]
    outputs = worker.synthesize_many(tasks)
    assert [o.key for o in outputs] == [t.key for t in tasks]
    one_by_one = SynthWorker(options, temperature=0.7, batch_size=1)
    one_by_one.add_voice(voice)
    for task, out in zip(tasks, outputs):
        reference = one_by_one.synthesize(task).audio
        assert out.audio.dtype == np.float32 and out.audio.shape == reference.shape
        assert np.abs(out.audio - reference).max() < INT8_TOLERANCE


def test_worker_takes_the_int8_decoder_linears_from_its_options(small_model):
    from pocket_batch.synth.model.source import ModelSource
    from pocket_batch.synth.model.voices import resolve_voice

    audio = {}
    for int8 in (False, True, True):
        options = ModelOptions(config=small_model, decoder="fp32", decoder_int8=int8, seanet_int8=False)
        voice = resolve_voice("alba", ModelSource(options))
        worker = SynthWorker(options, temperature=0.7, batch_size=2)
        worker.add_voice(voice)
        out = worker.synthesize_many([SynthTask("t", TEXTS[1], voice.fingerprint, 1, 50)])[0].audio
        if int8 in audio:
            assert np.array_equal(out, audio[int8])  # the same bytes on a rerun
        audio[int8] = out
    assert audio[True].shape == audio[False].shape and not np.array_equal(audio[True], audio[False])
    assert snr_db(torch.from_numpy(audio[False]), torch.from_numpy(audio[True])) > 60


def int8_linear(inputs: int, outputs: int, weight: float | None = None):
    linear = torch.nn.Sequential(torch.nn.Linear(inputs, outputs))
    if weight is not None:
        torch.nn.init.constant_(linear[0].weight, weight)
    with quiet_int8_load():  # pocket-tts's own int8: torch.ao's dynamic quantization
        return torch.ao.quantization.quantize_dynamic(linear, {torch.nn.Linear}, dtype=torch.qint8)


@pytest.mark.parametrize("onednn", [False, True])
def test_int8_layers_quantize_each_row_on_its_own(onednn):
    """One call for the batch, yet each row as a single-row call gives it, whatever its neighbours."""
    import copy

    from pocket_batch.synth.fast.int8_rows import Int8PerRow, int8_per_row

    torch.manual_seed(0)
    stock = int8_linear(64, 32)
    model = copy.deepcopy(stock)
    int8_per_row(model, onednn)
    assert isinstance(model[0], Int8PerRow) and (model[0].onednn is not None) == onednn
    assert torch.equal(model[0].weight().dequantize(), stock[0].weight().dequantize())
    x = torch.randn(3, 2, 64) * torch.tensor([1.0, 50.0, 0.01])[:, None, None]  # scales a shared quantization would mix
    out = model(x)
    for n in range(3):
        alone = stock(x[n: n + 1])  # pocket-tts's own int8 call for that row alone (both positions at once)
        assert float((out[n] - alone[0]).abs().max()) <= 1e-5 * float(alone.abs().max())
    neighbours = x.clone()
    neighbours[1] = float("nan")
    changed = model(neighbours)
    assert torch.equal(changed[0], out[0]) and torch.equal(changed[2], out[2])


def test_int8_rows_are_rounded_as_by_whole_tensor_operations():
    """The compiled loop that quantizes each row gives the integers, zero points and scales that PyTorch's and
    numpy's operations, one after another, give (fbgemm's parameters in double, then float32 steps)."""
    from pocket_batch.synth.fast.int8_rows import Int8PerRow, _quantize_kernel

    torch.manual_seed(0)
    rows = torch.randn(40, 5000) * torch.logspace(-8, 8, 40)[:, None]
    rows[1], rows[2], rows[3] = rows[1].abs(), -rows[2].abs(), 0.0  # one-signed rows; all zero: scale 0.1
    rows[4, 7] = float("nan")
    rows[5, 0] = float("inf")
    qmax, weight_scale = Int8PerRow.QMAX, np.float32(0.0123)
    low, high = rows.amin(1), rows.amax(1)
    q, zero, scale = torch.empty_like(rows), np.empty(40, np.float32), np.empty(40, np.float32)
    _quantize_kernel()(rows.numpy(), low.numpy(), high.numpy(), qmax, weight_scale, q.numpy(), zero, scale)

    lo, hi = low.clamp(max=0).double().numpy(), high.clamp(min=0).double().numpy()
    step = ((hi - lo) / qmax).astype(np.float32)
    with np.errstate(divide="ignore"):
        step = np.where((step == 0) | np.isinf(np.float32(1) / step), np.float32(0.1), step)
    wide = step.astype(np.float64)
    point = np.where(np.abs(lo / wide) < qmax + np.abs(hi / wide), -lo / wide, qmax - hi / wide)
    point = np.round(np.clip(point, 0, qmax)).astype(np.float32)
    expected = (rows * torch.from_numpy(np.float32(1) / step)[:, None]).add_(torch.from_numpy(point)[:, None])
    expected = expected.round_().clamp_(0, qmax)
    assert torch.equal(q[~torch.isnan(expected)], expected[~torch.isnan(expected)])
    assert torch.equal(torch.isnan(q), torch.isnan(expected)) and bool(torch.isnan(q[4]).all())
    assert np.array_equal(zero, point, equal_nan=True)
    assert np.array_equal(scale, step * weight_scale, equal_nan=True) and scale[3] == np.float32(0.1) * weight_scale


def test_int8_sums_are_the_same_bytes_with_onednn_and_fbgemm():
    """The engines only sum integers, exactly: at a step's rows, a prompt's, and sums past float32's 2^24."""
    from pocket_batch.synth.fast.int8_rows import Int8PerRow

    torch.manual_seed(0)
    for inputs, outputs in [(1024, 3072), (4096, 1024)]:
        stock = int8_linear(inputs, outputs)
        fbgemm, onednn = Int8PerRow.of(stock[0], onednn=False), Int8PerRow.of(stock[0], onednn=True)
        assert fbgemm.onednn is None and onednn.packed is None
        for shape in [(16, 1, inputs), (1, 1, inputs), (3, 37, inputs)]:
            x = torch.randn(shape) * torch.logspace(-3, 3, shape[0])[:, None, None]
            assert torch.equal(fbgemm(x), onednn(x))
        big = int8_linear(inputs, outputs, weight=1.0)  # every weight 127 once quantized, every input near it:
        x = torch.rand(16, 1, inputs) + 1  # sums near 127 x 127 x inputs, past 2^24
        assert torch.equal(Int8PerRow.of(big[0], onednn=False)(x), Int8PerRow.of(big[0], onednn=True)(x))


def test_onednn_int8_gives_the_same_audio_bytes(small_model):
    """Whichever engine a machine picks, a chunk's audio is the same: the cache need not tell them apart."""
    from pocket_batch.synth.fast.int8_rows import Int8PerRow, int8_per_row
    from pocket_batch.testing.random_model import synthetic_voice

    audio = {}
    for onednn in (False, True):
        model = load(small_model, 0.7, quantize=True)
        int8_per_row(model.flow_lm, onednn)
        layers = [m for m in model.flow_lm.modules() if isinstance(m, Int8PerRow)]
        assert layers and all((m.onednn is not None) == onednn for m in layers)
        reqs = requests(model, small_model)
        cloned = model.get_state_for_audio_prompt(torch.from_numpy(synthetic_voice("test", 2.0))[None, :])
        reqs.append(Request("cloned", TEXTS[0], cloned, 7))  # prompted through the int8 layers
        audio[onednn] = batched(model, reqs, batch=4)
    for key, (fbgemm, _) in audio[False].items():
        assert torch.equal(fbgemm, audio[True][key][0])


def snr_db(reference: torch.Tensor, other: torch.Tensor) -> float:
    return float(10 * torch.log10(reference.pow(2).sum() / (reference - other).pow(2).sum()))


def test_bf16_decoder_stays_close_to_fp32_and_keeps_audio_reproducible(small_model):
    """bf16 changes the audio by rounding only: bounded against fp32, independent of the batch, the same on a rerun.
    Runs on any CPU (emulated where bf16 is not native: slow, but the same arithmetic)."""
    model = load(small_model, 0.7, quantize=True)
    reqs = requests(model, small_model)[:3]
    fp32 = {r.key: a for r, a, *_ in BatchedGenerator(model, 3).generate(reqs)}
    bf16 = BatchedGenerator(model, 3, torch.bfloat16)
    first = {r.key: a for r, a, *_ in bf16.generate(reqs)}
    again = {r.key: a for r, a, *_ in bf16.generate(reqs[::-1])}
    alone = {r.key: a for r, a, *_ in BatchedGenerator(model, 3, torch.bfloat16).generate([reqs[1]])}
    assert all(torch.equal(first[k], again[k]) for k in first) and torch.equal(alone["k1"], first["k1"])
    for key, reference in fp32.items():
        assert first[key].dtype == torch.float32 and first[key].shape == reference.shape
        assert not torch.equal(first[key], reference)  # it does take the bf16 path
        # measured 45.3 dB and at most 1.6% of the peak (AMD EPYC, AVX-512 BF16); full size: docs/performance.md
        assert snr_db(reference, first[key]) > 35, key
        assert (first[key] - reference).abs().max() < 0.03 * reference.abs().max()


def test_int8_convolutions_stay_close_to_fp32_and_keep_audio_reproducible(small_model):
    """SEANet's convolutions in int8 (with the bf16 decoder and int8 linears, as on AVX-512 without AMX) change the
    audio by rounding only: bounded against fp32, independent of the batch, the same on a rerun."""
    model = load(small_model, 0.7, quantize=True)
    reqs = requests(model, small_model)[:3]
    fp32 = {r.key: a for r, a, *_ in BatchedGenerator(model, 3).generate(reqs)}
    formats = {"decoder_dtype": torch.bfloat16, "decoder_int8": True}
    linears = {r.key: a for r, a, *_ in BatchedGenerator(model, 3, **formats).generate(reqs)}
    int8 = BatchedGenerator(model, 3, **formats, seanet_int8=True)
    first = {r.key: a for r, a, *_ in int8.generate(reqs)}
    again = {r.key: a for r, a, *_ in int8.generate(reqs[::-1])}
    alone = {r.key: a for r, a, *_ in BatchedGenerator(model, 3, **formats, seanet_int8=True).generate([reqs[1]])}
    assert all(torch.equal(first[k], again[k]) for k in first) and torch.equal(alone["k1"], first["k1"])
    for key, reference in fp32.items():
        assert first[key].shape == reference.shape and not torch.equal(first[key], linears[key])
        # measured 42.9-43.1 dB, at most 2.1% of the peak (AMD EPYC, AVX-512 VNNI); full size: docs/performance.md
        assert snr_db(reference, first[key]) > 30, key
        assert (first[key] - reference).abs().max() < 0.06 * reference.abs().max()


def test_int8_steps_are_rounded_as_torch_ao_and_quantized_each_on_its_own():
    """The decoder's int8 layers: torch.ao's integers for the weights; each time step's result is the one it gets
    alone, whatever the steps beside it; bf16 in, bf16 out."""
    from pocket_batch.synth.fast.int8_rows import Int8PerRow, Int8PerStep

    for seed in range(6):  # enough draws that a rounding off by one would show
        torch.manual_seed(seed)
        linear = torch.nn.Linear(96, 40)
        ours = Int8PerStep.rounded(linear).weight()
        with quiet_int8_load():
            stock = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(linear), {torch.nn.Linear},
                                                           dtype=torch.qint8)[0].weight()
        assert ours.q_scale() == stock.q_scale() and torch.equal(ours.int_repr(), stock.int_repr())
    layer = Int8PerStep.rounded(linear)
    x = torch.randn(1, 7, 96) * torch.logspace(-2, 2, 7)[None, :, None]  # steps of very different levels
    out = layer(x)
    for t in range(7):
        assert torch.equal(out[0, t], layer(x[:, t: t + 1])[0, 0])
        assert torch.equal(out[0, t], Int8PerRow.rounded(linear)(x[:, t: t + 1])[0, 0])
    neighbours = x.clone()
    neighbours[0, 3] = 1e6
    assert torch.equal(layer(neighbours)[0, :3], out[0, :3])
    assert float((out - linear(x)).abs().max()) < 0.02 * float(linear(x).abs().max())
    assert layer(x.bfloat16()).dtype == torch.bfloat16


def test_int8_decoder_linears_stay_close_to_fp32_and_keep_audio_reproducible(small_model):
    """int8 linear layers in the decoder transformer change the audio by rounding only: bounded against fp32
    (also with the layer scales at 1, where the random model's 0.01 would hide the rounding), independent of
    the batch, the same on a rerun."""
    model = load(small_model, 0.7, quantize=True)
    reqs = requests(model, small_model)[:3]
    fp32 = {r.key: a for r, a, *_ in BatchedGenerator(model, 3).generate(reqs)}
    int8 = BatchedGenerator(model, 3, decoder_int8=True)
    first = {r.key: a for r, a, *_ in int8.generate(reqs)}
    again = {r.key: a for r, a, *_ in int8.generate(reqs[::-1])}
    alone = {r.key: a for r, a, *_ in BatchedGenerator(model, 3, decoder_int8=True).generate([reqs[1]])}
    assert all(torch.equal(first[k], again[k]) for k in first) and torch.equal(alone["k1"], first["k1"])
    for key, reference in fp32.items():
        assert first[key].shape == reference.shape and not torch.equal(first[key], reference)
        assert snr_db(reference, first[key]) > 60, key  # measured 92.8 dB (3 bench chunks)
    scales = [p for name, p in model.mimi.decoder_transformer.named_parameters() if "layer_scale" in name]
    assert scales
    for p in scales:
        p.data.fill_(1.0)
    fp32 = {r.key: a for r, a, *_ in BatchedGenerator(model, 3).generate(reqs)}
    first = {r.key: a for r, a, *_ in BatchedGenerator(model, 3, decoder_int8=True).generate(reqs)}
    for key, reference in fp32.items():
        assert snr_db(reference, first[key]) > 40, key  # measured 49.1 dB (3 bench chunks)
        assert (first[key] - reference).abs().max() < 0.03 * reference.abs().max()


def test_a_workers_rows_take_the_next_calls_chunks_without_waiting_for_a_drain(small_model):
    """Two calls at once on a worker of two rows: the second call's chunk starts in the row the first call's
    short chunk leaves, so it comes back before the first call's long chunk, with the same audio as alone."""
    import threading

    from pocket_batch.synth.model.source import ModelSource
    from pocket_batch.synth.model.voices import resolve_voice

    options = ModelOptions(config=small_model, decoder="fp32", decoder_int8=False, seanet_int8=False)
    voice = resolve_voice("alba", ModelSource(options))
    long_text, short_text = TEXTS[3], TEXTS[2]
    first = [SynthTask("long", long_text, voice.fingerprint, 1, 50), SynthTask("short", short_text, voice.fingerprint, 2, 50)]
    second = [SynthTask("next", short_text, voice.fingerprint, 3, 50)]
    worker = SynthWorker(options, temperature=0.7, batch_size=2)
    worker.add_voice(voice)
    worker.setup()
    arrived, outputs = [], {}

    def call(tasks):
        for out in worker.synthesize_stream(tasks):
            arrived.append(out.key)
            outputs[out.key] = out.audio

    try:
        threads = [threading.Thread(target=call, args=(tasks,)) for tasks in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert arrived.index("next") < arrived.index("long"), arrived
        alone = worker.synthesize_many([SynthTask("next", short_text, voice.fingerprint, 3, 50)])[0].audio
        assert np.array_equal(alone, outputs["next"])
    finally:
        worker.close()
