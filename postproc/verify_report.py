"""verify.json: the chunks that still fail verification after every retake, and those whose words could not be
checked (the recognizer cannot hear their voice), where to hear each one, with its scores."""

from __future__ import annotations

from pathlib import Path

from pocket_batch.core.config import SAMPLE_RATE
from pocket_batch.core.files import write_json
from pocket_batch.postproc.audiobook import Audiobook


def write_verify_report(target: Path, result: Audiobook, verifier: str) -> int:
    """Writes the report (empty lists when every chunk passed); returns how many chunks still fail."""
    listed = {"failing": [], "unverified": []}
    for chapter in result.chapters:
        for placed in chapter.placement.chunks:
            verdict = placed.audio.verdict
            if verdict is None or verdict.status == "passed":
                continue
            listed["failing" if verdict.flags else "unverified"].append({
                "id": placed.chunk.id, "text": placed.chunk.text, "normalized": placed.chunk.normalized,
                "transcript": verdict.transcript, "wer": verdict.wer, "flags": list(verdict.flags),
                "advisory": list(verdict.advisory), "scores": verdict.scores(),
                "takes": len(placed.audio.takes),
                "file": str(chapter.file.relative_to(target.parent)),
                "offset": round(placed.offset / SAMPLE_RATE, 3),  # seconds into that file
                "book_offset": round((chapter.start + placed.offset) / SAMPLE_RATE, 3),  # seconds into the M4B
            })
    write_json(target, {"verifier": verifier} | listed)
    return len(listed["failing"])
