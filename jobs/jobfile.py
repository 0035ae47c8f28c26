"""Job files: TOML in, a validated JobConfig out, and the inputs it names today.

    inbox = "/srv/books/inbox"        # or: inputs = ["books/*.epub", "notes.md"]
    output = "/srv/books/out"
    voice = "fantine"                 # or: voices = ["fantine", "marius"]
    workers = 2
    [model]
    quantize = false                # int8 is the default
    [postproc]
    loudness = "acx"
    [verify]
    retries = 2                     # enabled, backend, max_wer: as the render options

Relative paths are relative to the job file, so a job runs the same from cron's cwd.
"""

from __future__ import annotations

import glob
import tomllib
from pathlib import Path

from pydantic import ValidationError

from pocket_batch.ingest.book import BOOK_SUFFIXES
from pocket_batch.core.config import JobConfig, RunConfig
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.layout import safe_name

# Path-valued keys, by section, resolved against the job file's folder.
PATH_KEYS = {(): ("output", "inbox", "consent"), ("model",): ("config",), ("ingest",): ("lexicon",),
             ("postproc",): ("ffmpeg",)}


def load_job(path: Path) -> JobConfig:
    if not path.is_file():
        raise PocketBatchError(f"{path}: job file not found")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PocketBatchError(f"{path}: not a valid TOML job file: {exc}") from None
    if isinstance(raw.get("voices"), dict):  # a [voices] table: characters' voices, not the narrators'
        raw.setdefault("ingest", {})["characters"] = raw.pop("voices")
    if "voice" in raw:  # one voice, the common case
        raw["voices"] = [raw.pop("voice")] if isinstance(raw["voice"], str) else raw.pop("voice")
    if isinstance(raw.get("inputs"), str):
        raw["inputs"] = [raw["inputs"]]
    _resolve_paths(raw, path.parent.resolve())
    try:
        job = JobConfig(**raw)
    except ValidationError as exc:  # every problem at once, not one per attempt
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise PocketBatchError(f"{path}: {problems}") from None
    if not job.inputs and job.inbox is None:
        raise PocketBatchError(f"{path}: no inputs: set inbox = \"FOLDER\" or inputs = [\"FILE or GLOB\", ...]")
    return job


def _resolve_paths(raw: dict, base: Path) -> None:
    for section, keys in PATH_KEYS.items():
        table = raw.get(section[0], {}) if section else raw
        for key in keys:
            if isinstance(table, dict) and isinstance(table.get(key), str):
                table[key] = str(base / Path(table[key]).expanduser())
    voices = raw.get("voices")
    if isinstance(voices, list):  # a cloned voice's sample is a path too; preset names stay names
        raw["voices"] = [str(base / v) if isinstance(v, str) and (base / v).is_file() else v for v in voices]
    if isinstance(raw.get("inputs"), list):
        raw["inputs"] = [str(base / Path(p).expanduser()) if isinstance(p, str) else p for p in raw["inputs"]]


def job_inputs(job: JobConfig) -> list[Path]:
    """The job's inputs now: its files, its globs' matches and the inbox's book files, each once, sorted."""
    found: list[Path] = []
    for pattern in job.inputs:
        found += sorted(Path(p) for p in glob.glob(pattern)) if glob.has_magic(pattern) else [Path(pattern)]
    if job.inbox is not None:
        if not job.inbox.is_dir():
            raise PocketBatchError(f"{job.inbox}: inbox folder not found")
        found += sorted(p for p in job.inbox.iterdir()
                        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in BOOK_SUFFIXES)
    return list(dict.fromkeys(found))


def refused_inputs(job: JobConfig, inputs: list[Path]) -> dict[Path, str]:
    """The inbox's links to files outside it, each with why: a job narrates what was put in its inbox,
    never a file elsewhere that a link there points to (a key, a password file)."""
    if job.inbox is None:
        return {}
    inbox = job.inbox.resolve()
    return {p: f"{p}: a link to a file outside the inbox; put the book itself in the inbox"
            for p in inputs if p.parent == job.inbox and p.is_symlink() and not p.resolve().is_relative_to(inbox)}


def unmatched(job: JobConfig) -> list[str]:
    """The job's inputs that name nothing today: a glob without a match, a file that is not there."""
    return [p for p in job.inputs if not (glob.glob(p) if glob.has_magic(p) else Path(p).exists())]


def voice_output(job: JobConfig, voice: str) -> Path:
    return job.output / safe_name(Path(voice).stem, "voice") if len(job.voices) > 1 else job.output


def run_config(job: JobConfig, voice: str, inputs: list[Path]) -> RunConfig:
    """The job as one run of one voice; each input gets a folder of its own, however many there are."""
    fields = job.model_dump(exclude={"inputs", "inbox", "voices", "notify", "output"})
    return RunConfig(inputs=tuple(inputs), output=voice_output(job, voice), voice=voice, folder_per_input=True,
                     **fields)
