"""The `pocket-batch` command: thin wrappers that parse options and call library functions."""

from __future__ import annotations

import difflib
import logging
import sys
from pathlib import Path
from typing import Annotated, Optional, get_args

import typer
from pydantic import BaseModel, ValidationError
from rich.table import Table

from pocket_batch.core.config import (CORPUS_FORMATS, CorpusConfig, GenerationOptions, IngestOptions, ModelOptions, PostprocOptions,
                                     QAOptions, RunConfig, Synthesis, VerifyOptions, Check)
from pocket_batch.core.errors import ExitCode, PocketBatchError, Terminated, os_error_line
from pocket_batch.pipeline import stop, views
from pocket_batch.pipeline.views import err

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Books and text collections to finished audio with Kyutai Pocket TTS.\n\n"
                       "pocket-batch FILE... --voice NAME -o OUT is short for pocket-batch render.")
model_app = typer.Typer(help="Models: build the offline random model for tests and benchmarks.")
bench_app = typer.Typer(help="Benchmarks that print throughput ratios.")
app.add_typer(model_app, name="model")
app.add_typer(bench_app, name="bench")


def option(model: type[BaseModel], name: str, *flags: str, **kwargs) -> typer.models.OptionInfo:
    """An option whose help is the config field's description; `default` gives its default."""
    return typer.Option(*flags, help=model.model_fields[name].description, **kwargs)


def default(model: type[BaseModel], name: str):
    return model.model_fields[name].default


Language = Annotated[Optional[str], option(ModelOptions, "language")]
ModelConfig = Annotated[Optional[Path], option(ModelOptions, "config", "--model-config")]
Quantize = Annotated[bool, option(ModelOptions, "quantize", "--quantize/--no-quantize")]
Decoder = Annotated[str, option(ModelOptions, "decoder")]
DecoderInt8 = Annotated[Optional[bool], option(ModelOptions, "decoder_int8", "--decoder-int8/--no-decoder-int8",
                                               show_default=False)]
SeanetInt8 = Annotated[Optional[bool], option(ModelOptions, "seanet_int8", "--seanet-int8/--no-seanet-int8",
                                              show_default=False)]
Seed = Annotated[int, option(GenerationOptions, "seed")]
FrontMatter = Annotated[bool, option(IngestOptions, "include_front_matter")]
Footnotes = Annotated[str, option(IngestOptions, "footnotes")]
Lexicon = Annotated[Optional[Path], option(IngestOptions, "lexicon")]
Math = Annotated[str, option(IngestOptions, "math")]
ImageAlt = Annotated[str, option(IngestOptions, "image_alt")]
Workers = Annotated[Optional[int], option(Synthesis, "workers")]
Address = Annotated[Optional[str], option(Synthesis, "address")]
Consent = Annotated[Optional[Path], option(RunConfig, "consent")]
Verify = Annotated[Optional[bool], option(VerifyOptions, "enabled", "--verify/--no-verify", show_default=False)]
VerifyBackend = Annotated[str, option(VerifyOptions, "backend", "--verify-backend")]
VerifyMaxWer = Annotated[Optional[float], option(VerifyOptions, "max_wer", "--verify-max-wer")]
VerifyRetries = Annotated[int, option(VerifyOptions, "retries", "--verify-retries")]
Checks = Annotated[Optional[str], option(VerifyOptions, "checks", "--checks", show_default=False,
                                         metavar="words,voice,quality[,mos]")]


def checks(value: str | None) -> dict:
    """`--checks words,voice` as VerifyOptions fields (nothing when the option is absent: the default)."""
    if value is None:
        return {}
    names = tuple(dict.fromkeys(n.strip() for n in value.split(",") if n.strip()))
    unknown = [n for n in names if n not in get_args(Check)]
    if unknown or not names:
        raise PocketBatchError(f"--checks {value!r}: choose from {', '.join(get_args(Check))}, separated by commas")
    return {"checks": names}


