"""Every default of pocket-batch, in one validated config model.

The CLI, job files and tests build a `RunConfig`; stages read from it and never
from the environment. The CLI takes each option's default and help from the field
here (`description`). The resolved config is written into each output's manifest.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from pocket_batch.core.cpu import Cpu

# Said in every output's tags, manifest and dataset card.
SYNTHETIC = "AI-generated narration: synthetic speech made with Kyutai Pocket TTS."

SAMPLE_RATE = 24_000  # Pocket TTS / Mimi output rate
FRAME_RATE = 12.5  # Mimi latent frames per second
SAMPLES_PER_FRAME = int(SAMPLE_RATE / FRAME_RATE)
MAX_TOKENS_PER_CHUNK = 50  # pocket-tts's own MAX_TOKEN_PER_CHUNK
# The project's random model (`model make-random`) never fires EOS: random weights would at once, so every
# chunk runs to its max length. A model config with this threshold speaks noise, not speech.
NEVER_EOS = 1.0e9
# One full-size model and a batch of rows per worker: 1.29 GB measured at batch 16, 1.53 GB at AVX-512's 24 (no headroom).
WORKER_RSS_BYTES = 1_500_000_000
# A chunk at pocket-tts's max length is ~19 s of audio, a few seconds of work on one core;
# ten minutes without a result means a stuck or runaway worker, not a slow one.
CHUNK_TIMEOUT_SECONDS = 600.0
# Rows per worker generated together (synth/fast/batched.py), by CPU class, as measured (docs/performance.md):
# on AVX-512 with native bf16 and no AMX, 24 rows made 500 chunks 7% faster than 16 (the backbone's weights
# are read once a step for more rows); 16 where no other size has been measured (AMX, AVX2).
BATCH_SIZE = 16
BATCH_SIZE_AVX512 = 24
# KV cache a batching worker's rows may hold together, whatever its batch size. Prefill sizes a row's cache
# for its voice prompt, text and max length, 48 KB a position in the English model: 10.5 MiB on average for
# the bench's chunks with a 3 s voice, 16.6 MB for a 5 s voice at pocket-tts's longest chunk, about 27 MB
# with a 30 s clone. Rows of long voices run fewer at a time, so a worker's memory stays bounded whatever
# the voice and the batch size.
CACHE_BYTES = 256 * 2**20
# pocket-tts's int8 (its WER is unchanged): faster batched and alone, the same memory; see docs/performance.md.
QUANTIZE = True

# Voice samples for cloning.
MIN_VOICE_SECONDS = 2.0
MAX_VOICE_SECONDS = 30.0  # pocket-tts truncates long prompts to 30 s
SILENCE_DBFS = -60.0  # a sample whose RMS is below this is silent
VOICE_AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg")


def output_folder(path: Path) -> Path:
    """An output folder is written into and cleaned: never the filesystem root or the home folder itself."""
    resolved = path.expanduser().resolve()
    if resolved == Path(resolved.anchor) or resolved == Path.home().resolve():
        raise ValueError(f"{path} is {'the filesystem root' if resolved == Path(resolved.anchor) else 'your home folder'}; "
                         "name a folder of its own")
    return path


OutputFolder = Annotated[Path, AfterValidator(output_folder)]


Named = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]  # no blank names or voices


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelOptions(Strict):
    """Which Pocket TTS model to load; everything here changes the audio."""

    language: str | None = Field(None, description="A pocket-tts language config (default english).")
    config: Path | None = Field(None, description="A pocket-tts YAML config, e.g. from `model make-random`.")
    quantize: bool = Field(QUANTIZE, description="pocket-tts's int8 transformer (--no-quantize: fp32).")
    decoder: Literal["auto", "fp32", "bf16"] = Field(
        "auto", description="Mimi decoder precision in batched workers: auto is bf16 where the CPU computes bf16 natively.")
    decoder_int8: bool | None = Field(
        None, description="The Mimi decoder transformer's linear layers in int8 in batched workers "
                          "(default: where the CPU has no AMX, whose bf16 is faster).")
    seanet_int8: bool | None = Field(
        None, description="The Mimi decoder's SEANet convolutions in int8 in batched workers (default: where the CPU "
                          "sums int8 products in int32, VNNI, and has no AMX; the audio about 43 dB from fp32's).")

    @property
    def settled(self) -> bool:
        """Its decoder formats are chosen (`Synthesis.on`), as a worker needs them."""
        return self.decoder != "auto" and self.decoder_int8 is not None and self.seanet_int8 is not None

    @property
    def numerics(self) -> dict[str, str]:
        """Which number formats make the audio: recorded in the manifest, part of the model's fingerprint."""
        return {"backbone": "int8" if self.quantize else "fp32", "decoder": self.decoder,
                "decoder_linears": "int8" if self.decoder_int8 else self.decoder,
                "decoder_convs": "int8" if self.seanet_int8 else self.decoder}


