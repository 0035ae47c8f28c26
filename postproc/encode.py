"""Encoding with ffmpeg: float audio piped in block by block, the file renamed into place when complete."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from pocket_batch.core.config import SAMPLE_RATE, LoudnessPreset, PostprocOptions
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.core.files import atomic_path

MUXERS = {"mp3": "mp3", "flac": "flac", "wav": "wav", "opus": "opus", "m4b": "mp4"}
LOSSY = {"mp3", "opus", "m4b"}


def ffmpeg_exe(options: PostprocOptions) -> str:
    if options.ffmpeg is not None:
        return str(options.ffmpeg)
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def codec_args(kind: str, preset: LoudnessPreset, options: PostprocOptions) -> list[str]:
    if kind == "mp3":  # CBR, as ACX asks
        return ["-c:a", "libmp3lame", "-b:a", preset.mp3_bitrate, "-ar", str(preset.mp3_rate)]
    if kind == "flac":
        return ["-c:a", "flac", "-sample_fmt", "s16"]
    if kind == "wav":
        return ["-c:a", "pcm_s16le"]
    if kind == "opus":
        return ["-c:a", "libopus", "-b:a", "48k", "-ar", "48000"]
    return ["-c:a", "aac", "-b:a", options.aac_bitrate]


def escape_ffmetadata(value: str) -> str:
    """FFMETADATA escaping: '=', ';', '#', '\\' and newlines take a backslash."""
    out = "".join("\\" + c if c in "=;#\\\n" else c for c in value)
    return out.replace("\r", " ")


def ffmetadata(tags: dict[str, str], chapters: list[tuple[int, int, str]]) -> str:
    """A metadata file with chapter marks in milliseconds: (start_ms, end_ms, title)."""
    lines = [";FFMETADATA1"] + [f"{k}={escape_ffmetadata(v)}" for k, v in tags.items() if v]
    for start, end, title in chapters:
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={start}", f"END={end}", f"title={escape_ffmetadata(title)}"]
    return "\n".join(lines) + "\n"


class Encoder:
    """`with Encoder(...) as enc: enc.write(block)`; the target appears only if ffmpeg succeeded."""

    def __init__(self, target: Path, kind: str, args: list[str], options: PostprocOptions,
                 tags: dict[str, str] | None = None, extra_inputs: list[Path] = (), input_args: list[str] = ()):
        self.target, self.kind, self.args, self.options = target, kind, args, options
        self.tags, self.extra_inputs, self.input_args = tags or {}, list(extra_inputs), list(input_args)
        self.finish = None  # optional callable(tmp_path) run before the rename (tagging)

    def __enter__(self) -> Encoder:
        self._atomic = atomic_path(self.target)
        self.tmp = self._atomic.__enter__()
        command = [ffmpeg_exe(self.options), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                   "-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0"]
        for path in self.extra_inputs:
            command += ["-i", str(path)]
        command += self.input_args + self.args
        for key, value in self.tags.items():
            if value:
                command += ["-metadata", f"{key}={value}"]
        command += ["-fflags", "+bitexact", "-flags:a", "+bitexact", "-f", MUXERS[self.kind], str(self.tmp)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        return self

    def write(self, block: np.ndarray) -> None:
        try:
            self.process.stdin.write(np.asarray(block, dtype="<f4").tobytes())
        except BrokenPipeError:
            pass  # ffmpeg died; its error is reported on exit

    def __exit__(self, exc_type, exc, tb) -> None:
        self.process.stdin.close()
        stderr = self.process.stderr.read().decode(errors="replace")
        code = self.process.wait()
        if exc_type is None and code != 0:
            exc = PocketBatchError(f"{self.target.name}: ffmpeg failed ({stderr.strip().splitlines()[-1] if stderr.strip() else code})")
            self._atomic.__exit__(type(exc), exc, None)
            raise exc
        if exc_type is None and self.finish:
            self.finish(self.tmp)
        self._atomic.__exit__(exc_type, exc, tb)
