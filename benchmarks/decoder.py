"""`pocket-batch bench decoder`: Mimi's decoder in fp32 and bf16 on the same latents: speed and fidelity.

The bench chunks are generated once with the full-size random model (batched, int8, as a worker
does); each chunk's latents are then decoded by the fp32 and the bf16 decoder, one core, in
alternating order. Fidelity is the bf16 audio against the fp32 audio of the same latents:
the largest sample difference and the signal-to-noise ratio, over all chunks and for the worst.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pocket_batch.benchmarks.synth import BENCH_VOICE, bench_sentences
from pocket_batch.core.config import FRAME_RATE, ModelOptions
from pocket_batch.synth.random_model import make_random_model


def bench_decoder(chunks: int, model_dir: Path, console: Console, rounds: int = 3) -> dict:
    import torch

    from pocket_batch.synth.batched import BatchedGenerator, Request
    from pocket_batch.synth.model import ModelSource

    config = model_dir / "config.yaml"
    if not config.is_file():
        make_random_model(model_dir, "english")
    torch.set_num_threads(1)
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
    decoders = {"fp32": BatchedGenerator(model, 1), "bf16": BatchedGenerator(model, 1, torch.bfloat16)}
    seconds, audio = {name: [] for name in decoders}, {}
    with torch.no_grad():
        for name, decoder in decoders.items():  # warm-up: oneDNN builds its kernels on first use
            decoder._decode(latents[0][:, :32])
        for n in range(rounds):
            for name in (list(decoders) if n % 2 == 0 else list(decoders)[::-1]):
                started = time.perf_counter()
                audio[name] = [decoders[name]._decode(row) for row in latents]
                seconds[name].append(time.perf_counter() - started)
    frames = sum(row.shape[1] for row in latents)
    worst, noise, signal, peak_diff = math.inf, 0.0, 0.0, 0.0
    for reference, other in zip(audio["fp32"], audio["bf16"]):
        error = (reference - other).pow(2).sum().item()
        worst = min(worst, 10 * math.log10(reference.pow(2).sum().item() / error))
        noise, signal = noise + error, signal + reference.pow(2).sum().item()
        peak_diff = max(peak_diff, (reference - other).abs().max().item() / reference.abs().max().item())
    result = {"chunks": len(latents), "audio_s": frames / FRAME_RATE,
              "ms_per_frame": {name: 1000 * sorted(s)[len(s) // 2] / frames for name, s in seconds.items()},
              "snr_db": 10 * math.log10(signal / noise), "worst_snr_db": worst, "max_diff_of_peak": peak_diff}
    table = Table(title=f"bench decoder: {len(latents)} bench chunks ({frames / FRAME_RATE:.0f} s), one core, "
                        f"median of {rounds} alternating rounds")
    for column in ("decoder", "ms per 80 ms frame", "speed", "SNR vs fp32", "worst chunk", "max |diff| / peak"):
        table.add_column(column, justify="right")
    fp32 = result["ms_per_frame"]["fp32"]
    for name, ms in result["ms_per_frame"].items():
        fidelity = ("", "", "") if name == "fp32" else (
            f"{result['snr_db']:.1f} dB", f"{worst:.1f} dB", f"{peak_diff:.2%}")
        table.add_row(name, f"{ms:.2f}", f"{fp32 / ms:.2f}×", *fidelity)
    console.print(table)
    return result