class GenerationOptions(Strict):
    temperature: float | None = Field(None, ge=0, description="Sampling temperature (default: the model config's, 0.3 for the released one).")
    seed: int = Field(0, description="Run seed; each chunk's seed derives from it.")
    max_tokens: int = Field(MAX_TOKENS_PER_CHUNK, ge=1)


class IngestOptions(Strict):
    include_front_matter: bool = Field(False, description="Also read cover, title page, copyright, contents, index.")
    footnotes: Literal["skip", "chapter-end"] = Field("skip", description="skip, or chapter-end: read the notes after their chapter.")
    lexicon: Path | None = Field(None, description="Pronunciation lexicon: word<TAB>respelling (TSV) or JSON.")
    math: Literal["skip", "alttext"] = Field(
        "skip", description="MathML: skip (counted as not read), or alttext: read each expression's alttext.")
    image_alt: Literal["skip", "read"] = Field(
        "skip", description="Images' alt text: skip (counted as not read), or read it where the image stands.")
    language: str | None = None  # normalization language; None: the book's, else English
    dialogue_voice: str | None = Field(
        None, description="A voice for quoted speech (the quote marks are not read); default: the narrator's.")
    characters: dict[Named, Named] = Field(
        default_factory=dict, description="Voices of characters by name: quotes attributed to one are read in its voice.")
    chapters: str | None = Field(
        None, description="Only these chapters, numbered as `inspect` lists them (3-5,8), into a folder named so.")
    preview: float | None = Field(
        None, gt=0, description="Only about the first N seconds of each chapter (60s, 2m), into a preview/ folder.")


class LoudnessPreset(Strict):
    measure: Literal["lufs", "rms"]  # ITU-R BS.1770 integrated loudness, or plain RMS (ACX)
    target: float  # LUFS, or dBFS RMS
    ceiling: float  # dBTP
    mp3_bitrate: str = "128k"
    mp3_rate: int = 44_100


PRESETS = {
    # ACX: RMS -23..-18 dB, peaks <= -3 dBFS, noise floor <= -60 dB, MP3 192 kbps CBR 44.1 kHz.
    "acx": LoudnessPreset(measure="rms", target=-20.0, ceiling=-3.0, mp3_bitrate="192k"),
    "podcast": LoudnessPreset(measure="lufs", target=-16.0, ceiling=-1.0),
    "ebu": LoudnessPreset(measure="lufs", target=-23.0, ceiling=-1.0),
}


