"""`pocket-batch status job.toml|OUT`: how far each book got, from the files alone (no model, no Ray)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from pocket_batch.core.cpu import Cpu
from pocket_batch.jobs.jobfile import job_inputs, load_job, run_config, voice_output
from pocket_batch.pipeline.housekeeping import cache_usage
from pocket_batch.pipeline.run import settings_hash
from pocket_batch.synth.model.source import ModelSource
from pocket_batch.synth.model.voices import resolve_voice
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.files import sha256_file
from pocket_batch.core.layout import OutputLayout
from pocket_batch.pipeline.lock import lock_holder
from pocket_batch.pipeline.state import DONE, BookState, chunks_done, read_states

NEW, CHANGED = "new", "changed (will render)"  # never planned; an input or the job's settings changed since


@dataclass(frozen=True)
class BookStatus:
    book: str
    output: str
    status: str  # new, pending, done, failed, changed
    chunks_done: int | None = 0  # None: not known until the book is planned again (its input or settings changed)
    chunks: int = 0
    failed_chunks: int = 0
    audio_seconds: float = 0.0
    reason: str = ""


@dataclass(frozen=True)
class Status:
    outputs: list[str]
    running: int | None  # pid of a run holding the lock
    books: list[BookStatus]
    cache_bytes: int = 0  # of every output folder's chunk cache (`pocket-batch cache OUT --prune` trims it)

    def to_json(self) -> dict:
        return asdict(self)


def status(target: Path) -> Status:
    settings: dict[Path, str] = {}  # a job's current settings per output folder (voice)
    if target.suffix == ".toml":
        job = load_job(target)
        outputs, inputs = [voice_output(job, v) for v in job.voices], job_inputs(job)
        lock_folder = job.output
        settings = {voice_output(job, v): _settings(run_config(job, v, inputs)) for v in job.voices}
    elif OutputLayout.is_output(target) or OutputLayout.outputs_under(target):
        # A job's output folder, or the parent of one output folder per voice.
        outputs = [target] if OutputLayout.is_output(target) else OutputLayout.outputs_under(target)
        inputs, lock_folder = [], target
    else:
        raise PocketBatchError(f"{target}: neither a job file nor a pocket-batch output folder")
    books = []
    for output in outputs:
        states = {Path(s.source): s for s in read_states(output)}
        books += [_book(output, state, settings.get(output)) for state in states.values()]
        books += [BookStatus(str(p), str(output), NEW) for p in inputs if p not in states]
    cache = sum(cache_usage(output).bytes for output in outputs)
    return Status([str(o) for o in outputs], lock_holder(lock_folder), books, cache)


def _settings(config) -> str:
    """The settings hash a run of this config would record: no model is loaded, no tokenizer fetched."""
    config = config.on(Cpu.this())
    source = ModelSource(config.model)
    return settings_hash(config, source, resolve_voice(config.voice, source, config.consent))


def _book(output: Path, state: BookState, settings: str | None) -> BookStatus:
    source = Path(state.source)
    status = state.status
    if status == DONE and (not source.is_file() or sha256_file(source) != state.sha256):
        status = CHANGED if source.is_file() else DONE  # a consumed inbox file: the output stands
    elif settings is not None and state.settings != settings and source.is_file():
        status = CHANGED  # the job's voice, model or options changed since: it will render again
    keys = set(state.keys)
    done = None if status == CHANGED else chunks_done(output, state)  # its chunks are known once it is planned again
    return BookStatus(state.source, str(output), status, done, len(keys),
                      len(state.failed_chunks), state.audio_seconds, state.reason)
