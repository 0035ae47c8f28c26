"""What the reports pocket-batch writes share: strict records, and what a book leaves unread.

Each report is one typed model, written and read back through the same schema (with a version):
the manifest is postproc/manifest.py's, the `inspect` report pipeline/inspect.py's.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Skipped(Record):
    title: str
    why: str


class NotRead(Record):
    """Text not read aloud (core.records.Omission), as reports list it."""

    kind: str
    where: str
    words: int
    detail: str = ""


def not_read(omitted) -> list[NotRead]:
    return [NotRead(kind=o.kind, where=o.where, words=o.words, detail=o.detail) for o in omitted]
