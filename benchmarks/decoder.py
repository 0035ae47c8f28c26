"""`pocket-batch bench decoder`: Mimi's decoder in each precision on the same latents: speed and fidelity.

The bench chunks are generated once with the full-size random model, or a released one (`language`,
from Hugging Face), batched, int8, as a worker does; each chunk's latents are then decoded by every decoder: fp32, bf16, and each of those with
its transformer's linear layers in int8, one core, in alternating order. Fidelity is each one's
audio against the fp32 audio of the same latents: the largest sample difference and the
signal-to-noise ratio, over all chunks and for the worst; and the same with the transformer's layer
scales at 1, where the random model's 0.01 would hide most of its layers' rounding.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pocket_batch.benchmarks.synth import BENCH_VOICE, bench_sentences
from pocket_batch.core.config import FRAME_RATE, ModelOptions
from pocket_batch.testing.random_model import make_random_model


def bench_decoder(chunks: int, model_dir: Path, console: Console, rounds: int = 3, language: str | None = None) -> dict:
    """`language`: a released pocket-tts model (from Hugging Face) instead of the random one in `model_dir`:
    the fidelity of each precision on trained weights."""
    import torch

    from pocket_batch.synth.fast.batched import BatchedGenerator, Request
    from pocket_batch.synth.model.source import ModelSource, hub_errors

    torch.set_num_threads(1)
    if language:
        source = ModelSource(ModelOptions(language=language))
        model = source.load()
        with hub_errors(f"the preset voice {BENCH_VOICE!r}"):
            state = model.get_state_for_audio_prompt(BENCH_VOICE)
    else:
        config = model_dir / "config.yaml"
        if not config.is_file():
            make_random_model(model_dir, "english")
        source = ModelSource(ModelOptions(config=config))
        model = source.load()
        state = model.get_state_for_audio_prompt(str(model_dir / "voices" / f"{BENCH_VOICE}.safetensors"))
    latents = []

    class Recording(BatchedGenerator):  # keeps each finished row's latents for the decoders below
        def _decode(self, row_latents):
            latents.append(row_latents)
            return row_latents.new_zeros(0)

    requests = [Request(f"b{n}", source.prepare(text), state, n) for n, text in enumerate(bench_sentences(chunks))]
    list(Recording(model, 16).generate(requests))
    precisions = {"fp32": {}, "bf16": {"decoder_dtype": torch.bfloat16}, "fp32, int8 linears": {"decoder_int8": True},
                  "bf16, int8 linears": {"decoder_dtype": torch.bfloat16, "decoder_int8": True},
                  "bf16, int8 linears and convolutions": {"decoder_dtype": torch.bfloat16, "decoder_int8": True,
                                                          "seanet_int8": True}}

    def every_decoder() -> dict:  # built from the model's weights as they are now: copies, rounded, laid out
        return {name: BatchedGenerator(model, 1, **kwargs) for name, kwargs in precisions.items()}

    decoders = every_decoder()
    seconds, audio = {name: [] for name in decoders}, {}
    with torch.no_grad():
        for decoder in decoders.values():  # warm-up: oneDNN builds its kernels on first use
            decoder._decode(latents[0][:, :32])
        for n in range(rounds):
            for name in (list(decoders) if n % 2 == 0 else list(decoders)[::-1]):
                started = time.perf_counter()
                audio[name] = [decoders[name]._decode(row) for row in latents]
                seconds[name].append(time.perf_counter() - started)
        stressed = _with_full_layer_scales(model, lambda: {
            name: [decoder._decode(row) for row in latents] for name, decoder in every_decoder().items()})
    frames = sum(row.shape[1] for row in latents)
    result = {"chunks": len(latents), "audio_s": frames / FRAME_RATE,
              "ms_per_frame": {name: 1000 * sorted(s)[len(s) // 2] / frames for name, s in seconds.items()},
              "fidelity": {name: fidelity(audio["fp32"], audio[name]) for name in decoders if name != "fp32"},
              "fidelity_full_scales": {name: fidelity(stressed["fp32"], stressed[name])
                                       for name in decoders if name != "fp32"}}
    weights = f"pocket-tts {language}" if language else "the random model"
    table = Table(title=f"bench decoder, {weights}: {len(latents)} bench chunks ({frames / FRAME_RATE:.0f} s), one core, "
                        f"median of {rounds} alternating rounds")
    for column in ("decoder", "ms per 80 ms frame", "speed", "SNR vs fp32", "worst chunk", "max |diff| / peak",
                   "SNR, layer scales 1"):
        table.add_column(column, justify="right")
    fp32 = result["ms_per_frame"]["fp32"]
    for name, ms in result["ms_per_frame"].items():
        f, full = result["fidelity"].get(name), result["fidelity_full_scales"].get(name)
        columns = ("", "", "", "") if f is None else (
            f"{f['snr_db']:.1f} dB", f"{f['worst_snr_db']:.1f} dB", f"{f['max_diff_of_peak']:.2%}",
            f"{full['snr_db']:.1f} dB")
        table.add_row(name, f"{ms:.2f}", f"{fp32 / ms:.2f}×", *columns)
    console.print(table)
    console.print("Layer scales 1: the same latents with the decoder transformer's layer scales at 1 (the random "
                  "model's are 0.01, which hides 99% of its layers' rounding).")
    return result


def _with_full_layer_scales(model, decode):
    """`decode()` with the decoder transformer's layer scales at 1, then put back. The random model keeps
    them at their initial 0.01, which hides 99% of the transformer's contribution, and so its rounding:
    a trained model's may be larger."""
    scales = [p for name, p in model.mimi.decoder_transformer.named_parameters() if "layer_scale" in name]
    kept = [p.detach().clone() for p in scales]
    try:
        for p in scales:
            p.data.fill_(1.0)
        return decode()
    finally:
        for p, old in zip(scales, kept):
            p.data.copy_(old)


def fidelity(references: list, others: list) -> dict:
    """`others` against `references`, chunk by chunk: SNR over all chunks and the worst chunk's, and the
    largest sample difference as a share of its chunk's peak."""
    worst, noise, signal, peak_diff = math.inf, 0.0, 0.0, 0.0
    for reference, other in zip(references, others):
        error = (reference - other).pow(2).sum().item()
        energy = reference.pow(2).sum().item()
        worst = min(worst, 10 * math.log10(energy / error) if error else math.inf)
        noise, signal = noise + error, signal + energy
        peak_diff = max(peak_diff, (reference - other).abs().max().item() / reference.abs().max().item())
    return {"snr_db": 10 * math.log10(signal / noise) if noise else math.inf, "worst_snr_db": worst,
            "max_diff_of_peak": peak_diff}
