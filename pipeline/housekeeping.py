"""The chunk cache of an output folder: how big it is, and pruning what nothing refers to any more."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pocket_batch.core.layout import OutputLayout
from pocket_batch.postproc.manifest import MANIFEST, readable_manifest
from pocket_batch.pipeline.lock import output_lock
from pocket_batch.pipeline.state import read_states


@dataclass(frozen=True)
class CacheUsage:
    entries: int
    bytes: int


def cache_usage(output: Path) -> CacheUsage:
    wavs = list(OutputLayout(output).cache.glob("*/*.wav"))
    return CacheUsage(len(wavs), sum(w.stat().st_size + w.with_suffix(".json").stat().st_size
                                     for w in wavs if w.with_suffix(".json").is_file()))


def referenced_keys(output: Path) -> set[str]:
    """Chunk keys that a manifest in `output` names, or that a book's state plans (a run to finish)."""
    keys = {key for state in read_states(output) for key in state.keys}
    layout = OutputLayout(output)
    for path in output.rglob(MANIFEST):
        manifest = None if layout.cache in path.parents else readable_manifest(path)
        if manifest is None:
            continue
        keys |= {chunk.key for chapter in manifest.chapters for chunk in chapter.chunks}
        # Every take of a verified chunk: a rerender finds them all and retakes nothing.
        keys |= {t.key for chapter in manifest.chapters for chunk in chapter.chunks if chunk.verify
                 for t in chunk.verify.takes}
    return keys


def prune_cache(output: Path) -> CacheUsage:
    """Remove every entry nothing refers to, under the folder's lock; returns what was removed."""
    removed, freed = 0, 0
    with output_lock(output):
        keep = referenced_keys(output)
        for wav in OutputLayout(output).cache.glob("*/*.wav"):
            if wav.stem in keep:
                continue
            record = wav.with_suffix(".json")
            freed += wav.stat().st_size + (record.stat().st_size if record.is_file() else 0)
            record.unlink(missing_ok=True)  # the record first: without it the entry is absent
            wav.unlink()
            removed += 1
    return CacheUsage(removed, freed)
