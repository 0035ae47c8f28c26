"""Loading Pocket TTS and naming exactly which model a piece of audio came from.

The real path is pocket-tts's own `TTSModel.load_model(language=..., config=...,
quantize=...)`, unchanged; a local config (the offline random model, or weights
a user keeps on disk) goes through the same call.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import socket
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import urlparse

import yaml

from pocket_batch.core.config import FRAME_RATE, NEVER_EOS, ModelOptions
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.files import sha256_file, sha256_json
from pocket_batch.synth.fast.internals import build_tokenizer, config_class, configs_dir, pocket_tts, prepare_text_prompt

DEFAULT_LANGUAGE = "english"
# pocket-tts's language configs (english, french_24l, english_2026-10, ...) by the language they speak
LANGUAGE_CODES = {"english": "en", "french": "fr", "german": "de", "italian": "it", "portuguese": "pt",
                  "spanish": "es", "dutch": "nl"}
UNREACHABLE = (
    "could not fetch {what} from Hugging Face ({reason}). Either use a model that is cached "
    "or on disk (--model-config PATH/config.yaml), or, for testing only, build the offline "
    "random model with `pocket-batch model make-random DIR` and pass --model-config DIR/config.yaml"
)


def hf_cached(reference: str) -> Path | None:
    """The local copy of an `hf://owner/repo/path@revision` file in Hugging Face's cache, if there is one."""
    from huggingface_hub import try_to_load_from_cache

    if not reference.startswith("hf://"):
        return None
    spec, _, revision = reference.removeprefix("hf://").partition("@")
    owner, repo, filename = spec.split("/", 2)
    found = try_to_load_from_cache(f"{owner}/{repo}", filename, revision=revision or None)
    return Path(found) if isinstance(found, str) else None


HUB_PROBE_SECONDS = 2.0  # one connection attempt: a closed network answers the same at once as after retries


@functools.cache
def hub_reachable() -> bool:
    """Decided once per process: can Hugging Face be reached at all? When not, downloads go offline at once, so
    a cached file is still found and a missing one fails now, not after five retries with backoff (38 s)."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    endpoint = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((endpoint.hostname, endpoint.port or (443 if endpoint.scheme == "https" else 80)),
                                 HUB_PROBE_SECONDS).close()
        return True
    except OSError:
        constants.HF_HUB_OFFLINE = True  # read at each call by huggingface_hub
        os.environ["HF_HUB_OFFLINE"] = "1"  # and by the workers this process starts
        return False


@contextlib.contextmanager
def hub_errors(what: str, fetches: bool = True) -> Iterator[None]:
    """Turn a failed Hugging Face download into one line naming both ways out. `fetches`: something may be
    downloaded, so the hub's reachability is decided first; a model wholly on disk never touches the network."""
    if fetches:
        hub_reachable()
    try:
        yield
    except OSError as exc:  # huggingface_hub's LocalEntryNotFoundError is an OSError
        if "huggingface" not in f"{type(exc).__module__} {exc}".lower():
            raise
        reason = str(exc).splitlines()[0][:120]
        raise PocketBatchError(UNREACHABLE.format(what=what, reason=reason)) from None