@app.command()
def render(
    inputs: Annotated[list[Path], typer.Argument(help="Text files to narrate.")],
    voice: Annotated[str, option(RunConfig, "voice")] = default(RunConfig, "voice"),
    output: Annotated[Path, option(RunConfig, "output", "--output", "-o")] = default(RunConfig, "output"),
    consent: Consent = None,
    language: Language = None,
    model_config: ModelConfig = None,
    quantize: Quantize = default(ModelOptions, "quantize"),
    decoder: Decoder = default(ModelOptions, "decoder"),
    decoder_int8: DecoderInt8 = None,
    seanet_int8: SeanetInt8 = None,
    temperature: Annotated[Optional[float], option(GenerationOptions, "temperature")] = None,
    seed: Seed = default(GenerationOptions, "seed"),
    workers: Workers = None,
    address: Address = None,
    batch_size: Annotated[Optional[int], option(Synthesis, "batch_size")] = None,
    chunk_retries: Annotated[int, option(Synthesis, "chunk_retries")] = default(Synthesis, "chunk_retries"),
    chunk_timeout: Annotated[float, option(Synthesis, "chunk_timeout")] = default(Synthesis, "chunk_timeout"),
    include_front_matter: FrontMatter = default(IngestOptions, "include_front_matter"),
    footnotes: Footnotes = default(IngestOptions, "footnotes"),
    math: Math = default(IngestOptions, "math"),
    image_alt: ImageAlt = default(IngestOptions, "image_alt"),
    lexicon: Lexicon = None,
    loudness: Annotated[str, option(PostprocOptions, "loudness")] = default(PostprocOptions, "loudness"),
    format: Annotated[str, option(PostprocOptions, "format", "--format")] = default(PostprocOptions, "format"),
    subtitles: Annotated[str, option(PostprocOptions, "subtitles")] = default(PostprocOptions, "subtitles"),
    readalong: Annotated[str, option(PostprocOptions, "readalong", metavar="[sentences|words]")] = default(
        PostprocOptions, "readalong"),
    dialogue_voice: Annotated[Optional[str], option(IngestOptions, "dialogue_voice")] = None,
    rate: Annotated[float, option(PostprocOptions, "rate")] = default(PostprocOptions, "rate"),
    chapters: Annotated[Optional[str], option(IngestOptions, "chapters")] = None,
    preview: Annotated[Optional[str], option(IngestOptions, "preview")] = None,
    voices: Annotated[Optional[Path], typer.Option("--voices", help="A TOML map of characters to voices (Javert = \"javert\").")] = None,
    verify: Verify = None,
    verify_backend: VerifyBackend = default(VerifyOptions, "backend"),
    verify_max_wer: VerifyMaxWer = None,
    verify_retries: VerifyRetries = default(VerifyOptions, "retries"),
    check: Checks = None,
) -> None:
    """Narrate books (EPUB, PDF, DOCX, Markdown, text; MOBI, AZW3, FB2, RTF through Calibre): a chaptered M4B,
    per-chapter files, subtitles and a manifest; every chunk checked for its words, voice and sound (exit 4 when some still fail, listed in verify.json; 5 when
    none fails but some could not be verified)."""
    from pocket_batch.ingest.dialogue import read_voice_map
    from pocket_batch.ingest.selection import parse_seconds
    from pocket_batch.synth.model.source import ModelSource

    config = RunConfig(
        inputs=tuple(inputs), output=output, voice=voice, consent=consent,
        ingest=IngestOptions(include_front_matter=include_front_matter, footnotes=footnotes, math=math,
                             image_alt=image_alt, lexicon=lexicon, dialogue_voice=dialogue_voice,
                             characters=read_voice_map(voices) if voices else {}, chapters=chapters,
                             preview=parse_seconds(preview) if preview else None),
        model=ModelOptions(language=language, config=model_config, quantize=quantize, decoder=decoder,
                           decoder_int8=decoder_int8, seanet_int8=seanet_int8),
        generation=GenerationOptions(temperature=temperature, seed=seed),
        postproc=PostprocOptions(loudness=loudness, format=format, subtitles=subtitles, readalong=readalong, rate=rate),
        workers=workers, address=address, batch_size=batch_size, chunk_retries=chunk_retries,
        chunk_timeout=chunk_timeout,
        verify=VerifyOptions(enabled=verify, backend=verify_backend, max_wer=verify_max_wer, retries=verify_retries,
                             **checks(check)),
    )
    ModelSource(config.model).require()  # offline without the model: its one line before the run's imports
    from pocket_batch.pipeline.run import render as run_render

    result = run_render(config)
    views.show_runs([result])
    raise typer.Exit(result.exit_code)