class PostprocOptions(Strict):
    loudness: Literal["acx", "podcast", "ebu"] = Field(
        "acx", description="acx (RMS -20 dB, peak -3 dBFS), podcast (-16 LUFS), ebu (-23 LUFS).")
    format: Literal["mp3", "flac", "wav", "opus"] = Field("mp3", description="Per-chapter files: mp3, flac, wav or opus.")
    sentence_pause: float = Field(default=0.3, ge=0)
    paragraph_pause: float = Field(default=0.7, ge=0)
    section_pause: float = Field(default=1.5, ge=0)
    head_room_tone: float = Field(default=0.75, ge=0.5, le=1.0)  # ACX: 0.5-1 s at the head
    tail_room_tone: float = Field(default=2.0, ge=1.0, le=5.0)  # ACX: 1-5 s at the tail
    room_tone_db: float = -75.0  # RMS of the pauses' noise; ACX wants a floor under -60 dB
    subtitles: Literal["chunk", "word"] = Field(
        "chunk", description="chunk: a cue per sentence; word: word-timed WebVTT and SRT of short word groups (needs verification).")
    readalong: Literal["off", "sentences", "words"] = Field(
        "off", description="A read-along EPUB 3 (Media Overlays) beside the M4B, highlighting each sentence, "
                           "or each word (words: needs verification).")
    rate: float = Field(1.0, ge=0.5, le=2.0, description="Speaking rate, pitch kept: 0.9 slower, 1.15 faster (pauses scale too).")
    fade_ms: float = 8.0  # chunk edges fade so joins never click
    trim_db: float = 45.0  # leading/trailing audio this far under a chunk's peak is silence
    max_chunk_gain_db: float = 15.0  # chunk evening never boosts noise or cuts more than this
    lossy_margin_db: float = 1.0  # headroom under the ceiling for what AAC/MP3 encoding adds
    aac_bitrate: str = "64k"
    ffmpeg: Path | None = None  # a system ffmpeg; None: the one inside imageio-ffmpeg


# Word error rate over which each recognizer calls a take garbled: pocketsphinx heard correct natural speech
# at up to 0.29 (docs/design.md); whisper hears correct speech well, so past 0.3 words are wrong.
MAX_WER = {"pocketsphinx": 0.5, "whisper": 0.3}
Check = Literal["words", "voice", "quality", "mos"]
# DNSMOS costs about 0.36 s of one core per take of up to 9 s (more than hearing it): asked for, not default.
DEFAULT_CHECKS: tuple[Check, ...] = ("words", "voice", "quality")


class VerifyOptions(Strict):
    """Checking that each chunk says its text, with a speech recognizer; a failing chunk is regenerated."""

    enabled: bool | None = Field(None, description="Verify every chunk (default: when the backend hears the language).")
    backend: Literal["pocketsphinx", "whisper"] = Field("pocketsphinx", description="pocketsphinx (built in) or whisper (pip install \"pocket-batch[whisper]\").")
    retries: int = Field(2, ge=0, description="Regenerations with a new seed of a chunk that fails verification.")
    max_wer: float | None = Field(
        None, ge=0, description="Word error rate over which a chunk is garbled (default: the backend's, "
                                + ", ".join(f"{wer} {name}" for name, wer in MAX_WER.items()) + ").")
    max_misfit: float = 0.2  # the text's fit, per frame, may be this much worse than free recognition's
    max_word_misfit: float = 3.0  # two words in a row this much worse are missing from the audio
    whisper_model: str = "small.en"  # faster-whisper weights, from the Hugging Face cache
    checks: tuple[Check, ...] = Field(
        DEFAULT_CHECKS, description="What is checked: words (the recognizer), voice (speaker likeness), quality "
                                    "(noise, clipping, pauses, cut endings, pace), mos (DNSMOS scores: slower).")
    # A voice the recognizer cannot hear: the median word error rate of its first takes past this, over at
    # least `unheard_min_takes` of them (pocketsphinx on espeak's en-us+m3: 0.44; +f2, +f3 and a human
    # reading: 0.00-0.06; docs/guide/checks.md).
    unheard_wer: float = 0.3
    unheard_min_takes: int = 5
    min_similarity: float = Field(0.6, description="Speaker similarity to the voice's reference under which a take is "
                                                   "another voice, whatever the book's own takes say.")
    similarity_margin: float = 0.12  # ... or this far under the median of the voice's takes (and 4 robust sigmas)
    # Voiced seconds under which a take's embedding is too unsteady to judge (a human reading's 1.5 s clauses
    # reach 0.74 of their speaker's centroid, 0.54 at 0.7 s: docs/guide/checks.md).
    voice_min_seconds: float = 2.0
    min_snr_db: float = 12.0  # a take noisier than this is flagged, whatever the others
    snr_margin_db: float = 12.0  # ... or this far under the median of its voice's takes
    max_pause: float = 2.5  # seconds of silence inside a take
    max_end_db: float = 10.0  # a take whose last 20 ms are this far over its noise floor ends mid-sound
    max_clipped: float = 0.001  # fraction of samples at full scale
    pace_ratio: float = 1.8  # seconds per word this many times the voice's median, or as many times under
    pace_min_words: int = 4  # takes with fewer words are too short to judge their pace
    mos_margin: float = 1.0  # DNSMOS BAK or OVRL this far under the voice's median
    min_mos: float = 2.0  # DNSMOS BAK or OVRL under this, whatever the others


