"""Hugging Face audiofolder: `audiofolder/<split>/<voice>/xx/<id>.wav`, hard links to the WAVs (no second copy),
and each split's metadata.jsonl with the texts, speaker, and scores as columns.

It lives in a folder of its own, not beside metadata.csv: the loader reads any metadata.csv in its folder, and
LJSpeech's has no header; its split folders are what `datasets` reads as splits (a column would give one
`train` split)."""

from __future__ import annotations

from pathlib import Path

from pocket_batch.core.files import link_file
from pocket_batch.postproc.corpus.formats.base import Format, PerSplit, json_line
from pocket_batch.postproc.corpus.rows import columns
from pocket_batch.postproc.corpus.splits import SPLITS


class AudioFolder(Format):
    name = "audiofolder"
    folder = "audiofolder"
    loader = 'datasets.load_dataset("audiofolder", data_dir="corpus/audiofolder")'

    def __enter__(self) -> AudioFolder:
        self.metadata = PerSplit(self.text_file, str(self.root / "{split}" / "metadata.jsonl"))
        return self

    def add(self, row: dict) -> None:
        link_file(self.corpus / "wavs" / row["file_name"], self.root / row["split"] / row["file_name"])
        cols = columns(row)
        self.metadata.write(row["split"], json_line({"file_name": row["file_name"], "transcription": row["normalized"]}
                                                    | {k: v for k, v in cols.items() if k != "normalized"}))

    def drop(self, old: dict) -> None:
        link = self.root / old["split"] / old["file_name"]
        wav = self.corpus / "wavs" / old["file_name"]
        # the link is stale unless this run published the same file in the same split
        if link.exists() and (old.get("moved") or not wav.exists() or not link.samefile(wav)):
            link.unlink()

    def finish(self) -> None:
        for split in SPLITS:
            if split not in self.metadata.files:  # the loader refuses an empty split folder: none is left
                _remove_tree(self.root / split)


def _remove_tree(folder: Path) -> None:
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("**/*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    folder.rmdir()
