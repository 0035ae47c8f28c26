"""`pocket-batch bench parts`: where one worker's core goes with every check on, and how far each part is
from the core's limit.

One core, as a worker runs: the full-size random model at this CPU's default settings (int8 backbone, the
decoder `auto` settles on), `batch` rows, the bench chunks; each finished take heard (words), embedded
(voice) and measured (quality) as a verifying worker does, each timed on its own. A part's work comes from
the same steps in fp32, counted by torch's FLOP counter (products and convolutions; attention included):
achieved GFLOP/s against the core's nominal peak for the part's arithmetic (`Cpu.peak_gflops`). The
backbone's flow head (the MLP that turns the transformer's output into a latent frame) is timed inside it
too: it stays fp32 where the transformer is int8. The backbone reads all its weights once a step for every
row in flight, so its weight bytes a second are shown too: at a few rows a step it is bound by memory,
not arithmetic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pocket_batch.benchmarks.synth import BENCH_VOICE, bench_sentences
from pocket_batch.core.config import CACHE_BYTES, DEFAULT_CHECKS, SAMPLE_RATE, ModelOptions, Synthesis, VerifyOptions
from pocket_batch.core.cpu import Cpu
from pocket_batch.testing.random_model import make_random_model

MAX_TOKENS = 50  # as bench synth's tasks: the random model never ends a take by itself


@dataclass
class Part:
    seconds: float = 0.0
    flops: float = 0.0
    calls: int = 0


@dataclass
class Tally:
    parts: dict[str, Part] = field(default_factory=dict)
    frames: int = 0  # latent frames made (80 ms of audio each)
    backbone_bytes: int = 0  # the flow LM's linear weights as the timed model holds them (int8 or float)

    def add(self, name: str, seconds: float = 0.0, flops: float = 0.0) -> None:
        part = self.parts.setdefault(name, Part())
        part.seconds, part.flops, part.calls = part.seconds + seconds, part.flops + flops, part.calls + 1


def _generator(model, batch: int, options: ModelOptions, tally: Tally, count_flops: bool):
    """A BatchedGenerator that times (or counts the FLOPs of) its backbone steps, decoder and SEANet."""
    from torch.utils.flop_counter import FlopCounterMode

    from pocket_batch.synth.fast.batched import BatchedGenerator
    from pocket_batch.synth.fast.seanet import stock_decode

    def measured(name: str, call):
        def run(*args):
            if count_flops:
                with FlopCounterMode(display=False) as counter:
                    out = call(*args)
                tally.add(name, flops=counter.get_total_flops())
                return out
            started = time.perf_counter()
            out = call(*args)
            tally.add(name, seconds=time.perf_counter() - started)
            return out
        return run

    class Timed(BatchedGenerator):
        def _flow_step(self, latents, rows, active):
            tally.frames += len(active)
            return measured("backbone", super()._flow_step)(latents, rows, active)

        def _decode(self, latents):
            return measured("decoder", super()._decode)(latents)

    generator = Timed.settled(model, batch, options, CACHE_BYTES)
    flow_head = model.flow_lm.flow_net
    flow_head.forward = measured("flow head", flow_head.forward)  # inside the backbone's time
    seanet = generator.seanet

    class TimedSeanet:  # the decoder's SEANet on its own, inside the decoder's time
        def initial(self):
            return seanet.initial()

        def __call__(self, z, state):
            if not count_flops:
                return measured("seanet", seanet)(z, state)
            # Its convolutions run as oneDNN kernels the counter does not know: counted on pocket-tts's own
            # SEANet, the same convolutions on the same input (and so inside the decoder's count too).
            measured("seanet", stock_decode)(model.mimi, z.float())
            return seanet(z, state)

    generator.seanet = TimedSeanet()
    return generator


def _run(options: ModelOptions, texts: list[str], batch: int, count_flops: bool, checks: bool) -> Tally:
    import torch

    from pocket_batch.synth.fast.batched import Request
    from pocket_batch.synth.model.source import ModelSource
    from pocket_batch.verify.backends import make_backend
    from pocket_batch.verify.judge import verify_audio
    from pocket_batch.verify.sound import measure

    torch.set_num_threads(1)
    source = ModelSource(options)
    model = source.load()
    model.max_decoder_frames_per_call = 1
    state = model.get_state_for_audio_prompt(str(options.config.parent / "voices" / f"{BENCH_VOICE}.safetensors"))
    tally = Tally()
    generator = _generator(model, batch, options, tally, count_flops)
    tally.backbone_bytes = _weight_bytes(model.flow_lm)
    prompts = [source.prepare(text) for text in texts]
    requests = [Request(f"b{n}", prompt, state, n) for n, prompt in enumerate(prompts)]
    backend = make_backend(VerifyOptions(checks=DEFAULT_CHECKS), texts) if checks else None
    words_only = VerifyOptions(checks=("words",))
    for request, audio, _, _ in generator.generate(requests):
        if not checks:
            continue
        x = audio.numpy()
        started = time.perf_counter()  # heard against the chunk's text, as a worker hears it
        verify_audio(backend, x, SAMPLE_RATE, texts[int(request.key[1:])], words_only)
        tally.add("words", time.perf_counter() - started)
        for check in ("voice", "quality"):
            started = time.perf_counter()
            measure(x, SAMPLE_RATE, (check,))
            tally.add(check, time.perf_counter() - started)
    return tally


def _weight_bytes(module) -> int:
    """The bytes of every linear layer's weights under `module`, int8 or float as they are held."""
    import torch

    from pocket_batch.synth.fast.int8_rows import Int8PerRow

    return sum(m.in_features * m.out_features if isinstance(m, Int8PerRow) else m.weight.numel() * m.weight.element_size()
               for m in module.modules() if isinstance(m, (torch.nn.Linear, Int8PerRow)))


