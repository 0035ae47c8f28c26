"""Parquet with the audio inside: `parquet/<split>/<split>-000000.parquet`, an `audio` column of WAV bytes that
`datasets` reads as an Audio feature (the features are in each file's schema metadata, as `datasets` writes
them), and the texts, speaker, split, scores and word times as columns."""

from __future__ import annotations

import json
from pathlib import Path

from pocket_batch.core.files import atomic_path
from pocket_batch.postproc.corpus.formats.shards import Sharded
from pocket_batch.postproc.corpus.rows import SCORES, columns

STRINGS = ("id", "speaker", "text", "normalized", "split", "model", "status")


class Parquet(Sharded):
    name = "parquet"
    folder = "parquet"
    suffix = ".parquet"
    loader = 'datasets.load_dataset("parquet", data_dir="corpus/parquet")'

    def write_shard(self, path: Path, rows: list[dict]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = _schema(self.config.sample_rate)
        data = {"audio": [{"bytes": (self.corpus / "wavs" / r["file_name"]).read_bytes(), "path": r["file_name"]}
                          for r in rows]}
        cols = [columns(r) for r in rows]
        for name in schema.names[1:]:
            data[name] = [r.get("words") for r in rows] if name == "words" else [c[name] for c in cols]
        with atomic_path(path) as tmp:
            pq.write_table(pa.table(data, schema=schema), tmp, compression="zstd")


def _schema(sample_rate: int):
    import pyarrow as pa

    word = pa.struct([("word", pa.string()), ("start", pa.float64()), ("end", pa.float64())])
    fields = [("audio", pa.struct([("bytes", pa.binary()), ("path", pa.string())]))]
    fields += [(name, pa.string()) for name in STRINGS]
    fields += [("duration", pa.float64()), ("seed", pa.int64())] + [(name, pa.float64()) for name in SCORES]
    fields += [("words", pa.list_(word))]
    features = {"audio": {"_type": "Audio", "sampling_rate": sample_rate}}
    features |= {name: {"dtype": "string", "_type": "Value"} for name in STRINGS}
    features |= {"duration": {"dtype": "float64", "_type": "Value"}, "seed": {"dtype": "int64", "_type": "Value"}}
    features |= {name: {"dtype": "float64", "_type": "Value"} for name in SCORES}
    features["words"] = [{k: {"dtype": t, "_type": "Value"} for k, t in
                          (("word", "string"), ("start", "float64"), ("end", "float64"))}]
    metadata = {b"huggingface": json.dumps({"info": {"features": features}}).encode()}
    return pa.schema(fields, metadata=metadata)
