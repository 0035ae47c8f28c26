"""Synthesis work: chunks into audio, content-addressed, on whichever executor the caller hands in.

A chunk's key hashes everything that determines its audio (model prompt, voice,
model, generation parameters, run seed); its seed derives from the key, so the
same input yields byte-identical audio at any worker count, and a rerun finds
every finished chunk in the cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pocket_batch.core.config import SAMPLE_RATE, GenerationOptions
from pocket_batch.core.files import sha256_json
from pocket_batch.core.records import Chunk, ChunkAudio
from pocket_batch.synth.model.cache import AudioCache, NonFiniteAudio
from pocket_batch.synth.model.source import ModelSource
from pocket_batch.synth.model.voices import Cast, Voice
from pocket_batch.synth.pool.worker import SynthFailure, SynthOutput, SynthTask
from pocket_batch.verify.store import VerdictStore

OnResult = Callable[[SynthOutput], None]


@dataclass(frozen=True)
class Work:
    """Every chunk's key, and the tasks still to synthesize (one per distinct key)."""

    keys: dict[str, str]  # chunk id -> cache key
    tasks: list[SynthTask]
    params: dict


def generation_params(source: ModelSource, options: GenerationOptions) -> dict:
    temperature = options.temperature
    if temperature is None:
        temperature = source.config.default_temperature
    return {"temperature": temperature, "max_tokens": options.max_tokens, "seed": options.seed}


def plan_work(chunks: Iterable[Chunk], voice: Voice | Cast, source: ModelSource, options: GenerationOptions,
              cache: AudioCache, attempt: int = 0) -> Work:
    """`attempt` > 0 asks for another take (another key, so another seed) of the same chunks. With a cast,
    each chunk is read by its own voice; with a voice, every chunk is."""
    voice_of = voice.of if isinstance(voice, Cast) else (lambda chunk: voice)
    params = generation_params(source, options) | ({"attempt": attempt} if attempt else {})
    keys: dict[str, str] = {}
    tasks: dict[str, SynthTask] = {}
    for chunk in chunks:
        reader = voice_of(chunk)
        key = take_key(chunk, reader, source, params)
        keys[chunk.id] = key
        if key not in tasks and cache.get(key) is None:
            seed = int(key[:12], 16)
            tasks[key] = SynthTask(key, chunk.normalized, reader.fingerprint, seed, options.max_tokens)
    return Work(keys, list(tasks.values()), params)


def take_key(chunk: Chunk, voice: Voice, source: ModelSource, params: dict) -> str:
    """The cache key of a chunk's take in a voice: everything that decides its audio."""
    return sha256_json({"prompt": source.prepare(chunk.normalized), "voice": voice.fingerprint,
                        "model": source.fingerprint, "params": params})[:32]


def run_tasks(tasks: list[SynthTask], voices: list[Voice], executor, cache: AudioCache,
              on_result: OnResult | None = None, verdicts: VerdictStore | None = None) -> dict[str, SynthFailure]:
    """Stream tasks through the executor, storing each result (and its verdict) as it arrives.

    Returns the tasks that failed on every attempt, by key; the others are all in the cache.
    """
    failures: dict[str, SynthFailure] = {}
    for output in executor.map(tasks, voices):
        if isinstance(output, SynthFailure):
            failures[output.key] = output
            continue
        try:
            cache.put(output.key, output.audio, SAMPLE_RATE, sha256=output.sha256, max_length=output.max_length,
                      worker=output.worker, wall_seconds=round(output.wall_seconds, 3))
        except NonFiniteAudio as exc:  # the same seed would give the same samples: not worth a retry
            failures[output.key] = SynthFailure(output.key, str(exc), 1)
            continue
        if verdicts is not None and output.verdict is not None:
            verdicts.put(output.key, output.verdict)
        if on_result:
            on_result(output)
    return failures


def collect(work: Work, cache: AudioCache) -> dict[str, ChunkAudio]:
    """The cached audio record of every planned chunk, by chunk id (all must be done); each carries its key."""
    return {chunk_id: cache.get(key) for chunk_id, key in work.keys.items()}
