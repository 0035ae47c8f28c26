"""WebDataset: `webdataset/<split>/<split>-000000.tar`, each sample the WAV and its JSON (texts, speaker, split,
scores, word times) under one key, `<voice>/<id>` (dots in it written %2E: the reader splits extensions at the
first dot)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from pocket_batch.core.files import atomic_path
from pocket_batch.postproc.corpus.formats.shards import Sharded
from pocket_batch.postproc.corpus.rows import columns


class WebDataset(Sharded):
    name = "webdataset"
    folder = "webdataset"
    suffix = ".tar"
    loader = 'webdataset.WebDataset(sorted(glob.glob("corpus/webdataset/train/*.tar"))).decode()'

    def write_shard(self, path: Path, rows: list[dict]) -> None:
        with atomic_path(path) as tmp, tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
            for row in rows:
                key = f"{row['voice']}/{row['id']}".replace(".", "%2E")
                meta = columns(row) | {"words": row.get("words"), "sample_rate": row["sample_rate"]}
                _add(tar, f"{key}.json", json.dumps(meta, ensure_ascii=False).encode())
                _add(tar, f"{key}.wav", (self.corpus / "wavs" / row["file_name"]).read_bytes())


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0  # the same rows give the same bytes
    tar.addfile(info, io.BytesIO(data))