class Synthesis(Strict):
    """How chunks are synthesized: the model, generation, and the workers that run it."""

    model: ModelOptions = ModelOptions()
    generation: GenerationOptions = GenerationOptions()
    workers: int | None = Field(None, ge=0, description="Ray workers (0: in-process; default from cores and memory).")
    torch_threads: int = Field(1, ge=1)  # intra-op threads per worker; fixed so audio is identical at any scale
    address: str | None = Field(None, description="Join this Ray cluster instead of starting one.")
    voice_cache_size: int = Field(default=8, ge=1)
    batch_size: int | None = Field(None, ge=1, description="Chunks each worker generates together (default: by CPU class).")
    chunk_retries: int = Field(2, ge=0, description="Retries of a chunk whose worker died, failed or timed out.")
    chunk_timeout: float | None = Field(CHUNK_TIMEOUT_SECONDS, gt=0,
                                        description="Seconds per chunk before a worker is killed and replaced.")
    verify: VerifyOptions = VerifyOptions()

    def on(self, cpu: Cpu) -> Self:
        """These settings with the batch size and the decoder's `auto` formats settled for `cpu`: a run settles
        them once, in the driver, so the cache key and every worker agree. Batch size 1 is pocket-tts's own
        generate_audio, whose decoder is fp32."""
        model, batch = self.model, self.batch_size or default_batch_size(cpu)
        bf16 = model.decoder == "bf16" or (model.decoder == "auto" and cpu.native_bf16)
        int8 = model.decoder_int8 if model.decoder_int8 is not None else not cpu.int8_tiles
        convs = model.seanet_int8 if model.seanet_int8 is not None else cpu.int8_dot and not cpu.int8_tiles
        settled = {"decoder": "bf16" if batch > 1 and bf16 else "fp32", "decoder_int8": batch > 1 and int8,
                   "seanet_int8": batch > 1 and convs}
        return self.model_copy(update={"batch_size": batch, "model": model.model_copy(update=settled)})


class RunConfig(Synthesis):
    inputs: tuple[Path, ...]
    output: OutputFolder = Field(Path("out"), description="Output folder.")
    voice: str = Field("alba", description="Preset name, voice sample (with consent) or .safetensors state.")
    consent: Path | None = Field(None, description="Consent record for a cloned voice.")
    ingest: IngestOptions = IngestOptions()
    postproc: PostprocOptions = PostprocOptions()
    folder_per_input: bool | None = None  # out/<name>/ per input; None: only when there are several


class QAOptions(Strict):
    """Model-free checks of every corpus utterance; a failure is regenerated with a new seed."""

    min_seconds_per_token: float = 0.04
    max_seconds_per_token: float = 1.0
    max_edge_silence: float = 1.0  # seconds of silence allowed at either end
    max_silence_ratio: float = 0.5
    clip_level: float = 0.999  # |sample| at or over this counts as clipped
    max_clipped: int = 10  # clipped samples tolerated per utterance
    max_length: Literal["fail", "flag"] = Field(
        "fail", description="An utterance that never fired EOS: fail (regenerate, then leave out) or flag.")
    retries: int = Field(2, ge=0, description="Regenerations with a new seed for an utterance failing QA.")


