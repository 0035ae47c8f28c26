"""Tags ffmpeg cannot write: the machine-readable statement that the narration is AI-generated."""

from __future__ import annotations

from pathlib import Path

AI_KEY = "AI_GENERATED"


def tag_synthetic(path: Path, kind: str, statement: str) -> None:
    """Add AI_GENERATED=true and the statement as a custom tag (iTunes freeform atom / ID3 TXXX)."""
    if kind == "m4b":
        from mutagen.mp4 import MP4, MP4FreeForm

        audio = MP4(path)
        audio["----:com.apple.iTunes:AI_GENERATED"] = [MP4FreeForm(b"true")]
        audio["----:com.apple.iTunes:SYNTHETIC_SPEECH"] = [MP4FreeForm(statement.encode())]
        audio.save()
    elif kind == "mp3":
        from mutagen.id3 import ID3, TXXX

        audio = ID3(path)
        audio.add(TXXX(encoding=3, desc=AI_KEY, text=["true"]))
        audio.add(TXXX(encoding=3, desc="SYNTHETIC_SPEECH", text=[statement]))
        audio.save()
    # flac and opus carry AI_GENERATED as a Vorbis comment written by ffmpeg; wav as its comment.


def read_synthetic(path: Path) -> str | None:
    """The AI_GENERATED value of any output, for checks and tests."""
    import mutagen

    audio = mutagen.File(path)
    if audio is None or audio.tags is None:
        return None
    for key in ("----:com.apple.iTunes:AI_GENERATED", "TXXX:AI_GENERATED", "AI_GENERATED", "ai_generated"):
        if key in audio.tags:
            value = audio.tags[key]
            value = value[0] if isinstance(value, list) else value
            return bytes(value).decode() if isinstance(value, bytes) else str(value.text[0] if hasattr(value, "text") else value)
    return None
