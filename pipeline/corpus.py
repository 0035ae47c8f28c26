"""Corpus mode: prompts (a CSV, a sentence list, or a book) into a TTS training set.

Two passes over the prompts, neither holding them: the first refuses every bad row before any synthesis
and plans the splits; the second synthesizes, judges and writes them a block at a time. Takes failing QA,
the quality gates or `--keep` are regenerated with another seed, then reported and left out, never
silently kept. Reruns synthesize only what the cache lacks, so appending rows costs only the new rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np

from pocket_batch.core.config import CORPUS_FORMATS, SAMPLE_RATE, CorpusConfig
from pocket_batch.core.cpu import Cpu
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.files import sha256_json
from pocket_batch.core.layout import OutputLayout
from pocket_batch.core.records import Chunk, Verdict
from pocket_batch.ingest.csvfile import Prompts, Utterance
from pocket_batch.ingest.normalize import Normalizer, load_lexicon
from pocket_batch.pipeline.book_prompts import BOOK_PROMPTS, BookPrompts
from pocket_batch.pipeline.runlog import log
from pocket_batch.pipeline.synthesizer import Synthesizer
from pocket_batch.postproc.corpus.formats.shards import shard_limits
from pocket_batch.postproc.corpus.keep import Keep
from pocket_batch.postproc.corpus.previous import PreviousRows
from pocket_batch.postproc.corpus.rows import SCORES, Entry, wav_file
from pocket_batch.postproc.corpus.splits import SplitPlan, plan_splits
from pocket_batch.postproc.corpus.writer import CorpusWriter, published_span
from pocket_batch.postproc.qa import failing, qa_flags
from pocket_batch.synth.model.cache import AudioCache
from pocket_batch.synth.model.source import ModelSource
from pocket_batch.synth.model.voices import VOICE_AUDIO_SUFFIXES, Voice, resolve_voice
from pocket_batch.synth.pool.worker import SynthFailure, SynthWorker
from pocket_batch.synth.work import generation_params, plan_work, take_key
from pocket_batch.verify.backends import check_backend, hears
from pocket_batch.verify.gates import Gates, Heard
from pocket_batch.verify.verifier import Verifier
from pocket_batch.verify.words import words

BLOCK = 2048  # rows synthesized, judged and written together: what the driver holds at once
CALIBRATION = 1000  # a voice's norms are learned from its first this-many takes


@dataclass
class Item:
    """One row in one voice, and its takes so far."""

    row: Utterance
    voice: Voice
    chunk: Chunk
    split: str
    key: str = ""  # of the current take
    kept: tuple[str, int, list[str], dict, tuple] | None = None  # (key, tokens, flags, scores, words) that passed
    previous: dict | None = None  # its row in the corpus an earlier run wrote
    attempts: list[tuple[int, str, list[str]]] = field(default_factory=list)  # (attempt, key, failing flags)


@dataclass(frozen=True)
class CorpusResult:
    kept: int
    failed: int
    synthesized: int
    never_ends: bool = False  # the model's config disables EOS: every take runs to max length
    voices: dict[str, int] = field(default_factory=dict)  # rows kept per voice


def build_corpus(config: CorpusConfig, show_progress: bool = True, worker=SynthWorker) -> CorpusResult:
    config = config.on(Cpu.this())
    keep = _check_options(config)
    source = ModelSource(config.model)
    normalize = Normalizer(config.language, load_lexicon(config.lexicon) if config.lexicon else None)
    prompts = open_prompts(config, source)
    names, texts = _check_prompts(config, source, prompts, normalize, config.output / "manifest.jsonl")
    voices = _voices(config, source, names)
    assign = VoiceAssignment(config, list(voices))
    splits = plan_splits(voices, config.splits, config.split_seed) if config.split_by == "speaker" else texts.plan
    layout = OutputLayout(config.output)
    cache = AudioCache(layout.cache)
    verifier = _verifier(config, layout, texts.all)
    judged = sha256_json([config.qa.model_dump(mode="json"), str(keep),
                          verifier.store.root.name if verifier else None])[:16]
    with (Synthesizer(config, list({v.fingerprint: v for v in voices.values()}.values()), cache, verifier,
                      show_progress, worker) as synth,
          CorpusWriter(config, source, voices, cache, judged, normalize.fingerprint) as writer):
        run = CorpusRun(config, source, cache, verifier, keep, writer.reusable)
        rows = iter(prompts)
        for block in iter(lambda: list(islice(rows, BLOCK)), []):
            items = []
            for row in block:
                names = assign(row)
                # claimed in the order rows are written: the earlier run's rows are met in step
                earlier = [writer.claim(wav_file(name, row.id)) for name in names]
                chunk = _chunk(row, normalize, earlier[0])
                items += [Item(row, voices[name], chunk, splits(name if config.split_by == "speaker" else chunk.normalized),
                               previous=old) for name, old in zip(names, earlier)]
            run.takes(items, synth)
            for i in items:
                if i.kept:
                    writer.add(Entry(i.row, i.voice, i.chunk, *i.kept), i.split, i.previous)
                else:
                    writer.leave_out({"id": i.row.id, "voice": i.voice.name, "row": i.row.row,
                                      "attempts": [{"attempt": a, "key": k, "flags": f} for a, k, f in i.attempts]},
                                     i.previous)
    tally = writer.tally
    counts = {name: sum(n for (v, _), n in tally.counts.items() if v == name) for name in voices}
    return CorpusResult(tally.kept, sum(tally.left_out.values()), run.synthesized, source.speaks_noise, counts)


def _check_options(config: CorpusConfig) -> Keep:
    unknown = [f for f in config.formats if f not in CORPUS_FORMATS]
    if unknown:
        raise PocketBatchError(f"--format {', '.join(unknown)}: not a corpus format ({', '.join(CORPUS_FORMATS)})")
    shard_limits(config.shard_size)
    keep = Keep.parse(config.keep)
    scores = [c.column for c in keep.conditions if c.column != "duration"]
    if scores and config.verify.enabled is False:
        raise PocketBatchError(f"--keep {config.keep}: {', '.join(scores)} are measured by verification; "
                               "drop --no-verify")
    if config.split_by == "speaker" and not config.pooled:
        raise PocketBatchError("--split-by speaker needs one voice a row (--voice-pool or --voices-from): with "
                               "every row in every voice, each text would be in every split")
    return keep


def open_prompts(config: CorpusConfig, source: ModelSource) -> Prompts | BookPrompts:
    if config.csv.suffix.lower() in BOOK_PROMPTS:
        return BookPrompts(config.csv, config, source)
    return Prompts(config.csv, config.id_column, config.text_column, config.voice_column)


def _chunk(row: Utterance, normalize: Normalizer, earlier: dict | None) -> Chunk:
    return Chunk(row.id, 0, row.text, row.normalized or _known(row, normalize, earlier) or normalize(row.text))


def _known(row: Utterance, normalize: Normalizer, earlier: dict | None) -> str | None:
    """The row's normalized text as an earlier run published it, if the text and the normalizer are the same:
    an append to a million rows does not normalize them all again."""
    if earlier and earlier.get("text") == row.text and earlier.get("normalizer") == normalize.fingerprint:
        return earlier.get("normalized")
    return None


@dataclass
class Texts:
    plan: SplitPlan
    all: list[str] = field(default_factory=list)  # only for verification's recognizer, which listens for them


def _tokens(chunk: Chunk, source: ModelSource, earlier: dict | None) -> int:
    """The model's tokens for the chunk's text: as an earlier run counted them, for the same text and model."""
    if earlier and earlier.get("normalized") == chunk.normalized and earlier.get("model") == source.fingerprint \
            and isinstance(earlier.get("tokens"), int):
        return earlier["tokens"]
    return source.count_tokens(chunk.normalized)


def _check_prompts(config: CorpusConfig, source: ModelSource, prompts, normalize,
                   manifest: Path) -> tuple[list[str], Texts]:
    """Every row known good before anything is synthesized, and the splits planned: the voice names a voice
    column uses, and the texts (kept only when verification needs them). A row an earlier run published (its
    `manifest`) with the same text, normalizer and model is not normalized nor tokenized again."""
    limit = config.generation.max_tokens
    texts = Texts(SplitPlan(config.splits, config.split_seed))
    verifying = config.verify.enabled is not False
    names: dict[str, None] = {}
    published = PreviousRows(manifest, by="id")

    def problem(row: Utterance) -> str | None:
        earlier = published.claim(row.id)
        chunk = _chunk(row, normalize, earlier)
        texts.plan.add(chunk.normalized)
        if verifying:
            texts.all.append(chunk.normalized)
        if config.voice_column:
            if not row.voice:
                return f"no voice in column {config.voice_column!r}"
            names.setdefault(row.voice)
        tokens = _tokens(chunk, source, earlier)
        return f"text over the model's {limit}-token limit ({tokens}); split the row" if tokens > limit else None

    prompts.check(problem)
    texts.plan.finish()
    return list(names), texts


def _voices(config: CorpusConfig, source: ModelSource, column_names: list[str]) -> dict[str, Voice]:
    if config.voice_column:
        specs = column_names
    elif config.voices_from is not None:
        specs = pool_folder(config.voices_from)
    else:
        specs = list(config.voices)
    voices = {}
    for spec in specs:
        voice = resolve_voice(spec, source, config.consent)
        if voice.name in voices:
            raise PocketBatchError(f"{spec}: a second voice named {voice.name!r} in the pool")
        voices[voice.name] = voice
    return voices


def pool_folder(folder: Path) -> list[str]:
    """Every voice sample (its consent record beside it) and .safetensors state in the folder, by name."""
    if not folder.is_dir():
        raise PocketBatchError(f"{folder}: --voices-from needs a folder of voice samples")
    found = sorted(str(p) for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in (*VOICE_AUDIO_SUFFIXES, ".safetensors"))
    if not found:
        raise PocketBatchError(f"{folder}: no voice samples ({', '.join(VOICE_AUDIO_SUFFIXES)}) or .safetensors states")
    return found


class VoiceAssignment:
    """The voices a row is read in: its column's, every voice, or (a pool) one voice, dealt in rounds of a
    shuffled order per round, so counts differ by one at most and a row keeps its voice as rows are appended."""

    def __init__(self, config: CorpusConfig, names: list[str]):
        self.config, self.names = config, names
        self.n, self.round, self.order = 0, -1, None

    def __call__(self, row: Utterance) -> list[str]:
        if self.config.voice_column:
            return [row.voice]
        if not self.config.pooled:
            return self.names
        index, self.n = self.n, self.n + 1
        turn, seat = divmod(index, len(self.names))
        if turn != self.round:
            self.round, self.order = turn, np.random.default_rng([self.config.split_seed, turn]).permutation(len(self.names))
        return [self.names[self.order[seat]]]


def _verifier(config: CorpusConfig, layout: OutputLayout, texts: list[str]) -> Verifier | None:
    if config.verify.enabled is False:
        return None
    check_backend(config.verify)
    if not hears(config.verify, config.language):
        log.warning("%s: not verified: %s does not hear %r", config.csv, config.verify.backend, config.language)
        return None
    return Verifier(config.verify, layout.verdicts, texts)


class CorpusRun:
    """Takes for a block of items until each passes or runs out of retries; the gates' norms per voice come from
    its first CALIBRATION takes, so a row's judgement does not change as rows are appended after them. A row an
    earlier run published from the same take, judged with the same settings, keeps that judgement (`reusable`):
    an append does not read every earlier take again."""

    def __init__(self, config: CorpusConfig, source: ModelSource, cache: AudioCache, verifier: Verifier | None,
                 keep: Keep, reusable):
        self.config, self.source, self.cache, self.verifier, self.keep = config, source, cache, verifier, keep
        self.reusable = reusable
        self.synthesized = 0
        self.first: dict[str, list[Heard]] = {}
        self.gates: Gates | None = None
        self.noted: set[str] = set()

    def takes(self, items: list[Item], synth: Synthesizer) -> None:
        new = [item for item in items if not self._reused(item)]
        for attempt in range(self.config.qa.retries + 1):
            todo = [item for item in new if item.kept is None]
            failures = self._synthesize(todo, attempt, synth) if todo else {}
            heard = {id(i): self._heard(i) for i in todo if self.verifier and i.key not in failures}
            if self.verifier and attempt == 0:  # a voice's norms come from its first takes, new or published
                self._calibrate([heard[id(i)] if id(i) in heard else self._heard(i) for i in items
                                 if id(i) in heard or (i.kept and len(self.first.get(i.voice.name, ())) < CALIBRATION)])
            for item in todo:
                if item.key in failures:  # the worker failed on every retry: counts as a failed take
                    item.attempts.append((attempt, item.key, [f"synthesis failed: {failures[item.key].reason}"]))
                else:
                    self._judge(item, attempt, self.gates.judge(heard[id(item)]) if self.gates else None)

    def _reused(self, item: Item) -> bool:
        """An earlier run published this very take, judged as this run judges: its judgement stands, and
        neither the take nor its cache entry is read again."""
        old = item.previous
        if not old:
            return False
        key = take_key(item.chunk, item.voice, self.source, generation_params(self.source, self.config.generation))
        if not self.reusable(old, key):
            return False
        item.key = key
        item.kept = (key, _tokens(item.chunk, self.source, old), old["qa_flags"], {k: old[k] for k in ("status", *SCORES) if k in old}, ())
        return True

    def _heard(self, item: Item) -> Heard:
        return Heard(item.voice.name, len(words(item.chunk.normalized)),
                     self.verifier.verdict(item.key, item.chunk.normalized, self.cache.read))

    def _calibrate(self, first_takes: list[Heard]) -> None:
        grew = False
        for heard in first_takes:
            takes = self.first.setdefault(heard.voice, [])
            if len(takes) < CALIBRATION:
                takes.append(heard)
                grew = True
        if grew:
            self.gates = Gates(self.verifier.options, [h for takes in self.first.values() for h in takes])
            for note in self.gates.notes(self.verifier.backend.name if self.verifier.backend else ""):
                if note not in self.noted:
                    self.noted.add(note)
                    log.warning(note)

    def _synthesize(self, todo: list[Item], attempt: int, synth: Synthesizer) -> dict[str, SynthFailure]:
        tasks = {}
        for item in todo:
            work = plan_work([item.chunk], item.voice, self.source, self.config.generation, self.cache, attempt)
            item.key = work.keys[item.chunk.id]
            tasks.update({t.key: t for t in work.tasks})
        self.synthesized += len(tasks)
        return synth.run(list(tasks.values()))

    def _judge(self, item: Item, attempt: int, verdict: Verdict | None) -> None:
        """Model-free QA, the quality gates' verdict (when on), then --keep: any failing flag rejects the take."""
        audio = self.cache.get(item.key)
        x = self.cache.read(item.key)
        tokens = self.source.count_tokens(item.chunk.normalized)
        flags = qa_flags(x, SAMPLE_RATE, tokens, audio.max_length, self.config.qa)
        scores = {}
        if verdict:
            flags += [f"verify: {flag}" for flag in verdict.flags]
            # a word error rate only where the words were heard and trusted
            scores = {"status": verdict.status, "wer": verdict.wer if verdict.words_checked else None} | verdict.scores()
        start, end = published_span(x)
        flags += [f"keep: {why}" for why in self.keep.reasons(scores | {"duration": (end - start) / SAMPLE_RATE})]
        bad = failing(flags, self.config.qa)
        if bad:
            item.attempts.append((attempt, item.key, bad))
        else:
            item.kept = (item.key, tokens, flags, scores, verdict.words if verdict else ())

