"""The `pocket-batch` command: thin wrappers that parse options and call library functions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from pocket_batch.pipeline.config import GenerationOptions, ModelOptions, RunConfig
from pocket_batch.pipeline.errors import PocketBatchError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Books and text collections to finished audio with Kyutai Pocket TTS.\n\n"
                       "pocket-batch FILE... --voice NAME -o OUT is short for pocket-batch render.")
model_app = typer.Typer(help="Models: build the offline random model for tests and benchmarks.")
bench_app = typer.Typer(help="Benchmarks that print throughput ratios.")
app.add_typer(model_app, name="model")
app.add_typer(bench_app, name="bench")
err = Console(stderr=True)

Language = Annotated[Optional[str], typer.Option(help="A pocket-tts language config (default english).")]
ModelConfig = Annotated[Optional[Path], typer.Option("--model-config", help="A pocket-tts YAML config, e.g. from `model make-random`.")]
Quantize = Annotated[bool, typer.Option(help="Dynamic int8 quantization of the transformer.")]


@app.command()
def render(
    inputs: Annotated[list[Path], typer.Argument(help="Text files to narrate.")],
    voice: Annotated[str, typer.Option(help="Preset name, voice sample (with consent) or .safetensors state.")] = "alba",
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")] = Path("out"),
    consent: Annotated[Optional[Path], typer.Option(help="Consent record for a cloned voice.")] = None,
    language: Language = None,
    model_config: ModelConfig = None,
    quantize: Quantize = False,
    temperature: Annotated[Optional[float], typer.Option(help="Sampling temperature (model default 0.3).")] = None,
    seed: Annotated[int, typer.Option(help="Run seed; each chunk's seed derives from it.")] = 0,
    workers: Annotated[Optional[int], typer.Option(help="Ray workers (0: in-process; default from cores and memory).")] = None,
    address: Annotated[Optional[str], typer.Option(help="Join this Ray cluster instead of starting one.")] = None,
) -> None:
    """Narrate text files: one WAV and a manifest.json per input."""
    from pocket_batch.pipeline.run import render as run_render

    config = RunConfig(
        inputs=tuple(inputs), output=output, voice=voice, consent=consent,
        model=ModelOptions(language=language, config=model_config, quantize=quantize),
        generation=GenerationOptions(temperature=temperature, seed=seed),
        workers=workers, address=address,
    )
    result = run_render(config)
    for manifest in result.outputs:
        err.print(f"[green]done[/] {manifest.parent} ({result.synthesized} chunks synthesized)")


@app.command()
def voices(model_config: ModelConfig = None) -> None:
    """List the preset voices and where each comes from."""
    from pocket_batch.synth.model import ModelSource
    from pocket_batch.synth.voices import preset_names, preset_origin

    source = ModelSource(ModelOptions(config=model_config))
    table = Table("voice", "origin", "state")
    for name in preset_names():
        state = "Hugging Face (downloaded on first use)"
        if not source.is_builtin:
            path = source.voices_dir / f"{name}.safetensors"
            state = str(path) if path.is_file() else "missing"
        table.add_row(name, preset_origin(name), state)
    Console().print(table)


@model_app.command("make-random")
def make_random(
    directory: Annotated[Path, typer.Argument(help="Folder for config.yaml, weights, tokenizer, voices/.")],
    arch: Annotated[str, typer.Option(help="english (full size) or english_2m_2026-10 (small).")] = "english",
    seed: int = 0,
) -> None:
    """Build Pocket TTS's architecture with random weights: it speaks NOISE, for tests and benchmarks."""
    from pocket_batch.synth.random_model import make_random_model

    config = make_random_model(directory, arch, seed)
    err.print(f"random {arch} model (noise, not speech): --model-config {config}")


@bench_app.command("synth")
def bench_synth(
    chunks: Annotated[int, typer.Option(help="How many text chunks to synthesize per configuration.")] = 8,
    workers: Annotated[Optional[int], typer.Option(help="N for the N-worker pipeline (default from cores).")] = None,
    model_dir: Annotated[Path, typer.Option(help="Where the full-size random model is built or reused.")] = Path("models/random-english"),
    quantize: Quantize = False,
) -> None:
    """Stock pocket-tts in one process vs the pipeline with 1 and N Ray workers, same chunks."""
    from pocket_batch.synth.bench import bench_synth as run

    run(chunks, workers, model_dir, quantize, Console())


def main() -> None:
    """Entry point: `pocket-batch FILE ...` runs `render`; errors are one line, not a traceback."""
    args = sys.argv[1:]
    commands = {"render", "voices", "model", "bench", "--help", "-h"}
    if args and args[0] not in commands:
        args = ["render", *args]
    try:
        app(args, standalone_mode=False)
    except PocketBatchError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("[red]interrupted[/]")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
