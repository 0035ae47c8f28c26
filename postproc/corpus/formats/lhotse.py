"""Lhotse manifests per split: `lhotse/recordings_<split>.jsonl.gz` (one recording per WAV, its path relative to
the corpus folder) and `lhotse/supervisions_<split>.jsonl.gz` (the text, speaker, language, the word alignment
as `alignment["word"]` items, and the scores in `custom`)."""

from __future__ import annotations

from pocket_batch.postproc.corpus.formats.base import Format, PerSplit, json_line
from pocket_batch.postproc.corpus.rows import columns
from pocket_batch.postproc.corpus.splits import SPLITS


class Lhotse(Format):
    name = "lhotse"
    folder = "lhotse"
    loader = ('lhotse.CutSet.from_manifests(recordings=lhotse.load_manifest("corpus/lhotse/recordings_train.jsonl.gz")'
              '.with_path_prefix("corpus"), supervisions=lhotse.load_manifest("corpus/lhotse/supervisions_train.jsonl.gz"))')

    def __enter__(self) -> Lhotse:
        self.recordings = PerSplit(self.gzip_file, str(self.root / "recordings_{split}.jsonl.gz"))
        self.supervisions = PerSplit(self.gzip_file, str(self.root / "supervisions_{split}.jsonl.gz"))
        return self

    def add(self, row: dict) -> None:
        uid = f"{row['voice']}/{row['id']}"
        self.recordings.write(row["split"], json_line({
            "id": uid, "sources": [{"type": "file", "channels": [0], "source": f"wavs/{row['file_name']}"}],
            "sampling_rate": row["sample_rate"], "num_samples": row["samples"], "duration": row["duration"],
            "channel_ids": [0]}))
        supervision = {"id": uid, "recording_id": uid, "start": 0.0, "duration": row["duration"], "channel": 0,
                       "text": row["normalized"], "language": self.config.language, "speaker": row["voice"],
                       "custom": {k: v for k, v in columns(row).items() if k not in ("id", "speaker", "normalized")}}
        if row.get("words"):
            supervision["alignment"] = {"word": [[w["word"], w["start"], round(w["end"] - w["start"], 3), None]
                                                 for w in row["words"] if w["start"] is not None]}
        self.supervisions.write(row["split"], json_line(supervision))

    def finish(self) -> None:
        for split in SPLITS:
            if split not in self.recordings.files:
                for kind in ("recordings", "supervisions"):
                    (self.root / f"{kind}_{split}.jsonl.gz").unlink(missing_ok=True)