@contextlib.contextmanager
def quiet_int8_load() -> Iterator[None]:
    """Loading pocket-tts's int8 without torch's deprecation warnings: it goes through torch.ao, which torch
    flags on every load, nothing a user can act on, and it would print from every worker."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"(?s).*torch\.ao\.quantization is deprecated")
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor")
        yield


@dataclass(frozen=True)
class ModelSource:
    """A model as named by the user, resolved to its pocket-tts config file."""

    options: ModelOptions

    @property
    def config_path(self) -> Path:
        if self.options.config is not None:
            path = self.options.config.expanduser().resolve()
            if not path.is_file():
                raise PocketBatchError(f"{path}: model config not found")
            return path
        language = self.options.language or DEFAULT_LANGUAGE
        path = configs_dir() / f"{language}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in configs_dir().glob("*.yaml"))
            raise PocketBatchError(f"unknown --language {language!r}: choose one of {', '.join(known)}")
        return path

    @cached_property
    def config(self):
        try:
            return config_class()(**yaml.safe_load(self.config_path.read_text()))
        except Exception as exc:  # noqa: BLE001 - pydantic, yaml or a missing file: one line
            raise PocketBatchError(f"{self.config_path}: not a valid pocket-tts config ({exc})".splitlines()[0]) from None

    @property
    def language_code(self) -> str | None:
        """The ISO 639-1 code of the language the model speaks; None for a config of your own."""
        if self.options.config is not None:
            return None
        return LANGUAGE_CODES.get((self.options.language or DEFAULT_LANGUAGE).split("_")[0])

    def language_warning(self, book_language: str | None) -> str | None:
        """A book in a language the model does not speak is read with the wrong sounds: say so."""
        spoken, written = self.language_code, (book_language or "").split("-")[0].split("_")[0].lower()
        if spoken and written and written != spoken:
            name = self.options.language or DEFAULT_LANGUAGE
            return f"the book is in {book_language!r} but the {name} model speaks {spoken!r}; choose --language"
        return None

    @property
    def is_builtin(self) -> bool:
        """Loaded from a pocket-tts language config: presets come from Hugging Face."""
        return self.options.config is None

    @property
    def speaks_noise(self) -> bool:
        """The project's random model (`model make-random`): noise at the real model's cost, never speech."""
        return self.config.default_eos_threshold >= NEVER_EOS

    @property
    def voices_dir(self) -> Path:
        """Where a local model keeps its preset voice states (`<name>.safetensors`)."""
        return self.config_path.parent / "voices"

    @cached_property
    def fingerprint(self) -> str:
        """Config text, the hashes of local weight and tokenizer files, and the number formats (see numerics).
        An fp32 decoder adds nothing: caches made before the bf16 and int8 ones stay valid."""
        local = {}
        for ref in self.file_refs:
            if "://" not in ref:
                path = Path(ref)
                if not path.is_file():
                    raise PocketBatchError(f"{self.config_path}: {ref} not found")
                local[ref] = sha256_file(path)
        return sha256_json({
            "config": self.config_path.read_text(),
            "files": local,
            "quantize": self.options.quantize,
        } | ({"decoder": "bf16"} if self.options.decoder == "bf16" else {})
          | ({"decoder_linears": "int8"} if self.options.decoder_int8 else {})
          | ({"decoder_convs": "int8"} if self.options.seanet_int8 else {}))[:16]

    @cached_property
    def file_refs(self) -> list[str]:
        """The weight and tokenizer files the config names: local paths, or `hf://` references. Read from the
        YAML as it is, without pocket-tts (seconds of imports), so `require` can answer at once."""
        try:
            raw = yaml.safe_load(self.config_path.read_text()) or {}
            flow = raw.get("flow_lm") or {}
            refs = (raw.get("weights_path"), flow.get("weights_path"), (raw.get("mimi") or {}).get("weights_path"),
                    (flow.get("lookup_table") or {}).get("tokenizer_path"))
        except (AttributeError, yaml.YAMLError):  # not a mapping: the config's own check says what is wrong
            return []
        return [str(ref) for ref in refs if ref]

    def require(self) -> None:
        """The model's files are on disk, or Hugging Face can be reached: decided before anything heavy loads,
        so a start without either ends in its one line within a second, not after seconds of imports."""
        if self.fetches and not hub_reachable():
            raise PocketBatchError(UNREACHABLE.format(what="the Pocket TTS model", reason="Hugging Face is not reachable "
                                                      "and its files are not in the local cache"))

    @cached_property
    def fetches(self) -> bool:
        """Loading needs a file not yet on disk: an `hf://` reference not in Hugging Face's cache."""
        return any("://" in ref and hf_cached(ref) is None for ref in self.file_refs)

    @cached_property
    def tokenizer(self):
        with hub_errors("the Pocket TTS tokenizer", self.fetches):
            return build_tokenizer(self.config.flow_lm.lookup_table)

    def prepare(self, text: str) -> str:
        """The exact prompt pocket-tts will feed the model for `text`."""
        prompt, _ = prepare_text_prompt(text, self.config)
        return prompt

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(self.prepare(text)))

    def offline_token_counter(self) -> Callable[[str], int] | None:
        """`count_tokens` with a tokenizer already on disk (a local config's, or in Hugging Face's cache);
        None when it would have to be fetched. Never touches the network, nor imports pocket-tts then."""
        try:
            path = yaml.safe_load(self.config_path.read_text())["flow_lm"]["lookup_table"]["tokenizer_path"]
        except (KeyError, TypeError, yaml.YAMLError):
            path = None  # left to the config's own check below
        if isinstance(path, str) and "://" in path and hf_cached(path) is None:
            return None
        table = self.config.flow_lm.lookup_table
        if "://" in table.tokenizer_path:
            local = hf_cached(table.tokenizer_path)
            if local is None:
                return None
            table = table.model_copy(update={"tokenizer_path": str(local)})
        tokenizer = build_tokenizer(table)
        return lambda text: len(tokenizer.encode(self.prepare(text)))

    def max_frames(self, text: str) -> int:
        """pocket-tts's generation limit for one prompt: tokens/3 + 2 s of frames."""
        return math.ceil((self.count_tokens(text) / 3.0 + 2.0) * FRAME_RATE)

    def load(self, temperature: float | None = None):
        """The real pocket-tts load path, for the released weights and local ones alike."""
        source = {"config": str(self.config_path)} if self.options.config else {
            "language": self.options.language or DEFAULT_LANGUAGE}
        with hub_errors("the Pocket TTS weights", self.fetches), quiet_int8_load():
            return pocket_tts().TTSModel.load_model(**source, temp=temperature, quantize=self.options.quantize)
