"""Corpus mode: a CSV of prompts into a TTS training set, one utterance per row and voice.

Rows are checked before any synthesis; utterances failing QA are regenerated with
another seed, then reported and left out, never silently kept. Reruns synthesize
only what the cache lacks, so appending rows costs only the new rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pocket_batch.ingest.csvfile import Utterance, read_csv
from pocket_batch.ingest.normalize import Normalizer, load_lexicon
from pocket_batch.core.config import SAMPLE_RATE, CorpusConfig
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.layout import OutputLayout
from pocket_batch.core.records import Chunk, ChunkAudio
from pocket_batch.pipeline.run import synthesize_tasks
from pocket_batch.postproc.dataset import Entry, write_dataset
from pocket_batch.postproc.qa import failing, qa_flags
from pocket_batch.synth.work import plan_work
from pocket_batch.synth.cache import AudioCache
from pocket_batch.synth.model import ModelSource
from pocket_batch.synth.random_model import NEVER_EOS
from pocket_batch.synth.voices import Voice, resolve_voice
from pocket_batch.synth.worker import SynthFailure


@dataclass
class Item:
    """One row in one voice, and its takes so far."""

    row: Utterance
    voice: Voice
    chunk: Chunk
    key: str = ""  # of the current take
    kept: tuple[str, ChunkAudio, list[str]] | None = None  # (key, audio, flags) of the take that passed
    attempts: list[tuple[int, list[str]]] = field(default_factory=list)  # (attempt, failing flags)


@dataclass(frozen=True)
class CorpusResult:
    kept: int
    failed: int
    synthesized: int
    never_ends: bool = False  # the model's config disables EOS: every take runs to max length


def build_corpus(config: CorpusConfig, show_progress: bool = True) -> CorpusResult:
    source = ModelSource(config.model)
    rows = read_csv(config.csv, config.id_column, config.text_column, config.voice_column)
    voices = _voices(config, source, rows)
    normalize = Normalizer(config.language, load_lexicon(config.lexicon) if config.lexicon else None)
    items = [Item(row, voices[name], Chunk(row.id, 0, row.text, normalize(row.text)))
             for row in rows for name in ([row.voice] if config.voice_column else config.voices)]
    _check_lengths(config, source, items)
    cache = AudioCache(OutputLayout(config.output).cache)
    synthesized = 0
    for attempt in range(config.qa.retries + 1):
        todo = [item for item in items if item.kept is None]
        if not todo:
            break
        count, failures = _synthesize(config, source, todo, cache, attempt, show_progress)
        synthesized += count
        for item in todo:
            if item.key in failures:  # the worker failed on every retry: counts as a failed take
                item.attempts.append((attempt, [f"synthesis failed: {failures[item.key].reason}"]))
            else:
                _judge(config, source, item, cache, attempt)
    entries = [Entry(i.row, i.voice, i.chunk, *i.kept) for i in items if i.kept]
    failures = [{"id": i.row.id, "voice": i.voice.name, "row": i.row.row,
                 "attempts": [{"attempt": a, "flags": f} for a, f in i.attempts]} for i in items if not i.kept]
    write_dataset(config, source, voices, entries, failures, cache)
    return CorpusResult(len(entries), len(failures), synthesized, source.config.default_eos_threshold >= NEVER_EOS)


def _voices(config: CorpusConfig, source: ModelSource, rows: list[Utterance]) -> dict[str, Voice]:
    if not config.voice_column:
        return {name: resolve_voice(name, source, config.consent) for name in config.voices}
    missing = [f"row {r.row}" for r in rows if not r.voice]
    if missing:
        raise PocketBatchError(f"{config.csv}: no voice in column {config.voice_column!r} at {', '.join(missing[:8])}")
    return {name: resolve_voice(name, source, config.consent) for name in dict.fromkeys(r.voice for r in rows)}


def _check_lengths(config: CorpusConfig, source: ModelSource, items: list[Item]) -> None:
    """An utterance is one generation: text over the model's token limit is refused up front."""
    limit = config.generation.max_tokens
    over = sorted({i.row.row for i in items if source.count_tokens(i.chunk.normalized) > limit})
    if over:
        rows = ", ".join(f"row {n}" for n in over[:8]) + (f" and {len(over) - 8} more" if len(over) > 8 else "")
        raise PocketBatchError(f"{config.csv}: text over the model's {limit}-token limit at {rows}; split those rows")


def _synthesize(config, source, todo: list[Item], cache: AudioCache, attempt: int,
                show_progress: bool) -> tuple[int, dict[str, SynthFailure]]:
    tasks, voices = {}, {}
    for item in todo:
        work = plan_work([item.chunk], item.voice, source, config.generation, cache, attempt)
        item.key = work.keys[item.chunk.id]
        tasks.update({t.key: t for t in work.tasks})
        voices[item.voice.fingerprint] = item.voice
    failures = synthesize_tasks(config, list(tasks.values()), list(voices.values()), cache, show_progress) if tasks else {}
    return len(tasks), failures


def _judge(config: CorpusConfig, source: ModelSource, item: Item, cache: AudioCache, attempt: int) -> None:
    audio = cache.get(item.key)
    flags = qa_flags(cache.read(item.key), SAMPLE_RATE, source.count_tokens(item.chunk.normalized),
                     audio.max_length, config.qa)
    bad = failing(flags, config.qa)
    if bad:
        item.attempts.append((attempt, bad))
    else:
        item.kept = (item.key, audio, flags)
