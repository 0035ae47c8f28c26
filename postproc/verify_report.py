"""verify.json: the chunks that still fail verification after every retake, where to hear each one."""

from __future__ import annotations

from pathlib import Path

from pocket_batch.core.config import SAMPLE_RATE
from pocket_batch.core.files import write_json
from pocket_batch.postproc.audiobook import Audiobook


def write_verify_report(target: Path, result: Audiobook, verifier: str) -> int:
    """Writes the report (an empty list when every chunk passed); returns how many chunks it lists."""
    failing = []
    for chapter in result.chapters:
        for placed in chapter.placement.chunks:
            verdict = placed.audio.verdict
            if verdict is None or verdict.passed:
                continue
            failing.append({
                "id": placed.chunk.id, "text": placed.chunk.text, "normalized": placed.chunk.normalized,
                "transcript": verdict.transcript, "wer": verdict.wer, "flags": list(verdict.flags),
                "takes": len(placed.audio.takes),
                "file": str(chapter.file.relative_to(target.parent)),
                "offset": round(placed.offset / SAMPLE_RATE, 3),  # seconds into that file
                "book_offset": round((chapter.start + placed.offset) / SAMPLE_RATE, 3),  # seconds into the M4B
            })
    write_json(target, {"verifier": verifier, "failing": failing})
    return len(failing)
