"""SMIL 3.0 media overlay documents (EPUB 3 Media Overlays): one `<par>` per spoken span, in reading order."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from pocket_batch.core.config import SAMPLE_RATE

SMIL_HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n<smil xmlns="http://www.w3.org/ns/SMIL" '
             'xmlns:epub="http://www.idpf.org/2007/ops" version="3.0">\n<body>\n')


@dataclass(frozen=True)
class Clip:
    """A span of text and the stretch of audio that reads it, in samples of its audio file."""

    text: str  # the text's href from the SMIL file: "../text/ch001.xhtml#pb-ch001-s00001"
    audio: str  # the audio file's href from the SMIL file
    begin: int
    end: int

    @property
    def samples(self) -> int:
        return self.end - self.begin


def clock(samples: int) -> str:
    """A SMIL full clock value; six decimals keep every time within a sample at 24 kHz."""
    seconds, fraction = divmod(samples, SAMPLE_RATE)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}.{round(fraction * 1_000_000 / SAMPLE_RATE):06d}"


def smil_document(textref: str, clips: list[Clip]) -> bytes:
    pars = "".join(f'<par id="par{n}"><text src="{escape(c.text)}"/><audio src="{escape(c.audio)}" '
                   f'clipBegin="{clock(c.begin)}" clipEnd="{clock(c.end)}"/></par>\n'
                   for n, c in enumerate(clips, start=1))
    return (SMIL_HEAD + f'<seq id="seq1" epub:textref="{escape(textref)}">\n{pars}</seq>\n</body>\n</smil>\n').encode()
