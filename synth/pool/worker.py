"""One synthesis worker: one Pocket TTS model, loaded once, and a bounded cache of voice states.

The same class runs in-process and as a Ray actor; it knows nothing of either. Its calls
may run at once, each in its own thread: a batching worker's rows are fed by all of them
(synth/pool/feed.py), and each chunk is heard (when verifying) by the thread that made it.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from pocket_batch.core.config import CACHE_BYTES, SAMPLE_RATE, SAMPLES_PER_FRAME, ModelOptions, VerifyOptions
from pocket_batch.core.records import Verdict
from pocket_batch.synth.model.cache import wav_sha256
from pocket_batch.synth.fast.internals import max_gen_len, split_into_best_sentences
from pocket_batch.synth.model.source import ModelSource, hub_errors
from pocket_batch.synth.model.voices import Voice
from pocket_batch.verify.backends import make_backend
from pocket_batch.verify.hearing import Backend
from pocket_batch.verify.judge import verify_audio

CALLS_PER_BATCH = 4  # a batching worker's calls hold a quarter of its rows each


@dataclass(frozen=True)
class SynthTask:
    key: str
    text: str  # what the model reads
    voice: str  # a Voice fingerprint registered with add_voice
    seed: int
    max_tokens: int


@dataclass(frozen=True)
class SynthOutput:
    key: str
    audio: np.ndarray  # float32 mono at the model's sample rate
    max_length: bool
    worker: str
    wall_seconds: float
    verdict: Verdict | None = None  # when the worker verifies: what the recognizer heard
    sha256: str = ""  # of the WAV the cache will store (wav_sha256): taken by the many workers, not the one driver


@dataclass(frozen=True)
class SynthFailure:
    """A task that failed on every attempt the executor allowed; the reason is the last one."""

    key: str
    reason: str
    attempts: int


class SynthWorker:
    def __init__(self, model: ModelOptions, temperature: float | None = None,
                 torch_threads: int = 1, voice_cache_size: int = 8, batch_size: int = 1,
                 verify: VerifyOptions | None = None, backend: Backend | None = None):
        if not model.settled:
            raise ValueError("a worker needs settled decoder formats (Synthesis.on(cpu)), not 'auto'")
        self.source = ModelSource(model)
        # Verified here, next to the audio: no second trip of every chunk through the object store.
        self.verify = verify
        self.backend = backend
        self.temperature = temperature
        self.torch_threads = torch_threads
        self.voice_cache_size = voice_cache_size
        # Rows generated together; 1 is pocket-tts's own generate_audio.
        self.batch_size = batch_size
        self.feed = None
        self.texts: dict[str, str] = {}  # key -> the text a chunk in the feed is heard against
        self.voices: dict[str, Voice] = {}
        self.states: OrderedDict[str, dict] = OrderedDict()
        self.model = None
        self.name = ""
        self._init_locks()

    def _init_locks(self) -> None:
        self.loading = threading.Lock()  # one load, one voice state computed at a time
        self.hearing = threading.Lock()  # one recognizer, used by one call at a time
        self.generating = threading.RLock()  # one chunk at a time through generate_audio (and, at batch 1, heard)

    def __getstate__(self) -> dict:  # a worker is built in the driver and shipped to its actor
        return {k: v for k, v in self.__dict__.items() if k not in ("loading", "hearing", "generating")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._init_locks()

    def setup(self) -> str:
        """Load the model (once). Returns the worker's name."""
        with self.loading:
            self._load()
        return self.name

    def close(self) -> None:
        if self.feed is not None:
            self.feed.close()

    def _load(self) -> None:
        # Named here, not in __init__: a Ray actor is constructed in the driver, then shipped.
        self.name = self.name or f"{socket.gethostname()}:{os.getpid()}"
        if self.model is None:
            import torch

            self.model = self.source.load(self.temperature)
            # Decode one latent frame per Mimi call: batching whatever frames happen to be
            # queued makes the decoder's shapes, and so its float rounding, depend on timing.
            self.model.max_decoder_frames_per_call = 1
            # pocket_tts forces one thread at import; set ours explicitly, after that import.
            torch.set_num_threads(self.torch_threads)
            # It also warns on every chunk that hits max length; we record that per chunk instead.
            logging.getLogger("pocket_tts").setLevel(logging.ERROR)

    def add_voice(self, voice: Voice) -> None:
        self.voices[voice.fingerprint] = voice

    def synthesize(self, task: SynthTask) -> SynthOutput:
        import torch

        self.setup()
        state = self._voice_state(task.voice)
        started = time.perf_counter()
        with self.generating:  # pocket-tts's generate_audio is not thread-safe (and seeds torch's global generator)
            torch.manual_seed(task.seed)
            audio = self.model.generate_audio(state, task.text, max_tokens=task.max_tokens, copy_state=True)
        frames = -(-audio.numel() // SAMPLES_PER_FRAME)
        # Counted with the model's own tokenizer, on the prompt pocket-tts builds from the text.
        tokens = self.model.flow_lm.conditioner.prepare(self.source.prepare(task.text)).shape[1]
        limit = max_gen_len(self.model, tokens)
        return self._output(task.key, audio, frames >= limit, time.perf_counter() - started)

    def _output(self, key: str, audio, max_length: bool, seconds: float) -> SynthOutput:
        """A chunk's audio tensor as the float32 samples it is sent as, with the digest of the WAV the cache
        will store: taken here, by one of many workers, not by the one driver."""
        samples = audio.numpy().astype(np.float32, copy=False)
        return SynthOutput(key, samples, max_length, self.name, seconds, sha256=wav_sha256(samples, SAMPLE_RATE))

    @property
    def call_size(self) -> int:
        """Tasks per call: small, so a pool hands out a job's last chunks to whichever worker has rows free."""
        return max(1, self.batch_size // CALLS_PER_BATCH)

    @property
    def in_flight(self) -> int:
        """Tasks a worker should hold at once: its rows, and a call's worth queued to take the next free ones."""
        return self.batch_size + self.call_size

    def synthesize_many(self, tasks: list[SynthTask]) -> list[SynthOutput]:
        """Several tasks' audio, in the tasks' order."""
        order = [task.key for task in tasks]
        return sorted(self.synthesize_stream(tasks), key=lambda out: order.index(out.key))

    def synthesize_stream(self, tasks: list[SynthTask]) -> Iterator[SynthOutput]:
        """Each task's audio (and verdict, when verifying) as soon as it is done.

        A chunk is heard in the thread that made it, right after, so a worker's CPU work stays in one
        thread: beside the generation loop, the recognizer would take turns with it at the GIL.
        """
        if self.batch_size <= 1:
            for task in tasks:
                with self.generating:
                    output = self._heard(self.synthesize(task), task.text)
                yield output
            return
        yield from self._generate(tasks)

    def _generate(self, tasks: list[SynthTask]) -> Iterator[SynthOutput]:
        """Each task's audio as soon as it is done, `batch_size` rows at a time, rows freed by one call
        taken by the next (longest first within a call); a chunk's audio does not depend on which
        chunks share its batch."""
        from pocket_batch.synth.fast.batched import Request

        feed = self._feed()
        requests = []
        for task in sorted(tasks, key=lambda t: -len(t.text)):
            self.texts[task.key] = task.text
            first, *then = self._pieces(task)  # several when pocket-tts would split the chunk: one row still
            requests.append(Request(task.key, first, self._voice_state(task.voice), task.seed, tuple(then)))
        outbox = feed.submit(requests)
        try:
            for _ in requests:
                result = outbox.get()
                if isinstance(result, Exception):
                    raise result
                yield result
        finally:
            feed.cancel(outbox)
            for task in tasks:
                self.texts.pop(task.key, None)

    def _finished(self, request, audio, max_length: bool, seconds: float) -> SynthOutput:
        """A row's audio as a SynthOutput, heard when verifying: in the feed's thread, between two steps."""
        output = self._output(request.key, audio, max_length, seconds)
        return self._heard(output, self.texts.get(request.key, request.text))

    def _heard(self, output: SynthOutput, text: str) -> SynthOutput:
        if self.verify is None:
            return output
        started = time.perf_counter()
        with self.hearing:
            if self.backend is None and "words" in self.verify.checks:
                self.backend = make_backend(self.verify)
            verdict = verify_audio(self.backend, output.audio, SAMPLE_RATE, text, self.verify)
        return replace(output, verdict=verdict, wall_seconds=output.wall_seconds + time.perf_counter() - started)

    def _feed(self):
        from pocket_batch.synth.pool.feed import Feed

        with self.loading:
            self._load()
            if self.feed is None:
                self.feed = Feed(self._rows(), self._finished)
        return self.feed

    def _rows(self):
        """The generator the feed runs: the loaded model, `batch_size` rows and the cache memory they share,
        the decoder's precision."""
        from pocket_batch.synth.fast.batched import BatchedGenerator

        return BatchedGenerator.settled(self.model, self.batch_size, self.source.options, CACHE_BYTES)

    def _pieces(self, task: SynthTask) -> list[str]:
        return split_into_best_sentences(self.model, task.text, task.max_tokens)

    def _voice_state(self, fingerprint: str) -> dict:
        with self.loading:
            return self._cached_state(fingerprint)

    def _cached_state(self, fingerprint: str) -> dict:
        if fingerprint in self.states:
            self.states.move_to_end(fingerprint)
            return self.states[fingerprint]
        state = self._compute_state(self.voices[fingerprint])
        self.states[fingerprint] = state
        while len(self.states) > self.voice_cache_size:
            self.states.popitem(last=False)
        return state

    def _compute_state(self, voice: Voice) -> dict:
        import torch

        if voice.audio is not None:
            # A tensor, not a path: pocket-tts's own WAV reader misreads anything but 16-bit.
            return self.model.get_state_for_audio_prompt(torch.from_numpy(voice.audio)[None, :])
        if voice.state is not None:
            with tempfile.NamedTemporaryFile(suffix=".safetensors") as f:
                f.write(voice.state)
                f.flush()
                return self.model.get_state_for_audio_prompt(f.name)
        with hub_errors(f"the preset voice {voice.name!r}"):
            return self.model.get_state_for_audio_prompt(voice.name)

