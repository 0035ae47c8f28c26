"""The JSONL manifests pocket-tts's training dataloader reads (kyutai-labs/pocket-tts, training/).

One line per utterance, as `training/dataloader/loader.py` `DataLoader.get_entry` reads it: `path` (the WAV,
absolute: the trainer opens it as written), `duration` (seconds), `transcript` (the text as spoken), and
`words`, the transcript's whitespace words with `start`/`end` seconds as `training/scripts/align_data.py` writes
them (the loader cuts a prompt at a word boundary from them; without them it takes a random window). Splits
are `train.jsonl`, `valid.jsonl` (as `prepare_small_voices.py` names them) and `test.jsonl`; the id, speaker
and scores ride along as keys the loader does not read.

The fixed-voice variant (`pocket-tts-voices`) adds `voice`, the row of the voice table, and writes
`voices.json`, the sorted voice names for a config's `voice_names`, as `prepare_small_voices.py` does.
"""

from __future__ import annotations

from pocket_batch.core.files import write_json
from pocket_batch.postproc.corpus.formats.base import Format, PerSplit, json_line
from pocket_batch.postproc.corpus.rows import columns

FILES = {"train": "train.jsonl", "validation": "valid.jsonl", "test": "test.jsonl"}


class PocketTTS(Format):
    name = "pocket-tts"
    folder = "pocket-tts"
    loader = "train.py with the config's train manifest set to corpus/pocket-tts/train.jsonl"

    def __enter__(self) -> PocketTTS:
        self.lines = PerSplit(self.text_file, str(self.root / "{split}"))
        self.voices: set[str] = set()
        return self

    def line(self, row: dict) -> dict:
        entry = {"path": str((self.corpus / "wavs" / row["file_name"]).resolve()), "duration": row["duration"],
                 "transcript": row["normalized"]}
        if row.get("words"):
            entry["words"] = row["words"]
        return entry | {k: v for k, v in columns(row).items() if k not in ("normalized", "duration")}

    def add(self, row: dict) -> None:
        self.voices.add(row["voice"])
        self.lines.write(FILES[row["split"]], json_line(self.line(row)))

    def finish(self) -> None:
        for name in FILES.values():
            if name not in self.lines.files:
                (self.root / name).unlink(missing_ok=True)


class PocketTTSVoices(PocketTTS):
    name = "pocket-tts-voices"
    folder = "pocket-tts-voices"
    loader = "train.py with voice_names from corpus/pocket-tts-voices/voices.json"

    def line(self, row: dict) -> dict:
        return super().line(row) | {"voice": row["voice"]}

    def finish(self) -> None:
        super().finish()
        write_json(self.root / "voices.json", sorted(self.voices))
