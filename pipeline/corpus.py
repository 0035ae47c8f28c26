"""Corpus mode: a CSV of prompts into a TTS training set, one utterance per row and voice.

Rows are checked before any synthesis; utterances failing QA are regenerated with
another seed, then reported and left out, never silently kept. Reruns synthesize
only what the cache lacks, so appending rows costs only the new rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pocket_batch.ingest.csvfile import Utterance, read_prompts
from pocket_batch.ingest.normalize import Normalizer, load_lexicon
from pocket_batch.core.config import SAMPLE_RATE, CorpusConfig
from pocket_batch.core.cpu import Cpu
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.layout import OutputLayout
from pocket_batch.core.records import Chunk, ChunkAudio, Verdict
from pocket_batch.pipeline.synthesizer import Synthesizer
from pocket_batch.verify.backends import check_backend, hears
from pocket_batch.verify.gates import Gates, Heard
from pocket_batch.verify.verifier import Verifier
from pocket_batch.verify.words import words
from pocket_batch.postproc.dataset import Entry, write_dataset
from pocket_batch.postproc.qa import failing, qa_flags
from pocket_batch.synth.work import plan_work
from pocket_batch.synth.model.cache import AudioCache
from pocket_batch.synth.model.source import ModelSource
from pocket_batch.synth.model.voices import Voice, resolve_voice
from pocket_batch.synth.pool.worker import SynthFailure
from pocket_batch.pipeline.runlog import log


@dataclass
class Item:
    """One row in one voice, and its takes so far."""

    row: Utterance
    voice: Voice
    chunk: Chunk
    key: str = ""  # of the current take
    kept: tuple[str, ChunkAudio, list[str], dict] | None = None  # (key, audio, flags, scores) of the take that passed
    attempts: list[tuple[int, str, list[str]]] = field(default_factory=list)  # (attempt, key, failing flags)


@dataclass(frozen=True)
class CorpusResult:
    kept: int
    failed: int
    synthesized: int
    never_ends: bool = False  # the model's config disables EOS: every take runs to max length


def build_corpus(config: CorpusConfig, show_progress: bool = True) -> CorpusResult:
    config = config.on(Cpu.this())
    source = ModelSource(config.model)
    rows = read_prompts(config.csv, config.id_column, config.text_column, config.voice_column)
    voices = _voices(config, source, rows)
    normalize = Normalizer(config.language, load_lexicon(config.lexicon) if config.lexicon else None)
    items = [Item(row, voices[name], Chunk(row.id, 0, row.text, normalize(row.text)))
             for row in rows for name in ([row.voice] if config.voice_column else config.voices)]
    _check_lengths(config, source, items)
    layout = OutputLayout(config.output)
    cache = AudioCache(layout.cache)
    verifier = _verifier(config, layout, [item.chunk.normalized for item in items])
    synthesized, gates = 0, None
    with Synthesizer(config, list({i.voice.fingerprint: i.voice for i in items}.values()), cache, verifier,
                     show_progress) as synth:
        for attempt in range(config.qa.retries + 1):
            todo = [item for item in items if item.kept is None]
            if not todo:
                break
            count, failures = _synthesize(config, source, todo, cache, attempt, synth)
            synthesized += count
            heard = {id(i): Heard(i.voice.name, len(words(i.chunk.normalized)),
                                  verifier.verdict(i.key, i.chunk.normalized, cache.read))
                     for i in todo if verifier and i.key not in failures}
            if verifier and gates is None:  # each voice's norms, from the first take of every row
                gates = Gates(verifier.options, list(heard.values()))
                for note in gates.notes(verifier.backend.name if verifier.backend else ""):
                    log.warning(note)
            for item in todo:
                if item.key in failures:  # the worker failed on every retry: counts as a failed take
                    item.attempts.append((attempt, item.key, [f"synthesis failed: {failures[item.key].reason}"]))
                else:
                    _judge(config, source, item, cache, attempt, gates.judge(heard[id(item)]) if gates else None)
    entries = [Entry(i.row, i.voice, i.chunk, *i.kept) for i in items if i.kept]
    failures = [{"id": i.row.id, "voice": i.voice.name, "row": i.row.row,
                 "attempts": [{"attempt": a, "key": k, "flags": f} for a, k, f in i.attempts]} for i in items if not i.kept]
    write_dataset(config, source, voices, entries, failures, cache)
    return CorpusResult(len(entries), len(failures), synthesized, source.speaks_noise)


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


def _verifier(config: CorpusConfig, layout: OutputLayout, texts: list[str]) -> Verifier | None:
    if config.verify.enabled is False:
        return None
    check_backend(config.verify)
    if not hears(config.verify, config.language):
        log.warning("%s: not verified: %s does not hear %r", config.csv, config.verify.backend, config.language)
        return None
    return Verifier(config.verify, layout.verdicts, texts)


def _synthesize(config, source, todo: list[Item], cache: AudioCache, attempt: int,
                synth: Synthesizer) -> tuple[int, dict[str, SynthFailure]]:
    tasks = {}
    for item in todo:
        work = plan_work([item.chunk], item.voice, source, config.generation, cache, attempt)
        item.key = work.keys[item.chunk.id]
        tasks.update({t.key: t for t in work.tasks})
    return len(tasks), synth.run(list(tasks.values()))


def _judge(config: CorpusConfig, source: ModelSource, item: Item, cache: AudioCache, attempt: int,
           verdict: Verdict | None) -> None:
    """Model-free QA, then (when on) the quality gates' verdict: any failing flag rejects the take."""
    audio = cache.get(item.key)
    flags = qa_flags(cache.read(item.key), SAMPLE_RATE, source.count_tokens(item.chunk.normalized),
                     audio.max_length, config.qa)
    if verdict:
        flags += [f"verify: {flag}" for flag in verdict.flags]
    bad = failing(flags, config.qa)
    if bad:
        item.attempts.append((attempt, item.key, bad))
    else:
        scores = {}
        if verdict:  # a word error rate only where the words were heard and trusted
            scores = {"status": verdict.status, "wer": verdict.wer if verdict.words_checked else None} | verdict.scores()
        item.kept = (item.key, audio, flags, scores)
