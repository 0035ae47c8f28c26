"""The layouts a corpus is published in, each a writer fed the kept rows one at a time (see base.py)."""

from __future__ import annotations

from pocket_batch.postproc.corpus.formats.audiofolder import AudioFolder
from pocket_batch.postproc.corpus.formats.base import Format
from pocket_batch.postproc.corpus.formats.lhotse import Lhotse
from pocket_batch.postproc.corpus.formats.ljspeech import LJSpeech
from pocket_batch.postproc.corpus.formats.parquet import Parquet
from pocket_batch.postproc.corpus.formats.pocket_tts import PocketTTS, PocketTTSVoices
from pocket_batch.postproc.corpus.formats.webdataset import WebDataset

FORMATS: dict[str, type[Format]] = {f.name: f for f in (LJSpeech, AudioFolder, PocketTTS, PocketTTSVoices,
                                                         WebDataset, Parquet, Lhotse)}

__all__ = ["FORMATS", "Format"]
