"""The chunk cache of an output folder: how big it is, and pruning what nothing refers to any more."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.layout import KEY, OutputLayout
from pocket_batch.postproc.manifest import MANIFEST, readable_manifest
from pocket_batch.pipeline.lock import output_lock
from pocket_batch.pipeline.state import read_states


@dataclass(frozen=True)
class CacheUsage:
    entries: int
    bytes: int


def cache_wavs(output: Path) -> list[Path]:
    """The cache's audio files: named by their keys, real files in real folders of its own. A link (to another
    output's cache, to a user's music) is never followed, so nothing outside the cache is counted or pruned."""
    cache = OutputLayout(output).cache
    if cache.is_symlink():
        raise PocketBatchError(f"{cache}: a link to {cache.resolve()}, not a cache of its own; prune that folder's "
                               "output instead")
    if not cache.is_dir():
        return []
    return [wav for folder in sorted(cache.iterdir()) if folder.is_dir() and not folder.is_symlink()
            for wav in sorted(folder.glob("*.wav")) if KEY.fullmatch(wav.stem) and wav.is_file() and not wav.is_symlink()]


def cache_usage(output: Path) -> CacheUsage:
    wavs = cache_wavs(output)
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
        for wav in cache_wavs(output):
            if wav.stem in keep:
                continue
            record = wav.with_suffix(".json")
            freed += wav.stat().st_size + (record.stat().st_size if record.is_file() else 0)
            record.unlink(missing_ok=True)  # the record first: without it the entry is absent
            wav.unlink()
            removed += 1
    return CacheUsage(removed, freed)
