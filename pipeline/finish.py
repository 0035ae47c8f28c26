"""Finishing one book: post-processing, the manifest, the verification report, the read-along book and the
review page, once every chunk of the book is in the cache. `Run.finish_book` is its one caller."""

from __future__ import annotations

from pathlib import Path

from pocket_batch.core.config import PRESETS, SYNTHETIC, PostprocOptions, RunConfig
from pocket_batch.core.records import Book, ChunkAudio
from pocket_batch.postproc.manifest import Manifest, RedoneChunk
from pocket_batch.pipeline.runlog import log
from pocket_batch.postproc.audiobook import Assembly, Audiobook, OnChapter, assemble
from pocket_batch.postproc.manifest import write_manifest
from pocket_batch.postproc.readalong.build import ReadAlong, write_readalong
from pocket_batch.postproc.report import write_book_report
from pocket_batch.postproc.verify_report import write_verify_report
from pocket_batch.synth.model.cache import AudioCache
from pocket_batch.synth.model.source import ModelSource
from pocket_batch.synth.model.voices import Voice


def finish_book(config: RunConfig, source: ModelSource, voice: Voice, others: dict[str, Voice], cache: AudioCache,
                book: Book, folder: Path, audio: dict[str, ChunkAudio], params: dict, verifier: str | None, on_chapter: OnChapter | None = None,
                keep: frozenset[int] = frozenset(), redone: tuple[RedoneChunk, ...] = ()) -> Manifest:
    """`others`: the voices the book's chunks name besides the narrator, by name; `audio` by chunk id; `verifier` names the verdicts' folder when the book was verified; chapters in
    `keep` have their files already."""
    folder.mkdir(parents=True, exist_ok=True)
    voice_info = described(voice)
    result = assemble(book, audio, Assembly(cache, folder, config.postproc, book_tags(book, voice.name), on_chapter),
                      keep)
    model = {"config": str(source.config_path), "fingerprint": source.fingerprint,
             "quantize": config.model.quantize, "numerics": config.model.numerics, "params": params}
    preset = PRESETS[config.postproc.loudness]
    readalong = _readalong(book, result, config.postproc, voice.name)
    if verifier:
        write_verify_report(folder / "verify.json", result, verifier)
    else:
        (folder / "verify.json").unlink(missing_ok=True)  # a report of an earlier, verified render
    manifest = write_manifest(folder, book, result, config=config.model_dump(mode="json"),
                              model=model, voice=voice_info,
                              voices={name: described(other) for name, other in others.items()},
                              loudness={"preset": config.postproc.loudness} | preset.model_dump(),
                              verifier=verifier, readalong=readalong, redone=list(redone),
                              checks=config.verify.checks if verifier else ())
    write_book_report(folder / "report.html", manifest, cache)
    return manifest


def described(voice: Voice) -> dict:
    """A voice as the manifest records it: where it came from (a clone's sample and consent, with their SHA-256)."""
    return voice.provenance | {"kind": voice.kind, "name": voice.name, "fingerprint": voice.fingerprint}


def _readalong(book: Book, result: Audiobook, options: PostprocOptions, narrator: str) -> ReadAlong | None:
    """The read-along EPUB when asked for; otherwise one an earlier render left is removed."""
    target = result.m4b.with_name(f"{result.m4b.stem}.readalong.epub")
    if options.readalong == "off":
        target.unlink(missing_ok=True)
        return None
    readalong = write_readalong(book, result, target, options, f"Pocket TTS, voice {narrator} (synthetic speech)",
                                by_word=options.readalong == "words")
    for warning in readalong.warnings:
        log.warning("%s: %s", book.source.name, warning)
    if options.readalong == "words" and readalong.granularity != "words":
        log.warning("%s: no word timings (not verified): the read-along book highlights sentences", book.source.name)
    if readalong.not_placed:
        log.info("%s: %d chunks read aloud are not in the text, so not highlighted (listed in the manifest)",
                 book.source.name, len(readalong.not_placed))
    return readalong


def book_tags(book: Book, narrator: str) -> dict[str, str]:
    year = (book.date or "")[:4]
    return {"title": book.title, "album": book.title, "artist": book.author or "", "album_artist": book.author or "",
            "composer": f"Pocket TTS \u2014 {narrator}", "genre": "Audiobook", "date": year if year.isdigit() else "",
            "comment": SYNTHETIC}