def bench_parts(chunks: int, batch: int | None, model_dir: Path, console: Console) -> dict:
    """`batch` None: this CPU's default."""
    import multiprocessing

    config = model_dir / "config.yaml"
    if not config.is_file():
        make_random_model(model_dir, "english")
    cpu = Cpu.this()
    settled = Synthesis(batch_size=batch).on(cpu)
    batch, settled = settled.batch_size, settled.model.model_copy(update={"config": config})
    plain = ModelOptions(config=config, quantize=False, decoder="fp32", decoder_int8=False, seanet_int8=False)
    texts = bench_sentences(chunks)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:  # each in a fresh process: the counting pass's fp32 model leaves with it
        counted = pool.apply(_run, (plain, texts[: max(4, chunks // 8)], batch, True, False))
    with ctx.Pool(1) as pool:
        timed = pool.apply(_run, (settled, texts, batch, False, True))
    return _report(timed, counted, settled, batch, cpu, console)


def _report(timed: Tally, counted: Tally, options: ModelOptions, batch: int, cpu: Cpu, console: Console) -> dict:
    audio_s = timed.frames * 0.08
    parts = timed.parts
    inside = {"transformer": "backbone", "flow head": "backbone", "seanet": "decoder"}
    for tally in (timed, counted):  # the backbone's transformer: the backbone less its flow head
        backbone, head = tally.parts["backbone"], tally.parts["flow head"]
        tally.parts["transformer"] = Part(backbone.seconds - head.seconds, backbone.flops - head.flops)
    total = sum(p.seconds for name, p in parts.items() if name not in inside)
    # Each part's arithmetic, and the one most of its work is in, whose peak it is held to (the backbone
    # has none: its two parts have theirs).
    decoder = f"{options.decoder}{' + int8 linears' if options.decoder_int8 else ''}"
    transformer, seanet = "int8" if options.quantize else "fp32", "int8" if options.seanet_int8 else options.decoder
    arithmetic = {"backbone": ("", None), "transformer": (transformer, transformer), "flow head": ("fp32", "fp32"),
                  "decoder": (f"int8 convolutions + {decoder}" if options.seanet_int8 else decoder, seanet),
                  "seanet": (f"int8 + {options.decoder} at the audio rate" if options.seanet_int8 else seanet, seanet)}
    table = Table(title=f"bench parts: one worker's core, batch {batch}, {timed.frames} frames ({audio_s:.0f} s of "
                        f"audio), every check on; {cpu.describe()}, {cpu.clock_ghz():.2f} GHz")
    for column in ("part", "share of the core", "ms per audio-s", "GFLOP per audio-s", "achieved GFLOP/s",
                   "arithmetic", "nominal peak GFLOP/s", "of peak"):
        table.add_column(column, justify="left" if column in ("part", "arithmetic") else "right")
    out = {"cpu": cpu.describe(), "batch": batch, "audio_s": audio_s, "parts": {}}
    for name in ("backbone", "transformer", "flow head", "decoder", "seanet", "words", "voice", "quality"):
        part = parts.get(name)
        if part is None:
            continue
        ms = part.seconds / audio_s * 1000
        row = {"share": part.seconds / total, "ms_per_audio_s": ms}
        label = {"seanet": "SEANet"}.get(name, name)
        cells = [f"  of which {label}" if name in inside else label, f"{part.seconds / total:.0%}", f"{ms:.1f}"]
        if name in counted.parts:
            gflop = counted.parts[name].flops / (counted.frames * 0.08) / 1e9
            achieved = gflop / (ms / 1000)
            row |= {"gflop_per_audio_s": gflop, "gflops": achieved}
            described, main = arithmetic[name]
            cells += [f"{gflop:.2f}", f"{achieved:.1f}", described]
            if main:
                row["peak_gflops"] = peak = cpu.peak_gflops(main)
                cells += [f"{peak:.0f}", f"{achieved / peak:.0%}"]
            else:
                cells += ["", ""]
        else:
            cells += ["", "", "", "", ""]
        out["parts"][name] = row
        table.add_row(*cells)
    console.print(table)
    steps = parts["backbone"].calls
    weights = timed.backbone_bytes
    rate = weights * steps / parts["backbone"].seconds / 1e9
    console.print(f"backbone: {timed.frames / steps:.1f} rows a step on average; its {weights / 2**20:.0f} MiB of "
                  f"weights read once a step: {rate:.1f} GB/s", highlight=False)
    out["backbone_weight_gb_s"] = rate
    return out