@app.command("run")
def run_job(job: Annotated[Path, typer.Argument(help="A job file (TOML); see the README.")]) -> None:
    """Render what a job file names and is not finished yet: for cron. Exit 0 all done, 1 some failed,
    2 could not run, 3 another run holds the output folder."""
    from pocket_batch.jobs.runner import run_job as run

    result = run(job)
    views.show_runs(result.runs)
    for pattern in result.unmatched:
        views.warning(f"inputs entry {pattern!r} in {job} matches no file")
    views.say(f"already finished: {result.finished_before}; log: {result.log}")
    raise typer.Exit(result.exit_code)


@app.command()
def status(
    target: Annotated[Path, typer.Argument(help="A job file or an output folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Done, pending and failed books and chunks, read from disk alone (no model, no Ray)."""
    import json

    from pocket_batch.jobs.status import status as read_status

    report = read_status(target)
    if as_json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
        return
    views.show_status(report)


@app.command()
def cache(
    output: Annotated[Path, typer.Argument(help="An output folder.")],
    prune: Annotated[bool, typer.Option("--prune", help="Remove entries no manifest or planned book refers to.")] = False,
) -> None:
    """The chunk cache's size; --prune removes what no manifest (and no unfinished book) in OUTPUT refers to."""
    from pocket_batch.core.layout import OutputLayout
    from pocket_batch.pipeline.housekeeping import cache_usage, prune_cache

    if not OutputLayout.is_output(output):
        raise PocketBatchError(f"{output}: not a pocket-batch output folder")
    if prune:
        removed = prune_cache(output)
        views.say(f"removed {removed.entries} entries ({views.size(removed.bytes)})", views.out)
    usage = cache_usage(output)
    views.say(f"{OutputLayout(output).cache}: {usage.entries} entries, {views.size(usage.bytes)}", views.out)


@app.command()
def corpus(
    csv: Annotated[Path, typer.Argument(help="Prompts: a CSV with id and text columns, LJSpeech id|text|normalized, a .txt of one sentence a line, or a book (EPUB, PDF, DOCX, Markdown...) cut as a render cuts it.")],
    voice: Annotated[str, option(CorpusConfig, "voices")] = ",".join(default(CorpusConfig, "voices")),
    voice_column: Annotated[Optional[str], option(CorpusConfig, "voice_column")] = None,
    voices_from: Annotated[Optional[Path], option(CorpusConfig, "voices_from")] = None,
    voice_pool: Annotated[bool, option(CorpusConfig, "voice_pool", "--voice-pool")] = False,
    split_by: Annotated[str, option(CorpusConfig, "split_by")] = default(CorpusConfig, "split_by"),
    output: Annotated[Path, option(CorpusConfig, "output", "--output", "-o")] = default(CorpusConfig, "output"),
    format: Annotated[Optional[list[str]], typer.Option("--format", help="Layout to write, repeatable or "
                      "comma-separated: " + ", ".join(CORPUS_FORMATS) + " (default ljspeech,audiofolder).")] = None,
    shard_size: Annotated[str, option(CorpusConfig, "shard_size")] = default(CorpusConfig, "shard_size"),
    keep: Annotated[Optional[str], option(CorpusConfig, "keep")] = None,
    id_column: Annotated[str, option(CorpusConfig, "id_column")] = default(CorpusConfig, "id_column"),
    text_column: Annotated[str, option(CorpusConfig, "text_column")] = default(CorpusConfig, "text_column"),
    consent: Consent = None,
    sample_rate: Annotated[int, option(CorpusConfig, "sample_rate")] = default(CorpusConfig, "sample_rate"),
    splits: Annotated[str, option(CorpusConfig, "splits")] = ",".join(map(str, default(CorpusConfig, "splits"))),
    retries: Annotated[int, option(QAOptions, "retries")] = default(QAOptions, "retries"),
    max_length: Annotated[str, option(QAOptions, "max_length")] = default(QAOptions, "max_length"),
    verify: Verify = None,
    verify_backend: VerifyBackend = default(VerifyOptions, "backend"),
    verify_max_wer: VerifyMaxWer = None,
    lexicon: Lexicon = None,
    language: Language = None,
    model_config: ModelConfig = None,
    quantize: Quantize = default(ModelOptions, "quantize"),
    decoder: Decoder = default(ModelOptions, "decoder"),
    decoder_int8: DecoderInt8 = None,
    seanet_int8: SeanetInt8 = None,
    seed: Seed = default(GenerationOptions, "seed"),
    workers: Workers = None,
    address: Address = None,
) -> None:
    """A TTS training corpus from prompts or a book: WAVs, the layouts trainers load, splits, scores, QA, a card."""
    from pocket_batch.pipeline.corpus import build_corpus

    try:
        ratios = tuple(float(r) for r in splits.split(","))
    except ValueError:
        raise PocketBatchError(f"--splits {splits!r}: three comma-separated ratios, e.g. 0.9,0.05,0.05") from None
    config = CorpusConfig(
        csv=csv, output=output, voices=tuple(v.strip() for v in voice.split(",") if v.strip()),
        voice_column=voice_column, voices_from=voices_from, voice_pool=voice_pool, split_by=split_by,
        formats=tuple(f.strip() for fs in (format or []) for f in fs.split(",") if f.strip()) or default(CorpusConfig, "formats"),
        shard_size=shard_size, keep=keep, id_column=id_column, text_column=text_column, consent=consent,
        sample_rate=sample_rate, splits=ratios, lexicon=lexicon, qa=QAOptions(retries=retries, max_length=max_length),
        model=ModelOptions(language=language, config=model_config, quantize=quantize, decoder=decoder,
                           decoder_int8=decoder_int8, seanet_int8=seanet_int8),
        generation=GenerationOptions(seed=seed), workers=workers, address=address,
        verify=VerifyOptions(enabled=verify, backend=verify_backend, max_wer=verify_max_wer),
    )
    result = build_corpus(config)
    if result.never_ends and config.qa.max_length == "fail":
        err.print(views.labelled("note:", "yellow", "this model's config never fires EOS (the offline random "
                                 "model): every take runs to max length and fails QA; --max-length flag keeps such "
                                 "takes"), soft_wrap=True)
    if result.failed:
        err.print(views.labelled(f"{result.failed} of {result.kept + result.failed} utterances left out", "red",
                                 f"after QA (see {output / 'report.json'}); {result.kept} kept, "
                                 f"{result.synthesized} synthesized"), soft_wrap=True)
        raise typer.Exit(ExitCode.SOME_FAILED)
    err.print(views.labelled("done", "green", f"{output}: {result.kept} utterances kept, {result.synthesized} "
                             "synthesized"), soft_wrap=True)


@app.command()
def redo(
    folder: Annotated[Path, typer.Argument(help="A rendered book's folder (where its manifest.json is).")],
    chunk: Annotated[Optional[list[str]], typer.Option("--chunk", help="A chunk id, as the report and manifest show it (repeat for more).")] = None,
    flagged: Annotated[bool, typer.Option("--flagged", help="Every chunk still flagged (verification, max length).")] = False,
    seed: Annotated[Optional[int], typer.Option(help="The run seed for the new takes (default: the render's, with the next attempt).")] = None,
    workers: Annotated[int, typer.Option(min=0, help="Ray workers; 0 (default) synthesizes in-process, quickest for a few chunks.")] = 0,
) -> None:
    """Make the chunks you rejected again with a new seed; only the chapters holding them are rewritten,
    with the M4B, subtitles, read-along book, manifest and report. Exit 4 when a new take is still flagged."""
    from pocket_batch.pipeline.redo import redo as run_redo

    result = run_redo(folder, list(chunk or []), flagged, seed, workers)
    views.show_redo(result)
    if any(result.flags.values()):
        raise typer.Exit(ExitCode.FLAGGED)


@app.command()
def verify(
    dataset: Annotated[Path, typer.Argument(help="An LJSpeech folder (metadata.csv, wavs/) or an audiofolder.")],
    report: Annotated[Optional[Path], typer.Option("--report", help="Where to write the report (default DATASET/verify.json).")] = None,
    backend: VerifyBackend = default(VerifyOptions, "backend"),
    max_wer: VerifyMaxWer = None,
    workers: Annotated[Optional[int], typer.Option(min=1, help="Processes, one recognizer each (default: one per core).")] = None,
    check: Checks = None,
    keep: Annotated[Optional[str], typer.Option("--keep", help='Also say which recordings meet these scores, e.g. "wer<=0.1,similarity>=0.8", and list them in kept.csv beside the report.')] = None,
) -> None:
    """Check an existing speech corpus: does each recording say its transcript, in its speaker's voice, cleanly?
    Exit 4 when some are flagged, 5 when none is but some could not be verified."""
    from pocket_batch.pipeline.check_dataset import check_dataset

    options = VerifyOptions(backend=backend, max_wer=max_wer, **checks(check))
    from pocket_batch.postproc.corpus.keep import Keep

    result = check_dataset(dataset, options, report, workers, Keep.parse(keep))
    views.show_dataset_check(result)
    if result.flagged:
        raise typer.Exit(ExitCode.FLAGGED)
    if result.unverified:
        raise typer.Exit(ExitCode.UNVERIFIED)


@app.command()
def inspect(
    books: Annotated[list[Path], typer.Argument(help="EPUB, Markdown or text files.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    include_front_matter: FrontMatter = default(IngestOptions, "include_front_matter"),
    footnotes: Footnotes = default(IngestOptions, "footnotes"),
    math: Math = default(IngestOptions, "math"),
    image_alt: ImageAlt = default(IngestOptions, "image_alt"),
    lexicon: Lexicon = None,
    language: Language = None,
    model_config: ModelConfig = None,
) -> None:
    """What a book will become: chapters, words, chunks, minutes, what is not read, warnings. No model is loaded;
    with --model-config its tokenizer cuts the chunks exactly as a run would."""
    import json

    from pocket_batch.pipeline.inspect import inspect_book
    from pocket_batch.synth.model.source import ModelSource

    options = IngestOptions(include_front_matter=include_front_matter, footnotes=footnotes, math=math,
                            image_alt=image_alt, lexicon=lexicon)
    source = ModelSource(ModelOptions(language=language, config=model_config))
    reports = [inspect_book(book, options, source) for book in books]
    if as_json:
        data = [r.model_dump(mode="json") for r in reports]
        print(json.dumps(data if len(data) > 1 else data[0], indent=2, ensure_ascii=False))
        return
    for report in reports:
        views.show_inspect(report)


@app.command()
def voices(model_config: ModelConfig = None) -> None:
    """List the preset voices and where each comes from."""
    from pocket_batch.synth.model.source import ModelSource
    from pocket_batch.synth.model.voices import preset_names, preset_origin

    source = ModelSource(ModelOptions(config=model_config))
    table = Table("voice", "origin", "state")
    for name in preset_names():
        state = "Hugging Face (downloaded on first use)"
        if not source.is_builtin:
            path = source.voices_dir / f"{name}.safetensors"
            state = str(path) if path.is_file() else "missing"
        table.add_row(name, preset_origin(name), state)
    views.out.print(table)


@model_app.command("make-random")
def make_random(
    directory: Annotated[Path, typer.Argument(help="Folder for config.yaml, weights, tokenizer, voices/.")],
    arch: Annotated[str, typer.Option(help="english (full size) or english_2m_2026-10 (small).")] = "english",
    seed: int = 0,
) -> None:
    """Build Pocket TTS's architecture with random weights: it speaks NOISE, for tests and benchmarks."""
    from pocket_batch.testing.random_model import make_random_model

    config = make_random_model(directory, arch, seed)
    views.say(f"random {arch} model (noise, not speech): --model-config {config}")


@bench_app.command("synth")
def bench_synth(
    chunks: Annotated[list[int], typer.Option(help="Chunks per configuration (repeat the option).")] = [50, 500],
    workers: Annotated[Optional[int], typer.Option(help="Ray workers for the pipeline rows (default from cores).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Rows per worker for the batched pipeline rows (default: by CPU class).")] = None,
    model_dir: Annotated[Path, typer.Option(help="Where the full-size random model is built or reused.")] = Path("models/random-english"),
    only: Annotated[Optional[list[str]], typer.Option(help="Only this configuration (its full name) or those whose name contains this (repeat the option).")] = None,
    repeat: Annotated[int, typer.Option(min=1, help="Runs per configuration, alternating order; the median is shown.")] = 1,
    verify: Annotated[bool, typer.Option("--verify", help="The default pipeline unverified, hearing words only, with every default gate, and with DNSMOS too.")] = False,
    voice_seconds: Annotated[Optional[float], typer.Option(min=1, help="Read with a voice cloned from this many seconds of audio (a longer prompt: more memory a row) instead of the 3 s preset.")] = None,
) -> None:
    """Stock pocket-tts (fp32, int8) vs the pipeline (batch 1, batched), same chunks, one session."""
    from pocket_batch.benchmarks.synth import bench_synth as run

    run(chunks, workers, batch_size, model_dir, only, views.wide(), repeat, verify, voice_seconds)  # a wide table, even in a log


@bench_app.command("parts")
def bench_parts(
    chunks: Annotated[int, typer.Option(help="Bench chunks one worker makes and checks.")] = 64,
    batch_size: Annotated[Optional[int], typer.Option(help="Rows in flight (default: by CPU class).")] = None,
    model_dir: Annotated[Path, typer.Option(help="Where the full-size random model is built or reused.")] = Path("models/random-english"),
) -> None:
    """Where a worker's core goes with every check on, each part's GFLOP/s against the core's peak."""
    from pocket_batch.benchmarks.parts import bench_parts as run

    run(chunks, batch_size, model_dir, views.wide())


@bench_app.command("decoder")
def bench_decoder(
    chunks: Annotated[int, typer.Option(help="Bench chunks to generate, then decode every way.")] = 32,
    model_dir: Annotated[Path, typer.Option(help="Where the full-size random model is built or reused.")] = Path("models/random-english"),
    rounds: Annotated[int, typer.Option(min=1, help="Alternating rounds; the median is shown.")] = 3,
    language: Annotated[Optional[str], typer.Option(
        help="A released pocket-tts model instead of the random one (needs Hugging Face): fidelity on trained weights.")] = None,
) -> None:
    """Mimi's decoder in fp32, bf16 and with int8 linear layers on the same latents: ms per frame, SNR against fp32."""
    from pocket_batch.benchmarks.decoder import bench_decoder as run

    run(chunks, model_dir, views.wide(), rounds, language)


@bench_app.command("driver")
def bench_driver(
    workers: Annotated[list[int], typer.Option(help="Stand-in workers (repeat the option).")] = [2, 8, 32],
    chunks: Annotated[int, typer.Option(help="Chunks per run.")] = 3000,
    batch_size: Annotated[Optional[int], typer.Option(help="Rows per worker (default: by CPU class).")] = None,
    worker_rate: Annotated[Optional[float], typer.Option(help="Chunks a second one real worker makes (default: as bench synth measured).")] = None,
    pace: Annotated[Optional[float], typer.Option(help="Chunks a second all stand-ins make together, to compare worker counts at one load (default: as many as they can).")] = None,
) -> None:
    """The driver's own CPU per chunk, with instant stand-in workers: how many real workers one driver feeds."""
    from pocket_batch.benchmarks.driver import bench_driver as run

    run(workers, chunks, batch_size, worker_rate, views.wide(), pace)


@bench_app.command("postproc")
def bench_postproc(
    hours: Annotated[list[float], typer.Option(help="Book lengths in hours (repeat the option).")] = [1.0, 4.0],
    model_dir: Annotated[Path, typer.Option(help="Where the small random model is built or reused.")] = Path("models/random-small"),
    workdir: Annotated[Path, typer.Option(help="Scratch folder for the books and their outputs.")] = Path("bench-postproc"),
    loudness: Annotated[str, typer.Option(help="Loudness preset.")] = "acx",
    readalong: Annotated[str, option(PostprocOptions, "readalong")] = "off",
) -> None:
    """Post-processing wall time and peak memory for books of growing length."""
    from pocket_batch.benchmarks.postproc import bench_postproc as run

    workdir.mkdir(parents=True, exist_ok=True)
    run(hours, model_dir, workdir, loudness, views.wide(), readalong)


@bench_app.command("corpus")
def bench_corpus(
    rows: Annotated[list[int], typer.Option(help="Corpus sizes (repeat the option).")] = [10_000, 100_000, 1_000_000],
    model_dir: Annotated[Path, typer.Option(help="Where the small random model is built or reused (its tokenizer counts each row).")] = Path("models/random-small"),
    workdir: Annotated[Path, typer.Option(help="Scratch folder for the prompts and corpora.")] = Path("bench-corpus"),
    format: Annotated[Optional[list[str]], typer.Option("--format", help="Layouts to write (default ljspeech,audiofolder).")] = None,
) -> None:
    """Rows a second, the driver's peak memory and the time to append 10 rows, for corpora of growing size."""
    from pocket_batch.benchmarks.corpus import bench_corpus as run

    formats = tuple(f.strip() for fs in (format or []) for f in fs.split(",") if f.strip()) or default(CorpusConfig, "formats")
    run(rows, model_dir, workdir, formats, views.wide())


@bench_app.command("normalize")
def bench_normalize(
    language: Annotated[list[str], typer.Option(help="Languages of the held-out sets (repeat the option).")] = ["en", "fr", "de", "es", "it"],
    nemo_python: Annotated[Optional[str], typer.Option(help="A Python with nemo-text-processing installed, to compare with NeMo.")] = None,
    nemo_cache: Annotated[Path, typer.Option(help="Where NeMo's compiled grammars are kept between runs.")] = Path("models/nemo-grammars"),
    show: Annotated[bool, typer.Option("--show", help="Print every sentence either one says wrong.")] = False,
) -> None:
    """Text normalization against NeMo's on held-out sentences per language: share said right, time a sentence."""
    from pocket_batch.benchmarks.normalize import bench_normalize as run

    nemo_cache.mkdir(parents=True, exist_ok=True)
    run(language, nemo_python, nemo_cache.resolve(), show, views.wide())


def main() -> None:
    """Entry point: `pocket-batch FILE ...` runs `render`; errors are one line, not a traceback."""
    args, verbose = _verbosity(sys.argv[1:])
    _logging(verbose)
    stop.install()
    commands = {c.name or c.callback.__name__ for c in app.registered_commands}
    commands |= {g.name for g in app.registered_groups} | {"--help", "-h"}
    if args == ["--version"]:
        print(_versions())
        return
    if args and args[0] not in commands:
        if near := _near_command(args[0], commands):
            _error(f"no such command {args[0]!r} (did you mean {near}?)")
            sys.exit(ExitCode.COULD_NOT_RUN)
        args = ["render", *args]
    sys.exit(_run(optional_values(args)))


def _near_command(word: str, commands: set[str]) -> str | None:
    """The command a first argument that is no file was likely meant to be (`inpsect`: inspect)."""
    if word.startswith("-") or Path(word).exists() or Path(word).suffix:
        return None
    return next(iter(difflib.get_close_matches(word, sorted(c for c in commands if not c.startswith("-")), 1, 0.75)),
                None)


# Options whose value may be left out: (the value then, the values there are). Click offers this,
# but not through typer.
OPTIONAL_VALUES = {"--readalong": ("sentences", {"sentences", "words", "off"})}


def optional_values(args: list[str]) -> list[str]:
    """`--readalong` alone stands for `--readalong sentences`."""
    out = []
    for n, arg in enumerate(args):
        out.append(arg)
        if arg in OPTIONAL_VALUES and (n + 1 == len(args) or args[n + 1] not in OPTIONAL_VALUES[arg][1]):
            out.append(OPTIONAL_VALUES[arg][0])
    return out


def _run(args: list[str]) -> int:
    try:
        try:
            code = app(args, standalone_mode=False)  # click returns an Exit's code instead of raising it
            stop.check()
            return code if isinstance(code, int) else 0
        except Exception:
            stop.check()  # after a stop, whatever ended the run (Ray's SystemError) is that stop
            raise
    except PocketBatchError as exc:
        _error(str(exc))
        return exc.exit_code
    except ValidationError as exc:  # an option outside what the config allows
        problem = exc.errors()[0]
        _error(f"{'.'.join(str(p) for p in problem['loc'])}: {problem['msg']}")
        return ExitCode.COULD_NOT_RUN
    except OSError as exc:  # a full disk, a read-only or missing folder: what and where, not a traceback
        _error(os_error_line(exc))
        return ExitCode.COULD_NOT_RUN
    except KeyboardInterrupt:
        _error("stopped by Ctrl-C; run the same command again to resume where it stopped")
        return ExitCode.INTERRUPTED
    except Terminated:
        _error("stopped by SIGTERM; run the same command again to resume where it stopped")
        return ExitCode.TERMINATED
    except typer.Exit as exc:
        return exc.exit_code
    except _usage_errors() as exc:  # unknown options, missing arguments: click's own short message
        exc.show()
        return exc.exit_code


def _error(message: str) -> None:
    views.error(message)


def _usage_errors() -> tuple[type[Exception], ...]:
    """click's exceptions, and those of the click that typer (0.20 and later) carries inside itself."""
    import click

    kinds: list[type[Exception]] = [click.ClickException]
    try:
        from typer._click.exceptions import ClickException
    except ImportError:
        pass
    else:
        kinds.append(ClickException)
    return tuple(kinds)


def _verbosity(args: list[str]) -> tuple[list[str], bool]:
    """`-v`/`--verbose` anywhere: the run's log lines also go to stderr."""
    verbose = any(a in ("-v", "--verbose") for a in args)
    return [a for a in args if a not in ("-v", "--verbose")], verbose


def _logging(verbose: bool) -> None:
    """pocket-batch logs to each run's log file; the console shows them only when asked (-v)."""
    log = logging.getLogger("pocket_batch")
    log.propagate = False  # never through whatever handlers Ray or a library put on the root logger
    log.addHandler(logging.StreamHandler(sys.stderr) if verbose else logging.NullHandler())


def _versions() -> str:
    from importlib.metadata import version

    return " ".join(f"{name} {version(name)}" for name in ("pocket-batch", "pocket-tts", "torch"))
