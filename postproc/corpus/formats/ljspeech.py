"""LJSpeech: `metadata.csv` of `voice/xx/id|text|normalized` (no header, no quoting), the same per split in
`splits/`, audio in `wavs/`."""

from __future__ import annotations

from pocket_batch.postproc.corpus.formats.base import Format, PerSplit
from pocket_batch.postproc.corpus.splits import SPLITS


class LJSpeech(Format):
    name = "ljspeech"
    folder = "."
    loader = 'pandas.read_csv("corpus/metadata.csv", sep="|", header=None, quoting=3)'

    def __enter__(self) -> LJSpeech:
        self.all = self.text_file(self.corpus / "metadata.csv")
        self.splits = PerSplit(self.text_file, str(self.corpus / "splits" / "{split}.csv"))
        return self

    def add(self, row: dict) -> None:
        fields = [row["file_name"].removesuffix(".wav"), row["text"], row["normalized"]]
        line = "|".join(" ".join(x.replace("|", " ").split()) for x in fields) + "\n"
        self.all.write(line)
        self.splits.write(row["split"], line)

    def finish(self) -> None:
        for split in SPLITS:
            if split not in self.splits.files:  # an emptied split leaves no stale list behind
                (self.corpus / "splits" / f"{split}.csv").unlink(missing_ok=True)