CORPUS_FORMATS = ("ljspeech", "audiofolder", "pocket-tts", "pocket-tts-voices", "webdataset", "parquet", "lhotse")


class CorpusConfig(Synthesis):
    csv: Path
    output: OutputFolder = Field(Path("corpus"), description="Corpus folder.")
    voices: tuple[str, ...] = Field(("alba",), description="Voices, comma-separated: every row in each (one each "
                                    "with --voice-pool).")
    voices_from: Path | None = Field(None, description="A folder of voice samples, each with its consent record "
                                     "beside it (NAME.consent.json), or .safetensors states: the voice pool.")
    voice_pool: bool = Field(False, description="Each row in one voice of the pool, assigned by row and balanced, "
                             "instead of every row in every voice.")
    split_by: Literal["text", "speaker"] = Field("text", description="text: no text in two splits; speaker: "
                                                 "no voice in two splits either (needs a voice pool).")
    formats: tuple[str, ...] = Field(("ljspeech", "audiofolder"), description="Layouts to write: "
                                     + ", ".join(CORPUS_FORMATS) + ".")
    shard_size: str = Field("1000", description="Rows per webdataset/parquet shard, or bytes of audio (500MB).")
    keep: str | None = Field(None, description='Publish only takes meeting these, e.g. "wer<=0.1,similarity>=0.8"; '
                             "the rest are regenerated, then left out with reasons.")
    voice_column: str | None = Field(None, description="Take each row's voice from this column instead.")
    id_column: str = Field("id", description="The CSV column of utterance ids.")
    text_column: str = Field("text", description="The CSV column of texts.")
    consent: Path | None = Field(None, description="Consent record for a cloned voice.")
    sample_rate: Literal[24_000, 22_050, 16_000] = Field(
        24_000, description="24000 (native), 22050 (LJSpeech-style) or 16000.")
    target_lufs: float = -23.0  # every utterance evened to this
    ceiling: float = -1.0  # dBTP
    splits: tuple[float, float, float] = Field((0.9, 0.05, 0.05), description="train,validation,test ratios.")
    split_seed: int = 0
    lexicon: Path | None = None
    language: str = "en"
    qa: QAOptions = QAOptions()

    @property
    def pooled(self) -> bool:
        """Each row in one voice of the pool, not in every voice."""
        return self.voice_pool or self.voices_from is not None


class JobConfig(Synthesis):
    """A job file (TOML): what `pocket-batch run` renders, night after night, into one output folder.

    Keys are RunConfig's, plus where the inputs come from and whom to tell. Relative paths
    are relative to the job file.
    """

    inputs: tuple[str, ...] = ()  # files or glob patterns
    inbox: Path | None = None  # every book file in this folder (not its subfolders)
    output: OutputFolder
    voices: tuple[str, ...] = ("alba",)  # each book in each voice; out/<voice>/ when more than one
    consent: Path | None = None
    ingest: IngestOptions = IngestOptions()
    postproc: PostprocOptions = PostprocOptions()
    notify: str | None = None  # a shell command run when the job ends (see jobs/notify.py)


def default_batch_size(cpu: Cpu) -> int:
    """The batch size measured fastest on this CPU's class (BATCH_SIZE where only one was measured)."""
    return BATCH_SIZE_AVX512 if cpu.native_bf16 and not cpu.int8_tiles else BATCH_SIZE  # bf16 without AMX: AVX-512


def default_workers(cores: int | None = None, memory_bytes: int | None = None) -> int:
    """One worker per core, capped by how many models fit in memory."""
    cores = cores or os.cpu_count() or 1
    if memory_bytes is None:
        memory_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return max(1, min(cores, memory_bytes // WORKER_RSS_BYTES))
